import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';

const EXAMPLE = readFileSync(path.join(ROOT, 'penguinmails.config.example.yaml'), 'utf8');

/** Prices every kind of line: overage, a hard cap, a flat-priced SMTP server and a pinned plan. */
const PRICED_CONFIG = `
providers:
  postmark: { type: postmark, serverToken: x }
  mailgun: { type: mailgun, apiKey: k, domain: mg.example.com, plan: foundation }
  relay: { type: smtp, host: smtp.example.com }
routing:
  rules:
    - { when: { type: transactional }, use: [postmark] }
    - { when: { type: marketing }, use: [mailgun] }
pricing:
  relay: { monthly: 40 }
`;

/** The money fields of the JSON documents, in US dollars. */
const MONEY_KEYS = new Set(['total', 'baseFee', 'overage', 'overagePer1k', 'hybridSaves', 'monthly', 'marginalCost']);

/** Every [key, value] pair in a JSON document, however deep. */
function entries(value: unknown): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap(entries);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, inner]) => [[key, inner] as [string, unknown], ...entries(inner)]);
  return [];
}

function expectDollarNumbers(doc: unknown): void {
  const pairs = entries(doc);
  expect(pairs.filter(([key]) => /cents$/i.test(key))).toEqual([]);
  const money = pairs.filter(([key]) => MONEY_KEYS.has(key));
  expect(money.length).toBeGreaterThan(0);
  for (const [key, value] of money) expect(value === null || typeof value === 'number', `${key}: ${JSON.stringify(value)}`).toBe(true);
  // No amount hides as a string anywhere ("1.20", "15.00").
  expect(pairs.filter(([, value]) => typeof value === 'string' && /^-?\d+\.\d+$/.test(value))).toEqual([]);
}

function csv(text: string): Record<string, string>[] {
  const [header, ...rows] = text.trim().split('\n').map((line) => line.split(','));
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i]])));
}

const NUMBER_OR_EMPTY = /^(-?\d+(\.\d+)?)?$/;

