import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withMessageLock } from '../../src/app/run-lock.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const stores: SqliteStore[] = [];
afterEach(() => {
  vi.useRealTimers();
  stores.splice(0).forEach((store) => void store.close());
});

async function openStore(): Promise<SqliteStore> {
  const store = await SqliteStore.open(path.join(mkdtempSync(path.join(tmpdir(), 'penguinmails-lock-')), 'outbox.db'));
  stores.push(store);
  return store;
}

/** A holder that is alive: this very process, under another nonce. */
const LIVE_HOLDER = `${hostname()}:${process.pid}:other`;
const MINUTE = 60_000;
const noWait = async () => expect.fail('should not wait');

describe('withMessageLock', () => {
  it('waits while another live run sends the message, then runs once it lets go', async () => {
    const store = await openStore();
    await store.claimRunLock('send:key-1', LIVE_HOLDER, Date.now(), MINUTE, () => true);
    const waitedFor: string[] = [];
    let polls = 0;
    const sleep = async () => {
      if (++polls === 3) await store.releaseRunLock('send:key-1', LIVE_HOLDER);
    };
    const result = await withMessageLock(store, 'key-1', async () => 'sent', { maxWaitMs: MINUTE, sleep, onWait: (holder) => waitedFor.push(holder) });
    expect(result).toBe('sent');
    expect(waitedFor).toEqual([LIVE_HOLDER]);
    expect(polls).toBe(3);
    // Released afterwards: the next run goes straight on.
    expect(await withMessageLock(store, 'key-1', async () => 'again', { maxWaitMs: MINUTE, sleep: noWait })).toBe('again');
  });

  it('gives up after the longest a send can take with a usage error naming the holder, and never runs the work', async () => {
    const store = await openStore();
    await store.claimRunLock('send:key-2', LIVE_HOLDER, Date.now(), MINUTE, () => true);
    let clock = Date.now();
    const work = async () => expect.fail('ran while another run held the message');
    await expect(withMessageLock(store, 'key-2', work, { now: () => clock, sleep: async () => void (clock += 1_000), maxWaitMs: 5_000 })).rejects.toMatchObject({
      message: expect.stringContaining(LIVE_HOLDER),
      hint: expect.stringContaining('not sent twice'),
    });
  });

  it('takes over at once from a holder on this host whose process is gone, and lets go even when the work throws', async () => {
    const store = await openStore();
    await store.claimRunLock('send:key-3', `${hostname()}:999999999:dead`, Date.now(), MINUTE, () => true);
    await expect(withMessageLock(store, 'key-3', async () => Promise.reject(new Error('boom')), { maxWaitMs: MINUTE, sleep: noWait })).rejects.toThrow('boom');
    expect(await store.claimRunLock('send:key-3', 'next-owner', Date.now(), MINUTE, () => true)).toBeUndefined();
  });

  it('keeps its lock fresh while a long send runs, so it is not taken over as stale', async () => {
    // The heartbeat's interval only: the store commits its writes on setImmediate (group commit).
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const store = await openStore();
    let clock = Date.now();
    let finish!: () => void;
    const running = withMessageLock(store, 'key-4', () => new Promise<void>((resolve) => (finish = resolve)), { maxWaitMs: MINUTE, now: () => clock });
    // The lock is taken once the store's next group commit has run.
    await new Promise((resolve) => setImmediate(resolve));
    clock += 11 * MINUTE;
    await vi.advanceTimersByTimeAsync(5_000);
    // Another host's run (its holder cannot be checked) finds a fresh heartbeat: not stale.
    expect(await store.claimRunLock('send:key-4', 'other-host:1:x', clock, 10 * MINUTE, () => true)).toMatch(/^.+:\d+:[0-9a-f]+$/);
    finish();
    await running;
  });

  it('is not the bulk run lock of a message with the same key: neither blocks the other', async () => {
    const store = await openStore();
    await store.claimRunLock('spring-2024', LIVE_HOLDER, Date.now(), MINUTE, () => true);
    expect(await withMessageLock(store, 'spring-2024', async () => 'sent', { maxWaitMs: MINUTE, sleep: noWait })).toBe('sent');
  });

  it('a lock it cannot let go of is reported, and does not turn the delivery into a failure', async () => {
    const store = await openStore();
    const failures: unknown[] = [];
    const release = vi.spyOn(store, 'releaseRunLock').mockImplementation(() => {
      throw new Error('database is locked');
    });
    expect(await withMessageLock(store, 'key-5', async () => 'delivered', { maxWaitMs: MINUTE, onReleaseFailure: (e) => failures.push(e) })).toBe('delivered');
    expect(failures).toHaveLength(1);
    release.mockRestore();
  });
});
