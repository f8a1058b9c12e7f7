import type { WorkerPolicy } from '../config/types.js';
import type { Dispatcher } from './dispatcher.js';
import { retryOutboxEntries, type RetryResult } from './retry-outbox.js';

/** How many due entries one pass takes at most (the next pass takes the rest). */
const PASS_LIMIT = 100;

export interface WorkerPass {
  results: RetryResult[];
  /** Entries that reached worker.maxAge undelivered in this pass. */
  expired: number[];
}

/** The wait before the next try of an entry tried `tries` times: the backoff, doubling, up to the cap. */
export function backoffMs(tries: number, policy: Pick<WorkerPolicy, 'backoffMs' | 'maxBackoffMs'>): number {
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, tries - 1));
}

/**
 * One pass of the outbox worker (inside `serve`, or `queue work`): entries past worker.maxAge
 * become `expired` (kept and listed, never dropped silently); due `pending` entries are retried
 * under the same leases as `queue retry`, so a worker, a hand retry and another server never send
 * one message twice. Ambiguous entries wait for a person. Providers marked down are skipped.
 */
export async function runWorkerPass(dispatcher: Dispatcher, policy: WorkerPolicy): Promise<WorkerPass> {
  const store = dispatcher.store!;
  const now = dispatcher.now();
  const reason = `not delivered within worker.maxAge (${Math.round(policy.maxAgeMs / 3_600_000)}h): expired, not retried again`;
  const expired = await store.expireEntries(now - policy.maxAgeMs, reason, now);
  const due = await store.dueEntries(now, PASS_LIMIT);
  const results = await retryOutboxEntries(
    dispatcher,
    due.map((entry) => entry.id),
    { force: false, ignoreCircuit: false, nextAttemptAt: (tries) => dispatcher.now() + backoffMs(tries, policy) },
  );
  return { results, expired };
}
