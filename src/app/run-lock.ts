import { UserError } from '../core/errors.js';
import type { Store } from '../store/ports.js';
import { isLeaseOwnerAlive, newLeaseOwner } from './lease-owner.js';

/** A lock not kept fresh for this long can be taken over (where its holder cannot be checked). */
const STALE_AFTER_MS = 10 * 60_000;
const HEARTBEAT_MS = 5_000;
const POLL_MS = 100;

export interface RunLockOptions {
  /** How long to wait for another run at most (0: not at all). */
  maxWaitMs: number;
  /** The error when another run still holds the lock once the wait is over. */
  busy: (holder: string) => Error;
  /** This process's name in the lock (default: a new one). */
  owner?: string;
  /** Told once, when another run holds the lock and this one starts waiting. */
  onWait?: (holder: string) => void;
  /** Told when the lock could not be let go (it then goes stale, or its process ends). */
  onReleaseFailure?: (error: unknown) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * Runs `work` while no other penguinmails process holds the lock `key` (one run per message).
 * The lock is kept fresh while the work runs, so a long run is not taken over as stale; one whose
 * process is gone (on this host) is taken over at once.
 */
export async function withRunLock<T>(store: Store, key: string, work: () => Promise<T>, options: RunLockOptions): Promise<T> {
  const { sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)), now = Date.now, owner = newLeaseOwner() } = options;
  const giveUpAt = now() + options.maxWaitMs;
  let waiting = false;
  for (;;) {
    const holder = await store.claimRunLock(key, owner, now(), STALE_AFTER_MS, isLeaseOwnerAlive);
    if (holder === undefined) break;
    if (now() >= giveUpAt) throw options.busy(holder);
    if (!waiting) options.onWait?.(holder);
    waiting = true;
    await sleep(POLL_MS);
  }
  // A missed heartbeat is harmless (the next one refreshes the lock; staleness takes minutes).
  const heartbeat = setInterval(() => void store.heartbeatRunLock(key, owner, now()).catch(() => undefined), HEARTBEAT_MS);
  heartbeat.unref();
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    try {
      await store.releaseRunLock(key, owner);
    } catch (error) {
      options.onReleaseFailure?.(error);
    }
  }
}

export type MessageLockOptions = Omit<RunLockOptions, 'busy' | 'owner'>;

/**
 * Runs `work` while no other penguinmails process sends the same message (idempotency key).
 * Two runs of one send at the same moment (a CI retry, two jobs) would each find nothing in the
 * ledger and both send; the second one waits instead (as long as one send can take), and then
 * finds the first one's delivery. A bulk run of a message keeps its own lock: its copies' keys
 * are not the message's key.
 */
export function withMessageLock<T>(store: Store, key: string, work: () => Promise<T>, options: MessageLockOptions): Promise<T> {
  const busy = (holder: string) =>
    new UserError(`another penguinmails run (${holder}) has been sending this message for longer than one send can take`, {
      hint: 'check that run; once it has ended, run this again: a message it delivered is not sent twice',
    });
  return withRunLock(store, `send:${key}`, work, { ...options, busy });
}
