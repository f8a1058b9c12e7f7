import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { TEST_ENV } from './config.js';

/** Writes `code` to <dir>/app.mjs and runs it with node (the test environment, plus `env`): a program using the library. */
export function runApp(dir: string, code: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  writeFileSync(path.join(dir, 'app.mjs'), code);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...extraArgs, 'app.mjs'], { cwd: dir, env: { ...process.env, ...TEST_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
