import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackgroundSync } from '../../src/store/sqlite/background-sync.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const scratch = () => mkdtempSync(path.join(tmpdir(), 'penguinmails-sync-'));

describe('writing a file out in the background', () => {
  it('syncs the file, and a sync asked for while one runs follows it (none is lost, none runs twice at once)', async () => {
    const file = path.join(scratch(), 'log');
    writeFileSync(file, 'frames');
    const sync = new BackgroundSync(file);
    sync.start();
    sync.start();
    sync.start();
    await sync.settled();
    expect(sync.completed).toBe(2);
    await sync.settled();
    expect(sync.completed).toBe(2);
  });

  it('a FIFO in the file’s place does not hold it up (opened without waiting for a writer)', async () => {
    const fifo = path.join(scratch(), 'log');
    execFileSync('mkfifo', [fifo]);
    const sync = new BackgroundSync(fifo);
    sync.start();
    await expect(sync.settled()).resolves.toBeUndefined();
    expect(sync.completed).toBe(0);
  });

  it('a file that is not there is no error: the work is left to SQLite', async () => {
    const sync = new BackgroundSync(path.join(scratch(), 'missing'));
    sync.start();
    await expect(sync.settled()).resolves.toBeUndefined();
    expect(sync.completed).toBe(0);
  });
});

describe('the SQLite store syncs its write-ahead log as bulk batches are recorded', () => {
  it('records, syncs in the background, and closes with nothing left running', async () => {
    const file = path.join(scratch(), 'outbox.db');
    const store = await SqliteStore.open(file);
    const digests = ['aaaaaaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbbbb'];
    const batchId = await store.markInFlight('run', digests, 'owner-1', 'postmark', 1);
    await store.recordBulkBatches('run', 'marketing', [{ provider: 'postmark', digests, messageIds: ['id-0', 'id-1'], batchId, stillOpen: [] }], 2);
    expect(existsSync(`${file}-wal`)).toBe(true);
    await store.close();
    expect(store.logSyncs).toBe(1);
    // Closing waited for the sync, then checkpointed and removed the log as SQLite does.
    expect(existsSync(`${file}-wal`)).toBe(false);
    const reopened = await SqliteStore.open(file);
    const found: string[] = [];
    await reopened.forEachBulkDeliveredDigest('run', 0, (digest) => found.push(digest));
    await reopened.close();
    expect(found).toEqual(digests);
  });

  it('syncs the log beside the file a symbolic link points to, where SQLite keeps it', async () => {
    const dir = scratch();
    const real = path.join(dir, 'real.db');
    mkdirSync(path.join(dir, 'links'));
    const link = path.join(dir, 'links', 'outbox.db');
    await (await SqliteStore.open(real)).close();
    symlinkSync(real, link);
    const store = await SqliteStore.open(link);
    const batchId = await store.markInFlight('run', ['aaaaaaaaaaaaaaaaaaaaaaaa'], 'owner-1', 'mailgun', 1);
    await store.recordBulkBatches('run', 'marketing', [{ provider: 'mailgun', digests: ['aaaaaaaaaaaaaaaaaaaaaaaa'], messageIds: ['<one@mg>'], batchId, stillOpen: [] }], 2);
    expect(existsSync(`${real}-wal`)).toBe(true);
    expect(existsSync(`${link}-wal`)).toBe(false);
    await store.close();
    expect(store.logSyncs).toBe(1);
  });

  it('prepareToClose copies the log into the database file itself (what closing would do)', async () => {
    const dir = scratch();
    const file = path.join(dir, 'outbox.db');
    const store = await SqliteStore.open(file);
    const digests = ['aaaaaaaaaaaaaaaaaaaaaaaa'];
    const batchId = await store.markInFlight('run', digests, 'owner-1', 'mailgun', 1);
    await store.recordBulkBatches('run', 'marketing', [{ provider: 'mailgun', digests, messageIds: ['<one@mg>'], batchId, stillOpen: [] }], 2);
    await store.prepareToClose();
    // The database file alone, without its log, already holds the delivery.
    const copy = path.join(dir, 'copy.db');
    copyFileSync(file, copy);
    const alone = await SqliteStore.open(copy);
    const found: string[] = [];
    await alone.forEachBulkDeliveredDigest('run', 0, (digest) => found.push(digest));
    await alone.close();
    await store.close();
    expect(found).toEqual(digests);
  });

  it('an in-memory store has no log to sync', async () => {
    const store = await SqliteStore.open(':memory:');
    const batchId = await store.markInFlight('run', ['aaaaaaaaaaaaaaaaaaaaaaaa'], 'owner-1', 'postmark', 1);
    await store.recordBulkBatches('run', 'marketing', [{ provider: 'postmark', digests: ['aaaaaaaaaaaaaaaaaaaaaaaa'], messageIds: ['id-0'], batchId, stillOpen: [] }], 2);
    await expect(store.prepareToClose()).resolves.toBeUndefined();
    await expect(store.close()).resolves.toBeUndefined();
  });
});
