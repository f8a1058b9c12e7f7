import { IdempotencyConflictError } from '../../core/errors.js';
import { bulkResumeMs, isRepeatDelivery, type IdempotencyPolicy } from '../../core/idempotency.js';
import { explicitContentKey, type EmailMessage } from '../../core/message.js';
import type { DeliveryLedger, OutboxRepository } from '../../store/ports.js';

// An explicit idempotency key names one message (SPEC: idempotency): a bulk run's template or a
// single message, never both. Single messages and bulk runs keep their deliveries apart (the
// ledger, and the bulk batches), so each side looks at the other's before it sends.

const when = (at: number) => new Date(at).toISOString();

/**
 * Refuses a bulk message under an explicit key that delivered another message within the time a
 * rerun resumes from, as a single send's key is refused: another bulk message, or a single message
 * (delivered, or waiting in the outbox). A rerun of the same message resumes; under the reused key,
 * it would have skipped everyone the other message reached. The list is not part of the message:
 * a rerun with rows added or removed resumes.
 */
export async function refuseKeyOfOtherBulkContent(
  store: Pick<DeliveryLedger, 'otherBulkContent' | 'findDelivery'> & Pick<OutboxRepository, 'openEntryFor'>,
  template: EmailMessage,
  policy: IdempotencyPolicy,
  now: number,
): Promise<void> {
  const contentKey = explicitContentKey(template);
  if (contentKey === null) return;
  const key = template.idempotencyKey;
  const single = await store.findDelivery(key);
  if (single && isRepeatDelivery(template, single.deliveredAt, now, policy)) {
    throw new IdempotencyConflictError(key, `a single message delivered by ${single.provider} as ${single.messageId} on ${when(single.deliveredAt)}`);
  }
  const waiting = await store.openEntryFor(key);
  if (waiting) throw new IdempotencyConflictError(key, `a single message waiting in the outbox as #${waiting.id}`);
  await refuseOtherBulkBatches(store, template, contentKey, policy, now);
}

/** Refuses a single message under an explicit key that a bulk run delivered batches under. */
export async function refuseKeyOfBulkRun(store: Pick<DeliveryLedger, 'otherBulkContent'>, message: EmailMessage, policy: IdempotencyPolicy, now: number): Promise<void> {
  const contentKey = explicitContentKey(message);
  // A bulk template never says what a single message says (it has no recipients): any batch
  // recorded with a content key under this key is another message's.
  if (contentKey !== null) await refuseOtherBulkBatches(store, message, contentKey, policy, now);
}

/** Bulk batches delivered under the message's key with other content, within the time a rerun resumes from. */
async function refuseOtherBulkBatches(store: Pick<DeliveryLedger, 'otherBulkContent'>, message: EmailMessage, contentKey: string, policy: IdempotencyPolicy, now: number): Promise<void> {
  const earlier = await store.otherBulkContent(message.idempotencyKey, contentKey, now - bulkResumeMs(message, policy));
  if (earlier) throw new IdempotencyConflictError(message.idempotencyKey, `a bulk run delivered through ${earlier.provider} on ${when(earlier.deliveredAt)}`);
}
