import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ALERT_SECRET, AlertReceiver } from '../fakes/alert-receiver.js';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';
import { CLOSED_PORT, TEST_ENV, testConfig, writeTestConfig, type TestConfigOptions } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { runApp } from '../helpers/run-app.js';
import { call, createKey, startServer } from '../helpers/serve.js';

// Failover alerts (issue #22) through the built CLI and the server: a real receiver that checks
// the signature, the events store, /metrics.
const { postmark, mailgun, smtp } = useFakeEsps();
const receiver = new AlertReceiver();
beforeAll(() => receiver.start());
afterAll(() => receiver.stop());
beforeEach(() => receiver.reset());

const DOWN = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
const ENV = { ...TEST_ENV, ALERT_SECRET };
// The server helper passes its own environment on: the secret comes from this process's.
process.env.ALERT_SECRET = ALERT_SECRET;

function setup(options: TestConfigOptions = {}, webhook: Record<string, unknown> = {}) {
  return writeTestConfig({
    postmarkUrl: postmark.url,
    mailgunUrl: mailgun.url,
    smtpPort: smtp.port,
    attempts: 1,
    extra: { alerts: { webhook: { url: `${receiver.url}/alerts`, secret: '${ALERT_SECRET}', ...webhook } } },
    ...options,
  });
}
const message = ['--to', 'ada@example.com', '--subject', 'Hello', '--text', 'Hi Ada'];
const send = (configPath: string, extra: string[] = []) => runCli(['send', '--config', configPath, ...message, '--json', ...extra], { env: ENV });
const events = (configPath: string, extra: string[] = []) => runCli(['events', 'list', '--config', configPath, ...extra], { env: ENV });

