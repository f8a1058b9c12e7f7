import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/app/api-keys.js';
import { ApiKeyCheck, KEY_TRUST_MS, LAST_USED_EVERY_MS } from '../../src/server/key-check.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

// serve's key check: the store is asked at most once a second per key, and lastUsedAt is written
// at most once a minute; a revoked key is refused within the second.
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

async function setUp() {
  const store = await SqliteStore.open(path.join(mkdtempSync(path.join(tmpdir(), 'penguinmails-keys-')), 'outbox.db'));
  stores.push(store);
  let clock = Date.parse('2026-12-06T10:00:00Z');
  const lookups: string[] = [];
  const counted = Object.assign(Object.create(store) as SqliteStore, {
    findKeyByHash: (hash: string) => {
      lookups.push(hash);
      return store.findKeyByHash(hash);
    },
  });
  const check = new ApiKeyCheck(counted, { now: () => clock });
  const lastUsed = async (name: string) => (await store.listKeys()).find((k) => k.name === name)?.lastUsedAt;
  return { store, check, lookups, lastUsed, advance: (ms: number) => (clock += ms), now: () => clock };
}

describe('ApiKeyCheck', () => {
  it('trusts a valid key for a second, then asks the store again; a revoked key is refused within that second', async () => {
    const { store, check, lookups, advance, now } = await setUp();
    const { key } = await createApiKey(store, 'app', now());
    expect(await check.check(key)).toMatchObject({ name: 'app' });
    expect(await check.check(key)).toMatchObject({ name: 'app' });
    expect(lookups).toHaveLength(1);
    await revokeApiKey(store, 'app', now());
    advance(KEY_TRUST_MS - 1);
    expect(await check.check(key)).toMatchObject({ name: 'app' });
    advance(1);
    expect(await check.check(key)).toBeUndefined();
    expect(lookups).toHaveLength(2);
  });

  it('does not remember unknown keys: a key created meanwhile works at once', async () => {
    const { store, check, lookups } = await setUp();
    expect(await check.check('pm_live_unknown')).toBeUndefined();
    expect(await check.check('pm_live_unknown')).toBeUndefined();
    expect(lookups).toHaveLength(2);
    const { key } = await createApiKey(store, 'new');
    expect(await check.check(key)).toMatchObject({ name: 'new' });
  });

  it('writes lastUsedAt on the first use, then at most once a minute', async () => {
    const { store, check, lastUsed, advance, now } = await setUp();
    const { key } = await createApiKey(store, 'app', now());
    expect(await lastUsed('app')).toBeNull();
    const first = new Date(now()).toISOString();
    await check.check(key);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await lastUsed('app')).toBe(first);
    advance(LAST_USED_EVERY_MS - 1);
    await check.check(key);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await lastUsed('app')).toBe(first);
    advance(1);
    await check.check(key);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await lastUsed('app')).toBe(new Date(now()).toISOString());
  });
});
