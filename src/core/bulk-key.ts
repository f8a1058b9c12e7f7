import { jsonStringContent } from './json-string.js';

/**
 * One recipient of a bulk message. Its copy's idempotency key is "<message key>/<digest>" (see
 * bulkRecipientKey): the digest alone tells the recipients of one message apart.
 */
export interface BulkRecipient {
  email: string;
  fields: Record<string, string>;
  /** 24 hex digits, from the row's address and fields. */
  digest: string;
}

/**
 * The idempotency key of one recipient's copy of a bulk message: "<message key>/<row digest>".
 * The digest (24 hex digits) never holds a slash; a message key given by the user may.
 */
export function bulkRecipientKey(messageKey: string, digest: string): string {
  return `${messageKey}/${digest}`;
}

/** The two parts of a bulk recipient key; undefined for a key that is not one. */
export function splitBulkRecipientKey(key: string): { messageKey: string; digest: string } | undefined {
  const slash = key.lastIndexOf('/');
  if (slash <= 0) return undefined;
  return { messageKey: key.slice(0, slash), digest: key.slice(slash + 1) };
}

/**
 * A 96-bit digest of a row (its address and fields), the recipient part of its copy's key: the
 * same list and message give the same keys, so a rerun resumes.
 */
export function recipientDigest(recipient: { email: string; fields: Record<string, string> }): string {
  return addressDigest(recipient.email.toLowerCase(), recipient.fields);
}

/** recipientDigest, for an address already in lower case (a bulk run lower-cases each once, #21). */
export function addressDigest(address: string, fields: Record<string, string>): string {
  // node:crypto is fetched on the first digest, not imported: every adapter imports this module
  // (bulkRecipientKey), and loading crypto cost each command that reads a config ~4 ms (#21).
  const hash = (sha256Hash ??= process.getBuiltinModule('node:crypto').hash);
  // The first 24 hex digits, as a slice of the hash's 64: V8 makes it a view of that text (kept
  // alive with it, 112 bytes a digest), not a copy. Two 12-digit copies joined made the digest
  // three strings, which V8 flattened again into a fourth when the digest set first read it: the
  // slice costs ~35 % less, hash and set included (100,000 rows: ~45 against ~68 ms, #21). Hex
  // output costs ~40 % less than a Buffer written as hex (~95 against ~160 ms).
  return hash('sha256', digestText(address, fields), 'hex').slice(0, 24);
}

/**
 * The text a row's digest is the hash of: `JSON.stringify([address, fields])`, which every earlier
 * ledger's digests were made of. For the usual row (fields that are strings, in a plain object,
 * and no toJSON anywhere) it is put together here, each string still quoted by JSON.stringify's own
 * rules (jsonStringContent): JSON.stringify's set-up (its string builder, toJSON looked up along the
 * prototypes) cost about as much as the hash itself, ~25 ms per 100,000 rows (#21). Anything else is
 * JSON.stringify's; tests hold the two to each other on odd rows.
 */
function digestText(address: string, fields: Record<string, string>): string {
  if (Array.isArray(fields) || typeof (fields as { toJSON?: unknown }).toJSON === 'function' || typeof (Array.prototype as { toJSON?: unknown }).toJSON === 'function') {
    return JSON.stringify([address, fields]);
  }
  let text = `["${jsonStringContent(address)}",{`;
  const keys = Object.keys(fields);
  for (let i = 0; i < keys.length; i++) {
    const value = fields[keys[i]];
    if (typeof value !== 'string') return JSON.stringify([address, fields]);
    text += `${i === 0 ? '' : ','}"${jsonStringContent(keys[i])}":"${jsonStringContent(value)}"`;
  }
  return `${text}}]`;
}

let sha256Hash: typeof import('node:crypto').hash | undefined;
