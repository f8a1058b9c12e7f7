/**
 * Serve benchmark: requests/s and p50/p99 latency of `POST /api/v1/emails/send` through
 * `penguinmails serve` to a fake Postmark answering after 20 ms, side by side with the floor (a
 * minimal Fastify route doing one `fetch` to the same fake), at 50 connections with autocannon;
 * then the same message sent by the CLI, one process per message, to show what a server saves.
 * Every request carries its own Idempotency-Key (a repeat would be answered as a duplicate).
 * Target: serve ≥ 0.8× the floor's throughput, p99 ≤ 1.5× the floor's.
 *
 *   npm run bench:serve -- [seconds=10] [connections=50] [latencyMs=20] [rounds=2] [cliSends=20]
 *
 * The floor and serve are measured in turns (floor, serve, floor, serve, …) after an untimed warm-up
 * of each, and each figure is the median of its rounds: on the shared 2-core machine, load from
 * elsewhere comes and goes, and turns spread it over both.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSend, median, runProcess, SEND_BODY, startListening, type LoadFigures } from './bench-processes.js';

const [seconds = 10, connections = 50, latencyMs = 20, rounds = 2, cliSends = 20] = process.argv.slice(2).map(Number);
for (const [name, value, min] of [['seconds', seconds, 1], ['connections', connections, 1], ['latencyMs', latencyMs, 0], ['rounds', rounds, 1], ['cliSends', cliSends, 0]] as const) {
  if (!Number.isInteger(value) || value < min) {
    console.error(`bench/serve: ${name} must be a whole number ≥ ${min} (got ${value})`);
    process.exit(2);
  }
}
const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/penguinmails.js');
const helpers = path.join(import.meta.dirname, 'serve-helpers.js');
const dir = mkdtempSync(path.join(tmpdir(), 'penguinmails-bench-serve-'));
const children: ChildProcess[] = [];
const start = async (args: string[]) => (await startListening(args, dir, children)).url;
const run = (command: string[], input: string) => runProcess(command, dir, input);
const load = (url: string, durationSeconds: number, headers: Record<string, string>) => loadSend(url, durationSeconds, connections, headers);
type Figures = LoadFigures;

try {
  const esp = await start([helpers, 'fake-postmark', String(latencyMs)]);
  const config = path.join(dir, 'penguinmails.config.yaml');
  writeFileSync(
    config,
    `providers:
  postmark: { type: postmark, serverToken: "pm-test-token-7f3a", baseUrl: "${esp}" }
failover: { order: [postmark], retry: { attempts: 1, delay: 10ms }, outbox: outbox.db }
server: { rateLimit: { max: 100000000 } }
`,
  );
  const created = await run([bin, 'keys', 'create', '--name', 'bench', '--config', config, '--json'], '');
  const key = JSON.parse(created.stdout).key as string;
  const floor = await start([helpers, 'floor', esp]);
  const serve = await start([bin, 'serve', '--listen', '127.0.0.1:0', '--config', config]);
  const auth = { authorization: `Bearer ${key}` };

  console.log(`POST /api/v1/emails/send, ${connections} connections, fake Postmark answering after ${latencyMs} ms, ${rounds} round(s) of ${seconds} s each`);
  await load(floor, 2, {});
  await load(serve, 2, auth);
  const runs: { floor: Figures[]; serve: Figures[] } = { floor: [], serve: [] };
  for (let round = 0; round < rounds; round++) {
    runs.floor.push(await load(floor, seconds, {}));
    runs.serve.push(await load(serve, seconds, auth));
  }
  const summary = (name: keyof typeof runs) => ({ rps: median(runs[name].map((r) => r.rps)), p50: median(runs[name].map((r) => r.p50)), p99: median(runs[name].map((r) => r.p99)), failed: runs[name].reduce((n, r) => n + r.non2xx + r.errors, 0) });
  const f = summary('floor');
  const s = summary('serve');
  const row = (label: string, x: ReturnType<typeof summary>) => console.log(`  ${label.padEnd(28)} ${x.rps.toFixed(0).padStart(6)} req/s   p50 ${String(x.p50).padStart(4)} ms   p99 ${String(x.p99).padStart(4)} ms${x.failed ? `   (${x.failed} non-2xx or errors)` : ''}`);
  row('floor (Fastify + 1 fetch)', f);
  row('penguinmails serve', s);
  const throughput = s.rps / f.rps;
  const tail = s.p99 / f.p99;
  console.log(`  serve / floor: throughput ${throughput.toFixed(2)}× (target ≥ 0.8×), p99 ${tail.toFixed(2)}× (target ≤ 1.5×)`);

  if (cliSends > 0) {
    const times: number[] = [];
    for (let i = 0; i < cliSends; i++) {
      const started = performance.now();
      const sent = await run([bin, 'send', '--payload', '-', '--config', config, '--idempotency-key', `bench-cli-${process.pid}-${i}`, '--json'], JSON.stringify(SEND_BODY));
      times.push(performance.now() - started);
      if (sent.code !== 0) throw new Error(`penguinmails send exited ${sent.code}: ${sent.stderr}`);
    }
    const perMessage = median(times);
    console.log(`\nthe same message through the CLI, one process per message (${cliSends} in a row):`);
    console.log(`  median ${perMessage.toFixed(0)} ms per message = ${(1000 / perMessage).toFixed(1)} messages/s one at a time; serve's p50 is ${(perMessage / s.p50).toFixed(0)}× shorter at ${connections} connections`);
  }
} finally {
  for (const child of children) child.kill('SIGTERM');
}
