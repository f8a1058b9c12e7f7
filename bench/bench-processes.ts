/**
 * What the serve and store benchmarks share: starting a process and waiting for its
 * `listening on <url>` line, running one to its end, driving `POST /api/v1/emails/send` with
 * autocannon, and the CPU time processes use (Linux /proc), to tell what limited a run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export const SEND_BODY = { from: 'noreply@example.com', to: 'ada@example.com', subject: 'Your receipt', text_body: 'Thank you for your order.' };

export interface Listening {
  url: string;
  child: ChildProcess;
}

/** Starts `node <args>` in `cwd` and waits for its `listening on <url>` line (on stderr). */
export function startListening(args: string[], cwd: string, children: ChildProcess[], env: NodeJS.ProcessEnv = process.env): Promise<Listening> {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let text = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk) => {
      text += chunk;
      const url = /listening on (http:\/\/\S+)/.exec(text)?.[1];
      if (url) {
        text = '';
        resolve({ url, child });
      } else if (text.length > 100_000) text = text.slice(-10_000);
    });
    child.on('close', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${text}`)));
  });
}

/** Runs `node <command>` to its end with `input` on stdin. */
export function runProcess(command: string[], cwd: string, input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, command, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

export interface LoadFigures {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

let sequence = 0;

/** autocannon on `POST <url>/api/v1/emails/send`, each request with its own Idempotency-Key (a repeat would be a duplicate). */
export async function loadSend(url: string, durationSeconds: number, connections: number, headers: Record<string, string>): Promise<LoadFigures> {
  const result = await autocannon({
    url: `${url}/api/v1/emails/send`,
    connections,
    duration: durationSeconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => ({ ...request, headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': `bench-${process.pid}-${++sequence}` }, body: JSON.stringify(SEND_BODY) }),
      },
    ],
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors + result.timeouts };
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// ── CPU time (Linux): what each process used during a measurement ──

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux Node runs on

/** user + system CPU seconds of a process so far (0 when it is gone or /proc is not there). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Busy and total CPU seconds of the whole machine so far (all cores). */
export function machineCpuSeconds(): { busy: number; total: number } {
  try {
    const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const total = values.reduce((a, b) => a + b, 0);
    const idle = values[3] + (values[4] ?? 0); // idle + iowait
    return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/**
 * Measures what named parties used over `work`, in cores (CPU seconds per second of wall time).
 * A party is a set of processes, listed (by pid) before and after: a process that starts meanwhile
 * counts in full, one that ends meanwhile drops out. `machineBusy` is every core's busy time.
 */
export async function withCpuShares<T>(
  parties: Record<string, () => number[] | Promise<number[]>>,
  work: () => Promise<T>,
): Promise<{ result: T; cores: Record<string, number>; machineBusy: number }> {
  const snapshot = async () => {
    const taken: Record<string, Map<number, number>> = {};
    for (const [name, pids] of Object.entries(parties)) taken[name] = new Map((await pids()).map((pid) => [pid, processCpuSeconds(pid)]));
    return taken;
  };
  const before = await snapshot();
  const machineBefore = machineCpuSeconds();
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  const machineAfter = machineCpuSeconds();
  const after = await snapshot();
  const cores: Record<string, number> = {};
  for (const name of Object.keys(parties)) {
    let used = 0;
    for (const [pid, cpu] of after[name]) used += cpu - (before[name].get(pid) ?? 0);
    cores[name] = used / seconds;
  }
  return { result, cores, machineBusy: (machineAfter.busy - machineBefore.busy) / seconds };
}
