import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { UserError } from '../core/errors.js';
import type { ApiKeyRecord, KeyRepository } from '../store/ports.js';
import { plainCommand, type SuggestCommand } from '../core/suggest-command.js';

/** Every key starts with this, so a leaked one is recognisable (secret scanners, log redaction). */
export const API_KEY_PREFIX = 'pm_live_';
/** A key (or any part of one) as it can appear in text; a whole key has 43 base64url characters after the prefix. */
const API_KEY_PATTERN = /pm_live_[A-Za-z0-9_-]+/g;

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface NewApiKey {
  name: string;
  /** The key itself: shown once, never stored. */
  key: string;
  createdAt: string;
}

/** SHA-256 of the key (hex): what the store keeps. A key has 256 random bits, so no salt or slow hash is needed. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Creates a key under a new name; only its hash is stored. */
export async function createApiKey(store: KeyRepository, name: string, now = Date.now(), suggest = plainCommand): Promise<NewApiKey> {
  if (!KEY_NAME.test(name)) {
    throw new UserError(`--name "${name}": use 1–64 letters, digits and . _ - (starting with a letter or digit)`, { hint: 'for example --name billing-app' });
  }
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  if (!(await store.createKey(name, hashApiKey(key), now))) {
    throw new UserError(`a key named "${name}" exists already`, { hint: `pick another --name, or revoke the old one first with \`${suggest(`keys revoke ${name}`)}\` (a revoked name stays taken)` });
  }
  return { name, key, createdAt: new Date(now).toISOString() };
}

/**
 * The live key record a presented key belongs to, or undefined. The store is asked by hash; the
 * stored hash is then compared in constant time, so the answer's timing says nothing about how
 * much of a guess was right.
 */
export async function verifyApiKey(store: KeyRepository, presented: string): Promise<ApiKeyRecord | undefined> {
  if (!presented.startsWith(API_KEY_PREFIX) || presented.length > 200) return undefined;
  const presentedHash = Buffer.from(hashApiKey(presented), 'hex');
  const found = await store.findKeyByHash(presentedHash.toString('hex'));
  if (!found) return undefined;
  const storedHash = Buffer.from(found.keyHash, 'hex');
  if (storedHash.length !== presentedHash.length || !timingSafeEqual(storedHash, presentedHash)) return undefined;
  const { keyHash: _hash, ...record } = found;
  return record;
}

export async function revokeApiKey(store: KeyRepository, name: string, now = Date.now(), suggest = plainCommand): Promise<void> {
  if (await store.revokeKey(name, now)) return;
  const known = await store.listKeys();
  const existing = known.find((k) => k.name === name);
  if (existing) throw new UserError(`the key "${name}" was revoked already (${existing.revokedAt})`);
  throw new UserError(`no key named "${name}"`, { hint: known.length ? `known keys: ${known.map((k) => k.name).join(', ')}` : noKeysYet(suggest) });
}

export const noKeysYet = (suggest: SuggestCommand = plainCommand) => `there are no keys yet: \`${suggest('keys create --name <n>')}\` makes one`;

/** Hides any API key in a text (log lines, error messages). */
export function redactApiKeys(text: string): string {
  return text.includes(API_KEY_PREFIX) ? text.replace(API_KEY_PATTERN, `${API_KEY_PREFIX}****`) : text;
}
