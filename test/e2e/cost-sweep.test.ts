import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

const FLAT_CONFIG = `
providers:
  postmark: { type: postmark, serverToken: x }
  mailgun: { type: mailgun, apiKey: k, domain: mg.example.com }
  smtp: { type: smtp, host: smtp.example.com }
pricing:
  postmark: { plans: [ { name: flat, monthly: 0, included: 0, overagePer1k: 1.25 } ] }
  mailgun: { plans: [ { name: foundation, monthly: 35, included: 50000, overagePer1k: 2.00 } ] }
  smtp: { monthly: 500 }
  # Priced out of the way: the break-evens checked here are between Postmark and Mailgun.
  sendgrid: { monthly: 1000 }
  ses: { monthly: 1000 }
`;

describe('cost estimate --sweep', () => {
  it('reports the exact break-even volumes (--json)', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': FLAT_CONFIG });
    const result = await runCli(['cost', 'estimate', '--sweep', '10000:100000:10000', '--json'], { cwd });
    expect(result.code).toBe(0);
    const doc = result.json();
    expect(doc.points).toHaveLength(10);
    // 1.25v/1000 = 35 at v = 28,000 (tie: first listed); 1.25v = 35,000 + 2(v − 50,000) at v = 86,666.67
    expect(doc.breakEvens).toEqual([
      { volume: 28_001, from: 'postmark', to: 'mailgun' },
      { volume: 86_667, from: 'mailgun', to: 'postmark' },
    ]);
    const at30k = doc.points.find((p: any) => p.volume === 30_000);
    expect(at30k.totals.map((t: any) => [t.strategy, t.total])).toEqual([
      ['postmark', 37.5],
      ['mailgun', 35],
      ['smtp', 500],
      ['sendgrid', 1000],
      ['ses', 1000],
      ['hybrid', 37.5], // no rules: failover.order puts postmark first
    ]);
  });

  it('prints the table, the break-even points and the plan tiers', async () => {
    const result = await runCli(['cost', 'estimate', '--sweep', '0:100000:25000', '--strategy', 'mailgun'], { cwd: tempDir() });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Volume\s+Transactional\s+Marketing\s+all-mailgun\s+Cheapest/);
    expect(result.stdout).toMatch(/25,000\s+25,000\s+0\s+\$35\.00\s+all-mailgun/);
    expect(result.stdout).toContain('all-mailgun: from 7,501, mailgun basic (was mailgun flex)');
    expect(result.stdout).toContain('all-mailgun: from 21,112, mailgun foundation (was mailgun basic)');
    expect(result.stdout).toContain('all-mailgun: from 92,308, mailgun scale (was mailgun foundation)');
  });

  it('keeps the transactional/marketing proportions, in CSV', async () => {
    const result = await runCli(['cost', 'estimate', '--volume', '100', '--transactional', '20', '--sweep', '1000:2000:1000', '--format', 'csv'], { cwd: tempDir() });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('volume,transactional,marketing,all-postmark,all-mailgun,all-smtp,all-sendgrid,all-ses,hybrid,cheapest');
    // 1,000: postmark basic 15; mailgun flex 2; sendgrid essentials 19.95; ses 1 × $0.10;
    // hybrid 200 → postmark basic 15 + 800 → mailgun flex 1.60.
    // SMTP is not priced (no config): its column is empty and it is not the cheapest.
    expect(lines[1]).toBe('1000,200,800,15,2,,19.95,0.1,16.6,all-ses');
    expect(lines[2]).toBe('2000,400,1600,15,4,,19.95,0.2,18.2,all-ses');
  });

  it('a lone --transactional or --marketing is refused (a share of what?); --volume alone is warned about', async () => {
    const lone = await runCli(['cost', 'estimate', '--sweep', '1000:5000:1000', '--transactional', '5'], { cwd: tempDir() });
    expect(lone.code).toBe(2);
    expect(lone.stderr).toMatch(/with --sweep, --transactional alone does not say what share of each volume it is/);
    const both = await runCli(['cost', 'estimate', '--sweep', '1000:1000:1000', '--transactional', '5', '--marketing', '95', '--json'], { cwd: tempDir() });
    expect(both.code, both.stderr).toBe(0);
    expect(JSON.stringify(both.json())).toContain('"transactional":50');
    const volume = await runCli(['cost', 'estimate', '--sweep', '1000:2000:1000', '--volume', '100'], { cwd: tempDir() });
    expect(volume.code).toBe(0);
    expect(volume.stderr).toMatch(/--volume has no effect with --sweep/);
  });

  it('refuses a malformed range (exit 2)', async () => {
    const result = await runCli(['cost', 'estimate', '--sweep', '100:10:1'], { cwd: tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is below');
  });
});
