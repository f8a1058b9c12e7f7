import { spawn } from 'node:child_process';
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
