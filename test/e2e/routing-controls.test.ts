import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pickFromSplit } from '../../src/core/split.js';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig, type TestConfigOptions } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

// Issue #22's routing controls through the built CLI: weighted splits, recipient-domain rules and
// budget caps, against the fake ESPs.
const { postmark, mailgun, smtp } = useFakeEsps();

const live = (options: TestConfigOptions = {}) => writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, attempts: 1, ...options });
const send = (configPath: string, args: string[]) => runCli(['send', '--config', configPath, '--subject', 'Hello', '--text', 'Hi', '--json', ...args], { env: TEST_ENV });
const FIFTY_FIFTY = { postmark: 50, mailgun: 50 };
/** $1 an email at mailgun, so a cap of $2.50 is reached by the third email. */
const dollarAnEmail = (action: string) => ({ pricing: { mailgun: { plans: [{ name: 'payg', monthly: 0, included: 0, overagePer1k: 1000 }], budget: { monthly: 2.5, action } } } });

function list(dir: string, emails: string[]): string {
  const file = path.join(dir, 'list.csv');
  writeFileSync(file, ['email,name', ...emails.map((email, i) => `${email},N${i}`)].join('\n') + '\n');
  return file;
}
const bulk = (configPath: string, listPath: string, extra: string[] = []) =>
  runCli(['send', '--config', configPath, '--recipients', listPath, '--subject', 'Hi {{name}}', '--text', 'Hello {{name}}', '--type', 'marketing', '--json', ...extra], { env: TEST_ENV, timeoutMs: 60_000 });

describe('weighted split', { timeout: 60_000 }, () => {
  const rules = [{ name: 'warm up mailgun', split: FIFTY_FIFTY, use: ['smtp'] }];

  it('each message goes to the provider its idempotency key picks; a repeat keeps it', async () => {
    const { configPath } = live({ rules });
    for (let i = 0; i < 6; i++) {
      const key = `order-${i}`;
      const result = await send(configPath, ['--to', 'ada@example.com', '--idempotency-key', key]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.json().provider).toBe(pickFromSplit(FIFTY_FIFTY, key));
    }
    const again = await send(configPath, ['--to', 'ada@example.com', '--idempotency-key', 'order-0']);
    expect(again.json()).toMatchObject({ status: 'duplicate', provider: pickFromSplit(FIFTY_FIFTY, 'order-0') });
  });

  it('a queued message is retried on its pick first, then the fallbacks in order', async () => {
    const key = Array.from({ length: 20 }, (_, i) => `retry-${i}`).find((k) => pickFromSplit(FIFTY_FIFTY, k) === 'mailgun')!;
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, attempts: 1, rules });
    mailgun.failNext({ status: 500, body: { message: 'down' } });
    postmark.failNext({ status: 500, body: { ErrorCode: 0, Message: 'down' } });
    const first = await send(configPath, ['--to', 'ada@example.com', '--idempotency-key', key]);
    expect(first.code).toBe(4);
    expect(first.json().attempts.map((a: any) => a.provider)).toEqual(['mailgun', 'smtp', 'postmark']);
    const retried = await runCli(['queue', 'retry', '--all', '--config', configPath, '--json'], { env: TEST_ENV });
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.stringify(retried.json())).toContain('"provider":"mailgun"');
  });

  it('route explain shows the weights and the pick of a key (text and --json)', async () => {
    const { configPath } = live({ rules });
    const key = 'invoice-42';
    const json = (await runCli(['route', 'explain', '--config', configPath, '--idempotency-key', key, '--json'])).json();
    const picked = pickFromSplit(FIFTY_FIFTY, key);
    expect(json.split).toEqual({ weights: FIFTY_FIFTY, shares: { mailgun: 50, postmark: 50 }, picked, key });
    expect(json.chain[0]).toBe(picked);
    const text = await runCli(['route', 'explain', '--config', configPath, '--idempotency-key', key]);
    expect(text.stdout).toContain(`${picked} 50% ← this message`);
    const noKey = await runCli(['route', 'explain', '--config', configPath]);
    expect(noKey.stdout).toContain('give --idempotency-key to see which one a message gets');
  });

  it('a bulk run of 1,000 rows splits 90/10 within a few percent, and a rerun sends nobody again', async () => {
    const { dir, configPath } = live({ rules: [{ split: { mailgun: 90, postmark: 10 } }] });
    const listPath = list(dir, Array.from({ length: 1000 }, (_, i) => `user${i}@example.com`));
    const result = await bulk(configPath, listPath);
    expect(result.code, result.stderr).toBe(0);
    const report = result.json();
    expect(report.delivered).toBe(1000);
    expect(report.byProvider.mailgun.delivered).toBeGreaterThan(870);
    expect(report.byProvider.mailgun.delivered).toBeLessThan(930);
    expect(report.byProvider.postmark.delivered).toBe(1000 - report.byProvider.mailgun.delivered);
    const rerun = (await bulk(configPath, listPath)).json();
    expect(rerun).toMatchObject({ delivered: 0, skippedAlreadyDelivered: 1000 });
  });
});

