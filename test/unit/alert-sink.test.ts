import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { alertDocument } from '../../src/app/alerts/alert-document.js';
import { AlertHub } from '../../src/app/alerts/alert-hub.js';
import { signatureHeader, verifyAlertSignature } from '../../src/app/alerts/signature.js';
import { AlertWebhookSender } from '../../src/app/alerts/webhook-sender.js';
import type { AlertSettings } from '../../src/config/types.js';
import type { Alert } from '../../src/core/alert.js';
import { registerSecret } from '../../src/core/secrets.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ALERT_SECRET, AlertReceiver } from '../fakes/alert-receiver.js';

const receiver = new AlertReceiver();
beforeAll(() => receiver.start());
afterAll(() => receiver.stop());
beforeEach(() => receiver.reset());

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => undefined);
});
async function openStore(): Promise<SqliteStore> {
  const store = await SqliteStore.open(path.join(mkdtempSync(path.join(tmpdir(), 'penguinmails-alerts-')), 'outbox.db'));
  stores.push(store);
  return store;
}

const failover = (at = 1_000_000, to = 'mailgun'): Alert => ({ kind: 'failover', provider: 'postmark', nextProvider: to, message: `failover: a message moved from postmark to ${to}`, idempotencyKey: 'order-1', at: new Date(at), details: { reason: 'postmark: 503' } });
const webhook = (overrides: Partial<NonNullable<AlertSettings['webhook']>> = {}) => ({ url: `${receiver.url}/hooks/alerts`, secret: ALERT_SECRET, timeoutMs: 2_000, retries: 3, queueLimit: 100, ...overrides });
const settings = (overrides: Partial<NonNullable<AlertSettings['webhook']>> = {}, coalesceMs = 60_000): AlertSettings => ({ coalesceMs, webhook: webhook(overrides) });

describe('the alert signature', () => {
  const body = JSON.stringify({ kind: 'failover' });
  const now = 1_765_000_000_000;
  const header = signatureHeader('s3cret-s3cret-s3cret', body, now / 1000);

  it('is t=<seconds>,v1=<hex HMAC-SHA256 of "t.body">, and verifies', () => {
    expect(header).toMatch(/^t=1765000000,v1=[0-9a-f]{64}$/);
    expect(verifyAlertSignature('s3cret-s3cret-s3cret', body, header, { now })).toBe(true);
  });

  it('fails for another body, another secret, a stale time, or no header', () => {
    expect(verifyAlertSignature('s3cret-s3cret-s3cret', body.replace('failover', 'fail0ver'), header, { now })).toBe(false);
    expect(verifyAlertSignature('another-secret-value', body, header, { now })).toBe(false);
    expect(verifyAlertSignature('s3cret-s3cret-s3cret', body, header, { now: now + 301_000 })).toBe(false);
    expect(verifyAlertSignature('s3cret-s3cret-s3cret', body, undefined, { now })).toBe(false);
    expect(verifyAlertSignature('s3cret-s3cret-s3cret', body, 't=1765000000,v1=zz', { now })).toBe(false);
    // A tolerance that is not a finite number of seconds would accept any old signature.
    expect(() => verifyAlertSignature('s3cret-s3cret-s3cret', body, header, { now, toleranceSeconds: Number.NaN })).toThrow(RangeError);
    expect(() => verifyAlertSignature('s3cret-s3cret-s3cret', body, header, { now, toleranceSeconds: Infinity })).toThrow(RangeError);
  });
});

