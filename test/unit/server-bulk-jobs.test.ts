import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/app/dispatcher.js';
import { validateConfig } from '../../src/config/validate.js';
import { IdempotencyConflictError } from '../../src/core/errors.js';
import { finalizeMessage, type EmailMessage } from '../../src/core/message.js';
import { BulkJobs, type BulkRoute } from '../../src/server/bulk-jobs.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { FakePostmark, POSTMARK_TOKEN } from '../fakes/fake-postmark.js';

// The bulk runs of `serve` (src/server/bulk-jobs.ts) on a real SQLite store and the fake Postmark:
// the cap, a shutdown, and a lease that lapsed under a run still going.
const postmark = new FakePostmark();
beforeAll(() => postmark.start());
afterAll(() => postmark.stop());
const stores: SqliteStore[] = [];
afterEach(async () => {
  postmark.reset();
  postmark.latencyMs = 0;
  for (const store of stores.splice(0)) await store.close();
});

const ROUTE: BulkRoute = { chain: ['postmark'], source: 'failover.order' };
const template = (key: string): EmailMessage =>
  finalizeMessage({ from: 'news@example.com', to: ['recipient@example.com'], cc: [], bcc: [], subject: 'Hi', text: 'Hello', type: 'marketing', priority: 'normal', tags: [], metadata: {}, headers: [], attachments: [], idempotencyKey: key });
const recipients = (count: number) => Array.from({ length: count }, (_, i) => ({ email: `reader${i}@example.com` }));

async function setup(now?: () => number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'penguinmails-bulk-jobs-'));
  const config = validateConfig({ providers: { postmark: { type: 'postmark', serverToken: POSTMARK_TOKEN, baseUrl: postmark.url } }, failover: { order: ['postmark'] } }, { baseDir: dir });
  const store = await SqliteStore.open(path.join(dir, 'outbox.db'));
  stores.push(store);
  const dispatcher = new Dispatcher(config, store, now ? { now } : {});
  const warnings: string[] = [];
  return { store, dispatcher, warnings, jobs: new BulkJobs(store, 'this-server', (message) => warnings.push(message)) };
}

/** Runs left by a server that died: claimable now. */
async function orphaned(store: SqliteStore, count: number) {
  const now = Date.now();
  for (let i = 0; i < count; i++) await store.saveBulkJob(`orphan-${i}`, JSON.stringify({ template: template(`k-${i}`), recipients: recipients(600) }), 'dead-server', now - 1, now - 100 + i);
}

