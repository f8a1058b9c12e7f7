import { UserError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { isLeaseOwnerAlive, newLeaseOwner } from './lease-owner.js';

/** A lock whose holder has not been heard of for this long can be taken over (its host cannot be checked). */
const STALE_AFTER_MS = 10 * 60_000;
const POLL_MS = 100;
const MAX_WAIT_MS = 5 * 60_000;

export interface MessageLockOptions {
  /** Told once, when another run holds the message and this one starts waiting. */
  onWait?: (holder: string) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  maxWaitMs?: number;
}

/**
 * Runs `work` while no other penguinmails process works on the same message (idempotency key).
 * Two runs of one send at the same moment (a CI retry, two jobs) would each find nothing in the
 * ledger and both send; the second one waits instead, and then finds the first one's delivery.
 */
export async function withMessageLock<T>(store: Store, key: string, work: () => Promise<T>, options: MessageLockOptions = {}): Promise<T> {
  const { sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)), now = Date.now, maxWaitMs = MAX_WAIT_MS } = options;
  const owner = newLeaseOwner();
  const giveUpAt = now() + maxWaitMs;
  let waiting = false;
  for (;;) {
    const holder = store.claimRunLock(key, owner, now(), STALE_AFTER_MS, isLeaseOwnerAlive);
    if (holder === undefined) break;
    if (now() >= giveUpAt) {
      throw new UserError(`another penguinmails run (${holder}) has been sending this message for over ${Math.round(maxWaitMs / 1000)} s`, {
        hint: 'let it finish, then run this again: a message it delivered is not sent twice',
      });
    }
    if (!waiting) options.onWait?.(holder);
    waiting = true;
    await sleep(POLL_MS);
  }
  try {
    return await work();
  } finally {
    store.releaseRunLock(key, owner);
  }
}
