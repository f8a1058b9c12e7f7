import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { BIN, runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig, type TestConfigOptions } from '../helpers/config.js';

const { postmark, mailgun, smtp } = useFakeEsps({ refuse: new Map([['gone@example.com', 550], ['busy@example.com', 451]]) });

const message = ['--to', 'ada@example.com', '--subject', 'Hello', '--text', 'Hi Ada', '--json'];
const live = (options: TestConfigOptions = {}) => writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, ...options });
const send = (configPath: string, extra: string[] = [], env: Record<string, string | undefined> = TEST_ENV) => runCli(['send', '--config', configPath, ...message, ...extra], { env });
const outcomes = (json: any) => json.attempts.map((a: any) => `${a.provider}#${a.try}:${a.outcome}`);

describe('failover policy', () => {
  it('primary 500 three times → retried with the delay, then the fallback delivers', async () => {
    postmark.failNext(...Array(3).fill({ status: 500, body: { ErrorCode: 0, Message: 'Internal Server Error' } }));
    const { configPath } = live();
    const result = await send(configPath);
    expect(result.code, result.stderr).toBe(0);
    const json = result.json();
    expect(outcomes(json)).toEqual(['postmark#1:transient', 'postmark#2:transient', 'postmark#3:transient', 'mailgun#1:delivered']);
    expect(json.attempts[0].waitMs).toBe(10);
    expect(json.provider).toBe('mailgun');
    expect(postmark.requests).toHaveLength(3);
    expect(mailgun.requests).toHaveLength(1);
  });

  it('bad credentials (401) → next provider at once, no retry', async () => {
    const { configPath } = live();
    const result = await send(configPath, [], { ...TEST_ENV, POSTMARK_SERVER_TOKEN: 'wrong-token' });
    expect(result.code, result.stderr).toBe(0);
    expect(outcomes(result.json())).toEqual(['postmark#1:provider-unusable', 'mailgun#1:delivered']);
    expect(postmark.requests).toHaveLength(1);
  });

  it('mailgun plain-text Forbidden (401) → provider unusable → smtp', async () => {
    const { configPath } = live({ order: ['mailgun', 'smtp'] });
    const result = await send(configPath, [], { ...TEST_ENV, MAILGUN_API_KEY: 'key-wrong' });
    expect(result.code, result.stderr).toBe(0);
    expect(outcomes(result.json())).toEqual(['mailgun#1:provider-unusable', 'smtp#1:delivered']);
    expect(result.json().attempts[0].error).toContain('Forbidden');
  });

  it('inactive recipient (406) → exit 3, the fallback is never called', async () => {
    postmark.inactive.add('ada@example.com');
    const { configPath } = live();
    const result = await send(configPath);
    expect(result.code).toBe(3);
    const json = result.json();
    expect(json.status).toBe('rejected');
    expect(outcomes(json)).toEqual(['postmark#1:permanent']);
    expect(json.attempts[0].error).toContain('ErrorCode 406');
    expect(mailgun.requests).toHaveLength(0);
    expect(smtp.messages).toHaveLength(0);
  });

  it('SMTP 550 for the only recipient → permanent (exit 3); 451 → transient, then outbox', async () => {
    const { configPath } = live({ order: ['smtp'], attempts: 2 });
    const refused = await runCli(['send', '--config', configPath, '--to', 'gone@example.com', '--subject', 's', '--text', 't', '--json'], { env: TEST_ENV });
    expect(refused.code).toBe(3);
    expect(outcomes(refused.json())).toEqual(['smtp#1:permanent']);
    const busy = await runCli(['send', '--config', configPath, '--to', 'busy@example.com', '--subject', 's', '--text', 't', '--json'], { env: TEST_ENV });
    expect(busy.code).toBe(4);
    expect(outcomes(busy.json())).toEqual(['smtp#1:transient', 'smtp#2:transient']);
  });

  it('429 with Retry-After is honoured before the next try', async () => {
    postmark.failNext({ status: 429, body: { ErrorCode: 0, Message: 'Rate limit exceeded' }, headers: { 'Retry-After': '1' } });
    const { configPath } = live();
    const started = Date.now();
    const result = await send(configPath);
    expect(result.code, result.stderr).toBe(0);
    const json = result.json();
    expect(outcomes(json)).toEqual(['postmark#1:transient', 'postmark#2:delivered']);
    expect(json.attempts[0]).toMatchObject({ waitMs: 1000, note: expect.stringContaining('Retry-After') });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('a Retry-After beyond the cap moves on to the next provider', async () => {
    postmark.failNext({ status: 429, body: { ErrorCode: 0, Message: 'Rate limit exceeded' }, headers: { 'Retry-After': '3600' } });
    const { configPath } = live();
    const json = (await send(configPath)).json();
    expect(outcomes(json)).toEqual(['postmark#1:transient', 'mailgun#1:delivered']);
    expect(json.attempts[0].note).toContain('exceeds');
  });

  it('connection refused (postmark and mailgun down) → transient, fails over to smtp', async () => {
    const { configPath } = writeTestConfig({ smtpPort: smtp.port, attempts: 2 });
    const json = (await send(configPath)).json();
    expect(outcomes(json)).toEqual(['postmark#1:transient', 'postmark#2:transient', 'mailgun#1:transient', 'mailgun#2:transient', 'smtp#1:delivered']);
    expect(json.attempts[2].error).toContain('ECONNREFUSED');
  });

  it('timeout after the request was sent → outbox as ambiguous, never the fallback', async () => {
    postmark.failNext({ delayMs: 1500, status: 200, body: {} });
    const { configPath } = live({ timeout: '500ms' });
    const result = await send(configPath);
    expect(result.code).toBe(4);
    const json = result.json();
    expect(json).toMatchObject({ status: 'queued', ambiguous: true });
    expect(outcomes(json)).toEqual(['postmark#1:ambiguous']);
    expect(result.stderr).toContain(`the provider may already have it: check before resending; \`penguinmails queue retry ${json.outboxId} --force --config ${configPath}\` resends it`);
    expect(mailgun.requests).toHaveLength(0);
    const list = (await runCli(['queue', 'list', '--config', configPath, '--json'], { env: TEST_ENV })).json();
    expect(list.entries).toEqual([expect.objectContaining({ id: json.outboxId, status: 'ambiguous' })]);
    const retry = await runCli(['queue', 'retry', String(json.outboxId), '--config', configPath, '--json'], { env: TEST_ENV });
    expect(retry.code).toBe(4);
    expect(retry.json().results[0]).toMatchObject({ status: 'skipped', reason: expect.stringContaining('--force') });
    expect(postmark.requests).toHaveLength(1);
  });

  it('the same idempotency key is delivered once', async () => {
    const { configPath } = live();
    const first = await send(configPath, ['--idempotency-key', 'order-1001-receipt']);
    const second = await send(configPath, ['--idempotency-key', 'order-1001-receipt']);
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(second.json()).toMatchObject({ status: 'duplicate', duplicateOf: { provider: 'postmark' }, attempts: [] });
    expect(postmark.requests).toHaveLength(1);
  });

  it('--no-failover tries only the first provider', async () => {
    postmark.persistentFault = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
    const { configPath } = live({ attempts: 1 });
    const result = await send(configPath, ['--no-failover']);
    expect(result.code).toBe(4);
    expect(outcomes(result.json())).toEqual(['postmark#1:transient']);
    expect(mailgun.requests).toHaveLength(0);
  });
});

describe('outbox and queue retry', () => {
  it('all down → outbox (exit 4) → servers back → queue retry delivers exactly once', async () => {
    const down = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
    postmark.persistentFault = down;
    mailgun.persistentFault = { status: 502, body: 'Bad Gateway' };
    const { configPath } = live({ order: ['postmark', 'mailgun'], attempts: 1 });
    const sent = await send(configPath);
    expect(sent.code).toBe(4);
    const { outboxId } = sent.json();
    expect(outboxId).toBeGreaterThan(0);
    expect(sent.stderr).toContain(`queue retry ${outboxId}`);

    postmark.persistentFault = undefined;
    mailgun.persistentFault = undefined;
    const retried = await runCli(['queue', 'retry', '--all', '--config', configPath, '--json'], { env: TEST_ENV });
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.json().results).toEqual([expect.objectContaining({ id: outboxId, status: 'delivered', provider: 'postmark' })]);
    const again = await runCli(['queue', 'retry', String(outboxId), '--config', configPath, '--json'], { env: TEST_ENV });
    expect(again.json().results[0]).toMatchObject({ status: 'skipped', reason: 'already delivered' });
    // Nothing left to do is success, not "stored for retry".
    expect(again.code).toBe(0);
    expect(postmark.requests.filter((r) => !postmark.persistentFault)).toHaveLength(2);
    const show = (await runCli(['queue', 'show', String(outboxId), '--config', configPath, '--json'], { env: TEST_ENV })).json();
    expect(show.status).toBe('delivered');
    expect(show.attempts.map((a: any) => a.outcome)).toEqual(['transient', 'transient', 'delivered']);
  });

  it('two concurrent queue retry processes deliver each message once', async () => {
    postmark.persistentFault = { status: 500, body: { ErrorCode: 0, Message: 'down' } };
    const { configPath } = live({ order: ['postmark'], attempts: 1 });
    for (let i = 0; i < 6; i++) expect((await send(configPath, ['--subject', `msg ${i}`])).code).toBe(4);
    postmark.reset();
    postmark.latencyMs = 150;
    try {
      const [a, b] = await Promise.all([0, 1].map(() => runCli(['queue', 'retry', '--all', '--config', configPath, '--json'], { env: TEST_ENV })));
      const delivered = [...a.json().results, ...b.json().results].filter((r: any) => r.status === 'delivered').map((r: any) => r.id);
      expect(delivered.sort()).toEqual([1, 2, 3, 4, 5, 6]);
      const subjects = postmark.sent.map((s) => s.body.Subject).sort();
      expect(subjects).toEqual(['msg 0', 'msg 1', 'msg 2', 'msg 3', 'msg 4', 'msg 5']);
    } finally {
      postmark.latencyMs = 0;
    }
  });

  it('kill -9 during a retry loses nothing and does not resend blindly', async () => {
    postmark.persistentFault = { status: 500, body: { ErrorCode: 0, Message: 'down' } };
    const { configPath } = live({ order: ['postmark'], attempts: 1 });
    const { outboxId } = (await send(configPath)).json();
    postmark.reset();
    postmark.failNext({ delayMs: 4000, status: 200, body: { MessageID: 'late', ErrorCode: 0, Message: 'OK' } });

    const child = spawn(process.execPath, [BIN, 'queue', 'retry', String(outboxId), '--config', configPath], { env: { ...process.env, ...TEST_ENV } });
    await waitFor(() => postmark.requests.length === 1);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));

    const afterKill = await runCli(['queue', 'retry', String(outboxId), '--config', configPath, '--json'], { env: TEST_ENV });
    expect(afterKill.code).toBe(4);
    expect(afterKill.json().results[0]).toMatchObject({ status: 'skipped', reason: expect.stringContaining('ambiguous') });
    const entry = (await runCli(['queue', 'show', String(outboxId), '--config', configPath, '--json'], { env: TEST_ENV })).json();
    expect(entry).toMatchObject({ status: 'ambiguous', reason: expect.stringContaining('interrupted while sending') });
    expect(postmark.requests).toHaveLength(1);

    const forced = await runCli(['queue', 'retry', String(outboxId), '--force', '--config', configPath, '--json'], { env: TEST_ENV });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.json().results[0].status).toBe('delivered');
  });

  it('queue drop removes a waiting message; bad ids are usage errors', async () => {
    postmark.persistentFault = { status: 500, body: { ErrorCode: 0, Message: 'down' } };
    const { configPath } = live({ order: ['postmark'], attempts: 1 });
    const { outboxId } = (await send(configPath)).json();
    const dropped = await runCli(['queue', 'drop', String(outboxId), '--config', configPath, '--json'], { env: TEST_ENV });
    expect(dropped.json()).toEqual({ id: outboxId, status: 'dropped' });
    expect((await runCli(['queue', 'list', '--config', configPath, '--json'])).json().entries).toEqual([]);
    const retryDropped = await runCli(['queue', 'retry', String(outboxId), '--config', configPath], { env: TEST_ENV });
    expect(retryDropped.code).toBe(2);
    expect(retryDropped.stderr).toMatch(new RegExp(`queue retry: #${outboxId} was dropped[\\s\\S]*hint: a dropped message is not sent again`));
    expect((await runCli(['queue', 'show', 'abc', '--config', configPath])).code).toBe(2);
    expect((await runCli(['queue', 'show', '999', '--config', configPath])).code).toBe(2);
    expect((await runCli(['queue', 'retry', '--config', configPath], { env: TEST_ENV })).code).toBe(2);
  });
});

