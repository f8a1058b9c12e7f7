import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withMessageLock } from '../../src/app/message-lock.js';
import { Store } from '../../src/store/store.js';

const stores: Store[] = [];
afterEach(() => stores.splice(0).forEach((store) => store.close()));

async function openStore(): Promise<Store> {
  const store = await Store.open(path.join(mkdtempSync(path.join(tmpdir(), 'penguinmails-lock-')), 'outbox.db'));
  stores.push(store);
  return store;
}

/** A holder that is alive: this very process, under another nonce. */
const LIVE_HOLDER = `${hostname()}:${process.pid}:other`;

describe('withMessageLock', () => {
  it('waits while another live run holds the message, then runs once it lets go', async () => {
    const store = await openStore();
    store.claimRunLock('key-1', LIVE_HOLDER, Date.now(), 60_000, () => true);
    const waitedFor: string[] = [];
    let polls = 0;
    const sleep = async () => {
      if (++polls === 3) store.releaseRunLock('key-1', LIVE_HOLDER);
    };
    const result = await withMessageLock(store, 'key-1', async () => 'sent', { sleep, onWait: (holder) => waitedFor.push(holder) });
    expect(result).toBe('sent');
    expect(waitedFor).toEqual([LIVE_HOLDER]);
    expect(polls).toBe(3);
    // Released afterwards: the next run goes straight on.
    expect(await withMessageLock(store, 'key-1', async () => 'again', { sleep: async () => expect.fail('should not wait') })).toBe('again');
  });

  it('gives up after the longest wait with a usage error naming the holder, and never runs the work', async () => {
    const store = await openStore();
    store.claimRunLock('key-2', LIVE_HOLDER, Date.now(), 60_000, () => true);
    let clock = 0;
    const work = async () => expect.fail('ran while another run held the message');
    await expect(withMessageLock(store, 'key-2', work, { now: () => clock, sleep: async () => void (clock += 1_000), maxWaitMs: 5_000 })).rejects.toMatchObject({
      message: expect.stringContaining(LIVE_HOLDER),
      hint: expect.stringContaining('not sent twice'),
    });
  });

  it('takes over at once from a holder on this host whose process is gone, and lets go even when the work throws', async () => {
    const store = await openStore();
    store.claimRunLock('key-3', `${hostname()}:999999999:dead`, Date.now(), 60_000, () => true);
    await expect(withMessageLock(store, 'key-3', async () => Promise.reject(new Error('boom')), { sleep: async () => expect.fail('waited for a dead holder') })).rejects.toThrow('boom');
    expect(store.claimRunLock('key-3', 'next-owner', Date.now(), 60_000, () => true)).toBeUndefined();
  });
});
