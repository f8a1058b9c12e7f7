import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

// A single send killed while the provider has the request may have been delivered: a rerun must
// find it recorded (ambiguous) and not send a second copy.
const { postmark, mailgun, smtp } = useFakeEsps();

const sendArgs = (configPath: string) => ['send', '--config', configPath, '--to', 'r1@example.com', '--subject', 'K', '--text', 't', '--json'];

function startSend(configPath: string) {
  const child = spawn(process.execPath, [BIN, ...sendArgs(configPath)], { env: { ...process.env, ...TEST_ENV, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  return { child, exited, stderr: () => stderr };
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('an interrupted single send is never sent again blindly', () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
    it(`killed with ${signal} while Postmark has the request → the rerun reports it ambiguous and sends nothing`, async () => {
      const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, timeout: '10s' });
      postmark.latencyMs = 2000;
      const first = startSend(configPath);
      await until(() => postmark.requests.length === 1);
      first.child.kill(signal);
      expect(await first.exited).not.toBe(0);
      postmark.latencyMs = 0;

      const rerun = await runCli(sendArgs(configPath), { env: TEST_ENV });
      expect(rerun.code, rerun.stderr).toBe(4);
      expect(rerun.json()).toMatchObject({ status: 'queued', ambiguous: true });
      expect(rerun.stderr).toContain('already waits in the outbox');
      expect(postmark.requests).toHaveLength(1);
      expect(mailgun.requests).toHaveLength(0);
      const list = (await runCli(['queue', 'list', '--config', configPath, '--json'])).json();
      expect(list.entries).toEqual([expect.objectContaining({ status: 'ambiguous', reason: expect.stringContaining('interrupted while sending') })]);
    });
  }

  it('a second identical send waiting on the lock, when the first is killed, takes over without resending', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, timeout: '10s' });
    postmark.latencyMs = 3000;
    const first = startSend(configPath);
    await until(() => postmark.requests.length === 1);
    const second = runCli(sendArgs(configPath), { env: TEST_ENV });
    await new Promise((r) => setTimeout(r, 400));
    first.child.kill('SIGKILL');
    await first.exited;
    const result = await second;
    expect(result.code, result.stderr).toBe(4);
    expect(result.json()).toMatchObject({ status: 'queued', ambiguous: true });
    expect(postmark.requests).toHaveLength(1);
  });

  it('killed while waiting between tries (nothing handed over) → the rerun sends it, once', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, order: ['postmark'], attempts: 2, delay: '4s' });
    postmark.persistentFault = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
    const first = startSend(configPath);
    await until(() => postmark.requests.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    first.child.kill('SIGKILL');
    await first.exited;
    postmark.persistentFault = undefined;
    const rerun = await runCli(sendArgs(configPath), { env: TEST_ENV });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.json()).toMatchObject({ status: 'delivered' });
    expect(postmark.requests).toHaveLength(2);
  });

  it('queue retry stops before claiming an entry whose chain lacks a secret: the entry stays pending, not ambiguous', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, order: ['postmark', 'mailgun'], attempts: 1 });
    postmark.persistentFault = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
    mailgun.persistentFault = { status: 503, body: { message: 'down' } };
    const queued = await runCli(sendArgs(configPath), { env: TEST_ENV });
    expect(queued.code).toBe(4);
    postmark.persistentFault = undefined;
    mailgun.persistentFault = undefined;
    const noKey = await runCli(['queue', 'retry', '--all', '--config', configPath], { env: { ...TEST_ENV, MAILGUN_API_KEY: undefined } });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('MAILGUN_API_KEY is not set');
    const retried = await runCli(['queue', 'retry', '--all', '--config', configPath, '--json'], { env: TEST_ENV });
    expect(retried.code, retried.stdout).toBe(0);
    expect(retried.json().results).toEqual([expect.objectContaining({ status: 'delivered' })]);
  });

  it('Ctrl-C mid-send says what became of the message (one JSON document, exit 130)', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, timeout: '10s' });
    postmark.latencyMs = 2000;
    const child = spawn(process.execPath, [BIN, ...sendArgs(configPath)], { env: { ...process.env, ...TEST_ENV, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await until(() => postmark.requests.length === 1);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'interrupted', exitCode: 130, outboxId: expect.any(Number) });
    expect(stderr).toContain('interrupted: it waits in the outbox as #');
  });

  it('a send while a queue retry of the same waiting message runs waits for it and reports its delivery', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, order: ['postmark'], attempts: 1, timeout: '10s' });
    postmark.persistentFault = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
    const queued = await runCli(sendArgs(configPath), { env: TEST_ENV });
    expect(queued.code).toBe(4);
    postmark.persistentFault = undefined;
    postmark.latencyMs = 1500;
    const retry = runCli(['queue', 'retry', String(queued.json().outboxId), '--config', configPath, '--json'], { env: TEST_ENV });
    await until(() => postmark.requests.length === 2);
    const send = await runCli(sendArgs(configPath), { env: TEST_ENV });
    expect((await retry).code).toBe(0);
    expect(send.code, send.stdout).toBe(0);
    expect(send.json()).toMatchObject({ status: 'delivered', outboxId: queued.json().outboxId });
    expect(postmark.requests).toHaveLength(2);
  });

  it('a send that ends normally leaves no outbox entry behind', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port });
    const result = await runCli(sendArgs(configPath), { env: TEST_ENV });
    expect(result.json()).toMatchObject({ status: 'delivered', outboxId: null });
    expect((await runCli(['queue', 'list', '--all', '--config', configPath, '--json'])).json().entries).toEqual([]);
  });
});
