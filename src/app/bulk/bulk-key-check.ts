import { IdempotencyConflictError } from '../../core/errors.js';
import { bulkResumeMs, type IdempotencyPolicy } from '../../core/idempotency.js';
import { explicitContentKey, type EmailMessage } from '../../core/message.js';
import type { DeliveryLedger } from '../../store/ports.js';

/**
 * Refuses a bulk message under an explicit key that delivered another message within the time a
 * rerun resumes from, as a single send's key is refused (SPEC: idempotency). A rerun of the same
 * message resumes; under the reused key, it would have skipped everyone the other message reached.
 * The list is not part of the message: a rerun with rows added or removed resumes.
 */
export async function refuseKeyOfOtherBulkContent(ledger: Pick<DeliveryLedger, 'otherBulkContent'>, template: EmailMessage, policy: IdempotencyPolicy, now: number): Promise<void> {
  const contentKey = explicitContentKey(template);
  if (contentKey === null) return;
  const earlier = await ledger.otherBulkContent(template.idempotencyKey, contentKey, now - bulkResumeMs(template, policy));
  if (earlier) throw new IdempotencyConflictError(template.idempotencyKey, `a bulk run delivered through ${earlier.provider} on ${new Date(earlier.deliveredAt).toISOString()}`);
}
