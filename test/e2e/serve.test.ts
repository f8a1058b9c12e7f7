import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAILGUN_KEY } from '../fakes/fake-mailgun.js';
import { POSTMARK_TOKEN } from '../fakes/fake-postmark.js';
import { runCli } from '../helpers/cli.js';
import { writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { call, createKey, startServer, type Answer, type ServerProcess } from '../helpers/serve.js';
import { eventually, pause } from '../helpers/polling.js';

// `penguinmails serve` (SPEC serve — the platform API): the built CLI as a server process, real
// HTTP requests, the fake ESPs behind it.
const { postmark, mailgun } = useFakeEsps();
const DOWN = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
/** How long the checks below wait for the worker and background sends. */
const WAIT_MS = 8_000;
const BODY = { from: 'Penguin <noreply@example.com>', to: 'ada@example.com', subject: 'Hello', text_body: 'Hi Ada' };

/** The idempotency keys of the single messages the fake Postmark received. */
function postmarkKeys(): string[] {
  return postmark.sent.filter((s) => s.path === '/email').map((s) => (s.body?.Headers as { Name: string; Value: string }[]).find((h) => /idempotency/i.test(h.Name))!.Value);
}

function client(server: () => ServerProcess, key: () => string) {
  return {
    async send(body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
      return call(server().url, 'POST', '/api/v1/emails/send', { authorization: `Bearer ${key()}`, 'content-type': 'application/json', ...headers }, typeof body === 'string' ? body : JSON.stringify(body));
    },
    async get(pathname: string, headers: Record<string, string> = {}): Promise<Answer> {
      return call(server().url, 'GET', pathname, { authorization: `Bearer ${key()}`, ...headers });
    },
  };
}

/**
 * A body of about `bytes` bytes, streamed (chunked, as a client that does not know its size sends
 * it): the server reads up to server.bodyLimit, answers 413 and reads no further.
 */
function postLarge(base: string, key: string, bytes: number): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({ ...BODY, text_body: 'x'.repeat(bytes) });
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(`${base}/api/v1/emails/send`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', (error) => (answered ? undefined : reject(error)));
    const chunk = 64 * 1024;
    let at = 0;
    const writeMore = (): void => {
      while (at < body.length && !answered) {
        const flowing = req.write(body.slice(at, (at += chunk)));
        if (!flowing) return void req.once('drain', writeMore);
      }
      req.end();
    };
    writeMore();
  });
}

/**
 * Writes `requests` on one connection as fast as the socket takes them (64 KB a turn of the event
 * loop, so that what the server answers is read as it comes), however early the server
 * answers and even once it has shut its side (as an HTTP client part-way through a body does),
 * then shuts its own; gives back what it read, how much it wrote, whether it was stopped before
 * the end, and the socket error (a reset) if there was one.
 */
function rawStream(base: string, requests: (string | Buffer)[]): Promise<{ answer: string; written: number; closedEarly: boolean; error?: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    let answer = '';
    let written = 0;
    let closed = false;
    let error: string | undefined;
    const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
    const pieces = requests.flatMap((r) => (typeof r === 'string' ? [Buffer.from(r)] : Array.from({ length: Math.ceil(r.length / 65536) }, (_, i) => r.subarray(i * 65536, (i + 1) * 65536))));
    // One piece at a time, each after a turn of the event loop: a write the kernel takes at once
    // returns true, and a loop of those would never let the answer be read before the server cuts
    // the connection (its reset then discards the unread answer: the test saw '' under load).
    const writeMore = (): void => {
      if (closed) return;
      if (pieces.length === 0) return void socket.end();
      const piece = pieces.shift()!;
      written += piece.length;
      if (socket.write(piece)) setImmediate(writeMore);
      else socket.once('drain', writeMore);
    };
    socket.on('connect', writeMore);
    socket.on('data', (d) => (answer += d));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
    socket.on('close', () => {
      closed = true;
      resolve({ answer, written, closedEarly: pieces.length > 0, error });
    });
    setTimeout(() => socket.destroy(), 8_000);
  });
}