describe('the alert webhook sender', () => {
  it('retries a receiver that fails (500, dropped connection) until it answers, with the same alert id', async () => {
    receiver.failNext({ status: 500, body: 'oops' }, { destroy: true });
    const sender = new AlertWebhookSender(webhook(), { backoffMs: 5 });
    const document = alertDocument(failover(), 0);
    sender.enqueue(document);
    const [got] = await receiver.waitFor(1);
    expect(got).toEqual(document);
    expect(receiver.requests).toHaveLength(3);
    expect(new Set(receiver.requests.map((r) => r.headers['x-penguinmails-alert-id']))).toEqual(new Set([document.id]));
    expect(receiver.requests[2].path).toBe('/hooks/alerts');
    expect(receiver.requests[2].headers['content-type']).toBe('application/json');
    expect(await sender.drain(1_000)).toBe(0);
    expect(sender.counts).toEqual({ delivered: 1, failed: 0, dropped: 0 });
  });

  it('retries after a timeout', async () => {
    receiver.failNext({ status: 200, delayMs: 1_000 });
    const sender = new AlertWebhookSender(webhook({ timeoutMs: 100 }), { backoffMs: 5 });
    sender.enqueue(alertDocument(failover(), 0));
    await receiver.waitFor(1);
    expect(receiver.requests).toHaveLength(2);
    await sender.drain(1_000);
  });

  it('gives up after its retries, and does not retry a 4xx other than 408/429', async () => {
    const warnings: string[] = [];
    receiver.persistentFault = { status: 503 };
    const sender = new AlertWebhookSender(webhook({ retries: 2 }), { backoffMs: 5, warn: (m) => warnings.push(m) });
    sender.enqueue(alertDocument(failover(), 0));
    await sender.drain(5_000);
    expect(receiver.requests).toHaveLength(3);
    expect(sender.counts.failed).toBe(1);
    expect(warnings.join('\n')).toContain('after 3 tries (last: HTTP 503)');

    receiver.reset();
    receiver.persistentFault = { status: 404 };
    const refused = new AlertWebhookSender(webhook(), { backoffMs: 5, warn: (m) => warnings.push(m) });
    refused.enqueue(alertDocument(failover(), 0));
    await refused.drain(5_000);
    expect(receiver.requests).toHaveLength(1);
    expect(warnings.at(-1)).toContain('answered HTTP 404');
  });

  it('keeps at most queueLimit alerts waiting: the oldest waiting are dropped, the one under way goes on', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    receiver.beforeAnswer = (request) => (receiver.requests.length === 1 && request === receiver.requests[0] ? held : undefined);
    const warnings: string[] = [];
    const sender = new AlertWebhookSender(webhook({ queueLimit: 2 }), { backoffMs: 5, warn: (m) => warnings.push(m) });
    const documents = [1, 2, 3, 4, 5].map((n) => alertDocument(failover(n), 0));
    sender.enqueue(documents[0]);
    while (receiver.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const document of documents.slice(1)) sender.enqueue(document);
    expect(sender.waiting).toBe(3);
    release();
    await receiver.waitFor(3);
    expect(receiver.accepted.map((a) => a.id)).toEqual([documents[0].id, documents[3].id, documents[4].id]);
    expect(sender.counts.dropped).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('alerts.webhook.queueLimit');
    await sender.drain(1_000);
  });

  it('drain gives up after its grace and says how many were left; nothing is sent after', async () => {
    receiver.persistentFault = { status: 503 };
    const sender = new AlertWebhookSender(webhook({ retries: 10 }), { backoffMs: 10_000 });
    sender.enqueue(alertDocument(failover(1), 0));
    sender.enqueue(alertDocument(failover(2), 0));
    while (receiver.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await sender.drain(20)).toBe(2);
    sender.enqueue(alertDocument(failover(3), 0));
    expect(sender.waiting).toBe(0);
  });
});

