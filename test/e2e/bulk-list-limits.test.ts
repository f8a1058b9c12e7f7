import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';

const { postmark } = useFakeEsps();

/** A list file next to a config whose only provider is the fake Postmark. */
function setup(name: string, content: string) {
  const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'] });
  const listPath = path.join(dir, name);
  writeFileSync(listPath, content);
  return { configPath, listPath };
}

/** Pathological lists must end in seconds: before, they took minutes at full CPU (or never ended). */
const send = (configPath: string, listPath: string) =>
  runCli(['send', '--config', configPath, '--recipients', listPath, '--subject', 'Hi', '--text', 'x', '--type', 'marketing', '--json'], { env: TEST_ENV, timeoutMs: 20_000 });

describe('recipient lists too big to be a list', () => {
  it('a header of a million columns is a usage error naming line 1, within seconds', async () => {
    const header = ['email', ...Array.from({ length: 999_999 }, (_, i) => `c${i}`)].join(',');
    const { configPath, listPath } = setup('wide.csv', `${header}\nann@example.com${',x'.repeat(999_999)}\n`);
    const started = Date.now();
    const result = await send(configPath, listPath);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/wide\.csv: line 1 is longer than 1 MiB/);
    expect(result.stderr).toMatch(/hint:/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(postmark.requests).toHaveLength(0);
  }, 30_000);

  it('a header of 100,000 short columns (under 1 MiB) is a usage error for its column count', async () => {
    const header = ['email', ...Array.from({ length: 99_999 }, (_, i) => `c${i}`)].join(',');
    const { configPath, listPath } = setup('wide.csv', `${header}\nann@example.com${',x'.repeat(99_999)}\n`);
    const started = Date.now();
    const result = await send(configPath, listPath);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/wide\.csv: line 1 has 100,000 columns; at most 1,000/);
    expect(result.stderr).toMatch(/hint:/);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);

  it('a 50 MB line is a usage error naming its line, within seconds', async () => {
    const { configPath, listPath } = setup('long.csv', `email,name\nann@example.com,Ann\nbob@example.com,${'b'.repeat(50 * 1024 * 1024)}\n`);
    const started = Date.now();
    const result = await send(configPath, listPath);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/long\.csv: line 3 is longer than 1 MiB/);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);

  it('a JSONL list with an overlong line is a usage error naming its line, within seconds', async () => {
    const line = JSON.stringify({ email: 'bob@example.com', note: 'n'.repeat(5 * 1024 * 1024) });
    const { configPath, listPath } = setup('list.jsonl', `${JSON.stringify({ email: 'ann@example.com' })}\n${line}\n`);
    const started = Date.now();
    const result = await send(configPath, listPath);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/list\.jsonl: line 2 is longer than 1 MiB/);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);

  it('a dry run stops at the same limits', async () => {
    const { configPath, listPath } = setup('long.csv', `email,name\nbob@example.com,${'b'.repeat(2 * 1024 * 1024)}\n`);
    const result = await runCli(['send', '--config', configPath, '--recipients', listPath, '--subject', 'Hi', '--text', 'x', '--type', 'marketing', '--dry-run'], { env: TEST_ENV, timeoutMs: 20_000 });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/long\.csv: line 2 is longer than 1 MiB/);
  }, 30_000);
});
