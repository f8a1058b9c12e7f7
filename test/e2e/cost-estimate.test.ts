import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

const FLAT_CONFIG = `
providers:
  postmark: { type: postmark, serverToken: "\${POSTMARK_SERVER_TOKEN}" }
  mailgun: { type: mailgun, apiKey: "\${MAILGUN_API_KEY}", domain: mg.example.com }
  smtp: { type: smtp, host: smtp.example.com, port: 587 }
routing:
  rules:
    - { when: { type: transactional }, use: [postmark, mailgun] }
    - { when: { type: marketing }, use: [mailgun, smtp] }
pricing:
  postmark: { plans: [ { name: flat, monthly: 0, included: 0, overagePer1k: 1.25 } ] }
  mailgun: { plans: [ { name: foundation, monthly: 35, included: 50000, overagePer1k: 2.00 } ] }
  smtp: { monthly: 500 }
`;

/** An empty directory: no config is found, the built-in catalog is used. */
const noConfigDir = () => tempDir();

describe('cost estimate', () => {
  it('prices the headline scenario from the built-in catalog with no config at all (--json)', async () => {
    const result = await runCli(['cost', 'estimate', '--volume', '100000', '--transactional', '5000', '--json'], { cwd: noConfigDir() });
    expect(result.code).toBe(0);
    const doc = result.json();
    // SMTP's $0 is a placeholder for infrastructure nobody priced: it cannot be the cheapest.
    expect(doc).toMatchObject({ status: 'ok', currency: 'USD', volume: 100_000, transactional: 5_000, marketing: 95_000, cheapest: 'ses' });
    const totals = Object.fromEntries(doc.strategies.map((s: any) => [s.label, s.total]));
    // SendGrid Pro $89.95 for 100,000; SES 100 × $0.10.
    expect(totals).toEqual({ 'all-postmark': 126, 'all-mailgun': 90, 'all-smtp': null, 'all-sendgrid': 89.95, 'all-ses': 10, hybrid: 105 });
    const hybrid = doc.strategies.find((s: any) => s.strategy === 'hybrid');
    expect(hybrid.providers).toEqual([
      expect.objectContaining({ provider: 'postmark', plan: 'basic', emails: 5_000, baseFee: 15, included: 10_000, overageEmails: 0, overagePer1k: 1.8, overage: 0, total: 15 }),
      expect.objectContaining({ provider: 'mailgun', plan: 'scale', emails: 95_000, baseFee: 90, included: 100_000, total: 90 }),
    ]);
    expect(doc.savings.map((s: any) => [s.label, s.hybridSaves])).toEqual([
      ['all-postmark', 21],
      ['all-mailgun', -15],
      ['all-smtp', null],
      ['all-sendgrid', -15.05],
      ['all-ses', -95],
    ]);
    expect(doc.notes.join('\n')).toMatch(/hybrid routes transactional → postmark, marketing → mailgun/);
    expect(doc.prices.find((p: any) => p.provider === 'postmark')).toMatchObject({ origin: 'catalog', readOn: '2026-08' });
  });

  it('prints an aligned table with the breakdown, the savings and the catalog date', async () => {
    const result = await runCli(['cost', 'estimate', '--volume', '100000', '--marketing', '95000'], { cwd: noConfigDir() });
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const header = lines.find((l) => l.startsWith('Strategy'))!;
    const postmarkRow = lines.find((l) => l.startsWith('all-postmark'))!;
    // Right-aligned money columns end where their header ends.
    expect(postmarkRow.indexOf('$126.00') + '$126.00'.length).toBe(header.indexOf('Total') + 'Total'.length);
    expect(postmarkRow).toMatch(/platform\s+100,000\s+\$18\.00\s+10,000\s+90,000\s+\$1\.20\s+\$108\.00\s+\$126\.00/);
    expect(result.stdout).toMatch(/total\s+100,000\s+\$105\.00/);
    expect(result.stdout).toContain('vs all-postmark: hybrid saves $21.00 (16.7%)');
    expect(result.stdout).toContain('vs all-mailgun: hybrid costs $15.00 more');
    expect(result.stdout).toContain('built-in catalog, read 2026-08');
    expect(result.stdout).not.toContain('█'); // not a TTY: no bar chart
  });

  it('all-Postmark at a flat $1.25/1k is $125.00 and all-Mailgun Foundation is $135.00 for 100k', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': FLAT_CONFIG });
    const result = await runCli(['cost', 'estimate', '--volume', '100000'], { cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/all-postmark\s+postmark\s+flat\s+100,000\s+\$0\.00\s+0\s+100,000\s+\$1\.25\s+\$125\.00\s+\$125\.00/);
    expect(result.stdout).toMatch(/all-mailgun\s+mailgun\s+foundation\s+100,000\s+\$35\.00\s+50,000\s+50,000\s+\$2\.00\s+\$100\.00\s+\$135\.00/);
    // SES, priced from the built-in catalog (no ses provider configured), undercuts both: 100 × $0.10.
    expect(result.stdout).toContain('Cheapest: all-ses ($10.00)');
  });

  it('writes CSV with money as plain numbers of dollars', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': FLAT_CONFIG });
    const result = await runCli(['cost', 'estimate', '--volume', '100000', '--transactional', '40000', '--format', 'csv'], { cwd });
    expect(result.code).toBe(0);
    const rows = result.stdout.trim().split('\n').map((l) => l.split(','));
    expect(rows[0]).toEqual(['strategy', 'provider', 'type', 'plan', 'pinned', 'priced', 'emails', 'base_fee', 'included', 'overage_emails', 'overage_per_1k', 'overage_cost', 'provider_total', 'strategy_total', 'feasible', 'hybrid_saves']);
    // The hybrid (105) saves 20 against all-postmark, and costs 395 less than all-smtp.
    expect(rows).toContainEqual(['all-postmark', 'postmark', 'postmark', 'flat', 'false', 'true', '100000', '0', '0', '100000', '1.25', '125', '125', '125', 'true', '20']);
    // hybrid: 40,000 transactional → postmark 50; 60,000 marketing → mailgun 35 + 10 × 2.00 = 55
    expect(rows).toContainEqual(['hybrid', 'postmark', 'postmark', 'flat', 'false', 'true', '40000', '0', '0', '40000', '1.25', '50', '50', '105', 'true', '']);
    expect(rows).toContainEqual(['hybrid', 'mailgun', 'mailgun', 'foundation', 'false', 'true', '60000', '35', '50000', '10000', '2', '20', '55', '105', 'true', '']);
    // SMTP's emails are not limited: the numeric "included" column is empty, not "unlimited".
    expect(rows).toContainEqual(['all-smtp', 'smtp', 'smtp', 'infrastructure', 'false', 'true', '100000', '500', '', '0', '0', '0', '500', '500', 'true', '395']);
    // Without the hybrid in the report, there are no savings of it to show.
    const single = await runCli(['cost', 'estimate', '--volume', '100000', '--transactional', '40000', '--format', 'csv', '--strategy', 'postmark'], { cwd });
    expect(single.stdout.trim().split('\n').slice(1).map((l) => l.split(',').at(-1))).toEqual(['']);
  });

  it('writes a Markdown table', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': FLAT_CONFIG });
    const result = await runCli(['cost', 'estimate', '--volume', '100000', '--format', 'markdown', '--strategy', 'mailgun'], { cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('| Strategy | Provider | Plan | Emails | Base fee | Included | Overage emails | Overage/1k | Overage | Total |');
    expect(result.stdout).toContain('| all-mailgun | mailgun | foundation | 100,000 | $35.00 | 50,000 | 50,000 | $2.00 | $100.00 | $135.00 |');
    expect(result.stdout).not.toContain('all-postmark');
  });

  it('--format json without --json prints the same single document', async () => {
    const result = await runCli(['cost', 'estimate', '--volume', '250', '--format', 'json'], { cwd: noConfigDir() });
    expect(result.code).toBe(0);
    // 250 transactional on postmark: free is capped at 100, so basic 15.00
    expect(result.json().strategies.find((s: any) => s.strategy === 'postmark').providers[0]).toMatchObject({ plan: 'basic', total: 15 });
  });

  it('flags a pinned hard-capped plan that the volume exceeds', async () => {
    const cwd = tempDir({
      'penguinmails.config.yaml': `providers:\n  postmark: { type: postmark, serverToken: x, plan: free }\n`,
    });
    const result = await runCli(['cost', 'estimate', '--volume', '150', '--strategy', 'postmark'], { cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('✗ all-postmark is not possible: postmark: pinned plan "free" is capped at 100 emails/month with no overage; 150 emails exceed it by 50');
    const json = await runCli(['cost', 'estimate', '--volume', '150', '--json'], { cwd });
    const postmark = json.json().strategies.find((s: any) => s.strategy === 'postmark');
    expect(postmark.feasible).toBe(false);
    expect(json.stderr).toContain('capped at 100');
  });

  it('uses a pinned plan even when another is cheaper', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': `providers:\n  mailgun: { type: mailgun, apiKey: k, domain: mg.example.com, plan: scale }\n` });
    const result = await runCli(['cost', 'estimate', '--volume', '1000', '--strategy', 'mailgun', '--json'], { cwd });
    expect(result.json().strategies[0].providers[0]).toMatchObject({ plan: 'scale', pinned: true, total: 90 });
  });

  it.each([
    [['--volume', '-5']],
    [['--volume=-5']],
    [['--volume', 'abc']],
    [['--volume', '1.5']],
    [['--volume', '100', '--transactional', '-1']],
    [['--volume', '100', '--marketing', 'lots']],
    [['--volume', '99999999999999']],
  ])('refuses a bad number %j with exit 2', async (args) => {
    const result = await runCli(['cost', 'estimate', ...args], { cwd: noConfigDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is not a whole number/);
    // The digits hint is for text that is not digits, not for a number out of range.
    expect(result.stderr.includes('hint: digits only')).toBe(!/^\d+$/.test(args.at(-1)!));
    expect(result.stdout).toBe('');
  });

  it('refuses a split that does not fit the volume (exit 2, one JSON error document)', async () => {
    const over = await runCli(['cost', 'estimate', '--volume', '100', '--transactional', '150', '--json'], { cwd: noConfigDir() });
    expect(over.code).toBe(2);
    expect(over.json()).toMatchObject({ status: 'error', exitCode: 2, error: '--transactional 150 exceeds --volume 100' });
    const mismatch = await runCli(['cost', 'estimate', '--volume', '100', '--transactional', '30', '--marketing', '30'], { cwd: noConfigDir() });
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain('= 60, not --volume 100');
    const missing = await runCli(['cost', 'estimate'], { cwd: noConfigDir() });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('give --volume');
  });

  it('refuses an unknown pinned plan (exit 2)', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': `providers:\n  postmark: { type: postmark, serverToken: x, plan: gold }\n` });
    const result = await runCli(['cost', 'estimate', '--volume', '10'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('pinned plan "gold" is not one of its plans');
  });
});