describe('cost output: one money representation (numbers of US dollars) in JSON and CSV', () => {
  it.each([
    ['no config', {}],
    ['a priced config', { 'penguinmails.config.yaml': PRICED_CONFIG }],
    ['the example config', { 'penguinmails.config.yaml': EXAMPLE }],
  ])('every money field of cost estimate --format json is a number of dollars or null (%s)', async (_name, files) => {
    const cwd = tempDir(files);
    const result = await runCli(['cost', 'estimate', '--volume', '120000', '--transactional', '20000', '--format', 'json'], { cwd });
    expect(result.code, result.stderr).toBe(0);
    const doc = result.json();
    expectDollarNumbers(doc);
    expect(doc.currency).toBe('USD');
    // The table shows the same amounts.
    const table = await runCli(['cost', 'estimate', '--volume', '120000', '--transactional', '20000'], { cwd });
    for (const strategy of doc.strategies.filter((s: any) => s.total !== null)) {
      expect(table.stdout).toContain(`$${strategy.total.toLocaleString('en-US', { minimumFractionDigits: 2 })}`);
    }
  });

  it('sweep and route explain JSON use the same representation', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': PRICED_CONFIG });
    const sweep = await runCli(['cost', 'estimate', '--sweep', '0:100000:20000', '--json'], { cwd });
    expect(sweep.code, sweep.stderr).toBe(0);
    expectDollarNumbers(sweep.json());
    const example = tempDir({ 'penguinmails.config.yaml': EXAMPLE });
    const explained = await runCli(['route', 'explain', '--type', 'marketing', '--monthly-volume', '20000', '--json'], { cwd: example });
    expect(explained.code, explained.stderr).toBe(0);
    expectDollarNumbers(explained.json());
    expect(explained.json()).toMatchObject({ currency: 'USD', providers: [{ name: 'mailgun', marginalCost: 0.0018 }, { name: 'smtp', marginalCost: 0 }] });
  });

  it('every money cell of --format csv is a plain number of dollars, the same as the JSON', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': PRICED_CONFIG });
    const args = ['cost', 'estimate', '--volume', '120000', '--transactional', '20000'];
    const rows = csv((await runCli([...args, '--format', 'csv'], { cwd })).stdout);
    const doc = (await runCli([...args, '--json'], { cwd })).json();
    const money = { base_fee: 'baseFee', overage_per_1k: 'overagePer1k', overage_cost: 'overage', provider_total: 'total' } as const;
    const jsonRows = doc.strategies.flatMap((s: any) => s.providers.map((p: any) => ({ strategy: s, provider: p })));
    expect(rows).toHaveLength(jsonRows.length);
    rows.forEach((row, i) => {
      const { strategy, provider } = jsonRows[i];
      for (const [column, field] of Object.entries(money)) {
        expect(row[column], column).toMatch(NUMBER_OR_EMPTY);
        expect(row[column], column).toBe(provider[field] === null ? '' : String(provider[field]));
      }
      expect(row.strategy_total).toBe(strategy.total === null ? '' : String(strategy.total));
      expect(row.hybrid_saves).toMatch(NUMBER_OR_EMPTY);
    });
    // 20,000 transactional on postmark: pro 16.50 + 10,000 × 1.30/1k = 29.50, written as dollars.
    expect(rows.find((r) => r.strategy === 'hybrid' && r.provider === 'postmark')).toMatchObject({ plan: 'pro', base_fee: '16.5', overage_per_1k: '1.3', overage_cost: '13', provider_total: '29.5' });
  });

  it('numeric CSV columns hold numbers or nothing: no "unlimited", no "capped"', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': `${PRICED_CONFIG.replace('postmark: { type: postmark, serverToken: x }', 'postmark: { type: postmark, serverToken: x, plan: free }')}` });
    const estimate = csv((await runCli(['cost', 'estimate', '--volume', '500', '--format', 'csv'], { cwd })).stdout);
    for (const row of estimate) {
      for (const column of ['emails', 'base_fee', 'included', 'overage_emails', 'overage_per_1k', 'overage_cost', 'provider_total', 'strategy_total', 'hybrid_saves']) {
        expect(row[column], `${row.strategy} ${column}`).toMatch(NUMBER_OR_EMPTY);
      }
    }
    // Empty "included" = no limit (flat-priced infrastructure); empty overage_per_1k on a capped plan = no overage possible.
    expect(estimate.find((r) => r.provider === 'relay')).toMatchObject({ included: '', provider_total: '40', priced: 'true' });
    expect(estimate.find((r) => r.strategy === 'all-postmark')).toMatchObject({ included: '100', overage_per_1k: '', feasible: 'false' });

    const sweep = csv((await runCli(['cost', 'estimate', '--sweep', '0:500:250', '--format', 'csv'], { cwd })).stdout);
    for (const row of sweep) for (const column of ['volume', 'transactional', 'marketing', 'all-postmark', 'all-mailgun', 'all-smtp', 'hybrid']) expect(row[column], column).toMatch(NUMBER_OR_EMPTY);
    // Past the pinned free plan's 100 emails all-postmark has no possible price: empty, not "capped".
    expect(sweep.map((r) => r['all-postmark'])).toEqual(['0', '', '']);
  });
});

