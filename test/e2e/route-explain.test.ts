import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EmailMessage } from '../../src/core/message.js';
import { monthKey } from '../../src/store/ports.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';

const EXAMPLE = readFileSync(path.join(ROOT, 'penguinmails.config.example.yaml'), 'utf8');
const exampleDir = () => tempDir({ 'penguinmails.config.yaml': EXAMPLE });

async function explain(args: string[], cwd = exampleDir()) {
  const result = await runCli(['route', 'explain', ...args, '--json'], { cwd });
  expect(result.code, result.stderr).toBe(0);
  return result.json();
}

describe('route explain — each rule of penguinmails.config.example.yaml', () => {
  it('what each failure does names its commands with the --config given', async () => {
    const dir = exampleDir();
    const doc = await explain(['--config', 'penguinmails.config.yaml'], dir);
    expect(doc.onError.transient).toContain('waits in the outbox for `penguinmails queue retry --config penguinmails.config.yaml`');
    expect(doc.onError.ambiguous).toContain('`penguinmails queue retry --force <id> --config penguinmails.config.yaml` resends it');
  });

  it('rule 1: priority critical → postmark, mailgun, smtp', async () => {
    const doc = await explain(['--priority', 'critical', '--type', 'marketing']);
    expect(doc.matchedRule).toEqual({ rule: 1, label: 'rule 1 (priority: critical)' });
    expect(doc.chain).toEqual(['postmark', 'mailgun', 'smtp']);
    expect(doc.rules.slice(1).every((r: any) => !r.evaluated && r.reason === 'not evaluated: rule 1 matched first')).toBe(true);
  });

  it('rule 2: transactional → postmark first, on its free tier while it lasts', async () => {
    const doc = await explain(['--type', 'transactional', '--monthly-volume', '40']);
    expect(doc.matchedRule.rule).toBe(2);
    expect(doc.rules[0]).toMatchObject({ matched: false, reason: 'priority is normal, rule wants critical' });
    expect(doc.chain).toEqual(['postmark', 'mailgun', 'smtp']);
    expect(doc.providers[0]).toMatchObject({ name: 'postmark', role: 'primary', plan: 'free', monthToDate: 40, included: 100, includedLeft: 60, marginalCost: 0, freeTierLeft: 60 });
    expect(doc.providers[2]).toMatchObject({ name: 'smtp', role: 'final fallback', plan: 'infrastructure', included: null, includedLeft: null, marginalCost: 0 });
  });

  it('the 101st Postmark email of the month costs the Basic plan', async () => {
    const doc = await explain(['--type', 'transactional', '--monthly-volume', '100']);
    expect(doc.providers[0]).toMatchObject({ plan: 'free', includedLeft: 0, freeTierLeft: 0, marginalCost: 15 });
    expect(doc.providers[0].marginalNote).toMatch(/from free to basic/);
  });

  it('rule 3: marketing below 1,000 a month → smtp, mailgun', async () => {
    const doc = await explain(['--type', 'marketing', '--monthly-volume', '999']);
    expect(doc.matchedRule.rule).toBe(3);
    expect(doc.chain).toEqual(['smtp', 'mailgun']);
    expect(doc.rules[1]).toMatchObject({ matched: false, reason: 'type is marketing, rule wants transactional' });
  });

  it('rule 4: marketing from 1,000 a month → mailgun, smtp, with the marginal overage price', async () => {
    const doc = await explain(['--type', 'marketing', '--monthly-volume', '20000', '--to', 'ada@example.com']);
    expect(doc.matchedRule.rule).toBe(4);
    expect(doc.rules[2]).toMatchObject({ rule: 3, evaluated: true, matched: false, reason: 'monthly volume 20,000 is not below 1,000' });
    expect(doc.chain).toEqual(['mailgun', 'smtp']);
    expect(doc.message).toEqual({ type: 'marketing', priority: 'normal', to: 'ada@example.com', idempotencyKey: null });
    // 20,000 on mailgun: basic 15 + 10 × 1.80 = 33.00 beats foundation 35.00; the next email is overage at $1.80/1k
    expect(doc.providers[0]).toMatchObject({ name: 'mailgun', plan: 'basic', includedLeft: 0, marginalCost: 0.0018, freeTierLeft: 0 });
    expect(doc.onError.transient).toMatch(/3 tries on mailgun, 30s apart .* then smtp the same way; when every provider has failed, the message waits in the outbox .* \(exit 4\)/);
    expect(doc.onError['provider-unusable']).toContain('smtp at once');
    expect(doc.onError.permanent).toContain('exit 3');
    expect(doc.onError.ambiguous).toContain('outbox marked ambiguous');
  });

  it('explains in text, and creates no file', async () => {
    const cwd = exampleDir();
    const result = await runCli(['route', 'explain', '--type', 'marketing', '--monthly-volume', '20000'], { cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('✓ rule 4 (type: marketing): type is marketing');
    expect(result.stdout).toContain('✗ rule 3 (type: marketing, monthly volume below 1,000): monthly volume 20,000 is not below 1,000');
    expect(result.stdout).toContain('Chain: mailgun → smtp');
    expect(result.stdout).toContain('one more email:  $0.0018 — overage on basic at $1.80/1k');
    expect(result.stdout).toContain('permanent: invalid or suppressed recipient');
    expect(readdirSync(cwd)).toEqual(['penguinmails.config.yaml']);
  });
});

describe('route explain — ledger, health and policy', () => {
  it('reads month-to-date volume and provider health from an existing store', async () => {
    const cwd = exampleDir();
    const store = await SqliteStore.open(path.join(cwd, '.penguinmails/outbox.db'));
    const now = Date.now();
    // This month's usage, as deliveries record it.
    const sent = (key: string, type: EmailMessage['type']) => ({ idempotencyKey: key, type }) as EmailMessage;
    await store.recordDelivery(sent('m-1', 'marketing'), 'mailgun', 'id-1', now, 1_200);
    await store.recordDelivery(sent('t-1', 'transactional'), 'postmark', 'id-2', now, 30);
    await store.saveHealth({ provider: 'mailgun', consecutiveFailures: 3, openUntil: now + 120_000, lastError: 'HTTP 503', lastFailureAt: now });
    await store.close();

    const doc = await explain(['--type', 'marketing'], cwd);
    expect(doc.monthlyVolume).toBe(1_230);
    expect(doc.monthlyVolumeSource).toBe(`usage ledger, ${monthKey(now)}`);
    expect(doc.matchedRule.rule).toBe(4); // 1,230 is not below 1,000
    expect(doc.providers[0]).toMatchObject({ name: 'mailgun', monthToDate: 1_200, plan: 'flex', marginalCost: 0.002, circuit: 'open', downUntil: new Date(now + 120_000).toISOString() });
    expect(doc.providers[0].health).toMatch(/^down: skipped for (2m|1m 5\ds) more after 3 failures, until (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d UTC \(last: HTTP 503\)/);
    expect(doc.providers[1]).toMatchObject({ name: 'smtp', health: 'healthy', circuit: 'closed' });
  });

  it('--to a suppressed address: says a send to it is rejected before any provider', async () => {
    const cwd = exampleDir();
    const store = await SqliteStore.open(path.join(cwd, '.penguinmails/outbox.db'));
    await store.addSuppressions([{ address: 'eve@example.com', scope: '*', reason: 'hard bounce', source: 'postmark', createdAt: Date.now() }]);
    await store.close();
    const doc = await explain(['--to', 'Eve <eve@example.com>'], cwd);
    expect(doc.suppressed).toMatchObject({ address: 'eve@example.com', reason: 'hard bounce', source: 'postmark' });
    expect((await explain(['--to', 'ada@example.com'], cwd)).suppressed).toBeNull();
    const text = await runCli(['route', 'explain', '--to', 'eve@example.com'], { cwd });
    expect(text.stdout).toMatch(/Suppressed: eve@example\.com \(hard bounce; postmark, .*\) — a send to it is rejected before any provider \(exit 3\)/);
  });

  it('shows a single provider when failover is disabled', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': EXAMPLE.replace('enabled: true', 'enabled: false') });
    const doc = await explain(['--type', 'transactional'], cwd);
    expect(doc.chain).toEqual(['postmark']);
    expect(doc.notes).toContain('failover disabled in config: only postmark is tried');
    expect(doc.onError['provider-unusable']).toContain('waits in the outbox');
  });

  it('falls back to failover.order when no rule matches', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': EXAMPLE.replace(/routing:\n {2}rules:[\s\S]*?\n\npricing/, 'routing:\n  rules:\n    - { when: { type: marketing }, use: [mailgun] }\n\npricing') });
    const doc = await explain(['--type', 'transactional'], cwd);
    expect(doc.matchedRule).toBeNull();
    expect(doc.source).toBe('failover.order (no rule matched)');
    expect(doc.chain).toEqual(['postmark', 'mailgun', 'smtp']);
  });

  it('refuses bad input with exit 2', async () => {
    const badVolume = await runCli(['route', 'explain', '--monthly-volume', '-3'], { cwd: exampleDir() });
    expect(badVolume.code).toBe(2);
    const badAddress = await runCli(['route', 'explain', '--to', 'not-an-address', '--json'], { cwd: exampleDir() });
    expect(badAddress.code).toBe(2);
    expect(badAddress.json()).toMatchObject({ status: 'error', error: '--to: "not-an-address" is not an email address' });
    const noConfig = await runCli(['route', 'explain'], { cwd: tempDir() });
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toContain('no providers configured');
  });
});

describe('route explain — the text and the JSON say the same thing', () => {
  async function both(args: string[], cwd = exampleDir()) {
    const text = await runCli(['route', 'explain', ...args], { cwd });
    expect(text.code, text.stderr).toBe(0);
    return { text: text.stdout, doc: await explain(args, cwd) };
  }
  const ruleLine = (text: string, rule: number) => text.split('\n').find((line) => line.includes(` rule ${rule} (`))!;

  it('numbers rules from 1 in both: "rule": 3 in the JSON is "rule 3" in the text', async () => {
    const { text, doc } = await both(['--type', 'marketing', '--monthly-volume', '999']);
    expect(doc.matchedRule).toEqual({ rule: 3, label: 'rule 3 (type: marketing, monthly volume below 1,000)' });
    expect(doc.rules.map((r: any) => r.rule)).toEqual([1, 2, 3, 4]);
    expect(doc.rules.some((r: any) => 'index' in r)).toBe(false);
    for (const rule of doc.rules) expect(ruleLine(text, rule.rule)).toContain(`${rule.label}: ${rule.reason}`);
    expect(ruleLine(text, 3)).toMatch(/^ {2}✓ rule 3 /);
    expect(text).toContain(`Chain: smtp → mailgun  (from ${doc.matchedRule.label})`);
  });

  it('a named rule keeps its number in the text and the JSON', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': EXAMPLE.replace('- { when: { priority: critical }', '- { name: alerts, when: { priority: critical }') });
    const { text, doc } = await both(['--priority', 'critical'], cwd);
    expect(doc.matchedRule).toEqual({ rule: 1, label: 'rule 1 "alerts" (priority: critical)' });
    expect(doc.rules[0]).toMatchObject({ rule: 1, name: 'alerts', when: { priority: 'critical' } });
    expect(text).toContain('✓ rule 1 "alerts" (priority: critical): priority is critical');
  });

  it('marks the rules after the match "not evaluated", not ✗ like the rules that failed', async () => {
    const { text, doc } = await both(['--type', 'transactional']);
    expect(doc.rules.map((r: any) => [r.rule, r.evaluated, r.matched])).toEqual([
      [1, true, false],
      [2, true, true],
      [3, false, false],
      [4, false, false],
    ]);
    expect(ruleLine(text, 1)).toMatch(/^ {2}✗ rule 1 /);
    expect(ruleLine(text, 2)).toMatch(/^ {2}✓ rule 2 /);
    expect(ruleLine(text, 3)).toBe('  · rule 3 (type: marketing, monthly volume below 1,000): not evaluated: rule 2 matched first');
    expect(ruleLine(text, 4)).toBe('  · rule 4 (type: marketing): not evaluated: rule 2 matched first');
    expect(text).toContain('Rules (first match wins; ✓ matched, ✗ did not match, · not evaluated):');
    // With no rule matching, every rule was looked at.
    const cwd = tempDir({ 'penguinmails.config.yaml': EXAMPLE.replace(/routing:\n {2}rules:[\s\S]*?\n\npricing/, 'routing:\n  rules:\n    - { when: { type: marketing }, use: [mailgun] }\n\npricing') });
    const none = await both(['--type', 'transactional'], cwd);
    expect(none.doc.rules).toEqual([expect.objectContaining({ rule: 1, evaluated: true, matched: false })]);
    expect(ruleLine(none.text, 1)).toMatch(/^ {2}✗ /);
  });

  it('shows conditions readably and numbers with thousands separators', async () => {
    const { text } = await both(['--type', 'marketing', '--monthly-volume', '100000']);
    expect(text).not.toMatch(/[{}"]/);
    expect(text).not.toMatch(/(?<![.\d])\d{4,}/); // every whole number of 4+ digits is grouped ($0.0018 is a price)
    expect(text).toContain('rule 3 (type: marketing, monthly volume below 1,000): monthly volume 100,000 is not below 1,000');
    const matched = await both(['--type', 'marketing', '--monthly-volume', '999']);
    expect(ruleLine(matched.text, 3)).toContain('type is marketing, monthly volume 999 is below 1,000');
  });

  it('says how long a provider stays down in minutes and seconds, and until when (UTC)', async () => {
    const cwd = exampleDir();
    const store = await SqliteStore.open(path.join(cwd, '.penguinmails/outbox.db'));
    const now = Date.now();
    const openUntil = now + 294_000;
    await store.saveHealth({ provider: 'mailgun', consecutiveFailures: 3, openUntil, lastError: 'HTTP 503', lastFailureAt: now });
    await store.close();
    const clock = new Date(openUntil).toISOString().slice(11, 19);
    const { text, doc } = await both(['--type', 'marketing', '--monthly-volume', '5000'], cwd);
    expect(doc.providers[0]).toMatchObject({ name: 'mailgun', circuit: 'open', downUntil: new Date(openUntil).toISOString() });
    expect(doc.providers[0].health).toMatch(new RegExp(`^down: skipped for 4m 5\\ds more after 3 failures, until (\\d{4}-\\d\\d-\\d\\d )?${clock} UTC \\(last: HTTP 503\\)$`));
    expect(text).toMatch(new RegExp(`health: +down: skipped for 4m 5\\ds more after 3 failures, until (\\d{4}-\\d\\d-\\d\\d )?${clock} UTC`));
    expect(text).not.toMatch(/\d{3,}s more/);
    expect(doc.providers[1]).toMatchObject({ name: 'smtp', circuit: 'closed', downUntil: null });
  });
});

describe('send routes "free tier first" rules the way route explain says', () => {
  it('dry-run chain equals the explained chain', async () => {
    const dir = tempDir({
      'penguinmails.config.yaml': [
        'defaults: { from: a@example.com }',
        'providers:',
        '  postmark: { type: postmark, serverToken: x }',
        '  mailgun: { type: mailgun, apiKey: y, domain: mg.example.com }',
        'failover: { order: [mailgun, postmark] }',
        'routing:',
        '  rules:',
        '    - { when: { freeTierLeft: true }, use: [postmark, mailgun] }',
      ].join('\n'),
    });
    const config = path.join(dir, 'penguinmails.config.yaml');
    const explained = (await runCli(['route', 'explain', '--config', config, '--type', 'transactional', '--json'])).json();
    const dry = (await runCli(['send', '--config', config, '--dry-run', '--to', 'b@example.com', '--subject', 's', '--text', 't', '--json'])).json();
    expect(explained.chain).toEqual(['postmark', 'mailgun']);
    expect(dry.route.chain).toEqual(explained.chain);
  });
});