describe('failover alerts through the CLI', () => {
  it('a send whose first provider is down: one signed failover alert POSTed before the CLI exits, stored as an event', async () => {
    postmark.persistentFault = DOWN;
    const { configPath } = setup();
    const result = await send(configPath, ['--idempotency-key', 'order-7']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ status: 'delivered', provider: 'mailgun' });
    // Already there when the process has ended: the one-shot send waited for it.
    expect(receiver.accepted).toHaveLength(1);
    const [alert] = receiver.accepted;
    expect(alert).toMatchObject({ kind: 'failover', provider: 'postmark', nextProvider: 'mailgun', idempotencyKey: 'order-7', details: { reason: expect.stringContaining('postmark') } });
    expect(alert.message).toMatch(/^failover: a message moved from postmark to mailgun/);
    expect(receiver.requests[0].headers['x-penguinmails-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(receiver.requests[0].headers['x-penguinmails-alert-id']).toBe(alert.id);

    const listed = (await events(configPath, ['--type', 'failover', '--json'])).json();
    expect(listed.events).toHaveLength(1);
    expect(listed.events[0]).toMatchObject({ type: 'failover', provider: 'postmark', recipient: '', idempotencyKey: 'order-7', raw: alert });
    const human = await events(configPath);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/failover\s+-\s+postmark\s+failover: a message moved from postmark to mailgun/);
    for (const output of [result.stdout, result.stderr, human.stdout, human.stderr]) expect(output).not.toContain(ALERT_SECRET);
  });

  it('a circuit opening is one alert; the next send skipping it raises a failover, not another opening', async () => {
    postmark.persistentFault = DOWN;
    const { configPath } = setup({ failover: { health: { failureThreshold: 1, cooldown: '5m' } } });
    expect((await send(configPath)).code).toBe(0);
    expect(receiver.accepted.map((a) => a.kind)).toEqual(['circuit-opened', 'failover']);
    expect(receiver.accepted[0]).toMatchObject({ provider: 'postmark', details: { consecutiveFailures: 1 } });
    const second = await runCli(['send', '--config', configPath, '--to', 'bob@example.com', '--subject', 'Other', '--text', 'x', '--json'], { env: ENV });
    expect(second.code, second.stderr).toBe(0);
    expect(receiver.accepted.map((a) => a.kind)).toEqual(['circuit-opened', 'failover', 'failover']);
    expect(receiver.accepted[2].details.reason).toBe('postmark: marked down');
    expect(postmark.requests).toHaveLength(1);
    const opened = (await events(configPath, ['--type', 'circuit-opened', '--json'])).json();
    expect(opened.events).toHaveLength(1);
  });

  it('a receiver that fails first still gets the alert from a one-shot send (retried)', async () => {
    postmark.persistentFault = DOWN;
    receiver.failNext({ status: 502, body: 'bad gateway' });
    const { configPath } = setup();
    const result = await send(configPath);
    expect(result.code, result.stderr).toBe(0);
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.accepted).toHaveLength(1);
  });

  it('a receiver that is down never fails the send: a warning, and the alert is still an event', async () => {
    postmark.persistentFault = DOWN;
    const { configPath } = setup({}, { url: `http://127.0.0.1:${CLOSED_PORT}/alerts`, retries: 0 });
    const result = await send(configPath);
    expect(result.code).toBe(0);
    expect(result.json().status).toBe('delivered');
    expect(result.stderr).toContain('alert webhook http://127.0.0.1');
    expect(result.stderr).toContain('it stays in the events store');
    expect((await events(configPath, ['--type', 'failover', '--json'])).json().events).toHaveLength(1);
  });

  it('a bulk batch failing over is one alert for the batch, not one per recipient', async () => {
    postmark.persistentFault = DOWN;
    const { dir, configPath } = setup();
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, ['email,name', 'a@example.com,A', 'b@example.com,B', 'c@example.com,C'].join('\n') + '\n');
    const result = await runCli(['send', '--config', configPath, '--recipients', list, '--subject', 'Hi {{name}}', '--text', 'Hello', '--type', 'marketing', '--json'], { env: ENV });
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ delivered: 3 });
    expect(receiver.accepted).toHaveLength(1);
    expect(receiver.accepted[0]).toMatchObject({ kind: 'failover', provider: 'postmark', nextProvider: 'mailgun', details: { recipients: 3 } });
  });

  it('queue retry and queue work raise them too', async () => {
    postmark.persistentFault = DOWN;
    mailgun.persistentFault = { status: 502, body: 'Bad Gateway' };
    const { configPath } = setup({ order: ['postmark', 'mailgun'] });
    const queued = await send(configPath);
    expect(queued.code).toBe(4);
    expect(receiver.accepted).toHaveLength(1);
    const retried = await runCli(['queue', 'retry', '--all', '--config', configPath, '--json'], { env: ENV });
    expect(retried.code).toBe(4);
    expect(receiver.accepted).toHaveLength(2);
    mailgun.persistentFault = undefined;
    const worked = await runCli(['queue', 'work', '--once', '--config', configPath, '--json'], { env: { ...ENV } });
    expect(worked.code, worked.stderr).toBe(0);
    // postmark's third failure in a row (failover.health.failureThreshold 3) opens its circuit.
    expect(receiver.accepted.map((a) => `${a.kind}:${a.provider}`)).toEqual(['failover:postmark', 'failover:postmark', 'circuit-opened:postmark', 'failover:postmark']);
  });

  it('a bad alerts config: exit 2 naming each path, nothing sent', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, extra: { alerts: { webhok: {} } } });
    const typo = await send(configPath);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('alerts: unknown key "webhok" — did you mean "webhook"?');
    const { configPath: bad } = writeTestConfig({ postmarkUrl: postmark.url, extra: { alerts: { webhook: { url: 'http://alerts.example.com/in', secret: 'short', retries: 50, timeout: 0 } } } });
    const result = await send(bad);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('alerts.webhook.url: plain http:// is allowed only for loopback hosts');
    expect(result.stderr).toContain('alerts.webhook.secret: give a secret of at least 16 characters');
    expect(result.stderr).toContain('alerts.webhook.retries: at most 10 retries');
    expect(result.stderr).toContain('alerts.webhook.timeout: must be longer than 0');
    const { configPath: unset } = setup();
    const missing = await runCli(['send', '--config', unset, ...message], { env: { ...TEST_ENV, ALERT_SECRET: undefined } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('alerts.webhook.secret: environment variable ALERT_SECRET is not set');
    expect(postmark.requests).toHaveLength(0);
    // A command that sends nothing works without it (the placeholder is not taken for a short secret).
    const explained = await runCli(['route', 'explain', '--config', unset], { env: { ...TEST_ENV, ALERT_SECRET: undefined } });
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stderr).not.toContain('at least 16 characters');
  });
});

