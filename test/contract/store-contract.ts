import { hostname } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { contentKeyOf, type EmailMessage } from '../../src/core/message.js';
import { parseRateLimits, type RateLimit } from '../../src/core/rate-limit.js';
import { registerSecret } from '../../src/core/secrets.js';
import type { DeliveryEvent, OutboxEntry, Store } from '../../src/store/ports.js';
import { sampleMessage } from '../helpers/sample-message.js';

/**
 * The store contract: what every backend (SQLite, PostgreSQL) must do, as one list of cases with
 * one set of expected results. A backend's test file supplies how to open a fresh store, and a
 * second handle on the same store (another process, as far as the store can tell).
 */
export interface StoreBackend {
  /** Opens a new, empty store and returns it with a function opening another handle on it. */
  open(): Promise<{ store: Store; another: () => Promise<Store> }>;
  /** Called once after all cases (drop the database or schema). */
  cleanup?(): Promise<void>;
}

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
const alive = () => true;
const dead = () => false;
const never = () => false;
const OWNER_A = `${hostname()}:1:aaaa`;
const OWNER_B = `${hostname()}:2:bbbb`;

/** The contract's messages (also used by the PostgreSQL clock test). */
export const message = sampleMessage;

/** Limits as the config gives them ("10/s", "[5/s, 12/d]"), sorted as the store expects. */
const limits = (...labels: string[]): RateLimit[] => {
  const parsed = parseRateLimits(labels);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.limits;
};

const attempt = (provider: string, error: string) => ({ provider, try: 1, ok: false, error, classification: 'transient' }) as never;

