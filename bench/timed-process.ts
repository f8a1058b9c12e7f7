/**
 * Runs `node <args>` to its end and measures it: wall time, and — through GNU time, which reads
 * the process's own rusage when it ends — its CPU time (user + sys) and peak RSS. Without
 * /usr/bin/time those two are undefined (the benchmark then says they were not measured).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';

const GNU_TIME = '/usr/bin/time';

export interface TimedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** user + sys, ms */
  cpuMs?: number;
  peakRssMb?: number;
}

export const canMeasureCpu = existsSync(GNU_TIME);

let sequence = 0;

export async function runTimed(args: string[], scratchDir: string): Promise<TimedRun> {
  const figures = path.join(scratchDir, `time-${process.pid}-${sequence++}.txt`);
  const [command, commandArgs] = canMeasureCpu ? [GNU_TIME, ['-f', '%U %S %M', '-o', figures, process.execPath, ...args]] : [process.execPath, args];
  const started = performance.now();
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'close');
  const wallMs = performance.now() - started;
  if (!canMeasureCpu) return { code, stdout, stderr, wallMs };
  // GNU time writes "Command exited with non-zero status n" first when the command failed.
  const last = readFileSync(figures, 'utf8').trim().split('\n').at(-1)!;
  rmSync(figures, { force: true });
  const [user, sys, maxRssKb] = last.split(' ').map(Number);
  return { code, stdout, stderr, wallMs, cpuMs: (user + sys) * 1000, peakRssMb: Math.round(maxRssKb / 1024) };
}