describe('bulk runs of serve', () => {
  it('two looks at once for runs to resume take no more than the cap between them', async () => {
    const { store, dispatcher, jobs } = await setup();
    postmark.latencyMs = 200;
    await orphaned(store, 3);
    const routeOf = async () => ROUTE;
    const [first, second] = await Promise.all([jobs.resumeWaiting(dispatcher, 1, routeOf), jobs.resumeWaiting(dispatcher, 1, routeOf)]);
    expect(first).toEqual(['orphan-0']);
    expect(second).toBe(first); // the second call waited for the look under way
    expect(jobs.running).toBe(1);
    expect(jobs.reserve(1)).toBeUndefined();
    jobs.stopAll();
    await jobs.settled();
  });

  it('after a shutdown began, nothing starts: an accepted run is kept for the next server, a claimed one let go', async () => {
    const { store, dispatcher, jobs } = await setup();
    jobs.stopAll(false);
    expect(await jobs.start(dispatcher, template('k-new'), ROUTE, recipients(10))).toBeUndefined();
    await orphaned(store, 1);
    expect(await jobs.resumeWaiting(dispatcher, 8, async () => ROUTE)).toEqual([]);
    expect(jobs.running).toBe(0);
    expect(postmark.requests).toHaveLength(0);
    // The orphan is still there, claimable by the next server.
    expect(await store.claimBulkJob('next-server', Date.now() + 60_000, Date.now(), () => true)).toMatchObject({ id: 'orphan-0' });
  });

  it("a lapsed lease under a run still going is claimed back, not run twice; the run's end removes the row", async () => {
    let clock = Date.now();
    const { store, dispatcher, jobs } = await setup(() => clock);
    postmark.latencyMs = 100;
    const id = (await jobs.start(dispatcher, template('k-lapse'), ROUTE, recipients(1_500)))!;
    // Renewals failed for a while (a store outage): the lease has run out while the run goes on.
    clock += 3 * 60_000;
    expect(await jobs.resumeWaiting(dispatcher, 8, async () => ROUTE)).toEqual([]);
    expect(jobs.running).toBe(1);
    // Held again by this server (the look claimed it back): nobody else takes it.
    expect(await store.claimBulkJob('next-server', clock + 60_000, clock, () => true)).toBeUndefined();
    await jobs.settled();
    expect(jobs.report(id)).toMatchObject({ status: 'delivered', delivered: 1_500 });
    expect(await store.claimBulkJob('next-server', clock + 10 * 60_000, clock + 9 * 60_000, () => true)).toBeUndefined();
    const copies = postmark.sent.flatMap((call) => (call.body as { To: string }[]).map((message) => message.To));
    expect(new Set(copies).size).toBe(copies.length);
  });

  it('a run left for longer than the ledger lets a rerun resume is given up, said, and not sent', async () => {
    const { store, dispatcher, jobs, warnings } = await setup();
    const eightDaysAgo = Date.now() - 8 * 86_400_000;
    await store.saveBulkJob('ancient', JSON.stringify({ template: template('k-old'), recipients: recipients(5) }), 'dead-server', eightDaysAgo + 60_000, eightDaysAgo);
    expect(await jobs.resumeWaiting(dispatcher, 8, async () => ROUTE)).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining('bulk run ancient, accepted')]);
    expect(postmark.requests).toHaveLength(0);
    expect(await store.claimBulkJob('next-server', Date.now() + 60_000, Date.now(), () => true)).toBeUndefined();
  });

  it('the same run started again while it goes here is that run; the same key with other content is a conflict, and nothing is kept', async () => {
    const { store, dispatcher, jobs } = await setup();
    postmark.latencyMs = 500; // long enough for the run to be going through each step below
    const id = await jobs.start(dispatcher, template('k-again'), ROUTE, recipients(1_500));
    expect(await jobs.start(dispatcher, template('k-again'), ROUTE, recipients(1_500))).toBe(id);
    await expect(jobs.start(dispatcher, template('k-again'), ROUTE, recipients(1_499))).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(jobs.running).toBe(1);
    await jobs.settled();
    // Once it has ended, the same run may be started again (a rerun: it skips whoever was delivered).
    expect(await jobs.start(dispatcher, template('k-again'), ROUTE, recipients(1_500))).not.toBe(id);
    await jobs.settled();
    const copies = postmark.sent.flatMap((call) => (call.body as { To: string }[]).map((message) => message.To));
    expect(copies).toHaveLength(1_500);
    expect(await store.claimBulkJob('next-server', Date.now() + 60_000, Date.now(), () => true)).toBeUndefined();
  });

  it('a run whose key delivered another message (accepted by a second server before the first delivered) is given up, said, and not tried again', async () => {
    const { store, dispatcher, jobs, warnings } = await setup();
    await jobs.start(dispatcher, template('k-reused'), ROUTE, recipients(3));
    await jobs.settled();
    const calls = postmark.requests.length;
    const now = Date.now();
    const other = { ...template('k-reused'), subject: 'Other news' };
    await store.saveBulkJob('second-servers-run', JSON.stringify({ template: other, recipients: recipients(3) }), 'dead-server', now - 1, now - 1_000);
    expect(await jobs.resumeWaiting(dispatcher, 8, async () => ROUTE)).toEqual(['second-servers-run']);
    await jobs.settled();
    expect(jobs.report('second-servers-run')).toMatchObject({ status: 'error', error: expect.stringContaining('idempotency key "k-reused" was used for a different message') });
    expect(warnings).toEqual([expect.stringContaining('bulk run second-servers-run is given up: idempotency key "k-reused"')]);
    expect(postmark.requests).toHaveLength(calls);
    expect(await store.claimBulkJob('next-server', Date.now() + 120_000, Date.now() + 120_000, () => true)).toBeUndefined();
  });

  it("a dead server's run of the list this server is sending again (posted before the look found it) is let go, not run a second time", async () => {
    const { store, dispatcher, jobs, warnings } = await setup();
    postmark.latencyMs = 500; // long enough for the run to be going through each step below
    const id = (await jobs.start(dispatcher, template('k-twice'), ROUTE, recipients(1_500)))!;
    const now = Date.now();
    await store.saveBulkJob('dead-servers-run', JSON.stringify({ template: template('k-twice'), recipients: recipients(1_500) }), 'dead-server', now - 1, now - 60_000);
    expect(await jobs.resumeWaiting(dispatcher, 8, async () => ROUTE)).toEqual([]);
    expect(warnings).toEqual([]);
    expect(jobs.running).toBe(1);
    await jobs.settled();
    expect(jobs.report(id)).toMatchObject({ status: 'delivered', delivered: 1_500 });
    expect(await store.claimBulkJob('next-server', Date.now() + 60_000, Date.now(), () => true)).toBeUndefined();
  });

  it('requests at once for one key are one run: the same content gets its id, other content a conflict', async () => {
    const { dispatcher, jobs } = await setup();
    postmark.latencyMs = 500;
    const starts = [1_500, 1_499, 1_500, 1_499].map((count) => jobs.start(dispatcher, template('k-together'), ROUTE, recipients(count)));
    const [first, other, same, otherAgain] = await Promise.allSettled(starts);
    expect(first).toMatchObject({ status: 'fulfilled', value: expect.any(String) });
    expect(same).toEqual(first);
    for (const refused of [other, otherAgain]) expect(refused).toMatchObject({ status: 'rejected', reason: expect.any(IdempotencyConflictError) });
    expect(jobs.running).toBe(1);
    await jobs.settled();
    const copies = postmark.sent.flatMap((call) => (call.body as { To: string }[]).map((message) => message.To));
    expect(copies).toHaveLength(1_500);
  });
});
