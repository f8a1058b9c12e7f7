import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LedgerBuffer } from '../../src/app/bulk/ledger-buffer.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const RUN = 'pm_run';
const stores: SqliteStore[] = [];

async function openStore(): Promise<SqliteStore> {
  const store = await SqliteStore.open(path.join(mkdtempSync(path.join(tmpdir(), 'penguinmails-ledger-')), 'outbox.db'));
  stores.push(store);
  return store;
}

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => {});
});

/** `count` digests of 24 hex digits, distinct for each `batch`. */
function digestsOf(batch: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${batch.toString(16).padStart(8, '0')}${i.toString(16).padStart(16, '0')}`);
}

/** A batch accepted whole, marked in flight first as the bulk engine does. */
async function acceptedBatch(store: SqliteStore, batch: number, count: number) {
  const digests = digestsOf(batch, count);
  const batchId = await store.markInFlight(RUN, digests, 'owner-1', 'postmark', 1);
  return { provider: 'postmark', digests, messageIds: digests.map((d) => `id-${d}`), batchId, stillOpen: [] };
}

async function delivered(store: SqliteStore): Promise<number> {
  let count = 0;
  await store.forEachBulkDeliveredDigest(RUN, 0, () => count++);
  return count;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('the bulk engine’s ledger buffer', () => {
  it('writes a full buffer on the next turn of the event loop, not in add()', async () => {
    const store = await openStore();
    const buffer = new LedgerBuffer(store, RUN, 'marketing', () => 2);
    for (let batch = 0; batch < 4; batch++) buffer.add(await acceptedBatch(store, batch, 1_000));
    const fifth = await acceptedBatch(store, 4, 1_000);
    buffer.add(fifth);
    // 5,000 rows: due, but the caller goes on first (its next call is not held up by the write).
    expect(await delivered(store)).toBe(0);
    await nextTurn();
    await nextTurn();
    expect(await delivered(store)).toBe(5_000);
    // Written with the ledger rows in the same transaction: no batch is left in flight.
    expect((await store.inFlightOf(RUN)).size).toBe(0);
  });

  it('writes the rest on flush(), and a buffer writes only once however often it is asked to', async () => {
    const store = await openStore();
    const buffer = new LedgerBuffer(store, RUN, 'marketing', () => 2);
    buffer.add(await acceptedBatch(store, 0, 10));
    buffer.writeSoon();
    buffer.writeSoon();
    buffer.add(await acceptedBatch(store, 1, 10));
    await buffer.flush();
    expect(await delivered(store)).toBe(20);
    await buffer.flush();
    expect(await delivered(store)).toBe(20);
  });

  it('a flush that finds the buffer empty still waits for the write under way, which may hold its batches', async () => {
    const store = await openStore();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The real store, its write held as a slow PostgreSQL's would be.
    const slowLedger = { recordBulkBatches: async (...args: Parameters<SqliteStore['recordBulkBatches']>) => (await held, store.recordBulkBatches(...args)) };
    const buffer = new LedgerBuffer(slowLedger, RUN, 'marketing', () => 2);
    buffer.add(await acceptedBatch(store, 0, 10));
    buffer.add(await acceptedBatch(store, 1, 10));
    const first = buffer.flush();
    let secondDone = false;
    const second = buffer.flush().then(() => (secondDone = true));
    await nextTurn();
    await nextTurn();
    expect(secondDone).toBe(false);
    release();
    await Promise.all([first, second]);
    expect(await delivered(store)).toBe(20);
  });

  it('a write that fails is thrown by the next add() and by flush(), never as an unhandled rejection', async () => {
    const store = await openStore();
    const buffer = new LedgerBuffer(store, RUN, 'marketing', () => 2);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      buffer.add(await acceptedBatch(store, 0, 10));
      await store.close();
      buffer.writeSoon();
      await nextTurn();
      await nextTurn();
      expect(() => buffer.throwIfWriteFailed()).toThrow(/not open/);
      expect(() => buffer.add({ provider: 'postmark', digests: digestsOf(1, 1), messageIds: ['id'], batchId: 99, stillOpen: [] })).toThrow(/not open/);
      await expect(buffer.flush()).rejects.toThrow(/not open/);
      await nextTurn();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
