import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HttpFake, RecordedRequest } from '../fakes/http-fake.js';
import { runCli } from '../helpers/cli.js';
import { stringify } from 'yaml';
import { tempDir } from '../helpers/cli.js';
import { TEST_ENV, testConfig, type TestConfigOptions } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

// Send-side rate limits (issue #22) through the built CLI: a bulk run stays under a per-second
// limit at the provider, a daily quota moves the rest to the next provider, and two processes on
// one store share a limit.
const { postmark, mailgun } = useFakeEsps();

/** Recipients each fake receives per wall-clock second (Postmark: one per batch entry, Mailgun: per `to`). */
function countPerSecond(fake: HttpFake): Map<number, number> {
  const perSecond = new Map<number, number>();
  fake.beforeAnswer = (request: RecordedRequest) => {
    const second = Math.floor(Date.now() / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + recipientsIn(request));
  };
  return perSecond;
}

function recipientsIn(request: RecordedRequest): number {
  const text = request.rawBody.toString('utf8');
  if (request.path === '/email/batch') return (JSON.parse(text) as unknown[]).length;
  if (request.path === '/email') return 1;
  return new URLSearchParams(text).getAll('to').length || (text.match(/name="to"/g) ?? []).length;
}

function setup(rateLimit: unknown, options: TestConfigOptions = {}) {
  const dir = tempDir();
  const configPath = path.join(dir, 'penguinmails.config.yaml');
  const config = testConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, order: ['postmark', 'mailgun'], ...options }) as { providers: Record<string, Record<string, unknown>> };
  config.providers.postmark.rateLimit = rateLimit;
  writeFileSync(configPath, stringify(config));
  const list = (name: string, rows: number, prefix = 'user') => {
    const listPath = path.join(dir, name);
    writeFileSync(listPath, ['email,name', ...Array.from({ length: rows }, (_, i) => `${prefix}${i}@example.com,User ${i}`)].join('\n') + '\n');
    return listPath;
  };
  const bulk = (listPath: string, subject = 'Hi {{name}}') =>
    runCli(['send', '--config', configPath, '--recipients', listPath, '--subject', subject, '--text', 'x', '--type', 'marketing', '--json'], { env: TEST_ENV, timeoutMs: 40_000 });
  const send = (to: string) => runCli(['send', '--config', configPath, '--to', to, '--subject', 'One', '--text', 'x', '--json'], { env: TEST_ENV });
  const explain = () => runCli(['route', 'explain', '--config', configPath, '--json'], { env: TEST_ENV });
  const explainText = () => runCli(['route', 'explain', '--config', configPath], { env: TEST_ENV });
  const work = () => runCli(['queue', 'work', '--once', '--config', configPath, '--json'], { env: TEST_ENV });
  const events = (extra: string[]) => runCli(['events', 'list', '--config', configPath, ...extra], { env: TEST_ENV });
  return { dir, configPath, list, bulk, send, explain, explainText, events, work };
}

