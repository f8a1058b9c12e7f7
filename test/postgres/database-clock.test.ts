import { hostname } from 'node:os';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openStoreAt } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/ports.js';
import { message } from '../contract/store-contract.js';
import { freshSchema, postgresSettings, testPostgresUrl } from '../helpers/postgres.js';

// SPEC store: leases are timed on the database's clock, so a host whose clock is wrong neither
// loses its lease early nor lets another host steal it.
const url = testPostgresUrl();
const schema = freshSchema('pm_clock');
const stores: Store[] = [];
afterAll(async () => {
  for (const store of stores) await store.close();
  await schema.drop();
});

const MINUTE = 60_000;
const alive = () => true;
const never = () => false;

/** Opens a store on a host whose clock is off by `offsetMs` (Date only: timers keep running). */
async function openOnHostWithClockOff(offsetMs: number): Promise<{ store: Store; hostNow: () => number }> {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + offsetMs });
  try {
    const store = await openStoreAt(postgresSettings(schema.name));
    stores.push(store);
    const skewedNow = Date.now();
    return { store, hostNow: () => skewedNow };
  } finally {
    vi.useRealTimers();
  }
}

describe.skipIf(!url)('the database clock', () => {
  it('a lease taken by a host whose clock is 10 minutes slow still holds against a host with the right time', async () => {
    const slow = await openOnHostWithClockOff(-10 * MINUTE);
    const right = await openStoreAt(postgresSettings(schema.name));
    stores.push(right);
    const id = await right.enqueue(message('clock-1'), ['p'], 'pending', 'down', [], Date.now());
    const taken = await slow.store.claim(id, `${hostname()}-slow:1:a`, slow.hostNow(), MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
    expect(taken.entry?.id).toBe(id);
    // On the slow host's own clock the lease ended 9 minutes ago; on the database's it has a minute left.
    const stolen = await right.claim(id, `${hostname()}-right:2:b`, Date.now(), MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
    expect(stolen.refused).toMatch(/^being retried by .*-slow/);
    // And times read back on the slow host are in its own clock (what it compares with).
    const entry = (await slow.store.getEntry(id))!;
    expect(Math.abs(Date.parse(entry.updatedAt) - slow.hostNow())).toBeLessThan(5_000);
  });
});