describe('failover alerts through the server', () => {
  it('an API send failing over: the receiver gets it, /metrics counts it, GET /api/v1/events lists it', async () => {
    postmark.persistentFault = DOWN;
    const { dir, configPath } = setup();
    const key = await createKey(configPath, 'alerts-test');
    const server = await startServer(configPath, dir);
    try {
      const body = JSON.stringify({ from: 'Penguin <noreply@example.com>', to: 'ada@example.com', subject: 'Hello', text_body: 'Hi' });
      const sent = await call(server.url, 'POST', '/api/v1/emails/send', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body);
      expect(sent.status).toBe(200);
      expect(sent.body.provider).toBe('mailgun');
      const [alert] = await receiver.waitFor(1);
      expect(alert).toMatchObject({ kind: 'failover', provider: 'postmark', nextProvider: 'mailgun' });
      const metrics = (await call(server.url, 'GET', '/metrics')).body as string;
      expect(metrics).toContain('penguinmails_alerts_total{kind="failover",provider="postmark"} 1');
      const listed = await call(server.url, 'GET', '/api/v1/events?type=failover', { authorization: `Bearer ${key}` });
      expect(listed.status).toBe(200);
      expect(listed.body.events).toEqual([expect.objectContaining({ type: 'failover', provider: 'postmark', raw: alert })]);
      const badType = await call(server.url, 'GET', '/api/v1/events?type=failovr', { authorization: `Bearer ${key}` });
      expect(badType.status).toBe(400);
      expect(JSON.stringify(badType.body)).toContain('circuit-opened');
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.output()).not.toContain(ALERT_SECRET);
  });
});

describe('failover alerts at shutdown', () => {
  it('serve, stopped right after a send whose alert the receiver refused once: the retry still goes out before it exits', async () => {
    postmark.persistentFault = DOWN;
    receiver.failNext({ status: 503, body: 'busy' });
    const { dir, configPath } = setup();
    const key = await createKey(configPath, 'alerts-shutdown');
    const server = await startServer(configPath, dir);
    const body = JSON.stringify({ from: 'Penguin <noreply@example.com>', to: 'ada@example.com', subject: 'Hello', text_body: 'Hi' });
    const sent = await call(server.url, 'POST', '/api/v1/emails/send', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body);
    expect(sent.status).toBe(200);
    expect(await server.stop()).toBe(0);
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.accepted).toEqual([expect.objectContaining({ kind: 'failover', provider: 'postmark' })]);
  });
});

describe('failover alerts through the library', () => {
  it('mailer.send raises them; mailer.close gets them out; verifyAlertSignature is exported', async () => {
    postmark.persistentFault = DOWN;
    const dir = tempDir();
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(ROOT, path.join(dir, 'node_modules', 'penguinmails'), 'dir');
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'an-app', type: 'module', private: true }));
    const config = testConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, attempts: 1, extra: { alerts: { webhook: { url: `${receiver.url}/alerts`, secret: '${ALERT_SECRET}' } } } });
    const app = `
      import { createMailer, verifyAlertSignature } from 'penguinmails';
      const mailer = await createMailer({ config: ${JSON.stringify(config)} });
      const result = await mailer.send({ from: 'noreply@example.com', to: 'ada@example.com', subject: 'Hi', text_body: 'Hi' });
      await mailer.close();
      console.log(JSON.stringify({ status: result.status, provider: result.provider, verify: typeof verifyAlertSignature }));
    `;
    const out = await runApp(dir, app, [], { ALERT_SECRET });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ status: 'delivered', provider: 'mailgun', verify: 'function' });
    expect(receiver.accepted).toEqual([expect.objectContaining({ kind: 'failover', provider: 'postmark', nextProvider: 'mailgun' })]);
  });
});