describe('provider health across runs', () => {
  it('a provider that keeps failing is skipped during its cool-down, then probed again', async () => {
    postmark.persistentFault = { status: 500, body: { ErrorCode: 0, Message: 'down' } };
    const { configPath } = live({ attempts: 3, failover: { health: { failureThreshold: 3, cooldown: '6s' } } });
    // The cool-down is long enough that the second send falls inside it even on a busy machine.
    const first = (await send(configPath, ['--subject', 'one'])).json();
    expect(outcomes(first)).toEqual(['postmark#1:transient', 'postmark#2:transient', 'postmark#3:transient', 'mailgun#1:delivered']);

    const second = await send(configPath, ['--subject', 'two', '--verbose']);
    expect(outcomes(second.json())).toEqual(['postmark#0:skipped', 'mailgun#1:delivered']);
    expect(second.json().attempts[0].note).toMatch(/marked down: skipped for (\d+m )?\d+s more after \d+ failures, until [\d:]+ UTC \(last: /);
    expect(second.stderr).toMatch(/health of postmark: down: skipped for \d+s more after 3 failures/);
    expect(postmark.requests).toHaveLength(3);

    postmark.persistentFault = undefined;
    await new Promise((resolve) => setTimeout(resolve, 6100));
    const third = (await send(configPath, ['--subject', 'three'])).json();
    expect(outcomes(third)).toEqual(['postmark#1:delivered']);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
