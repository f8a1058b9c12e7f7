import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmailMessage } from '../../src/core/message.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

// The single-send writes of the SQLite store are committed in groups (src/store/sqlite/group-commit.ts):
// what each caller sees must be what it saw with a transaction of its own.
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => undefined);
});

async function openStore(): Promise<{ store: SqliteStore; file: string }> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'penguinmails-group-')), 'outbox.db');
  const store = await SqliteStore.open(file);
  stores.push(store);
  return { store, file };
}

function message(key: string): EmailMessage {
  return { from: 'noreply@example.com', to: ['ada@example.com'], cc: [], bcc: [], subject: 'Hi', text: 'Hello', type: 'transactional', priority: 'normal', tags: [], metadata: {}, headers: [], attachments: [], idempotencyKey: key };
}

/** What another process would read from the file now. */
function committedOutboxKeys(file: string): string[] {
  const raw = new Database(file, { readonly: true });
  try {
    return (raw.prepare('SELECT idempotency_key AS key FROM outbox ORDER BY id').all() as { key: string }[]).map((r) => r.key);
  } finally {
    raw.close();
  }
}

describe('group commit of single-send writes', () => {
  it('a write is committed, for other processes to see, by the time its promise resolves', async () => {
    const { store, file } = await openStore();
    const recording = store.recordSendStart(message('order-1'), ['postmark'], 'host:1:a', Date.now(), 60_000);
    expect(committedOutboxKeys(file)).toEqual([]);
    const id = await recording;
    expect(committedOutboxKeys(file)).toEqual(['order-1']);
    expect(await store.getEntry(id)).toMatchObject({ idempotencyKey: 'order-1', status: 'pending' });
  });

  it('writes made at the same time run in order: the first claim of a lock wins, the second sees its holder', async () => {
    const { store } = await openStore();
    const claims = await Promise.all([
      store.claimRunLock('send:k', 'host:1:first', Date.now(), 60_000, () => true),
      store.claimRunLock('send:k', 'host:1:second', Date.now(), 60_000, () => true),
      store.claimRunLock('send:other', 'host:1:third', Date.now(), 60_000, () => true),
    ]);
    expect(claims).toEqual([undefined, 'host:1:first', undefined]);
  });

  it('a write that fails fails alone: the others made with it are committed', async () => {
    const { store, file } = await openStore();
    const now = Date.now();
    // The second start of the same key breaks the "one open entry per key" index.
    const results = await Promise.allSettled([
      store.recordSendStart(message('order-2'), ['postmark'], 'host:1:a', now, 60_000),
      store.recordSendStart(message('order-2'), ['postmark'], 'host:1:b', now, 60_000),
      store.recordSendStart(message('order-3'), ['postmark'], 'host:1:c', now, 60_000),
      store.claimRunLock('send:order-4', 'host:1:d', now, 60_000, () => true),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(committedOutboxKeys(file)).toEqual(['order-2', 'order-3']);
    expect(await store.claimRunLock('send:order-4', 'host:1:e', now, 60_000, () => true)).toBe('host:1:d');
  });

  it('closing the store commits the writes still queued', async () => {
    const { store, file } = await openStore();
    const recording = store.recordSendStart(message('order-5'), ['postmark'], 'host:1:a', Date.now(), 60_000);
    await store.close();
    expect(await recording).toBeGreaterThan(0);
    expect(committedOutboxKeys(file)).toEqual(['order-5']);
  });
});