describe('recipient-domain rules', { timeout: 60_000 }, () => {
  const rules = [{ name: 'microsoft', when: { recipientDomain: ['outlook.com', 'hotmail.com', '*.live.com'] }, use: ['mailgun'] }];

  it('a hotmail recipient goes to another provider; a mixed message does not match (every recipient must)', async () => {
    const { configPath } = live({ rules, order: ['postmark'] });
    expect((await send(configPath, ['--to', 'ada@HOTMAIL.com'])).json().provider).toBe('mailgun');
    expect((await send(configPath, ['--to', 'bob@example.com'])).json().provider).toBe('postmark');
    expect((await send(configPath, ['--to', 'cy@outlook.com', '--cc', 'di@example.com'])).json().provider).toBe('postmark');
    expect((await send(configPath, ['--to', 'ed@mail.live.com', '--bcc', 'fi@outlook.com'])).json().provider).toBe('mailgun');
    const explained = (await runCli(['route', 'explain', '--config', configPath, '--to', 'ada@hotmail.com', '--json'])).json();
    expect(explained).toMatchObject({ chain: ['mailgun'], matchedRule: { rule: 1 } });
  });

  it('bulk: rows are routed one by one and batched per provider', async () => {
    const { dir, configPath } = live({ rules, order: ['postmark'] });
    const listPath = list(dir, ['a@hotmail.com', 'b@example.com', 'c@outlook.com', 'd@example.com', 'e@example.com']);
    const report = (await bulk(configPath, listPath)).json();
    expect(report).toMatchObject({ delivered: 5, byProvider: { mailgun: { delivered: 2 }, postmark: { delivered: 3 } }, route: { perRow: true } });
    expect(mailgun.parsed.flatMap((p) => p.fields.to).sort()).toEqual(['a@hotmail.com', 'c@outlook.com']);
  });
});

