import type { Attempt } from '../core/failover.js';
import { assertChainResolved } from '../config/unresolved-env.js';
import { isRepeatDelivery } from '../core/idempotency.js';
import type { OutboxEntry } from '../store/ports.js';
import type { RecipientStatus } from '../core/provider-port.js';
import { describeRefusal } from '../core/refused.js';
import { queueCopyForRefused } from './refused-recipients.js';
import type { Dispatcher } from './dispatcher.js';
import { isLeaseOwnerAlive, newLeaseOwner } from './lease-owner.js';
import type { SuppressedRecipient } from './suppression-check.js';

export interface RetryResult {
  id: number;
  status: 'delivered' | 'rejected' | 'pending' | 'ambiguous' | 'skipped';
  provider?: string;
  messageId?: string;
  reason?: string;
  attempts: Attempt[];
  /** Delivered, but these recipients were refused. */
  refused?: RecipientStatus[];
  /** The outbox entry holding a copy for the recipients refused only for now. */
  retryCopyId?: number;
  /** Rejected without a provider call: these recipients went on the suppression list meanwhile. */
  suppressed?: SuppressedRecipient[];
}

/**
 * Retries outbox entries through the same failover engine as `send`. Each entry is claimed in a
 * transaction with a lease, so concurrent runs never send it twice, and marked "sending" just
 * before hand-over, so a run killed mid-send leaves it ambiguous rather than resent blindly.
 */
export interface RetryOptions {
  /** Resend ambiguous entries too (a person checked them). */
  force: boolean;
  /** Probe providers marked down too (default: a retry asked for by hand does). */
  ignoreCircuit?: boolean;
  /** When an entry still not delivered is due again (the worker's backoff), by its tries so far. */
  nextAttemptAt?: (tries: number) => number;
}

export async function retryOutboxEntries(dispatcher: Dispatcher, ids: number[], options: RetryOptions): Promise<RetryResult[]> {
  const store = dispatcher.store!;
  const owner = newLeaseOwner();
  const results: RetryResult[] = [];
  for (const id of ids) {
    const now = dispatcher.now();
    const isRepeat = (delivery: { deliveredAt: number }, waiting: OutboxEntry) =>
      isRepeatDelivery(waiting.message, delivery.deliveredAt, now, dispatcher.config.idempotency, Date.parse(waiting.createdAt));
    // Every secret of the entry's chain before it is claimed: a missing one stops here, changing nothing.
    const peek = await store.getEntry(id);
    if (peek) assertChainResolved(dispatcher.config, chainOf(peek, dispatcher));
    const { entry, refused, deliveredEarlier } = await store.claim(id, owner, now, leaseMs(dispatcher), { force: options.force, isOwnerAlive: isLeaseOwnerAlive, isRepeat });
    if (deliveredEarlier) {
      const reason = `already delivered by ${deliveredEarlier.provider} under the same idempotency key; not sent again`;
      results.push({ id, status: 'delivered', provider: deliveredEarlier.provider, messageId: deliveredEarlier.messageId, reason, attempts: [] });
      continue;
    }
    if (!entry) {
      results.push({ id, status: 'skipped', reason: refused, attempts: [] });
      continue;
    }
    const chain = chainOf(entry, dispatcher);
    const outcome = await dispatcher.deliver(entry.message, chain, {
      ignoreCircuit: options.ignoreCircuit ?? true,
      beforeCall: () => store.markSending(id, owner, dispatcher.now()),
      afterRefusal: () => store.clearSending(id, owner),
      waitingSince: Date.parse(entry.createdAt),
    });
    const status = outcome.status === 'undelivered' ? (outcome.ambiguous ? 'ambiguous' : 'pending') : outcome.status === 'duplicate' ? 'delivered' : outcome.status;
    let reason = outcome.duplicateOf ? `already delivered by ${outcome.duplicateOf.provider} (${outcome.duplicateOf.messageId}); not sent again` : (outcome.reason ?? null);
    let retryCopyId: number | undefined;
    if (outcome.refused) {
      const refusedText = outcome.refused.map(describeRefusal).map((r) => `${r!.address} (${r!.permanent ? 'for good' : 'for now'}: ${r!.reason})`).join(', ');
      retryCopyId = (await queueCopyForRefused(store, entry.message, outcome.refused, chain, outcome.provider!, dispatcher.now())).retryCopyId;
      reason = `delivered, but ${outcome.provider} refused ${refusedText}${retryCopyId ? `; a copy for those refused for now waits as #${retryCopyId}` : ''}`;
    }
    const nextAttemptAt = status === 'pending' ? options.nextAttemptAt?.(entry.tries + 1) : undefined;
    await store.finishRetry(id, owner, { status, reason, attempts: outcome.attempts, provider: outcome.provider, messageId: outcome.messageId, nextAttemptAt }, dispatcher.now());
    results.push({
      id,
      status,
      provider: outcome.provider,
      messageId: outcome.messageId,
      reason: reason ?? undefined,
      attempts: outcome.attempts,
      ...(outcome.refused ? { refused: outcome.refused } : {}),
      ...(retryCopyId ? { retryCopyId } : {}),
      ...(outcome.suppressed ? { suppressed: outcome.suppressed } : {}),
    });
  }
  return results;
}

/** The entry's chain, less providers no longer configured (or failover.order when none is left). */
function chainOf(entry: OutboxEntry, dispatcher: Dispatcher): string[] {
  const chain = entry.chain.filter((name) => dispatcher.config.providers[name]);
  return chain.length ? chain : dispatcher.config.failover.order;
}

/** Long enough for a whole failover run, so a slow but live retry keeps its claim. */
/** The longest one message can take through its whole chain: every try, timeout and wait. */
export function leaseMs(dispatcher: Dispatcher): number {
  const { config } = dispatcher;
  const longestTimeout = Math.max(30_000, ...Object.values(config.providers).map((p) => p.timeoutMs));
  const { attempts, delayMs, maxRetryAfterMs } = config.failover.retry;
  return Object.keys(config.providers).length * attempts * (longestTimeout + Math.max(delayMs, maxRetryAfterMs)) + 60_000;
}
