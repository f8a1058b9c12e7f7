import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { tempDir } from '../helpers/cli.js';
import { testConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { call, createKey, startServer, type ServerProcess } from '../helpers/serve.js';

// serve facing clients that send slowly, too much, or guesses: each request is bounded in time
// (server.bodyTimeout) and, on the webhooks anyone may call, in size; and no answer echoes what a
// caller without a key put in the URL.
const { postmark } = useFakeEsps();
const MAILGUN_SIGNING_KEY = 'mg-signing-key-slow-clients';

/** Sends `head` on a new connection, then nothing; gives back what the server answered once it closed the connection. */
function sendThenStall(base: string, head: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect({ port: Number(port), host: hostname }, () => socket.write(head));
    socket.on('data', (d) => (answer += d));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(answer));
    setTimeout(() => socket.destroy(), 20_000);
  });
}

describe('serve and slow, large or guessing clients', () => {
  let server: ServerProcess;
  let key = '';

  beforeAll(async () => {
    const config = testConfig({ postmarkUrl: postmark.url, order: ['postmark'], extra: { server: { bodyTimeout: '1s' } } });
    (config.providers as Record<string, Record<string, unknown>>).mailgun.webhookSigningKey = '${MAILGUN_WEBHOOK_SIGNING_KEY}';
    const dir = tempDir();
    const configPath = path.join(dir, 'penguinmails.config.yaml');
    writeFileSync(configPath, stringify(config));
    key = await createKey(configPath, 'app');
    server = await startServer(configPath, dir, [], { MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_SIGNING_KEY });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('a body that stops arriving is answered 408 once server.bodyTimeout has passed, and its connection closed: with a key or on a webhook', async () => {
    const send = await sendThenStall(server.url, `POST /api/v1/emails/send HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"to":`);
    expect(send).toMatch(/^HTTP\/1\.1 408 /);
    expect(send).toContain('the request did not all arrive within server.bodyTimeout');
    const hook = await sendThenStall(server.url, 'POST /api/v1/webhooks/mailgun HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"signature":');
    expect(hook).toMatch(/^HTTP\/1\.1 408 /);
    expect(postmark.requests).toHaveLength(0);
    // The server goes on answering.
    expect((await call(server.url, 'GET', '/healthz', {})).status).toBe(200);
  });

  it('a request answered before its body (401 without a key) gets that answer only: when the body then stalls, the connection is closed, with no second answer', async () => {
    const answer = await sendThenStall(server.url, 'POST /api/v1/emails/send HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pm_live_wrong\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"to":');
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer.match(/HTTP\/1\.1 \d{3} /g)).toHaveLength(1);
  });

  it('a webhook body over 1 MB is 413, said as this route\'s limit; nothing is stored', async () => {
    const body = JSON.stringify({ signature: {}, 'event-data': { padding: 'x'.repeat(1_100_000) } });
    const answer = await call(server.url, 'POST', '/api/v1/webhooks/mailgun', { 'content-type': 'application/json' }, body);
    expect(answer.status).toBe(413);
    expect(answer.body.error).toBe('the body is larger than this route takes (1 MB)');
  });

  it('a 404 does not echo the path or the provider name (an echoed secret would come back masked, confirming a guess)', async () => {
    const route = await call(server.url, 'GET', `/x/${MAILGUN_SIGNING_KEY}/guess`, {});
    expect(route.status).toBe(404);
    expect(route.body.error).toBe('no route GET for this path');
    const hook = await call(server.url, 'POST', `/api/v1/webhooks/${MAILGUN_SIGNING_KEY}`, { 'content-type': 'application/json' }, '{}');
    expect(hook.status).toBe(404);
    expect(hook.body.error).toBe('no provider of that name in the config');
    expect(JSON.stringify([route.body, hook.body])).not.toContain('****');
  });
});
