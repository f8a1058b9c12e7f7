import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const RUN = 'pm_run/with-a-slash';
const digests = ['aaaaaaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbbbb'];
const keys = digests.map((digest) => `${RUN}/${digest}`);
const stores: SqliteStore[] = [];

async function deliveredDigests(store: SqliteStore, runKey: string): Promise<string[]> {
  const found: string[] = [];
  await store.forEachBulkDeliveredDigest(runKey, 0, (digest) => found.push(digest));
  return found;
}

async function openStore(): Promise<{ store: SqliteStore; file: string }> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'penguinmails-store-')), 'outbox.db');
  const store = await SqliteStore.open(file);
  stores.push(store);
  return { store, file };
}

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

describe('bulk batches in the store', () => {
  it('keeps recipients by digest, and finds a delivery by the whole recipient key', async () => {
    const { store, file } = await openStore();
    const batchId = await store.markInFlight(RUN, digests, 'owner-1', 'postmark', 1);
    expect([...(await store.inFlightOf(RUN)).keys()]).toEqual(digests);
    await store.recordBulkBatches(RUN, 'marketing', [{ provider: 'postmark', digests, messageIds: ['id-0', 'id-1'], batchId, stillOpen: [] }], 2);
    expect(await deliveredDigests(store, RUN)).toEqual(digests);
    expect(await store.findDelivery(keys[1])).toMatchObject({ provider: 'postmark', messageId: 'id-1' });
    expect((await store.inFlightOf(RUN)).size).toBe(0);

    const raw = new Database(file, { readonly: true });
    const row = raw.prepare('SELECT keys_json FROM bulk_deliveries').get() as { keys_json: string };
    raw.close();
    expect(JSON.parse(row.keys_json)).toEqual(digests);
  });

  it('stores one message id for a batch that got one id (Mailgun)', async () => {
    const { store } = await openStore();
    const batchId = await await store.markInFlight(RUN, digests, 'owner-1', 'mailgun', 1);
    await store.recordBulkBatches(RUN, 'marketing', [{ provider: 'mailgun', digests, messageIds: ['<one@mg>', '<one@mg>'], batchId, stillOpen: [] }], 2);
    expect(await store.findDelivery(keys[0])).toMatchObject({ provider: 'mailgun', messageId: '<one@mg>' });
    expect(await store.findDelivery(keys[1])).toMatchObject({ provider: 'mailgun', messageId: '<one@mg>' });
  });

  it('narrows an in-flight batch to the recipients still open, and drops it when none are (queueInDoubt settles them)', async () => {
    const { store } = await openStore();
    const batchId = await store.markInFlight(RUN, digests, 'owner-1', 'mailgun', 1);
    await store.queueInDoubt([], [{ batchId, digest: digests[0] }], 2);
    expect([...(await store.inFlightOf(RUN)).keys()]).toEqual([digests[1]]);
    await store.queueInDoubt([], [{ batchId, digest: digests[1] }], 2);
    expect((await store.inFlightOf(RUN)).size).toBe(0);
  });

  it('still reads rows written with whole keys by an earlier version', async () => {
    const { store, file } = await openStore();
    const raw = new Database(file);
    raw.prepare('INSERT INTO bulk_deliveries (run_key, provider, keys_json, message_ids_json, delivered_at) VALUES (?, ?, ?, ?, ?)').run(RUN, 'mailgun', JSON.stringify(keys), JSON.stringify('<one@mg>'), 1);
    raw.prepare('INSERT INTO bulk_in_flight (run_key, owner, provider, keys_json, started_at) VALUES (?, ?, ?, ?, ?)').run(RUN, 'dead-owner', 'mailgun', JSON.stringify([keys[0]]), 1);
    raw.close();
    expect(await deliveredDigests(store, RUN)).toEqual(digests);
    expect(await store.findDelivery(keys[0])).toMatchObject({ provider: 'mailgun', messageId: '<one@mg>' });
    expect([...(await store.inFlightOf(RUN)).keys()]).toEqual([digests[0]]);
  });

  it('knows whether single-message records exist under a bulk message key', async () => {
    const { store, file } = await openStore();
    expect(await store.hasSingleRecordsUnder(RUN)).toBe(false);
    const raw = new Database(file);
    raw.prepare('INSERT INTO deliveries (idempotency_key, provider, message_id, delivered_at) VALUES (?, ?, ?, ?)').run(`${RUN}0-not-a-recipient`, 'smtp', 'x', 1);
    expect(await store.hasSingleRecordsUnder(RUN)).toBe(false);
    raw.prepare('INSERT INTO deliveries (idempotency_key, provider, message_id, delivered_at) VALUES (?, ?, ?, ?)').run(keys[0], 'smtp', 'x', 1);
    raw.close();
    expect(await store.hasSingleRecordsUnder(RUN)).toBe(true);
  });
});

describe('schema migrations', () => {
  it('an outbox written by an earlier version is migrated once: its entries kept, `expired` and backoff available', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'penguinmails-old-')), 'outbox.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL, message_json TEXT NOT NULL, chain_json TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'ambiguous', 'delivered', 'rejected', 'dropped')), reason TEXT, attempts_json TEXT NOT NULL DEFAULT '[]',
      tries INTEGER NOT NULL DEFAULT 0, provider TEXT, message_id TEXT, lease_owner TEXT, lease_until INTEGER, sending_since INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
    old.prepare("INSERT INTO outbox (idempotency_key, message_json, chain_json, status, reason, tries, created_at, updated_at) VALUES ('k', '{}', '[\"postmark\"]', 'pending', 'down', 1, 1, 1)").run();
    old.close();
    const [first, second] = await Promise.all([SqliteStore.open(file), SqliteStore.open(file)]);
    stores.push(first, second);
    expect((await first.listEntries(false)).map((e) => [e.id, e.status, e.nextAttemptAt])).toEqual([[1, 'pending', null]]);
    expect(await first.expireEntries(2, 'too old', 3)).toEqual([1]);
    expect((await second.getEntry(1))?.status).toBe('expired');
    expect(await first.createKey('ci', 'hash-1', 4)).toBe(true);
    expect(await second.createKey('ci', 'hash-2', 5)).toBe(false);
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(5);
    raw.close();
  });
});