export function defineStoreContract(backendName: string, backend: StoreBackend): void {
  describe(`store contract on ${backendName}`, () => {
    const opened: Store[] = [];
    let store: Store;
    let another: () => Promise<Store>;

    beforeAll(async () => {
      registerSecret('sk-contract-secret-123');
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });
    afterAll(async () => {
      await backend.cleanup?.();
    });
    const fresh = async () => {
      const handle = await backend.open();
      store = handle.store;
      opened.push(store);
      another = async () => {
        const second = await handle.another();
        opened.push(second);
        return second;
      };
    };

    describe('outbox', () => {
      it('stores a message once per waiting key: a second enqueue adds its attempts to the same entry', async () => {
        await fresh();
        const id = await store.enqueue(message('k1'), ['postmark', 'mailgun'], 'pending', 'all down', [attempt('postmark', '503')], T0);
        const again = await store.enqueue(message('k1'), ['postmark', 'mailgun'], 'ambiguous', 'timed out', [attempt('mailgun', 'timeout')], T0 + 1000);
        expect(again).toBe(id);
        const entry = (await store.getEntry(id))!;
        expect(entry).toMatchObject({ id, idempotencyKey: 'k1', chain: ['postmark', 'mailgun'], status: 'ambiguous', reason: 'timed out', tries: 2, provider: null, messageId: null, nextAttemptAt: null });
        expect(entry.attempts.map((a) => a.provider)).toEqual(['postmark', 'mailgun']);
        expect(entry.message).toEqual(message('k1'));
        expect(entry.createdAt).toBe(new Date(T0).toISOString());
        expect(entry.updatedAt).toBe(new Date(T0 + 1000).toISOString());
        expect(await store.openEntryFor('k1')).toEqual({ id, status: 'ambiguous', createdAt: T0 });
        expect(await store.openEntryFor('k2')).toBeUndefined();
        expect(await store.getEntry(id + 1000)).toBeUndefined();
      });

      it('masks known secrets in reasons and attempts before writing them', async () => {
        await fresh();
        const id = await store.enqueue(message('k-secret'), ['postmark'], 'pending', 'refused key sk-contract-secret-123', [attempt('postmark', 'bad key sk-contract-secret-123')], T0);
        const entry = (await store.getEntry(id))!;
        expect(JSON.stringify(entry)).not.toContain('sk-contract-secret-123');
        expect(entry.reason).toContain('****');
      });

      it('lists waiting entries in order, and closed ones only when asked', async () => {
        await fresh();
        const a = await store.enqueue(message('a'), ['p'], 'pending', 'down', [], T0);
        const b = await store.enqueue(message('b'), ['p'], 'ambiguous', 'timeout', [], T0);
        const c = await store.enqueue(message('c'), ['p'], 'pending', 'down', [], T0);
        expect(await store.drop(c, T0, alive)).toEqual({ status: 'dropped' });
        expect((await store.listEntries(false)).map((e) => e.id)).toEqual([a, b]);
        expect((await store.listEntries(true)).map((e) => [e.id, e.status])).toEqual([
          [a, 'pending'],
          [b, 'ambiguous'],
          [c, 'dropped'],
        ]);
        expect(await store.outboxEntriesAmong(['a', 'c', 'zzz'])).toEqual(
          new Map([
            ['a', { id: a, status: 'pending' }],
            ['c', { id: c, status: 'dropped' }],
          ]),
        );
      });

      it('claims under a lease: a live holder refuses others; a dead holder is taken over', async () => {
        await fresh();
        const id = await store.enqueue(message('k'), ['p'], 'pending', 'down', [], T0);
        const first = await store.claim(id, OWNER_A, T0, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
        expect(first.entry?.id).toBe(id);
        const second = await store.claim(id, OWNER_B, T0 + 1000, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
        expect(second).toEqual({ refused: `being retried by ${OWNER_A}` });
        const afterDeath = await store.claim(id, OWNER_B, T0 + 2000, MINUTE, { force: false, isOwnerAlive: dead, isRepeat: never });
        expect(afterDeath.entry?.id).toBe(id);
        // An expired lease is free even if its holder lives.
        const afterExpiry = await store.claim(id, OWNER_A, T0 + 2000 + MINUTE + 1, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
        expect(afterExpiry.entry?.id).toBe(id);
        expect(await store.claim(9_999_999, OWNER_A, T0, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never })).toEqual({ refused: 'no such entry' });
      });

      it('a holder that died while sending leaves the entry ambiguous: refused without force, claimed with it', async () => {
        await fresh();
        const id = await store.enqueue(message('k'), ['p'], 'pending', 'down', [], T0);
        await store.claim(id, OWNER_A, T0, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
        await store.markSending(id, OWNER_A, T0 + 10);
        const refused = await store.claim(id, OWNER_B, T0 + 20, MINUTE, { force: false, isOwnerAlive: dead, isRepeat: never });
        expect(refused.refused).toMatch(/ambiguous/);
        expect((await store.getEntry(id))!.status).toBe('ambiguous');
        expect((await store.getEntry(id))!.reason).toMatch(/interrupted while sending/);
        const forced = await store.claim(id, OWNER_B, T0 + 30, MINUTE, { force: true, isOwnerAlive: dead, isRepeat: never });
        expect(forced.entry?.status).toBe('ambiguous');
      });

      it('a holder that died after the provider refused (clearSending) leaves it pending', async () => {
        await fresh();
        const id = await store.enqueue(message('k'), ['p'], 'pending', 'down', [], T0);
        await store.claim(id, OWNER_A, T0, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
        await store.markSending(id, OWNER_A, T0 + 10);
        await store.clearSending(id, OWNER_A);
        const claimed = await store.claim(id, OWNER_B, T0 + 20, MINUTE, { force: false, isOwnerAlive: dead, isRepeat: never });
        expect(claimed.entry?.status).toBe('pending');
      });

      it('a claim finds a delivery of the same key and closes the entry as delivered', async () => {
        await fresh();
        const id = await store.enqueue(message('k'), ['p'], 'pending', 'down', [], T0);
        await store.recordDelivery(message('k'), 'postmark', 'pm-1', T0 + 5, 1);
        // recordDelivery already closed the unleased entry; a leased one is closed by the claim.
        expect((await store.getEntry(id))!.status).toBe('delivered');
        const id2 = await store.enqueue(message('k2'), ['p'], 'pending', 'down', [], T0);
        await store.claim(id2, OWNER_A, T0, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
        await store.recordDelivery(message('k2'), 'mailgun', 'mg-1', T0 + 5, 1);
        expect((await store.getEntry(id2))!.status).toBe('pending');
        const claimed = await store.claim(id2, OWNER_B, T0 + 10, MINUTE, { force: false, isOwnerAlive: dead, isRepeat: () => true });
        expect(claimed).toEqual({ deliveredEarlier: { provider: 'mailgun', messageId: 'mg-1', deliveredAt: T0 + 5, contentKey: contentKeyOf(message('k2')) } });
        expect(await store.getEntry(id2)).toMatchObject({ status: 'delivered', provider: 'mailgun', messageId: 'mg-1' });
        expect(await store.claim(id2, OWNER_B, T0 + 20, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never })).toEqual({ refused: 'already delivered' });
      });

      it('finishRetry records attempts, status and next attempt, and releases the lease; only its holder may', async () => {
        await fresh();
        const id = await store.enqueue(message('k'), ['p'], 'pending', 'down', [attempt('p', 'first')], T0);
        await store.claim(id, OWNER_A, T0, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
        await store.finishRetry(id, OWNER_B, { status: 'delivered', reason: null, attempts: [] }, T0 + 1);
        expect((await store.getEntry(id))!.status).toBe('pending');
        await store.finishRetry(id, OWNER_A, { status: 'pending', reason: 'still down', attempts: [attempt('p', 'second')], nextAttemptAt: T0 + MINUTE }, T0 + 2);
        const entry = (await store.getEntry(id))!;
        expect(entry).toMatchObject({ status: 'pending', reason: 'still down', tries: 2, nextAttemptAt: new Date(T0 + MINUTE).toISOString() });
        expect(entry.attempts.map((a) => a.error)).toEqual(['first', 'second']);
        // Released: another run claims it at once.
        expect((await store.claim(id, OWNER_B, T0 + 3, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never })).entry?.id).toBe(id);
        await store.finishRetry(id, OWNER_B, { status: 'delivered', reason: null, attempts: [], provider: 'mailgun', messageId: 'mg-9' }, T0 + 4);
        expect(await store.getEntry(id)).toMatchObject({ status: 'delivered', provider: 'mailgun', messageId: 'mg-9', reason: null });
      });

      it('an entry dropped during its retry stays dropped unless the retry delivered it', async () => {
        await fresh();
        const id = await store.enqueue(message('k'), ['p'], 'pending', 'down', [], T0);
        await store.claim(id, OWNER_A, T0, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
        expect(await store.drop(id, T0 + 1, alive)).toEqual({ status: 'pending', busy: OWNER_A });
        expect(await store.drop(id, T0 + 1, dead)).toEqual({ status: 'dropped' });
        await store.finishRetry(id, OWNER_A, { status: 'pending', reason: 'down', attempts: [] }, T0 + 2);
        expect((await store.getEntry(id))!.status).toBe('dropped');
        expect(await store.drop(id, T0 + 3, alive)).toEqual({ status: 'dropped' });
        expect(await store.drop(424242, T0, alive)).toEqual({});
      });

      it('gives the worker due, unleased pending entries, oldest due first', async () => {
        await fresh();
        const later = await store.enqueue(message('later'), ['p'], 'pending', 'down', [], T0);
        const now = await store.enqueue(message('now'), ['p'], 'pending', 'down', [], T0);
        const leased = await store.enqueue(message('leased'), ['p'], 'pending', 'down', [], T0);
        await store.enqueue(message('ambiguous'), ['p'], 'ambiguous', 'timeout', [], T0);
        await store.claim(later, OWNER_A, T0, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
        await store.finishRetry(later, OWNER_A, { status: 'pending', reason: 'down', attempts: [], nextAttemptAt: T0 + 10 * MINUTE }, T0);
        await store.claim(leased, OWNER_A, T0, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
        expect((await store.dueEntries(T0 + 1, 10)).map((e) => e.id)).toEqual([now]);
        expect((await store.dueEntries(T0 + 10 * MINUTE, 10)).map((e) => e.id)).toEqual([now, leased, later]);
        expect((await store.dueEntries(T0 + 10 * MINUTE, 1)).map((e) => e.id)).toEqual([now]);
      });

      it('expires old pending entries that no one holds, and says which', async () => {
        await fresh();
        const old = await store.enqueue(message('old'), ['p'], 'pending', 'down', [], T0);
        const oldLeased = await store.enqueue(message('old-leased'), ['p'], 'pending', 'down', [], T0);
        await store.enqueue(message('old-ambiguous'), ['p'], 'ambiguous', 'timeout', [], T0);
        await store.enqueue(message('young'), ['p'], 'pending', 'down', [], T0 + 10 * MINUTE);
        await store.claim(oldLeased, OWNER_A, T0 + 10 * MINUTE, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never });
        expect(await store.expireEntries(T0 + 5 * MINUTE, 'older than 5m', T0 + 10 * MINUTE)).toEqual([old]);
        expect(await store.getEntry(old)).toMatchObject({ status: 'expired', reason: 'older than 5m' });
        expect((await store.listEntries(false)).map((e) => e.idempotencyKey)).toEqual(['old', 'old-leased', 'old-ambiguous', 'young']);
      });

      it('records a single send before its first call and forgets it after an answer', async () => {
        await fresh();
        const id = await store.recordSendStart(message('s1'), ['p'], OWNER_A, T0, MINUTE);
        expect(await store.openEntryFor('s1')).toEqual({ id, status: 'pending', createdAt: T0 });
        expect((await store.claim(id, OWNER_B, T0 + 1, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never })).refused).toBe(`being retried by ${OWNER_A}`);
        await store.forgetSendStart(id, OWNER_B);
        expect(await store.getEntry(id)).toBeDefined();
        await store.forgetSendStart(id, OWNER_A);
        expect(await store.getEntry(id)).toBeUndefined();
      });
    });

    describe('delivery ledger and usage', () => {
      it('records a delivery once per key (the latest wins), counts usage per month and provider', async () => {
        await fresh();
        await store.recordDelivery(message('d1'), 'postmark', 'pm-1', T0, 1);
        await store.recordDelivery(message('d2', { type: 'marketing' } as Partial<EmailMessage>), 'postmark', 'pm-2', T0, 3);
        await store.recordDelivery(message('d1'), 'mailgun', 'mg-1', T0 + 1000, 1);
        expect(await store.findDelivery('d1')).toEqual({ provider: 'mailgun', messageId: 'mg-1', deliveredAt: T0 + 1000, contentKey: contentKeyOf(message('d1')) });
        expect(await store.findDelivery('nope')).toBeUndefined();
        // A derived key is the content key already: none is kept beside it.
        await store.recordDelivery(message('pm_derived', { idempotencyKeySource: 'derived' }), 'postmark', 'pm-3', T0, 1);
        expect(await store.findDelivery('pm_derived')).toEqual({ provider: 'postmark', messageId: 'pm-3', deliveredAt: T0 });
        expect(await store.usageByProvider('2026-12')).toEqual({ postmark: 5, mailgun: 1 });
        expect(await store.usageByProvider('2026-11')).toEqual({});
        expect(await store.deliveredAmong(['d1', 'd2', 'd3'], T0 + 500)).toEqual(new Set(['d1']));
        expect(await store.deliveredAmong(['d1', 'd2', 'd3'], 0)).toEqual(new Set(['d1', 'd2']));
      });

      it('knows whether single records exist under a bulk message key (exactly that prefix)', async () => {
        await fresh();
        expect(await store.hasSingleRecordsUnder('run')).toBe(false);
        await store.recordDelivery(message('run0'), 'p', 'x', T0, 1);
        await store.recordDelivery(message('runner/abc'), 'p', 'x', T0, 1);
        expect(await store.hasSingleRecordsUnder('run')).toBe(false);
        await store.enqueue(message('run/abcdef'), ['p'], 'pending', 'down', [], T0);
        expect(await store.hasSingleRecordsUnder('run')).toBe(true);
        await store.recordDelivery(message('other/x'), 'p', 'x', T0, 1);
        expect(await store.hasSingleRecordsUnder('other')).toBe(true);
      });
    });

    describe('bulk batches', () => {
      const RUN = 'pm_run/with-a-slash';
      const digests = ['aaaaaaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbbbb', 'cccccccccccccccccccccccc'];

      it('records accepted batches by digest, finds each recipient, and narrows the in-flight record', async () => {
        await fresh();
        const batchId = await store.markInFlight(RUN, digests, OWNER_A, 'postmark', T0);
        expect([...(await store.inFlightOf(RUN)).entries()]).toEqual(digests.map((d) => [d, { batchId, provider: 'postmark' }]));
        await store.recordBulkBatches(RUN, 'marketing', [{ provider: 'postmark', digests: digests.slice(0, 2), messageIds: ['id-0', 'id-1'], batchId, stillOpen: [digests[2]] }], T0 + 1);
        expect(await store.findDelivery(`${RUN}/${digests[1]}`)).toEqual({ provider: 'postmark', messageId: 'id-1', deliveredAt: T0 + 1 });
        expect(await store.findDelivery(`${RUN}/${digests[2]}`)).toBeUndefined();
        expect([...(await store.inFlightOf(RUN)).keys()]).toEqual([digests[2]]);
        const seen: string[] = [];
        await store.forEachBulkDeliveredDigest(RUN, T0, (d) => seen.push(d));
        expect(seen.sort()).toEqual(digests.slice(0, 2));
        const none: string[] = [];
        await store.forEachBulkDeliveredDigest(RUN, T0 + 2, (d) => none.push(d));
        expect(none).toEqual([]);
        expect(await store.usageByProvider('2026-12')).toEqual({ postmark: 2 });
      });

      it('tells a batch of the run key delivered with other content (the key reused) since a time; batches kept without a content key never count', async () => {
        await fresh();
        const record = async (run: string, at: number, contentKey?: string | null) => {
          const batchId = await store.markInFlight(run, digests, OWNER_A, 'postmark', at);
          await store.recordBulkBatches(run, 'marketing', [{ provider: 'postmark', digests, messageIds: ['i0', 'i1', 'i2'], batchId, stillOpen: [] }], at, contentKey);
        };
        await record(RUN, T0 + 5, 'pm_content-a');
        await record(RUN, T0 + 9, 'pm_content-a');
        await record('pm_derived-run', T0, null);
        await record('pm_older-run', T0);
        expect(await store.otherBulkContent(RUN, 'pm_content-a', T0)).toBeUndefined();
        expect(await store.otherBulkContent(RUN, 'pm_content-b', T0)).toEqual({ provider: 'postmark', deliveredAt: T0 + 5 });
        expect(await store.otherBulkContent(RUN, 'pm_content-b', T0 + 6)).toEqual({ provider: 'postmark', deliveredAt: T0 + 9 });
        expect(await store.otherBulkContent(RUN, 'pm_content-b', T0 + 10)).toBeUndefined();
        expect(await store.otherBulkContent('pm_derived-run', 'pm_content-b', T0)).toBeUndefined();
        expect(await store.otherBulkContent('pm_older-run', 'pm_content-b', T0)).toBeUndefined();
        expect(await store.otherBulkContent('pm_no-such-run', 'pm_content-b', T0)).toBeUndefined();
      });

      it('stores one message id for a batch that got one id (Mailgun)', async () => {
        await fresh();
        const batchId = await store.markInFlight(RUN, digests, OWNER_A, 'mailgun', T0);
        await store.recordBulkBatches(RUN, 'marketing', [{ provider: 'mailgun', digests, messageIds: ['<one@mg>', '<one@mg>', '<one@mg>'], batchId, stillOpen: [] }], T0);
        for (const d of digests) expect((await store.findDelivery(`${RUN}/${d}`))?.messageId).toBe('<one@mg>');
        expect((await store.inFlightOf(RUN)).size).toBe(0);
      });

      it('prepareToClose leaves the store as it was, and usable (twice is fine)', async () => {
        await fresh();
        const batchId = await store.markInFlight(RUN, digests, OWNER_A, 'mailgun', T0);
        await store.recordBulkBatches(RUN, 'marketing', [{ provider: 'mailgun', digests, messageIds: ['<one@mg>', '<one@mg>', '<one@mg>'], batchId, stillOpen: [] }], T0);
        await store.prepareToClose();
        await store.prepareToClose();
        expect((await store.findDelivery(`${RUN}/${digests[2]}`))?.messageId).toBe('<one@mg>');
        const next = await store.markInFlight(RUN, ['dddddddddddddddddddddddd'], OWNER_A, 'mailgun', T0);
        expect([...(await store.inFlightOf(RUN)).entries()]).toEqual([['dddddddddddddddddddddddd', { batchId: next, provider: 'mailgun' }]]);
      });

      it('queues recipients left in doubt as ambiguous and settles the rest, in one step', async () => {
        await fresh();
        const batchId = await store.markInFlight(RUN, digests, OWNER_A, 'mailgun', T0);
        const ids = await store.queueInDoubt(
          [{ message: message(`${RUN}/${digests[0]}`), chain: ['mailgun'], reason: 'run died mid-call', batchId, digest: digests[0] }],
          [{ batchId, digest: digests[1] }],
          T0 + 1,
        );
        expect(ids).toHaveLength(1);
        expect(await store.getEntry(ids[0])).toMatchObject({ status: 'ambiguous', reason: 'run died mid-call', idempotencyKey: `${RUN}/${digests[0]}` });
        expect([...(await store.inFlightOf(RUN)).keys()]).toEqual([digests[2]]);
        await store.settleInFlight(batchId);
        expect((await store.inFlightOf(RUN)).size).toBe(0);
      });
    });

    describe('run locks', () => {
      it('one live run per key: refused while its holder lives and beats, taken when stale or dead', async () => {
        await fresh();
        expect(await store.claimRunLock('send:k', OWNER_A, T0, MINUTE, alive)).toBeUndefined();
        expect(await store.claimRunLock('send:k', OWNER_A, T0 + 1, MINUTE, alive)).toBeUndefined();
        expect(await store.claimRunLock('send:k', OWNER_B, T0 + 2, MINUTE, alive)).toBe(OWNER_A);
        await store.heartbeatRunLock('send:k', OWNER_A, T0 + MINUTE);
        expect(await store.claimRunLock('send:k', OWNER_B, T0 + MINUTE + 10, MINUTE, alive)).toBe(OWNER_A);
        expect(await store.claimRunLock('send:k', OWNER_B, T0 + 2 * MINUTE + 1, MINUTE, alive)).toBeUndefined();
        expect(await store.claimRunLock('send:k', OWNER_A, T0 + 2 * MINUTE + 2, MINUTE, dead)).toBeUndefined();
        await store.releaseRunLock('send:k', OWNER_B);
        expect(await store.claimRunLock('send:k', OWNER_B, T0 + 2 * MINUTE + 3, MINUTE, alive)).toBe(OWNER_A);
        await store.releaseRunLock('send:k', OWNER_A);
        expect(await store.claimRunLock('send:k', OWNER_B, T0 + 2 * MINUTE + 4, MINUTE, alive)).toBeUndefined();
      });
    });

    describe('provider health and API keys', () => {
      it('keeps one circuit per provider, with secrets masked in its last error', async () => {
        await fresh();
        expect(await store.healthOf('postmark')).toBeUndefined();
        await store.saveHealth({ provider: 'postmark', consecutiveFailures: 3, openUntil: T0 + MINUTE, lastError: '401 for sk-contract-secret-123', lastFailureAt: T0 });
        expect(await store.healthOf('postmark')).toEqual({ provider: 'postmark', consecutiveFailures: 3, openUntil: T0 + MINUTE, lastError: '401 for ****', lastFailureAt: T0, lastSuccessAt: undefined });
        await store.saveHealth({ provider: 'postmark', consecutiveFailures: 0, lastSuccessAt: T0 + 2 });
        expect(await store.healthOf('postmark')).toEqual({ provider: 'postmark', consecutiveFailures: 0, openUntil: undefined, lastError: undefined, lastFailureAt: undefined, lastSuccessAt: T0 + 2 });
        expect(await (await another()).healthOf('postmark')).toMatchObject({ consecutiveFailures: 0 });
      });

      it('reports its schema version', async () => {
        await fresh();
        expect(store.schema.version).toBeGreaterThanOrEqual(2);
        expect((await another()).schema.applied).toEqual([]);
      });

      it('stores API keys by hash: unique names and hashes, revocation hides a key', async () => {
        await fresh();
        expect(await store.createKey('ci', 'hash-1', T0)).toBe(true);
        expect(await store.createKey('ci', 'hash-2', T0)).toBe(false);
        expect(await store.createKey('other', 'hash-1', T0)).toBe(false);
        expect(await store.createKey('app', 'hash-3', T0 + 1)).toBe(true);
        expect(await store.listKeys()).toEqual([
          { name: 'ci', createdAt: new Date(T0).toISOString(), revokedAt: null, lastUsedAt: null },
          { name: 'app', createdAt: new Date(T0 + 1).toISOString(), revokedAt: null, lastUsedAt: null },
        ]);
        expect(await store.findKeyByHash('hash-1')).toMatchObject({ name: 'ci', keyHash: 'hash-1' });
        await store.noteKeyUsed('ci', T0 + 60_000);
        await store.noteKeyUsed('ci', T0 + 30_000); // an older use never moves it back
        expect((await store.listKeys())[0].lastUsedAt).toBe(new Date(T0 + 60_000).toISOString());
        expect(await store.revokeKey('ci', T0 + 2)).toBe(true);
        expect(await store.revokeKey('ci', T0 + 3)).toBe(false);
        expect(await store.revokeKey('nobody', T0 + 3)).toBe(false);
        expect(await store.findKeyByHash('hash-1')).toBeUndefined();
        expect((await store.listKeys())[0].revokedAt).toBe(new Date(T0 + 2).toISOString());
      });
    });

    describe('delivery events and suppressions', () => {
      const bounce = (key: string, overrides: Partial<DeliveryEvent> = {}): DeliveryEvent => ({
        eventKey: key,
        type: 'bounced',
        bounce: 'hard',
        provider: 'postmark',
        providerMessageId: 'pm-1',
        idempotencyKey: null,
        recipient: 'Ada@Example.org',
        occurredAt: T0,
        raw: '{"RecordType":"Bounce"}',
        ...overrides,
      });

      it('stores each event once, matched to our key through the delivery ledger, newest first', async () => {
        await fresh();
        await store.recordDelivery(message('order-1'), 'postmark', 'pm-1', T0 - 1000, 1);
        const first = await store.recordEvents([bounce('postmark:bounce:1'), bounce('postmark:open:2', { type: 'opened', bounce: undefined, occurredAt: T0 + 5, providerMessageId: 'unknown' })], T0 + 10);
        expect(first.map((e) => [e.eventKey, e.idempotencyKey, e.recipient])).toEqual([
          ['postmark:bounce:1', 'order-1', 'ada@example.org'],
          ['postmark:open:2', null, 'ada@example.org'],
        ]);
        // A webhook retry of the same event: nothing new.
        expect(await store.recordEvents([bounce('postmark:bounce:1')], T0 + 20)).toEqual([]);
        const listed = await store.listEvents({ limit: 10 });
        expect(listed.map((e) => e.eventKey)).toEqual(['postmark:open:2', 'postmark:bounce:1']);
        expect(listed[1]).toMatchObject({ type: 'bounced', bounce: 'hard', provider: 'postmark', providerMessageId: 'pm-1', receivedAt: T0 + 10, raw: '{"RecordType":"Bounce"}' });
        expect((await store.listEvents({ type: 'bounced', limit: 10 })).map((e) => e.eventKey)).toEqual(['postmark:bounce:1']);
        expect((await store.listEvents({ since: T0 + 1, limit: 10 })).map((e) => e.eventKey)).toEqual(['postmark:open:2']);
        expect(await store.listEvents({ to: 'ADA@example.org', limit: 1 })).toHaveLength(1);
        expect(await store.listEvents({ to: 'bob@example.org', limit: 10 })).toEqual([]);
        expect(await store.pruneEvents(T0 + 11)).toBe(2);
        expect(await store.listEvents({ limit: 10 })).toEqual([]);
      });

      it('keeps our alerts (issue #22) beside delivery events: the kind as type, no recipient, our key as given', async () => {
        await fresh();
        const alert = { eventKey: 'alert:1', type: 'failover' as const, provider: 'postmark', providerMessageId: null, idempotencyKey: 'order-9', recipient: '', occurredAt: T0, raw: '{"kind":"failover"}' };
        const [stored] = await store.recordEvents([alert, bounce('postmark:bounce:2')], T0 + 1);
        expect(stored).toMatchObject({ ...alert, receivedAt: T0 + 1 });
        expect((await store.listEvents({ type: 'failover', limit: 10 })).map((e) => [e.eventKey, e.recipient, e.idempotencyKey])).toEqual([['alert:1', '', 'order-9']]);
        expect(await store.listEvents({ type: 'circuit-opened', limit: 10 })).toEqual([]);
      });

      it('suppresses an address globally or for one sending domain; the first record of a scope stays', async () => {
        await fresh();
        const added = await store.addSuppressions([
          { address: 'Ada@Example.org', scope: '*', reason: 'hard bounce', source: 'postmark', createdAt: T0 },
          { address: 'bob@example.org', scope: 'News.Example.com', reason: 'unsubscribed', source: 'mailgun', createdAt: T0 + 1 },
          { address: 'ada@example.org', scope: '*', reason: 'spam complaint', source: 'mailgun', createdAt: T0 + 2 },
        ]);
        expect(added).toBe(2);
        expect(await store.listSuppressions()).toEqual([
          { address: 'ada@example.org', scope: '*', reason: 'hard bounce', source: 'postmark', createdAt: T0 },
          { address: 'bob@example.org', scope: 'news.example.com', reason: 'unsubscribed', source: 'mailgun', createdAt: T0 + 1 },
        ]);
        const forShop = await store.suppressedAmong(['ADA@example.org', 'bob@example.org', 'cy@example.org'], 'shop.example.com');
        expect([...forShop.keys()]).toEqual(['ada@example.org']);
        const forNews = await store.suppressedAmong(['ada@example.org', 'bob@example.org'], 'news.example.com');
        expect([...forNews.keys()].sort()).toEqual(['ada@example.org', 'bob@example.org']);
        expect(await store.removeSuppression('BOB@example.org', 'shop.example.com')).toBe(0);
        expect(await store.removeSuppression('BOB@example.org')).toBe(1);
        expect((await store.suppressedAmong(['bob@example.org'], 'news.example.com')).size).toBe(0);
        expect(await store.addSuppressions([])).toBe(0);
      });
    });

    describe('send-side rate limits', () => {
      it('grants up to what the window has left, partly when asked, and nothing below `atLeast`', async () => {
        await fresh();
        const perSecond = limits('10/s');
        expect(await store.takeRate('postmark', perSecond, 4, 4, T0)).toEqual({ granted: 4, windows: [{ used: 4, resetsInMs: 1000 }] });
        // 6 left: a message of 8 recipients (all or nothing) gets none; a batch (at least 1) gets the 6.
        expect(await store.takeRate('postmark', perSecond, 8, 8, T0 + 250)).toEqual({ granted: 0, windows: [{ used: 4, resetsInMs: 750 }] });
        expect(await store.takeRate('postmark', perSecond, 8, 1, T0 + 500)).toEqual({ granted: 6, windows: [{ used: 10, resetsInMs: 500 }] });
        expect((await store.takeRate('postmark', perSecond, 1, 1, T0 + 999)).granted).toBe(0);
        // The next second starts from 0; another provider has counters of its own.
        expect(await store.takeRate('postmark', perSecond, 3, 1, T0 + 1000)).toEqual({ granted: 3, windows: [{ used: 3, resetsInMs: 1000 }] });
        expect((await store.takeRate('mailgun', perSecond, 10, 10, T0 + 1000)).granted).toBe(10);
      });

      it('a message bigger than a window fills that window, and the daily quota still counts every recipient', async () => {
        await fresh();
        const both = limits('2/s', '10/d');
        expect(await store.takeRate('ses', both, 5, 5, T0)).toEqual({ granted: 5, windows: [{ used: 2, resetsInMs: 1000 }, { used: 5, resetsInMs: 12 * 3_600_000 }] });
        expect((await store.takeRate('ses', both, 5, 5, T0 + 100)).granted).toBe(0);
        expect((await store.takeRate('ses', both, 5, 5, T0 + 1000)).granted).toBe(5);
        expect((await store.takeRate('ses', both, 1, 1, T0 + 2000)).granted).toBe(0);
        // A refused send gives the day back what it was charged.
        await store.returnRate('ses', limits('10/d'), 5, T0 + 1000);
        expect((await store.rateWindows('ses', both, T0 + 2000))[1].used).toBe(5);
      });

      it('takes from every window at once: the fullest one decides, a daily quota outlasts the seconds', async () => {
        await fresh();
        const both = limits('5/s', '12/d');
        expect((await store.takeRate('ses', both, 5, 1, T0)).granted).toBe(5);
        expect((await store.takeRate('ses', both, 5, 1, T0 + 1000)).granted).toBe(5);
        const third = await store.takeRate('ses', both, 5, 1, T0 + 2000);
        expect(third.granted).toBe(2);
        expect(third.windows).toEqual([{ used: 2, resetsInMs: 1000 }, { used: 12, resetsInMs: 12 * 3_600_000 - 2000 }]);
        expect((await store.takeRate('ses', both, 1, 1, T0 + 2500)).granted).toBe(0);
        // Nothing taken from the second's window when the day refused.
        expect(await store.rateWindows('ses', both, T0 + 2500)).toEqual([{ used: 2, resetsInMs: 500 }, { used: 12, resetsInMs: 12 * 3_600_000 - 2500 }]);
        // The next UTC day starts again.
        expect((await store.takeRate('ses', both, 5, 5, Date.UTC(2026, 11, 7))).granted).toBe(5);
      });

      it('gives sends back to the windows they were taken from, never to a later one, never below 0', async () => {
        await fresh();
        const both = limits('10/s', '20/d');
        await store.takeRate('ses', both, 5, 5, T0);
        await store.returnRate('ses', both, 3, T0 + 10);
        expect((await store.rateWindows('ses', both, T0 + 20)).map((w) => w.used)).toEqual([2, 2]);
        await store.takeRate('ses', both, 4, 4, T0 + 1000);
        // Taken in the second before: that second's window has turned, the day's has not.
        await store.returnRate('ses', both, 2, T0 + 500);
        expect((await store.rateWindows('ses', both, T0 + 1000)).map((w) => w.used)).toEqual([4, 4]);
        await store.returnRate('ses', both, 50, T0 + 1000);
        expect((await store.rateWindows('ses', both, T0 + 1000)).map((w) => w.used)).toEqual([0, 0]);
      });

      it('reports each window without taking from it; a clock behind never empties a later window', async () => {
        await fresh();
        const perMinute = limits('600/m');
        expect(await store.rateWindows('mailgun', perMinute, T0)).toEqual([{ used: 0, resetsInMs: MINUTE }]);
        await store.takeRate('mailgun', perMinute, 100, 1, T0 + MINUTE + 5);
        // A process whose clock is a minute behind still counts the 100 (against that later window).
        const behind = await store.takeRate('mailgun', perMinute, 50, 1, T0 + 5);
        expect(behind.granted).toBe(50);
        expect(await store.rateWindows('mailgun', perMinute, T0 + MINUTE + 10)).toEqual([{ used: 150, resetsInMs: MINUTE - 10 }]);
      });
    });

    describe('two handles on one store (as two processes)', () => {
      it('of 12 simultaneous claims of one entry, exactly one wins', async () => {
        await fresh();
        const handles = [store, await another(), await another()];
        const id = await store.enqueue(message('race'), ['p'], 'pending', 'down', [], T0);
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => handles[i % 3].claim(id, `${hostname()}:${100 + i}:x`, T0, MINUTE, { force: false, isOwnerAlive: alive, isRepeat: never })),
        );
        expect(results.filter((r) => r.entry)).toHaveLength(1);
        for (const r of results.filter((r) => !r.entry)) expect(r.refused).toMatch(/^being retried by/);
      });

      it('a bulk job: held by its server until released, deferred or its lease runs out; of 12 simultaneous claims one wins; only its holder finishes it', async () => {
        await fresh();
        const handles = [store, await another(), await another()];
        await store.saveBulkJob('job-1', '{"n":1}', OWNER_A, T0 + MINUTE, T0);
        await store.saveBulkJob('job-2', '{"n":2}', OWNER_A, T0 + MINUTE, T0 + 1);
        expect(await handles[1].claimBulkJob(OWNER_B, T0 + 2 * MINUTE, T0 + 10, alive)).toBeUndefined();
        // Renewed by its holder: still held past the first lease.
        await store.renewBulkJobs(OWNER_A, ['job-1', 'job-2'], T0 + 3 * MINUTE);
        expect(await handles[1].claimBulkJob(OWNER_B, T0 + 4 * MINUTE, T0 + 2 * MINUTE, alive)).toBeUndefined();
        await store.releaseBulkJob('job-2', OWNER_B); // not its holder: nothing changes
        await store.finishBulkJob('job-2', OWNER_B);
        expect(await handles[1].claimBulkJob(OWNER_B, T0 + 4 * MINUTE, T0 + 2 * MINUTE, alive)).toBeUndefined();
        await store.releaseBulkJob('job-2', OWNER_A);
        const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => handles[i % 3].claimBulkJob(`${hostname()}:${200 + i}:x`, T0 + 4 * MINUTE, T0 + 2 * MINUTE, alive)));
        expect(claims.filter(Boolean)).toEqual([{ id: 'job-2', job: '{"n":2}', createdAt: T0 + 1 }]);
        await store.finishBulkJob('job-2', `${hostname()}:${200 + claims.findIndex(Boolean)}:x`);
        // Its holder died: once the lease has run out, the oldest job goes to whoever asks.
        expect(await handles[2].claimBulkJob(OWNER_B, T0 + 5 * MINUTE, T0 + 3 * MINUTE, alive)).toEqual({ id: 'job-1', job: '{"n":1}', createdAt: T0 });
        // Deferred (it could not go on): nobody takes it before its retry time, then anybody.
        await handles[2].releaseBulkJob('job-1', OWNER_B, T0 + 6 * MINUTE);
        expect(await store.claimBulkJob(OWNER_A, T0 + 7 * MINUTE, T0 + 6 * MINUTE - 1, alive)).toBeUndefined();
        expect(await store.claimBulkJob(OWNER_A, T0 + 7 * MINUTE, T0 + 6 * MINUTE, alive)).toEqual({ id: 'job-1', job: '{"n":1}', createdAt: T0 });
        await store.finishBulkJob('job-1', OWNER_A);
        expect(await store.claimBulkJob(OWNER_A, T0 + 99 * MINUTE, T0 + 98 * MINUTE, alive)).toBeUndefined();
      });

      it('a bulk job whose holder is gone (a server on this host that died) is taken at once, its lease notwithstanding; a live holder keeps it', async () => {
        await fresh();
        const other = await another();
        await store.saveBulkJob('job-1', '{"n":1}', OWNER_A, T0 + MINUTE, T0);
        await store.saveBulkJob('job-2', '{"n":2}', OWNER_B, T0 + MINUTE, T0 + 1);
        // Deferred by its last holder: no holder to be gone, so it waits for its retry time.
        await store.saveBulkJob('job-3', '{"n":3}', OWNER_B, T0 + MINUTE, T0 + 2);
        await store.releaseBulkJob('job-3', OWNER_B, T0 + 5 * MINUTE);
        // OWNER_B is gone: its run is taken before its lease runs out.
        expect(await other.claimBulkJob(OWNER_A, T0 + 3 * MINUTE, T0 + 10, (owner) => owner === OWNER_A)).toEqual({ id: 'job-2', job: '{"n":2}', createdAt: T0 + 1 });
        // Both runs are now OWNER_A's: while it lives, nobody takes them.
        expect(await store.claimBulkJob(OWNER_B, T0 + 3 * MINUTE, T0 + 20, alive)).toBeUndefined();
        // Then OWNER_A is gone: its runs go one claim at a time, the oldest first.
        const aGone = (owner: string) => owner !== OWNER_A;
        expect(await store.claimBulkJob(OWNER_B, T0 + 3 * MINUTE, T0 + 30, aGone)).toEqual({ id: 'job-1', job: '{"n":1}', createdAt: T0 });
        expect(await other.claimBulkJob(OWNER_B, T0 + 3 * MINUTE, T0 + 40, aGone)).toEqual({ id: 'job-2', job: '{"n":2}', createdAt: T0 + 1 });
        // The deferred run has no holder to be gone: it waits for its retry time, whoever died.
        expect(await store.claimBulkJob(OWNER_A, T0 + 3 * MINUTE, T0 + 50, aGone)).toBeUndefined();
      });

      it('a webhook token: of 12 simultaneous claims for different bodies one wins; the same body is taken again; expired, it is free', async () => {
        await fresh();
        const handles = [store, await another(), await another()];
        const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => handles[i % 3].claimWebhookToken('mailgun', 'tok-1', `body-${i}`, T0 + MINUTE, T0)));
        expect(claims.filter(Boolean)).toHaveLength(1);
        const winner = `body-${claims.findIndex(Boolean)}`;
        expect(await store.claimWebhookToken('mailgun', 'tok-1', winner, T0 + MINUTE, T0 + 1)).toBe(true);
        expect(await store.claimWebhookToken('mailgun', 'tok-1', 'another-body', T0 + MINUTE, T0 + MINUTE - 1)).toBe(false);
        expect(await store.claimWebhookToken('sendgrid', 'tok-1', 'another-body', T0 + MINUTE, T0)).toBe(true);
        expect(await store.claimWebhookToken('mailgun', 'tok-1', 'another-body', T0 + 2 * MINUTE, T0 + MINUTE)).toBe(true);
      });

      it('of 12 simultaneous enqueues of one key, one entry results, with every attempt', async () => {
        await fresh();
        const handles = [store, await another()];
        const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => handles[i % 2].enqueue(message('same'), ['p'], 'pending', 'down', [attempt('p', `try ${i}`)], T0 + i)));
        expect(new Set(ids).size).toBe(1);
        const entry = (await store.getEntry(ids[0])) as OutboxEntry;
        expect(entry.tries).toBe(12);
        expect(entry.attempts).toHaveLength(12);
      });

      it('of 12 simultaneous run-lock claims, exactly one holds the lock', async () => {
        await fresh();
        const handles = [store, await another()];
        const holders = await Promise.all(Array.from({ length: 12 }, (_, i) => handles[i % 2].claimRunLock('bulk:k', `${hostname()}:${200 + i}:y`, T0, MINUTE, alive)));
        expect(holders.filter((h) => h === undefined)).toHaveLength(1);
      });

      it('of 24 simultaneous takes through three handles, the limits are never exceeded', async () => {
        await fresh();
        const handles = [store, await another(), await another()];
        const both = limits('10/s', '25/d');
        // Whole messages of 3: at most 3 fit in 10, and the other takes get nothing.
        const whole = await Promise.all(Array.from({ length: 12 }, (_, i) => handles[i % 3].takeRate('postmark', both, 3, 3, T0)));
        expect(whole.filter((t) => t.granted === 3)).toHaveLength(3);
        expect(whole.filter((t) => t.granted === 0)).toHaveLength(9);
        // Batches of 4 taking what is left: exactly the 10 of the next second, then the day's 25 in all.
        const batches = await Promise.all(Array.from({ length: 12 }, (_, i) => handles[i % 3].takeRate('postmark', both, 4, 1, T0 + 1000)));
        expect(batches.reduce((sum, t) => sum + t.granted, 0)).toBe(10);
        const rest = await Promise.all(Array.from({ length: 12 }, (_, i) => handles[i % 3].takeRate('postmark', both, 4, 1, T0 + 2000)));
        expect(rest.reduce((sum, t) => sum + t.granted, 0)).toBe(25 - 9 - 10);
        expect((await handles[1].rateWindows('postmark', both, T0 + 2000))[1].used).toBe(25);
      });

      it('a delivery recorded through one handle is seen by the other at once', async () => {
        await fresh();
        const other = await another();
        await store.recordDelivery(message('seen'), 'postmark', 'pm-7', T0, 1);
        expect(await other.findDelivery('seen')).toMatchObject({ messageId: 'pm-7' });
        expect(await other.usageByProvider('2026-12')).toEqual({ postmark: 1 });
      });
    });
  });
}
