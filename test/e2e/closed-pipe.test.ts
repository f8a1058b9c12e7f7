import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';

/** Runs the CLI with its stdout closed by the reader before anything is written (`… | head -0`). */
async function runIntoClosedPipe(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...TEST_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = await new Promise<[number | null]>((resolve) => child.on('close', (exitCode) => resolve([exitCode])));
  return { code, stderr };
}

describe('output into a pipe the reader has closed (| head)', () => {
  it('is not a crash: the exit code is the command’s own, nothing about EPIPE on stderr', async () => {
    const { configPath } = writeTestConfig();
    for (const args of [['failover', 'show', '--config', configPath], ['cost', 'estimate', '--volume', '100000'], ['failover', 'show', '--config', configPath, '--json']]) {
      const result = await runIntoClosedPipe(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stderr).not.toMatch(/EPIPE|internal error|at /);
    }
  });
});

describe('output that cannot be written (a full disk)', () => {
  it.skipIf(!existsSync('/dev/full'))('is a clear error on stderr, exit 1, not a crash nor "a bug"', async () => {
    const full = openSync('/dev/full', 'w');
    const child = spawn(process.execPath, [BIN, 'cost', 'estimate', '--volume', '100000'], { stdio: ['ignore', full, 'pipe'] });
    closeSync(full);
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('cannot write to stdout: ENOSPC');
    expect(stderr).not.toMatch(/internal error|this is a bug|at /);
  });
});
