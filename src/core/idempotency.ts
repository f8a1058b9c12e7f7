import type { EmailMessage } from './message.js';

export interface IdempotencyPolicy {
  /** Derived (content) keys: a delivery older than this no longer stops an identical send. 0 = off. */
  windowMs: number;
  /** Explicit keys: a delivery is remembered this long. */
  keepMs: number;
}

/** A bulk rerun of the same list resumes for at least this long, whatever the window (SPEC). */
export const MIN_BULK_RESUME_MS = 7 * 86_400_000;

/**
 * Whether an earlier delivery under this message's key makes this send a repeat, not to be sent
 * (SPEC send → Idempotency). A key the user gave holds for `keep`; a key derived from the content
 * only for `window`, so the same alert sent again an hour later goes out. An outbox entry passes
 * `waitingSince`: a delivery made after it was stored is its own (a later send got it through).
 */
export function isRepeatDelivery(
  message: Pick<EmailMessage, 'idempotencyKeySource'>,
  deliveredAt: number,
  now: number,
  policy: IdempotencyPolicy,
  waitingSince?: number,
): boolean {
  if (waitingSince !== undefined && deliveredAt >= waitingSince) return true;
  const remembered = message.idempotencyKeySource === 'derived' ? policy.windowMs : policy.keepMs;
  return now - deliveredAt < remembered;
}

/** How far back a bulk run of this message looks for recipients already delivered. */
export function bulkResumeMs(message: Pick<EmailMessage, 'idempotencyKeySource'>, policy: IdempotencyPolicy): number {
  return message.idempotencyKeySource === 'derived' ? Math.max(policy.windowMs, MIN_BULK_RESUME_MS) : Math.max(policy.keepMs, MIN_BULK_RESUME_MS);
}