describe('cost estimate: unpriced SMTP infrastructure is never "cheapest"', () => {
  it.each([100, 1_000, 100_000])('with no config, %i emails: all-smtp is "not priced", and not the cheapest', async (volume) => {
    const cwd = tempDir();
    const result = await runCli(['cost', 'estimate', '--volume', String(volume)], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toContain('Cheapest: all-smtp');
    expect(result.stdout.split('\n').find((line) => line.startsWith('all-smtp'))).toMatch(/infrastructure\s+[\d,]+\s+—\s+unlimited\s+0\s+—\s+—\s+not priced$/);
    expect(result.stdout).toContain('set pricing.smtp.monthly');
    const doc = (await runCli(['cost', 'estimate', '--volume', String(volume), '--json'], { cwd })).json();
    expect(doc.cheapest).not.toBe('smtp');
    expect(doc.strategies.find((s: any) => s.strategy === 'smtp')).toMatchObject({ priced: false, total: null });
    expect(doc.savings.find((s: any) => s.versus === 'smtp')).toMatchObject({ hybridSaves: null, noComparison: 'smtp infrastructure not priced' });
    expect(doc.prices.find((p: any) => p.provider === 'smtp')).toMatchObject({ priced: false, plans: [{ name: 'infrastructure', monthly: null, included: null, overagePer1k: null }] });
  });

  it('counts once pricing.<name>.monthly is set, even to 0 (the example config)', async () => {
    const example = await runCli(['cost', 'estimate', '--volume', '100000'], { cwd: tempDir({ 'penguinmails.config.yaml': EXAMPLE }) });
    expect(example.stdout).toContain('Cheapest: all-smtp ($0.00)');
    expect(example.stdout).not.toContain('not priced');
    const priced = await runCli(['cost', 'estimate', '--volume', '100000', '--json'], { cwd: tempDir({ 'penguinmails.config.yaml': PRICED_CONFIG }) });
    expect(priced.json().strategies.find((s: any) => s.strategy === 'smtp')).toMatchObject({ priced: true, total: 40 });
    // Priced, the relay is compared: $40 beats Postmark and Mailgun; only SES ($10 from the catalog) is cheaper.
    expect(priced.json().savings.find((s: any) => s.versus === 'smtp')).toMatchObject({ hybridSaves: expect.any(Number) });
    expect(priced.json().cheapest).toBe('ses');
  });

  it('the sweep leaves it out of the cheapest column and the break-even points', async () => {
    const result = await runCli(['cost', 'estimate', '--sweep', '0:100000:50000', '--json'], { cwd: tempDir() });
    const doc = result.json();
    expect(doc.points.map((p: any) => p.cheapest)).not.toContain('smtp');
    expect(doc.breakEvens.map((b: any) => b.to)).not.toContain('smtp');
  });
});

describe('cost estimate: numbers in human text have thousands separators', () => {
  it('in the refusals of a mix that does not fit', async () => {
    const over = await runCli(['cost', 'estimate', '--volume', '100000', '--transactional', '150000'], { cwd: tempDir() });
    expect(over.code).toBe(2);
    expect(over.stderr).toContain('--transactional 150,000 exceeds --volume 100,000');
    const mismatch = await runCli(['cost', 'estimate', '--volume', '100000', '--transactional', '30000', '--marketing', '30000'], { cwd: tempDir() });
    expect(mismatch.stderr).toContain('--transactional 30,000 + --marketing 30,000 = 60,000, not --volume 100,000');
  });

  it('in the hybrid routing lines of the example config', async () => {
    const result = await runCli(['cost', 'estimate', '--volume', '800', '--marketing', '800'], { cwd: tempDir({ 'penguinmails.config.yaml': EXAMPLE }) });
    expect(result.stdout).toContain('800 marketing → smtp (rule 3 (type: marketing, monthly volume below 1,000))');
    expect(result.stdout).not.toMatch(/[{}"]/);
  });
});

describe('cost estimate: --json with --format, and --strategy', () => {
  it('--json with another --format is a usage error; --strategy postmark names postmark the cheapest of what it shows', async () => {
    const both = await runCli(['cost', 'estimate', '--volume', '100000', '--json', '--format', 'csv']);
    expect(both.code).toBe(2);
    expect(both.json()).toMatchObject({ status: 'error', error: '--json and --format csv ask for two outputs' });
    const one = await runCli(['cost', 'estimate', '--volume', '100000', '--strategy', 'postmark', '--json']);
    expect(one.code).toBe(0);
    expect(one.json().cheapest).toBe('postmark');
  });
});
