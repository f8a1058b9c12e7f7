import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';

const { postmark, mailgun } = useFakeEsps();

const RATE_LIMITED = { status: 429, body: { ErrorCode: 0, Message: 'Rate limit exceeded' } };

function setup(rows: number, order: string[], retry: Record<string, unknown>) {
  const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, order, failover: { retry: { delay: '10ms', ...retry } } });
  const listPath = path.join(dir, 'list.csv');
  writeFileSync(listPath, ['email,name', ...Array.from({ length: rows }, (_, i) => `user${i}@example.com,User ${i}`)].join('\n') + '\n');
  const send = (extra: string[] = []) => runCli(['send', '--config', configPath, '--recipients', listPath, '--subject', 'Hi {{name}}', '--text', 'x', '--type', 'marketing', '--json', ...extra], { env: TEST_ENV, timeoutMs: 30_000 });
  return { send };
}

describe('bulk under HTTP 429', () => {
  it('a Retry-After beyond failover.retry.maxRetryAfter moves the batch on at once, and later batches skip the provider for that long', async () => {
    postmark.persistentFault = { ...RATE_LIMITED, headers: { 'Retry-After': '100' } };
    const { send } = setup(1_200, ['postmark', 'mailgun'], { attempts: 2, maxRetryAfter: '10s' });
    const started = Date.now();
    const result = await send(['--concurrency', '2']);
    expect(result.code, result.stderr).toBe(0);
    // One call for each batch under way when the first answer came; none after.
    expect(postmark.requests.length).toBeGreaterThanOrEqual(1);
    expect(postmark.requests.length).toBeLessThanOrEqual(2);
    expect(result.json()).toMatchObject({ status: 'delivered', delivered: 1_200, byProvider: { mailgun: { delivered: 1_200 } } });
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 40_000);

  it('with no provider left, the batch is queued in the outbox at once (exit 4), the reason naming the Retry-After', async () => {
    postmark.persistentFault = { ...RATE_LIMITED, headers: { 'Retry-After': '100' } };
    const { send } = setup(3, ['postmark'], { attempts: 2, maxRetryAfter: '10s' });
    const started = Date.now();
    const result = await send();
    expect(result.code, result.stderr).toBe(4);
    const report = result.json();
    expect(report).toMatchObject({ status: 'queued', queued: 3 });
    expect(report.failures[0].reason).toMatch(/Retry-After 100s exceeds the 10s cap/);
    expect(postmark.requests.length).toBeLessThanOrEqual(2);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 40_000);

  it('a pause within the cap counts as one of the batch\'s tries: after `attempts` answers of 429 the batch goes to the next provider', async () => {
    postmark.persistentFault = { ...RATE_LIMITED, headers: { 'Retry-After': '1' } };
    const { send } = setup(10, ['postmark', 'mailgun'], { attempts: 2 });
    const result = await send();
    expect(result.code, result.stderr).toBe(0);
    expect(postmark.requests).toHaveLength(2);
    expect(result.json()).toMatchObject({ delivered: 10, rateLimitPauses: 1, calls: { postmark: 2, mailgun: 1 }, byProvider: { mailgun: { delivered: 10 } } });
  }, 40_000);
});
