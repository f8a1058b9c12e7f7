import { createHash } from 'node:crypto';

export type MessageType = 'transactional' | 'marketing';
export type Priority = 'normal' | 'critical';

export interface Attachment {
  filename: string;
  contentType: string;
  /** File content, base64-encoded. */
  contentBase64: string;
}

export interface Header {
  name: string;
  value: string;
}

/** The provider-neutral message every adapter receives. */
export interface EmailMessage {
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo?: string;
  subject: string;
  html?: string;
  text?: string;
  type: MessageType;
  priority: Priority;
  tags: string[];
  campaignId?: string;
  metadata: Record<string, string>;
  headers: Header[];
  attachments: Attachment[];
  trackOpens?: boolean;
  trackLinks?: boolean;
  /** Same key → delivered at most once, across retries and runs. */
  idempotencyKey: string;
  /**
   * 'derived' when the key was made from the content (no key given): such a key only guards
   * against repeats within `idempotency.window`. Absent means given by the user.
   */
  idempotencyKeySource?: 'derived';
  /**
   * Sent even to addresses on the suppression list (`send --ignore-suppressions`): a deliberate
   * override that travels with the message, so its outbox retries keep it. Not part of the content
   * (set after the key is derived).
   */
  ignoreSuppressions?: true;
}

export type MessageDraft = Omit<EmailMessage, 'idempotencyKey' | 'idempotencyKeySource' | 'ignoreSuppressions'> & { idempotencyKey?: string };

export function recipientCount(message: Pick<EmailMessage, 'to' | 'cc' | 'bcc'>): number {
  return message.to.length + message.cc.length + message.bcc.length;
}

/** A deep copy, so that an adapter cannot change what the next attempt sends. */
export function cloneMessage(message: EmailMessage): EmailMessage {
  return structuredClone(message);
}

/**
 * Derives an idempotency key from everything that makes the message what it is, so that
 * sending the same content twice from a retry is recognised as the same message.
 */
export function deriveIdempotencyKey(draft: MessageDraft): string {
  const { idempotencyKey: _ignored, ...content } = draft;
  const canonical = JSON.stringify(sortKeysDeep(content));
  return 'pm_' + createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/** Whether a key has the form of the ones deriveIdempotencyKey makes (a client may give one back). */
export function hasDerivedKeyForm(key: string): boolean {
  return /^pm_[0-9a-f]{32}$/.test(key);
}

/**
 * What the message says, as a key: the key it would be given without an explicit one. Kept with
 * a delivery under an explicit key, so that the same key sent again with other content is told
 * apart from a repeat (see IdempotencyConflictError).
 */
export function contentKeyOf(message: EmailMessage): string {
  const { idempotencyKeySource: _source, ignoreSuppressions: _override, ...draft } = message;
  return deriveIdempotencyKey(draft);
}

/**
 * The content key a delivery keeps (Delivery.contentKey): only under an explicit key, where the
 * same key could come back with other content; a derived key is the content key already.
 */
export function explicitContentKey(message: EmailMessage): string | null {
  return message.idempotencyKeySource === 'derived' ? null : contentKeyOf(message);
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((key) => [key, sortKeysDeep((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

export function finalizeMessage(draft: MessageDraft): EmailMessage {
  if (draft.idempotencyKey !== undefined) return { ...draft, idempotencyKey: draft.idempotencyKey };
  return { ...draft, idempotencyKey: deriveIdempotencyKey(draft), idempotencyKeySource: 'derived' };
}
