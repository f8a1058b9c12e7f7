import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { BIN } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';

const { postmark } = useFakeEsps();

const ROWS = 1_000;
const list = ['email,name,plan', ...Array.from({ length: ROWS }, (_, i) => `user${i}@example.com,User number ${i},plan-${i % 3}`)].join('\n') + '\n';

/** Starts a slow bulk run of the list, stops it with the signal after a few calls, and gives its --json report. */
async function interruptedRun(source: 'file' | 'stdin', signal: NodeJS.Signals = 'SIGINT'): Promise<{ code: number | null; report: any; stderr: string }> {
  const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'] });
  const listPath = path.join(dir, 'list.csv');
  writeFileSync(listPath, list);
  postmark.latencyMs = 150;
  const args = ['send', '--config', configPath, '--recipients', source === 'file' ? listPath : '-', '--subject', 'Hi {{name}}', '--text', 'x', '--type', 'marketing', '--json', '--batch-size', '10', '--concurrency', '1'];
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...TEST_ENV } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  if (source === 'stdin') child.stdin.end(list);
  const started = Date.now();
  while (postmark.requests.length < 3 && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 20));
  child.kill(signal);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  postmark.latencyMs = 0;
  return { code, report: JSON.parse(stdout), stderr };
}

describe('an interrupted bulk run', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('stopped by %s, counts in notSent the rows it had not read yet: the report adds up to the whole list', async (signal) => {
    const { code, report, stderr } = await interruptedRun('file', signal);
    expect(code, stderr).toBe(130);
    expect(report.status).toBe('interrupted');
    expect(report.delivered).toBeGreaterThan(0);
    expect(report.delivered).toBeLessThan(ROWS);
    const { notSent, delivered, skippedAlreadyDelivered, duplicateRows, rejected, queued, invalid } = report;
    expect(notSent + delivered + skippedAlreadyDelivered + duplicateRows + rejected + queued + invalid).toBe(ROWS);
    expect(report.recipients).toBe(ROWS);
    // Nobody was sent twice, and each of the rest is left for the rerun.
    const sentTo = postmark.sent.flatMap((s) => s.body.map((m: { To: string }) => m.To));
    expect(new Set(sentTo).size).toBe(delivered);
  }, 40_000);

  it('from stdin, says it does not know how many were not sent, and gives the rows it knows of', async () => {
    const { code, report, stderr } = await interruptedRun('stdin');
    expect(code, stderr).toBe(130);
    expect(report.notSent).toBeNull();
    expect(report.notSentAtLeast).toBeGreaterThanOrEqual(0);
    expect(report.notSentAtLeast + report.delivered).toBeLessThanOrEqual(ROWS);
  }, 40_000);
});