describe('send-side rate limits', () => {
  it('a bulk run stays under a per-second limit at the provider instead of meeting its 429s', async () => {
    const perSecond = countPerSecond(postmark);
    const { list, bulk } = setup('40/s');
    const started = Date.now();
    const result = await bulk(list('list.csv', 150));
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ status: 'delivered', delivered: 150, byProvider: { postmark: { delivered: 150 } } });
    // Batches of at most the limit, and never more than 40 recipients in any second.
    expect(Math.max(...postmark.sent.map((s) => (s.body as unknown[]).length))).toBeLessThanOrEqual(40);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(40);
    expect([...perSecond.values()].reduce((a, b) => a + b, 0)).toBe(150);
    // 150 at 40 a second needs at least four windows.
    expect(perSecond.size).toBeGreaterThanOrEqual(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
  }, 60_000);

  it('a daily quota of N sends N through the provider and the rest through the next one; route explain shows it spent', async () => {
    const { list, bulk, send, explain, explainText, events } = setup(['100/s', '30/d']);
    const result = await bulk(list('list.csv', 100));
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ delivered: 100, byProvider: { postmark: { delivered: 30 }, mailgun: { delivered: 70 } } });
    expect(postmark.sent.reduce((sum, s) => sum + (s.body as unknown[]).length, 0)).toBe(30);
    // One alert for the spent quota, stored as an event.
    const alerts = (await events(['--type', 'rate-limit-quota-reached', '--json'])).json().events;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ type: 'rate-limit-quota-reached', provider: 'postmark' });
    expect(alerts[0].raw).toMatchObject({ details: { limit: '30/d', used: 30 } });

    const single = await send('ada@example.com');
    expect(single.code, single.stderr).toBe(0);
    const report = single.json();
    expect(report).toMatchObject({ status: 'delivered', provider: 'mailgun' });
    expect(report.attempts[0]).toMatchObject({ provider: 'postmark', try: 1, outcome: 'provider-unusable', code: 'rate-limit' });
    expect(report.attempts[0].error).toMatch(/^daily quota 30\/d reached \(30 sent today\); free again in .* at (\d{4}-\d\d-\d\d )?00:00:00 UTC: moving on$/);

    const explained = await explain();
    expect(explained.code, explained.stderr).toBe(0);
    const postmarkEntry = explained.json().providers.find((p: { name: string }) => p.name === 'postmark');
    expect(postmarkEntry.rateLimits).toEqual([
      { limit: '100/s', count: 100, windowMs: 1000, used: expect.any(Number), left: expect.any(Number), resetsAt: expect.any(String) },
      { limit: '30/d', count: 30, windowMs: 86_400_000, used: 30, left: 0, resetsAt: expect.stringMatching(/T00:00:00\.000Z$/) },
    ]);
    // The provider did nothing wrong: its health is untouched.
    expect(postmarkEntry.health).toBe('healthy');
    const text = await explainText();
    expect(text.stdout).toMatch(/rate limit: {6}100\/s \(\d+ left this second\); 30\/d \(0 left today: quota reached, messages go to the next provider until 00:00:00 UTC\)/);
  }, 60_000);

  it('the worker keeps to a daily quota too; calls the provider refused do not use it up', async () => {
    const DOWN = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
    const { send, work } = setup('2/d', { attempts: 1, failover: { health: { failureThreshold: 100, cooldown: '5m' } }, extra: { worker: { backoff: '1s' } } });
    postmark.persistentFault = DOWN;
    mailgun.persistentFault = { status: 503, body: 'down' };
    for (let i = 0; i < 4; i++) expect((await send(`user${i}@example.com`)).code).toBe(4);
    expect(postmark.requests).toHaveLength(4);
    postmark.reset();
    mailgun.reset();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const pass = await work();
    expect(pass.code, pass.stderr).toBe(0);
    const results = pass.json().results as { status: string; provider: string }[];
    expect(results.map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    expect(results.filter((r) => r.provider === 'postmark')).toHaveLength(2);
    expect(postmark.requests).toHaveLength(2);
    expect(mailgun.requests).toHaveLength(2);
  }, 60_000);

  it('two processes on the same store share one limit', async () => {
    const { list, bulk } = setup('50/d');
    const [first, second] = await Promise.all([bulk(list('a.csv', 40, 'a'), 'First {{name}}'), bulk(list('b.csv', 40, 'b'), 'Second {{name}}')]);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    const byPostmark = first.json().byProvider.postmark?.delivered ?? 0;
    const byPostmarkToo = second.json().byProvider.postmark?.delivered ?? 0;
    expect(byPostmark + byPostmarkToo).toBe(50);
    expect(postmark.sent.reduce((sum, s) => sum + (s.body as unknown[]).length, 0)).toBe(50);
    expect(first.json().delivered + second.json().delivered).toBe(80);
  }, 60_000);

  it('a bad rateLimit is a config error naming the key, with a hint (exit 2), and nothing is sent', async () => {
    const { send } = setup('14 per second');
    const result = await send('ada@example.com');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('providers.postmark.rateLimit: "14 per second" is not a rate limit (use e.g. 14/s, 600/m (or /min), 1000/h, 50000/d (or /day), or a list: [14/s, 50000/d])');
    expect(postmark.requests).toHaveLength(0);
  });
});

