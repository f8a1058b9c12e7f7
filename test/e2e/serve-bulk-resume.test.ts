import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { eventually, pause } from '../helpers/polling.js';
import { call, createKey, startServer } from '../helpers/serve.js';

// SPEC serve: "Nothing accepted is lost" — a bulk run accepted (202) and stopped by a shutdown
// before its end is kept in the store with its list, and resumed by the next server on that store:
// every recipient gets one copy, none two.
const { postmark } = useFakeEsps();
const RECIPIENTS = 5_000;

/** Each recipient's copies in the batches the fake Postmark received. */
function copiesByRecipient(): Map<string, number> {
  const copies = new Map<string, number>();
  for (const call of postmark.sent.filter((s) => s.path === '/email/batch')) {
    for (const message of call.body as { To: string }[]) copies.set(message.To, (copies.get(message.To) ?? 0) + 1);
  }
  return copies;
}

/**
 * A server on a fresh config and store that has accepted a bulk run of RECIPIENTS (addresses
 * `<prefix>N@example.com`) and has begun sending it: ten batches of 500, four at a time, each
 * answered after 600 ms, about two seconds of sending.
 */
async function bulkRunUnderWay(prefix: string, idempotencyKey?: string) {
  const { configPath, dir } = writeTestConfig({
    postmarkUrl: postmark.url,
    order: ['postmark'],
    attempts: 1,
    extra: { server: { shutdownGrace: '100ms' }, worker: { interval: '200ms' } },
  });
  const key = await createKey(configPath, 'app');
  postmark.latencyMs = 600;
  const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({ email: `${prefix}${i}@example.com`, name: `Reader ${i}` }));
  const body = JSON.stringify({ from: 'news@example.com', subject: 'Hi {{name}}', html_body: '<p>Hello {{name}}</p>', type: 'marketing', recipients });
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) };
  const first = await startServer(configPath, dir);
  const accepted = await call(first.url, 'POST', '/api/v1/emails/bulk', headers, body);
  expect(accepted.status).toBe(202);
  // On a busy machine the first call may take a moment to leave.
  await eventually(async () => postmark.sent.length, (calls) => calls > 0, 10_000);
  return { configPath, dir, headers, body, first, bulkId: accepted.body.bulkId as string };
}