describe('budget caps', { timeout: 60_000 }, () => {
  const to = (i: number) => ['--to', `user${i}@example.com`];

  it('failover: the provider over its cap is skipped; route explain shows spend and cap', async () => {
    const { configPath } = live({ order: ['mailgun', 'postmark'], extra: dollarAnEmail('failover') });
    for (const i of [1, 2]) expect((await send(configPath, to(i))).json().provider).toBe('mailgun');
    const third = (await send(configPath, to(3))).json();
    expect(third.provider).toBe('postmark');
    expect(third.attempts[0]).toMatchObject({ provider: 'mailgun', outcome: 'skipped', note: expect.stringContaining('over its budget of $2.50') });
    const explained = (await runCli(['route', 'explain', '--config', configPath, '--json'])).json();
    expect(explained.providers[0].budget).toMatchObject({ monthly: 2.5, action: 'failover', spent: 2, reached: true });
    expect((await runCli(['route', 'explain', '--config', configPath])).stdout).toContain('budget:          $2.00 of $2.50 this month (action: failover)');
  });

  it('queue: the message waits in the outbox (exit 4, pending) without calling the provider', async () => {
    const { configPath } = live({ order: ['mailgun', 'postmark'], extra: dollarAnEmail('queue') });
    for (const i of [1, 2]) expect((await send(configPath, to(i))).code).toBe(0);
    const third = await send(configPath, to(3));
    expect(third.code).toBe(4);
    expect(third.json()).toMatchObject({ status: 'queued', outboxId: expect.any(Number), reason: expect.stringContaining('held') });
    expect(mailgun.requests).toHaveLength(2);
    expect(postmark.requests).toHaveLength(0);
    const entries = (await runCli(['queue', 'list', '--config', configPath, '--json'])).json().entries;
    expect(entries).toEqual([expect.objectContaining({ status: 'pending' })]);
    // The worker keeps it waiting while the cap holds.
    const worked = await runCli(['queue', 'retry', '--all', '--config', configPath, '--json'], { env: TEST_ENV });
    expect(worked.code).toBe(4);
    expect(mailgun.requests).toHaveLength(2);
  });

  it('warn: sent anyway, with a warning', async () => {
    const { configPath } = live({ order: ['mailgun', 'postmark'], extra: dollarAnEmail('warn') });
    for (const i of [1, 2]) await send(configPath, to(i));
    const third = (await send(configPath, to(3))).json();
    expect(third.provider).toBe('mailgun');
    expect(third.warnings.join()).toContain('over its budget');
  });

  it('bulk: a batch that would pass a failover cap goes to the next provider', async () => {
    const { dir, configPath } = live({ order: ['mailgun', 'postmark'], extra: dollarAnEmail('failover') });
    const result = await bulk(configPath, list(dir, ['a@example.com', 'b@example.com', 'c@example.com']));
    expect(result.json()).toMatchObject({ delivered: 3, byProvider: { postmark: { delivered: 3 } } });
    expect(result.stderr).toContain('over its budget');
    expect(mailgun.requests).toHaveLength(0);
  });

  it('bulk: a batch that would pass a queue cap waits in the outbox (exit 4), nothing called', async () => {
    const { dir, configPath } = live({ order: ['mailgun', 'postmark'], extra: dollarAnEmail('queue') });
    const result = await bulk(configPath, list(dir, ['a@example.com', 'b@example.com', 'c@example.com']));
    expect(result.code).toBe(4);
    expect(result.json()).toMatchObject({ status: 'queued', queued: 3, route: { perRow: false } });
    expect(result.json().failures[0].reason).toContain('pricing.mailgun.budget');
    expect(mailgun.requests.length + postmark.requests.length).toBe(0);
    const entries = (await runCli(['queue', 'list', '--config', configPath, '--json'])).json().entries;
    expect(entries.map((e: any) => e.status)).toEqual(['pending', 'pending', 'pending']);
  });

  it('cost estimate marks the strategies that would break a cap (table and --json)', async () => {
    const { configPath } = live({ order: ['mailgun', 'postmark'], extra: dollarAnEmail('failover') });
    const json = (await runCli(['cost', 'estimate', '--config', configPath, '--volume', '10', '--json'])).json();
    const byLabel = Object.fromEntries(json.strategies.map((s: any) => [s.label, s.budgetBreaches]));
    expect(byLabel['all-mailgun']).toEqual([{ provider: 'mailgun', cost: 10, monthly: 2.5, action: 'failover' }]);
    expect(byLabel['all-postmark']).toEqual([]);
    const table = await runCli(['cost', 'estimate', '--config', configPath, '--volume', '10']);
    expect(table.stdout).toContain('! all-mailgun breaks a budget: mailgun would cost $10.00, over its $2.50 a month');
  });
});

describe('bad config: exit 2 naming the path', { timeout: 60_000 }, () => {
  const cases: [string, TestConfigOptions, string][] = [
    ['split weight', { rules: [{ split: { mailgun: -1, postmark: 1 } }] }, 'routing.rules[0].split.mailgun: a weight is a positive number'],
    ['split provider', { rules: [{ split: { mailgum: 1 } }] }, 'routing.rules[0].split.mailgum: unknown provider "mailgum"'],
    ['recipient domain', { rules: [{ when: { recipientDomain: ['hotmail'] }, use: ['mailgun'] }] }, 'routing.rules[0].when.recipientDomain[0]: a domain like outlook.com'],
    ['budget', { extra: { pricing: { mailgun: { budget: { monthly: 0, action: 'failover' } } } } }, 'pricing.mailgun.budget.monthly: a budget is a positive amount'],
    ['budget action', { extra: { pricing: { mailgun: { budget: { monthly: 5, action: 'stop' } } } } }, 'pricing.mailgun.budget.action: give failover'],
  ];
  it('route explain refuses an empty --idempotency-key', async () => {
    const { configPath } = live({ rules: [{ split: FIFTY_FIFTY }] });
    const result = await runCli(['route', 'explain', '--config', configPath, '--idempotency-key', '']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--idempotency-key');
  });

  it.each(cases)('%s', async (_name, options, message) => {
    const { configPath } = live(options);
    const result = await send(configPath, ['--to', 'ada@example.com']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(mailgun.requests.length + postmark.requests.length).toBe(0);
  });
});