describe('the alert hub (the sink the Dispatcher gets)', () => {
  it('stores each alert as an event, counts it and POSTs it signed; close waits for both', async () => {
    const store = await openStore();
    const counted: string[] = [];
    const hub = new AlertHub(settings(), { store, count: (a) => counted.push(`${a.kind}/${a.provider}`), webhook: { backoffMs: 5 } });
    hub.raise(failover());
    await hub.close();
    expect(counted).toEqual(['failover/postmark']);
    const [event] = await store.listEvents({ type: 'failover', limit: 10 });
    expect(event).toMatchObject({ type: 'failover', provider: 'postmark', recipient: '', idempotencyKey: 'order-1', occurredAt: 1_000_000, providerMessageId: null });
    const stored = JSON.parse(event.raw);
    expect(stored).toMatchObject({ kind: 'failover', provider: 'postmark', nextProvider: 'mailgun', at: new Date(1_000_000).toISOString(), details: { reason: 'postmark: 503' } });
    expect(receiver.accepted).toEqual([stored]);
    expect(event.eventKey).toBe(`alert:${stored.id}`);
  });

  it('folds repeats of the same alert within alerts.coalesce; the next one after says how many', async () => {
    const store = await openStore();
    let now = 0;
    const hub = new AlertHub(settings({}, 60_000), { store, now: () => now, webhook: { backoffMs: 5 } });
    hub.raise(failover(0));
    now = 10_000;
    hub.raise(failover(now));
    hub.raise(failover(now));
    hub.raise(failover(now, 'smtp')); // another pair: its own alert
    now = 61_000;
    hub.raise(failover(now));
    await hub.close();
    expect(hub.counts).toEqual({ raised: 5, sent: 3 });
    const events = (await store.listEvents({ limit: 10 })).map((e) => JSON.parse(e.raw));
    expect(events.map((e) => `${e.nextProvider}:${e.folded ?? 0}`).sort()).toEqual(['mailgun:0', 'mailgun:2', 'smtp:0']);
    expect(receiver.accepted).toHaveLength(3);
  });

  it('does not follow a redirect: the signed alert never reaches the host it points to', async () => {
    const elsewhere = new AlertReceiver();
    await elsewhere.start();
    try {
      const warnings: string[] = [];
      receiver.persistentFault = { status: 307, headers: { location: `${elsewhere.url}/stolen` }, body: '' };
      const sender = new AlertWebhookSender(webhook(), { backoffMs: 5, warn: (m) => warnings.push(m) });
      sender.enqueue(alertDocument(failover(), 0));
      await sender.drain(5_000);
      expect(receiver.requests).toHaveLength(1);
      expect(elsewhere.requests).toHaveLength(0);
      expect(warnings.join('\n')).toContain('answered HTTP 307 (a redirect)');
    } finally {
      await elsewhere.stop();
    }
  });

  it('masks a secret with JSON-escaped characters (" and \\) in the POST and the stored event', async () => {
    const secret = 'tok"en\\with-quote-0123';
    registerSecret(secret);
    const store = await openStore();
    const hub = new AlertHub(settings(), { store });
    hub.raise({ ...failover(), details: { reason: `postmark: 401 bad token ${secret}` } });
    await hub.close();
    for (const text of [receiver.requests[0].rawBody.toString(), (await store.listEvents({ limit: 1 }))[0].raw as unknown as string]) {
      expect(JSON.stringify(text)).not.toContain('with-quote-0123');
    }
  });

  it('masks known secrets a provider error may echo, in the POST and the stored event', async () => {
    registerSecret('smtp-password-0123456789');
    const store = await openStore();
    const hub = new AlertHub(settings(), { store });
    hub.raise({ ...failover(), details: { reason: 'smtp: 535 auth failed for smtp-password-0123456789' } });
    await hub.close();
    expect(receiver.requests[0].rawBody.toString()).not.toContain('smtp-password-0123456789');
    expect(receiver.accepted[0].details.reason).toBe('smtp: 535 auth failed for ****');
    expect((await store.listEvents({ limit: 1 }))[0].raw).not.toContain('smtp-password-0123456789');
  });

  it('never throws nor fails the send when the store is gone: a warning instead', async () => {
    const store = await openStore();
    await store.close();
    const warnings: string[] = [];
    const hub = new AlertHub({ coalesceMs: 0 }, { store, warn: (m) => warnings.push(m) });
    expect(() => hub.raise(failover())).not.toThrow();
    await hub.close();
    expect(warnings.join('\n')).toContain('could not store the failover alert as an event');
  });

  it('an unset ${VAR} secret (a command that sends nothing) POSTs nothing and says so', async () => {
    const warnings: string[] = [];
    const hub = new AlertHub({ coalesceMs: 0, webhook: { ...webhook(), unresolvedVariable: 'ALERT_SECRET' } }, { warn: (m) => warnings.push(m) });
    hub.raise(failover());
    await hub.close();
    expect(receiver.requests).toHaveLength(0);
    expect(warnings).toEqual(['alerts.webhook: environment variable ALERT_SECRET is not set: alerts are not POSTed (they are still stored as events)']);
  });
});