describe('serve: a bulk run stopped by a shutdown', () => {
  it('is resumed by the next server on the same store: every recipient once', async () => {
    const { configPath, dir, headers, first, bulkId } = await bulkRunUnderWay('reader');
    // Stopped once sending has begun.
    expect(await first.stop()).toBe(0);
    const sentBeforeStop = copiesByRecipient().size;
    expect(sentBeforeStop).toBeGreaterThan(0);
    expect(sentBeforeStop).toBeLessThan(RECIPIENTS);
    expect(first.output()).toMatch(/shutting down/);

    postmark.latencyMs = 0;
    const second = await startServer(configPath, dir);
    try {
      await eventually(async () => copiesByRecipient().size, (size) => size === RECIPIENTS, 20_000);
      expect(second.output()).toContain(`"bulkId":"${bulkId}"`);
      // The resumed run reports on the server that resumed it.
      const report = await eventually(
        () => call(second.url, 'GET', `/api/v1/bulk/${bulkId}`, headers),
        (answer) => answer.status === 200 && answer.body.status !== 'running',
        10_000,
      );
      expect(report.body).toMatchObject({ status: 'delivered', recipients: RECIPIENTS, skippedAlreadyDelivered: sentBeforeStop, delivered: RECIPIENTS - sentBeforeStop });
    } finally {
      expect(await second.stop()).toBe(0);
    }
    const copies = copiesByRecipient();
    expect(copies.size).toBe(RECIPIENTS);
    expect([...copies.values()].every((n) => n === 1)).toBe(true);
  });

  it('killed (SIGKILL) mid-run, its run is taken over by the next server at once, not after the lease: nobody gets two copies, and whoever may have been sent is queued, not resent', async () => {
    // Killed while its first calls are out: no shutdown, no release; its lease (2 minutes) stands.
    const { configPath, dir, headers, first, bulkId } = await bulkRunUnderWay('killed');
    first.child.kill('SIGKILL');
    await first.exited;
    const receivedBeforeKill = copiesByRecipient().size;
    expect(receivedBeforeKill).toBeLessThan(RECIPIENTS);

    postmark.latencyMs = 0;
    const startedAt = Date.now();
    const second = await startServer(configPath, dir);
    let inDoubt = 0;
    try {
      // The dead server's process is gone from this host: the run is resumed at once.
      const report = await eventually(
        () => call(second.url, 'GET', `/api/v1/bulk/${bulkId}`, headers),
        (answer) => answer.status === 200 && answer.body.status !== 'running',
        30_000,
      );
      expect(Date.now() - startedAt).toBeLessThan(60_000);
      expect(second.output()).toContain(`"bulkId":"${bulkId}"`);
      const { delivered, skippedAlreadyDelivered, queued } = report.body as { delivered: number; skippedAlreadyDelivered: number; queued: number };
      // The batches in flight at the kill are in doubt: queued (as ambiguous), never sent again.
      expect(queued).toBeGreaterThan(0);
      expect(delivered + skippedAlreadyDelivered + queued).toBe(RECIPIENTS);
      inDoubt = queued;
      expect(report.body.status).toBe('partial');
    } finally {
      expect(await second.stop()).toBe(0);
    }
    const copies = copiesByRecipient();
    expect([...copies.values()].every((n) => n === 1)).toBe(true);
    // Nothing lost unsaid: whoever got no copy is among those queued as in doubt.
    expect(RECIPIENTS - copies.size).toBeLessThanOrEqual(inDoubt);
  }, 60_000);

  it('posted again while its run goes on, the same bulk is answered with that run; other content under its key is 409 and starts nothing', async () => {
    const { headers, body, first, bulkId } = await bulkRunUnderWay('again', 'newsletter-week-49');
    postmark.latencyMs = 1_500; // the run is still going when each request below arrives, on a slow machine too
    try {
      const repeat = await call(first.url, 'POST', '/api/v1/emails/bulk', headers, body);
      expect(repeat).toMatchObject({ status: 202, body: { bulkId } });
      const other = JSON.stringify({ ...JSON.parse(body), subject: 'Another subject' });
      const conflict = await call(first.url, 'POST', '/api/v1/emails/bulk', headers, other);
      expect(conflict.status).toBe(409);
      expect(conflict.body.error).toBe('idempotency key "newsletter-week-49" was used for a different message (a bulk run still going): nothing was sent');
      expect(conflict.body.details).toEqual([{ path: 'Idempotency-Key (header)', message: 'already used for a different message' }]);
      const report = await eventually(
        () => call(first.url, 'GET', `/api/v1/bulk/${bulkId}`, headers),
        (answer) => answer.body.status !== 'running',
        30_000,
      );
      expect(report.body).toMatchObject({ status: 'delivered', recipients: RECIPIENTS, delivered: RECIPIENTS });
    } finally {
      expect(await first.stop()).toBe(0);
    }
    // One run sent the list: everyone once, and nobody got the other subject.
    const copies = copiesByRecipient();
    expect(copies.size).toBe(RECIPIENTS);
    expect([...copies.values()].every((n) => n === 1)).toBe(true);
    expect(postmark.sent.some((s) => JSON.stringify(s.body).includes('Another subject'))).toBe(false);
  }, 60_000);

  it('a bulk body still arriving at SIGTERM is answered 503 and nothing of it is sent or kept', async () => {
    const { configPath, dir } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], attempts: 1, extra: { server: { shutdownGrace: '100ms' } } });
    const key = await createKey(configPath, 'app');
    const body = Buffer.from(JSON.stringify({ from: 'news@example.com', subject: 'Hi', text_body: 'Hello', type: 'marketing', recipients: [{ email: 'late@example.com' }] }));
    const server = await startServer(configPath, dir);
    const url = new URL(server.url);
    const answer = new Promise<{ status?: number; text: string }>((resolve, reject) => {
      const request = httpRequest(
        { host: url.hostname, port: url.port, method: 'POST', path: '/api/v1/emails/bulk', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': body.length } },
        (response) => {
          let text = '';
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode, text }));
        },
      );
      request.on('error', reject);
      request.write(body.subarray(0, 20));
      void pause(300)
        .then(() => {
          server.child.kill('SIGTERM');
          return pause(300);
        })
        .then(() => request.end(body.subarray(20)));
    });
    const got = await answer;
    expect(got.status).toBe(503);
    expect(got.text).toContain('shutting down');
    expect(await server.exited).toBe(0);
    expect(postmark.requests).toHaveLength(0);
    // Nothing was kept for a next server either.
    const next = await startServer(configPath, dir);
    await pause(500);
    expect(await next.stop()).toBe(0);
    expect(postmark.requests).toHaveLength(0);
  });
});
