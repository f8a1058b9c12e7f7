import { UserError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { isLeaseOwnerAlive, newLeaseOwner } from './lease-owner.js';

/** A lock not kept fresh for this long can be taken over (where its holder cannot be checked). */
const STALE_AFTER_MS = 10 * 60_000;
const HEARTBEAT_MS = 5_000;
const POLL_MS = 100;

export interface MessageLockOptions {
  /** How long to wait for another run at most: as long as one send can take (see leaseMs). */
  maxWaitMs: number;
  /** Told once, when another run holds the message and this one starts waiting. */
  onWait?: (holder: string) => void;
  /** Told when the lock could not be let go (it then goes stale, or its process ends). */
  onReleaseFailure?: (error: unknown) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * Runs `work` while no other penguinmails process sends the same message (idempotency key).
 * Two runs of one send at the same moment (a CI retry, two jobs) would each find nothing in the
 * ledger and both send; the second one waits instead, and then finds the first one's delivery.
 * A bulk run of a message keeps its own lock: its copies' keys are not the message's key.
 */
export async function withMessageLock<T>(store: Store, key: string, work: () => Promise<T>, options: MessageLockOptions): Promise<T> {
  const { sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)), now = Date.now } = options;
  const lockKey = `send:${key}`;
  const owner = newLeaseOwner();
  const giveUpAt = now() + options.maxWaitMs;
  let waiting = false;
  for (;;) {
    const holder = store.claimRunLock(lockKey, owner, now(), STALE_AFTER_MS, isLeaseOwnerAlive);
    if (holder === undefined) break;
    if (now() >= giveUpAt) {
      throw new UserError(`another penguinmails run (${holder}) has been sending this message for longer than one send can take`, {
        hint: 'check that run; once it has ended, run this again: a message it delivered is not sent twice',
      });
    }
    if (!waiting) options.onWait?.(holder);
    waiting = true;
    await sleep(POLL_MS);
  }
  // Kept fresh while the send runs, so a long one (retries, Retry-After waits) is not taken over.
  const heartbeat = setInterval(() => store.heartbeatRunLock(lockKey, owner, now()), HEARTBEAT_MS);
  heartbeat.unref();
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    try {
      store.releaseRunLock(lockKey, owner);
    } catch (error) {
      options.onReleaseFailure?.(error);
    }
  }
}