describe('serve', () => {
  let server: ServerProcess;
  let dir: string;
  let configPath: string;
  let key = '';
  let otherKey = '';
  const api = client(() => server, () => key);

  beforeAll(async () => {
    ({ dir, configPath } = writeTestConfig({
      postmarkUrl: postmark.url,
      mailgunUrl: mailgun.url,
      order: ['postmark', 'mailgun'],
      attempts: 1,
      extra: { server: { requestBudget: '2s', rateLimit: { max: 1000 } }, worker: { interval: '200ms', backoff: '1s' } },
    }));
    key = await createKey(configPath, 'app');
    otherKey = await createKey(configPath, 'other');
    server = await startServer(configPath, dir);
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it('listens on 127.0.0.1 by default, answers /healthz and /readyz without a key', async () => {
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
    expect(await call(server.url, 'GET', '/healthz', {})).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await call(server.url, 'GET', '/readyz', {})).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('401 with WWW-Authenticate: Bearer for a missing, unknown or revoked key; nothing sent', async () => {
    const missing = await call(server.url, 'POST', '/api/v1/emails/send', { 'content-type': 'application/json' }, JSON.stringify(BODY));
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(missing.body).toMatchObject({ status: 'error', error: expect.stringContaining('missing API key') });
    const unknown = await api.send(BODY, { authorization: 'Bearer pm_live_not-a-key-of-ours' });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const doomed = await createKey(configPath, 'doomed');
    const lookUp = () => api.get('/api/v1/emails/nothing-here', { authorization: `Bearer ${doomed}` });
    expect((await lookUp()).status).toBe(404);
    expect((await runCli(['keys', 'revoke', 'doomed', '--config', configPath])).code).toBe(0);
    // A valid key is trusted for a second (src/server/key-check.ts): refused within that.
    const revokedAt = Date.now();
    expect((await eventually(lookUp, (answer) => answer.status === 401, 3_000)).status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(2_000); // 1 s, and room for a busy machine
    const revoked = await api.send(BODY, { authorization: `Bearer ${doomed}` });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error).toContain('unknown or revoked');
    expect(postmark.requests).toHaveLength(0);
  });

  it("a key's lastUsedAt is written by its first request (then at most once a minute); keys list shows it", async () => {
    const lastUsed = async (name: string) => (await runCli(['keys', 'list', '--config', configPath, '--json'])).json().keys.find((k: { name: string }) => k.name === name).lastUsedAt;
    const watcher = await createKey(configPath, 'watcher');
    expect(await lastUsed('watcher')).toBeNull();
    const before = Date.now();
    expect((await api.get('/api/v1/emails/nothing-here', { authorization: `Bearer ${watcher}` })).status).toBe(404);
    const first = await lastUsed('watcher');
    expect(Date.parse(first)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(first)).toBeLessThanOrEqual(Date.now());
    expect((await api.get('/api/v1/emails/nothing-here', { authorization: `Bearer ${watcher}` })).status).toBe(404);
    expect(await lastUsed('watcher')).toBe(first);
  });

  it('200 delivered; the same Idempotency-Key again → 200 duplicate, delivered once; GET /emails/{key} tells', async () => {
    const first = await api.send(BODY, { 'idempotency-key': 'order-1001' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'delivered', provider: 'postmark', idempotencyKey: 'order-1001', outboxId: null });
    // The header overrides the body's key.
    const again = await api.send({ ...BODY, idempotency_key: 'something-else' }, { 'idempotency-key': 'order-1001' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'duplicate', duplicateOf: { provider: 'postmark', messageId: first.body.messageId } });
    expect(postmarkKeys()).toEqual(['order-1001']);
    const now = await api.get('/api/v1/emails/order-1001');
    expect(now).toMatchObject({ status: 200, body: { status: 'delivered', provider: 'postmark', messageId: first.body.messageId } });
    expect((await api.get('/api/v1/emails/no-such-message')).status).toBe(404);
  });

  it('GET /emails/{id} takes a key of 200 characters; a path the router refuses is answered in the API\'s shape', async () => {
    const longKey = 'k'.repeat(200);
    expect((await api.send({ ...BODY, subject: 'long key' }, { 'idempotency-key': longKey })).status).toBe(200);
    expect(await api.get(`/api/v1/emails/${longKey}`)).toMatchObject({ status: 200, body: { status: 'delivered', idempotencyKey: longKey } });
    const badEscape = await api.get('/api/v1/emails/%E0%A4%A');
    expect(badEscape).toMatchObject({ status: 400, body: { status: 'error', error: expect.stringContaining('the path is not valid'), details: [] } });
    const tooLong = await api.get(`/api/v1/emails/${'k'.repeat(2_000)}`);
    expect(tooLong).toMatchObject({ status: 414, body: { status: 'error', error: 'a part of the path is longer than 1024 characters' } });
  });

  it('422 rejected: a recipient the provider refuses for good; no failover', async () => {
    postmark.inactive.add('gone@example.com');
    const answer = await api.send({ ...BODY, to: 'gone@example.com' });
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ status: 'rejected', provider: 'postmark' });
    expect(mailgun.requests).toHaveLength(0);
  });

  it('409 for an Idempotency-Key already used for a different message; nothing sent', async () => {
    expect((await api.send(BODY, { 'idempotency-key': 'invoice-77' })).status).toBe(200);
    const other = await api.send({ ...BODY, to: 'someone-else@example.com' }, { 'idempotency-key': 'invoice-77' });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ status: 'error', details: [{ path: 'Idempotency-Key (header)', message: 'already used for a different message' }] });
    expect((await api.send(BODY, { 'idempotency-key': 'invoice-77' })).body.status).toBe('duplicate');
    expect(postmark.requests).toHaveLength(1);
  });

  it("a provider's error that echoes its token back reaches the API client masked", async () => {
    postmark.failNext({ status: 422, body: { ErrorCode: 300, Message: `Invalid request for token ${POSTMARK_TOKEN}` } });
    const answer = await api.send({ ...BODY, to: 'echo@example.com' });
    expect(answer.status).toBe(422);
    const text = JSON.stringify(answer.body);
    expect(text).not.toContain(POSTMARK_TOKEN);
    expect(text).toContain('Invalid request for token ****');
  });

  it('400 for a body of made-up fields: the first 100 listed, the rest counted, a long name shown cut; the answer stays small', async () => {
    const body: Record<string, unknown> = { ...BODY, ['x'.repeat(2_000_000)]: 1 };
    for (let i = 0; i < 5_000; i++) body[`made_up_${i}`] = i;
    const answer = await api.send(body);
    expect(answer.status).toBe(400);
    expect(answer.body.details).toHaveLength(100);
    expect(answer.body.detailsNotListed).toBe(4_901);
    expect(answer.body.details[0]).toEqual({ path: `${'x'.repeat(64)}…`, message: 'unknown field' });
    expect(answer.body.details[1]).toEqual({ path: 'made_up_0', message: 'unknown field' });
    expect(JSON.stringify(answer.body).length).toBeLessThan(16_000);
    expect(postmark.requests).toHaveLength(0);
  });

  it('400 for lists of millions of bad items under the body limit: one problem for the field, or the first 20 and a count; the server stays responsive', async () => {
    const manyTo = await api.send(`{"to":[${'1,'.repeat(3_000_000)}1],"subject":"x","html_body":"x"}`);
    expect(manyTo.status).toBe(400);
    expect(manyTo.body.details).toEqual([{ path: 'to', message: 'at most 1000 items (it has 3000001); none of them was checked' }]);
    // Just over a message's limit: every problem named, as the message's own checks word them.
    const fiftyOne = await api.send({ to: Array.from({ length: 51 }, (_, i) => `r${i}@example.com`), subject: 5, from: 'bad', text_body: 't' });
    expect(fiftyOne.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'subject' }), expect.objectContaining({ path: 'from' }), { path: 'to', message: '51 recipients, at most 50 per message (use POST /api/v1/emails/bulk for bulk)' }]));
    const manyTags = await api.send({ ...BODY, tags: Array.from({ length: 5_000 }, (_, i) => `t${i}`), metadata: Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`k${i}`, 'v'])) });
    expect(manyTags.body.details).toEqual([
      { path: 'tags', message: 'at most 1000 items (it has 5000); none of them was checked' },
      { path: 'metadata', message: 'at most 1000 entries (it has 1001); none of them was checked' },
    ]);
    const bulk = await call(server.url, 'POST', '/api/v1/emails/bulk', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, `{"subject":"x","text_body":"x","recipients":[${'{"e":1},'.repeat(900_000)}{"e":1}]}`);
    expect(bulk.status).toBe(400);
    expect(bulk.body.details).toHaveLength(20);
    expect(bulk.body.details.slice(0, 2)).toEqual([
      { path: 'recipients[0].email', message: 'required (a string)' },
      { path: 'recipients[0].e', message: 'merge fields must be strings' },
    ]);
    expect(bulk.body.hint).toBe('1799982 more problems not listed; nothing was sent');
    expect((await call(server.url, 'GET', '/healthz')).status).toBe(200);
    expect(postmark.requests).toHaveLength(0);
  });

  it("400 for a mistyped field names the message's other problems too (an address that is not one, no body)", async () => {
    const answer = await api.send({ to: 'not-an-address', subject: 5, from: 'noreply@example.com' });
    expect(answer.status).toBe(400);
    expect(answer.body.details).toEqual([
      { path: 'subject', message: 'must be a string' },
      { path: 'to[0]', message: '"not-an-address" is not a valid email address' },
      { path: 'html_body', message: 'missing: give html_body or text_body (or both)' },
    ]);
    expect(postmark.requests).toHaveLength(0);
  });

  it('400 names every invalid field by its path; unknown fields too; nothing sent', async () => {
    const answer = await api.send({ ...BODY, to: 42, type: 'newsletter', subjcet: 'typo', track_opens: 'yes' });
    expect(answer.status).toBe(400);
    expect(answer.body.status).toBe('error');
    expect(answer.body.error).toBeTruthy();
    const paths = answer.body.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(['subjcet', 'to', 'track_opens', 'type']);
    expect(answer.body.details.find((d: { path: string }) => d.path === 'subjcet').message).toContain('did you mean "subject"');
    const message = await api.send({ ...BODY, to: ['ada@example.com', 'not an address'], headers: { 'X-Note': 'a\r\nBcc: victim@example.com' } });
    expect(message.status).toBe(400);
    expect(message.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'to[1]' }), expect.objectContaining({ path: 'headers.X-Note', message: expect.stringContaining('CR/LF') })]));
    const badKey = await api.send(BODY, { 'idempotency-key': 'has spaces and ünïcode' });
    expect(badKey.status).toBe(400);
    expect(badKey.body.details).toEqual([expect.objectContaining({ path: 'Idempotency-Key (header)' })]);
    expect(postmark.requests).toHaveLength(0);
  });

  it('malformed JSON 400, wrong content type 415, 11 MB body 413, CR/LF in a header 400: each with a clear error, nothing sent', async () => {
    const malformed = await api.send('{"to": "ada@example.com", ');
    expect(malformed).toMatchObject({ status: 400, body: { status: 'error', error: expect.stringContaining('not valid JSON') } });
    expect((await api.send('')).body.error).toBe('the body is empty: send one JSON object');
    // No field holds a NUL (PostgreSQL stores none): 400 naming it, not a store error.
    const withNul = await call(server.url, 'POST', '/api/v1/suppressions', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, '{"address":"bob@example.com","reason":"manual\\u0000x"}');
    expect(withNul).toMatchObject({ status: 400, body: { details: [{ path: 'reason', message: 'holds a NUL character (\\u0000)' }] } });
    // A key that could change a prototype once merged is refused where it is, written plainly or escaped.
    for (const poisoned of ['{"to":"a@example.com","subject":"s","text_body":"t","metadata":{"__proto__":"x"}}', '{"to":"a@example.com","subject":"s","text_body":"t","metadata":{"\\u005f_proto__":"x"}}']) {
      expect(await api.send(poisoned)).toMatchObject({ status: 400, body: { details: [{ path: 'metadata.__proto__', message: expect.stringContaining('is refused: rename it') }] } });
    }
    const bulkPoisoned = await call(server.url, 'POST', '/api/v1/emails/bulk', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, '{"subject":"s","text_body":"t","recipients":[{"email":"a@example.com"},{"email":"b@example.com","constructor":{"prototype":{}}}]}');
    expect(bulkPoisoned.body.details).toEqual([expect.objectContaining({ path: 'recipients[1].constructor' })]);
    const wrongType = await api.send(JSON.stringify(BODY), { 'content-type': 'text/plain' });
    expect(wrongType).toMatchObject({ status: 415, body: { status: 'error', error: expect.stringContaining('application/json') } });
    const form = await api.send('to=ada@example.com', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    const large = await postLarge(server.url, key, 11 * 1024 * 1024);
    expect(large.status).toBe(413);
    expect(JSON.parse(large.body)).toMatchObject({ status: 'error', error: expect.stringContaining('server.bodyLimit') });
    const body = JSON.stringify(BODY);
    // Written by hand: fetch refuses to send a header value with CR or LF in it.
    const { answer: injected } = await rawStream(server.url, [
      `POST /api/v1/emails/send HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nIdempotency-Key: abc\rBcc: victim@example.com\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    ]);
    expect(injected).toMatch(/^HTTP\/1\.1 400/);
    expect(injected).toContain('CR or LF');
    expect(postmark.requests).toHaveLength(0);
    // The server is still there for the next request.
    expect((await call(server.url, 'GET', '/healthz', {})).status).toBe(200);
  });

  it('answered before its body was read (413 over the limit, 401 without a key): a client still writing reads the answer, never a reset', async () => {
    const body = Buffer.alloc(11 * 1024 * 1024, 'x');
    const head = (auth: boolean, extra = '') => `POST /api/v1/emails/send HTTP/1.1\r\nHost: x\r\n${auth ? `Authorization: Bearer ${key}\r\n` : ''}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n${extra}\r\n`;
    const healthz = 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    // Closing with the body unread made the kernel reset the connection: a client still writing saw EPIPE, not the 413.
    for (let round = 0; round < 3; round++) {
      // 413 closes the connection (as Fastify does after a refused body), once the whole body is in.
      for (const extra of ['', 'Connection: close\r\n']) {
        const refused = await rawStream(server.url, [head(true, extra), body]);
        expect(refused.error).toBeUndefined();
        expect(refused.closedEarly).toBe(false);
        expect(refused.answer).toMatch(/^HTTP\/1\.1 413/);
        expect(refused.answer).toContain('server.bodyLimit');
      }
      // 401 keeps the connection: the body is read past, and the next request is answered.
      const unauthorised = await rawStream(server.url, [head(false), body, healthz]);
      expect(unauthorised.error).toBeUndefined();
      expect(unauthorised.answer).toMatch(/^HTTP\/1\.1 401/);
      expect(unauthorised.answer).toMatch(/HTTP\/1\.1 200[^]*"status":"ok"/);
    }
    expect(postmark.requests).toHaveLength(0);
  });

  it('a body that never ends after its answer (413, 401): read to twice the limit more, then the connection is cut', async () => {
    for (const auth of [`Authorization: Bearer ${key}\r\n`, '']) {
      const head = `POST /api/v1/emails/send HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n`;
      const { answer, written, closedEarly } = await rawStream(server.url, [head, Buffer.alloc(100_000_000, 'x')]);
      expect(answer).toMatch(auth ? /^HTTP\/1\.1 413/ : /^HTTP\/1\.1 401/);
      expect(closedEarly).toBe(true);
      // The limit is 10 MB: the server reads at most 20 MB more (and what the sockets buffer).
      expect(written).toBeLessThan(40_000_000);
    }
    expect(postmark.requests).toHaveLength(0);
  });

  it('all providers down → 202 queued with its outbox id; once they are back the worker delivers it once, by itself', async () => {
    postmark.persistentFault = DOWN;
    mailgun.persistentFault = { status: 503, body: 'down' };
    const queued = await api.send(BODY, { 'idempotency-key': 'outage-1' });
    expect(queued.status).toBe(202);
    expect(queued.body).toMatchObject({ status: 'queued', outboxId: expect.any(Number) });
    expect((await api.get(`/api/v1/emails/${queued.body.outboxId}`)).body).toMatchObject({ status: 'queued', idempotencyKey: 'outage-1' });
    postmark.persistentFault = undefined;
    mailgun.persistentFault = undefined;
    const later = await eventually(
      () => api.get('/api/v1/emails/outage-1'),
      (a) => a.body.status === 'delivered',
      WAIT_MS,
    );
    expect(later.body).toMatchObject({ status: 'delivered', provider: 'postmark' });
    await pause(500); // another worker pass or two: still once
    expect(postmarkKeys().filter((k) => k === 'outage-1')).toHaveLength(2); // the failed try and the delivery
    expect(postmark.requests.filter((r) => r.path === '/email')).toHaveLength(2);

    // A key of digits only (an order number) that is also that entry's outbox id: the key's own message.
    const numbered = String(queued.body.outboxId);
    expect((await api.send({ ...BODY, subject: 'Order' }, { 'idempotency-key': numbered })).status).toBe(200);
    expect((await api.get(`/api/v1/emails/${numbered}`)).body).toMatchObject({ status: 'delivered', idempotencyKey: numbered });
  });

  it('the same Idempotency-Key with other content while the first send is still under way: 409 at once, not 202 for a message never sent', async () => {
    postmark.latencyMs = 3_000;
    const first = api.send(BODY, { 'idempotency-key': 'race-1' });
    await eventually(async () => postmark.requests.length, (n) => n > 0, 5_000);
    const other = await api.send({ ...BODY, subject: 'Another message' }, { 'idempotency-key': 'race-1' });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatch(/idempotency key "race-1" was used for a different message \(waiting in the outbox as #\d+/);
    expect([200, 202]).toContain((await first).status);
    await eventually(() => api.get('/api/v1/emails/race-1'), (a) => a.body.status === 'delivered', WAIT_MS);
    postmark.latencyMs = 0;
    expect(postmark.sent.filter((s) => JSON.stringify(s.body).includes('Another message'))).toHaveLength(0);
  });

  it('server.requestBudget runs out → 202 with the outbox id; the send goes on and is delivered once', async () => {
    postmark.latencyMs = 2_600;
    const started = Date.now();
    const answer = await api.send(BODY, { 'idempotency-key': 'slow-1' });
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ status: 'queued', outboxId: expect.any(Number), reason: expect.stringContaining('requestBudget') });
    const byId = await eventually(
      () => api.get(`/api/v1/emails/${answer.body.outboxId}`),
      (a) => a.body.status === 'delivered',
      WAIT_MS,
    );
    expect(byId.body).toMatchObject({ status: 'delivered', provider: 'postmark', idempotencyKey: 'slow-1' });
    // The id handed out stays on record (closed as delivered): any process finds it, not only this server.
    const shown = await runCli(['queue', 'show', String(answer.body.outboxId), '--config', configPath, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.json()).toMatchObject({ id: answer.body.outboxId, status: 'delivered', provider: 'postmark', messageId: byId.body.messageId });
    postmark.latencyMs = 0;
    await pause(500);
    expect(postmarkKeys()).toEqual(['slow-1']);
  });

  it('50 concurrent requests, 10 keys shared among them → each key delivered once', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => api.send({ ...BODY, subject: `Hello ${i % 10}` }, { 'idempotency-key': `burst-${i % 10}` })));
    expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
    expect(answers.filter((a) => a.body.status === 'delivered')).toHaveLength(10);
    expect(answers.filter((a) => a.body.status === 'duplicate')).toHaveLength(40);
    expect(postmarkKeys().sort()).toEqual(Array.from({ length: 10 }, (_, i) => `burst-${i}`).sort());
  });

  it('POST /emails/bulk → 202 {bulkId}; GET /bulk/{id} reports the run', async () => {
    const recipients = [{ email: 'a@example.com', name: 'A' }, { email: 'b@example.com', name: 'B' }, { email: 'not-an-address', name: 'C' }];
    const started = await call(server.url, 'POST', '/api/v1/emails/bulk', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify({ ...BODY, to: undefined, subject: 'Hi {{name}}', recipients }));
    expect(started.status).toBe(202);
    expect(started.body.bulkId).toEqual(expect.any(String));
    const report = await eventually(
      () => api.get(`/api/v1/bulk/${started.body.bulkId}`),
      (a) => a.body.status !== 'running',
      WAIT_MS,
    );
    expect(report.body).toMatchObject({ status: 'partial', recipients: 3, delivered: 2, invalid: 1 });
    expect(report.body.failures).toEqual([expect.objectContaining({ path: 'recipients[2]', line: 3, outcome: 'invalid', reason: expect.stringContaining('not-an-address') })]);
    const batch = postmark.sent.find((s) => s.path === '/email/batch');
    expect(batch?.body.map((m: { Subject: string }) => m.Subject).sort()).toEqual(['Hi A', 'Hi B']);
    const withTo = await call(server.url, 'POST', '/api/v1/emails/bulk', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify({ ...BODY, recipients }));
    expect(withTo.status).toBe(400);
    expect(withTo.body.details).toEqual([expect.objectContaining({ path: 'to' })]);
    expect((await api.get('/api/v1/bulk/unknown-id')).status).toBe(404);
    const wrongMethod = await api.get('/api/v1/emails/send');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    // Any other method on a path the API knows: 405 naming the methods it takes, not 404.
    for (const [method, pathname, allow] of [['PUT', '/api/v1/emails/send', 'POST'], ['DELETE', '/api/v1/emails/bulk', 'POST'], ['PUT', '/api/v1/events', 'GET'], ['DELETE', '/api/v1/emails/order-1001', 'GET'], ['POST', '/healthz', 'GET'], ['GET', '/api/v1/webhooks/postmark', 'POST'], ['GET', '/api/v1/suppressions/a@example.com', 'DELETE']]) {
      const answer = await call(server.url, method, pathname, { authorization: `Bearer ${key}` });
      expect([method, pathname, answer.status, answer.headers.get('allow')]).toEqual([method, pathname, 405, allow]);
      expect(answer.body).toMatchObject({ status: 'error', error: `${method} is not allowed here: use ${allow}` });
    }
    expect((await call(server.url, 'PUT', '/api/v1/no-such-route', { authorization: `Bearer ${key}` })).status).toBe(404);
  });

  it('past 8 bulk runs under way, more are answered 503 with Retry-After and not started', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    postmark.beforeAnswer = () => held;
    const post = (i: number) =>
      call(server.url, 'POST', '/api/v1/emails/bulk', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify({ ...BODY, to: undefined, subject: `Run ${i}`, recipients: [{ email: `run${i}@example.com` }] }));
    try {
      // Twelve at once: the cap holds even for requests checked and stored at the same time.
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => post(i)));
      expect(answers.filter((a) => a.status === 202)).toHaveLength(8);
      const refused = answers.filter((a) => a.status === 503);
      expect(refused).toHaveLength(4);
      expect(refused[0].headers.get('retry-after')).toBe('30');
      expect(refused[0].body.error).toContain('8 bulk runs are under way');
    } finally {
      release();
      postmark.beforeAnswer = undefined;
    }
    // Once runs end, a new one starts again.
    const again = await eventually(
      () => call(server.url, 'POST', '/api/v1/emails/bulk', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify({ ...BODY, to: undefined, subject: 'Run 8', recipients: [{ email: 'run8@example.com' }] })),
      (a) => a.status === 202,
      WAIT_MS,
    );
    expect(again.status).toBe(202);
  });

  it('/metrics: sends by provider and outcome, attempts, outbox, circuits, send durations', async () => {
    await api.send(BODY, { 'idempotency-key': 'metrics-1' });
    const metrics = await call(server.url, 'GET', '/metrics', {});
    expect(metrics.status).toBe(200);
    const text = metrics.body as string;
    expect(text).toMatch(/penguinmails_sends_total\{provider="postmark",outcome="delivered"\} \d+/);
    expect(text).toMatch(/penguinmails_provider_attempts_total\{provider="postmark",outcome="transient"\} \d+/);
    expect(text).toContain('penguinmails_failovers_total');
    expect(text).toContain('penguinmails_retries_total');
    expect(text).toMatch(/penguinmails_outbox_waiting\{status="pending"\} \d+/);
    expect(text).toMatch(/penguinmails_provider_circuit_state\{provider="mailgun"\} \d/);
    expect(text).toContain('penguinmails_send_duration_seconds_bucket');
    expect(text).not.toContain(key);
  });

  it('GET /api/v1/openapi.json describes every route', async () => {
    const doc = await api.get('/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths).sort()).toEqual([
      '/api/v1/bulk/{id}',
      '/api/v1/emails/bulk',
      '/api/v1/emails/send',
      '/api/v1/emails/{id}',
      '/api/v1/events',
      '/api/v1/suppressions',
      '/api/v1/suppressions/{address}',
      '/api/v1/webhooks/{provider}',
      '/healthz',
      '/metrics',
      '/readyz',
    ]);
    expect(doc.body.paths['/api/v1/emails/send'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('html_body');
    expect(Object.keys(doc.body.paths['/api/v1/emails/send'].post.responses)).toEqual(expect.arrayContaining(['200', '202', '400', '401', '413', '422', '429', '503']));
    // What the routes answer besides their own, documented too.
    expect(Object.keys(doc.body.paths['/api/v1/emails/bulk'].post.responses)).toEqual(expect.arrayContaining(['405', '413', '415', '500']));
    expect(Object.keys(doc.body.paths['/api/v1/emails/{id}'].get.responses)).toEqual(expect.arrayContaining(['404', '405', '414']));
    expect(Object.keys(doc.body.paths['/api/v1/webhooks/{provider}'].post.responses)).toEqual(expect.arrayContaining(['401', '408', '413']));
  });

  it('no API key or ESP secret in any log line, even when sent in a URL', async () => {
    await api.get(`/api/v1/emails/x?token=${otherKey}`);
    await api.send(BODY, { authorization: `Bearer ${otherKey}x` });
    const logs = server.output();
    expect(logs).toContain('"status":200');
    for (const secret of [key, otherKey, POSTMARK_TOKEN, MAILGUN_KEY]) expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/pm_live_[A-Za-z0-9_-]{5,}/);
    // The store keeps hashes only.
    const db = readFileSync(path.join(dir, 'outbox.db'));
    expect(db.includes(Buffer.from(key))).toBe(false);
  });
});

describe('serve: rate limits and shutdown', () => {
  let server: ServerProcess;
  let configPath: string;
  let dir: string;
  const keys: string[] = [];

  beforeAll(async () => {
    ({ dir, configPath } = writeTestConfig({
      postmarkUrl: postmark.url,
      order: ['postmark'],
      attempts: 1,
      extra: { server: { rateLimit: { max: 3, window: '1m' }, shutdownGrace: '10s' }, worker: { enabled: false } },
    }));
    for (const name of ['one', 'two', 'three']) keys.push(await createKey(configPath, name));
    server = await startServer(configPath, dir);
  });
  afterAll(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });

  it('429 with Retry-After once a key is over server.rateLimit; other keys go on', async () => {
    const as = (k: string) => ({ authorization: `Bearer ${k}` });
    for (let i = 0; i < 3; i++) expect((await call(server.url, 'GET', '/api/v1/emails/x', as(keys[0]))).status).toBe(404);
    const limited = await call(server.url, 'POST', '/api/v1/emails/send', { ...as(keys[0]), 'content-type': 'application/json' }, JSON.stringify(BODY));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body).toMatchObject({ status: 'error', error: expect.stringContaining('rate limited') });
    expect((await call(server.url, 'GET', '/api/v1/emails/x', as(keys[1]))).status).toBe(404);
    expect(postmark.requests).toHaveLength(0);
  });

  it('SIGTERM with sends in flight: new requests get 503, those under way are delivered, exit 0', async () => {
    postmark.latencyMs = 1_500;
    const headers = { authorization: `Bearer ${keys[2]}`, 'content-type': 'application/json' };
    const inFlight = ['a', 'b'].map((k) => call(server.url, 'POST', '/api/v1/emails/send', { ...headers, 'idempotency-key': `term-${k}` }, JSON.stringify(BODY)));
    await eventually(
      async () => postmark.requests.length,
      (n) => n === 2,
      5_000,
    );
    // A request that arrived before the signal, its body still coming: not taken once it ends.
    const slowBody = JSON.stringify(BODY);
    const slow = connect(Number(new URL(server.url).port), '127.0.0.1');
    let slowAnswer = '';
    slow.on('data', (chunk: Buffer) => (slowAnswer += chunk.toString()));
    slow.write(`POST /api/v1/emails/send HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${keys[2]}\r\ncontent-type: application/json\r\nidempotency-key: term-slow\r\ncontent-length: ${Buffer.byteLength(slowBody)}\r\n\r\n${slowBody.slice(0, 5)}`);
    await pause(200);
    server.child.kill('SIGTERM');
    await pause(300);
    const refused = await call(server.url, 'POST', '/api/v1/emails/send', { ...headers, 'idempotency-key': 'term-late' }, JSON.stringify(BODY)).catch((error: Error) => ({ status: 0, error }));
    expect(refused.status).toBe(503);
    slow.write(slowBody.slice(5));
    await eventually(
      async () => slowAnswer,
      (text) => text.includes('\r\n\r\n{'),
      5_000,
    );
    expect(slowAnswer).toMatch(/^HTTP\/1\.1 503 /);
    slow.destroy();
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => [a.status, a.body.status])).toEqual([
      [200, 'delivered'],
      [200, 'delivered'],
    ]);
    expect(await server.exited).toBe(0);
    expect(postmarkKeys().sort()).toEqual(['term-a', 'term-b']);
    const outbox = await runCli(['queue', 'list', '--all', '--config', configPath, '--json']);
    expect(outbox.json().entries).toEqual([]);
  });
});

describe('serve: a send that outlasts the shutdown grace', () => {
  it('is answered 202 and stays in the outbox; the process exits 0', async () => {
    const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], attempts: 1, extra: { server: { shutdownGrace: '300ms' }, worker: { enabled: false } } });
    const key = await createKey(configPath, 'app');
    const server = await startServer(configPath, dir);
    postmark.latencyMs = 2_500;
    const pending = call(server.url, 'POST', '/api/v1/emails/send', { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'cut-short' }, JSON.stringify(BODY));
    await eventually(
      async () => postmark.requests.length,
      (n) => n === 1,
      5_000,
    );
    server.child.kill('SIGTERM');
    const answer = await pending;
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ status: 'queued', outboxId: expect.any(Number), reason: expect.stringContaining('shutting down') });
    expect(await server.exited).toBe(0);
    const outbox = (await runCli(['queue', 'list', '--config', configPath, '--json'])).json();
    expect(outbox.entries).toEqual([expect.objectContaining({ id: answer.body.outboxId, idempotencyKey: 'cut-short' })]);
  });
});
