import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { monthKey, Store } from '../../src/store/store.js';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';

const EXAMPLE = readFileSync(path.join(ROOT, 'penguinmails.config.example.yaml'), 'utf8');
const exampleDir = () => tempDir({ 'penguinmails.config.yaml': EXAMPLE });

async function explain(args: string[], cwd = exampleDir()) {
  const result = await runCli(['route', 'explain', ...args, '--json'], { cwd });
  expect(result.code, result.stderr).toBe(0);
  return result.json();
}

describe('route explain — each rule of penguinmails.config.example.yaml', () => {
  it('rule 1: priority critical → postmark, mailgun, smtp', async () => {
    const doc = await explain(['--priority', 'critical', '--type', 'marketing']);
    expect(doc.matchedRule).toEqual({ index: 0, label: 'rule 1 (priority: critical)' });
    expect(doc.chain).toEqual(['postmark', 'mailgun', 'smtp']);
    expect(doc.rules.slice(1).every((r: any) => r.reason === 'not checked: an earlier rule matched')).toBe(true);
  });

  it('rule 2: transactional → postmark first, on its free tier while it lasts', async () => {
    const doc = await explain(['--type', 'transactional', '--monthly-volume', '40']);
    expect(doc.matchedRule.index).toBe(1);
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
    expect(doc.matchedRule.index).toBe(2);
    expect(doc.chain).toEqual(['smtp', 'mailgun']);
    expect(doc.rules[1]).toMatchObject({ matched: false, reason: 'type is marketing, rule wants transactional' });
  });

  it('rule 4: marketing from 1,000 a month → mailgun, smtp, with the marginal overage price', async () => {
    const doc = await explain(['--type', 'marketing', '--monthly-volume', '20000', '--to', 'ada@example.com']);
    expect(doc.matchedRule.index).toBe(3);
    expect(doc.rules[2]).toMatchObject({ matched: false, reason: 'monthly volume 20,000 is not below 1,000' });
    expect(doc.chain).toEqual(['mailgun', 'smtp']);
    expect(doc.message).toEqual({ type: 'marketing', priority: 'normal', to: 'ada@example.com' });
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
    const store = await Store.open(path.join(cwd, '.penguinmails/outbox.db'));
    const now = Date.now();
    store.addUsage(monthKey(now), 'mailgun', 'marketing', 1_200);
    store.addUsage(monthKey(now), 'postmark', 'transactional', 30);
    store.put({ provider: 'mailgun', consecutiveFailures: 3, openUntil: now + 120_000, lastError: 'HTTP 503', lastFailureAt: now });
    store.close();

    const doc = await explain(['--type', 'marketing'], cwd);
    expect(doc.monthlyVolume).toBe(1_230);
    expect(doc.monthlyVolumeSource).toBe(`usage ledger, ${monthKey(now)}`);
    expect(doc.matchedRule.index).toBe(3); // 1,230 is not below 1,000
    expect(doc.providers[0]).toMatchObject({ name: 'mailgun', monthToDate: 1_200, plan: 'flex', marginalCost: 0.002, circuit: 'open' });
    expect(doc.providers[0].health).toMatch(/^down: skipped for \d+s more after 3 failures \(last: HTTP 503\)/);
    expect(doc.providers[1]).toMatchObject({ name: 'smtp', health: 'healthy', circuit: 'closed' });
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
