/**
 * Bulk-send benchmark: the built CLI sends N recipients through fake Postmark and Mailgun
 * servers that answer after a fixed latency, and is compared with the ideal, with a minimal
 * batching loop (bench/bulk-floor.ts) and with sending one API call per email.
 *
 *   npm run bench:bulk -- [recipients=100000] [latencyMs=50] [concurrency=4] [baselineSample=2000] [runs=1] [pauseSeconds=30]
 *
 * Targets (issue #21), each printed with its ratio and "met" or "MISSED", from the medians of the
 * timed runs; a last line says whether all were met:
 * - sending time (the report's elapsedMs) ≤ 1.15× the ideal, and the whole process ≤ 1.3×;
 * - CPU time (user + sys of the CLI process) ≤ 2× the floor's, measured in the same rounds;
 * - peak RSS ≤ 120 MB.
 * Each wall-clock target also shows the floor's own ratio: where even the minimal loop misses it,
 * the machine is the limit, not the CLI. The sending target also shows the ceiling's: the floor
 * with every body built before its clock starts (`--prebuilt`), the best any client reaches
 * against these fakes on this machine.
 * CPU and peak RSS come from GNU time (/usr/bin/time) around each process: they depend less on how
 * busy the machine is than wall-clock times do.
 *
 * Each provider is measured in a process of its own, with fresh fakes warmed by an untimed run
 * (fakes that had just served other runs answered late for a while, which counted as the CLI's
 * time); each timed round runs the CLI, then the floor. Before each provider the machine is left
 * idle: on the 2-core VM this was written on, the CPU slowed down after ~20 s of sustained load (a
 * build, the other provider's runs), and Mailgun measured right after Postmark came out ~10% slower
 * than after a pause (1.38× instead of 1.26× the ideal). Mailgun goes first: its short ideal
 * (1.25 s) leaves the least room.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { FakeMailgun, MAILGUN_DOMAIN, MAILGUN_KEY } from '../test/fakes/fake-mailgun.js';
import { FakePostmark, POSTMARK_TOKEN } from '../test/fakes/fake-postmark.js';
import { canMeasureCpu, runTimed, type TimedRun } from './timed-process.js';
import { writeRecipientList } from './recipient-list.js';
import { environmentNote } from './environment-note.js';

const [recipients = 100_000, latencyMs = 50, concurrency = 4, baselineSample = 2_000, runs = 1, pauseSeconds = 30] = process.argv.slice(2).map(Number);
for (const [name, value, min] of [['recipients', recipients, 1], ['latencyMs', latencyMs, 0], ['concurrency', concurrency, 1], ['baselineSample', baselineSample, 1], ['runs', runs, 1], ['pauseSeconds', pauseSeconds, 0]] as const) {
  if (!Number.isInteger(value) || value < min) {
    console.error(`bench/bulk: ${name} must be a whole number ≥ ${min} (got ${value})`);
    process.exit(2);
  }
}
const root = path.resolve(import.meta.dirname, '../..');
/** Set by the parent in the process that measures one provider (see the end of this file). */
const phase = process.env.BENCH_PHASE;
if (phase !== undefined && phase !== 'postmark' && phase !== 'mailgun') throw new Error(`BENCH_PHASE must be postmark or mailgun, not ${phase}`);
const dir = process.env.BENCH_DIR ?? mkdtempSync(path.join(tmpdir(), 'penguinmails-bench-'));

const writeList = (file: string, count: number) => writeRecipientList(path.join(dir, file), count);

function writeConfig(name: string, postmarkUrl: string, mailgunUrl: string, provider: string): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `providers:
  postmark: { type: postmark, serverToken: "${POSTMARK_TOKEN}", baseUrl: "${postmarkUrl}" }
  mailgun: { type: mailgun, apiKey: "${MAILGUN_KEY}", domain: ${MAILGUN_DOMAIN}, baseUrl: "${mailgunUrl}" }
failover: { order: [${provider}], retry: { attempts: 1, delay: 10ms }, outbox: ${name}.db }
`,
  );
  return file;
}

/** One run of the CLI; a run that did not deliver every recipient stops the benchmark. */
async function runSend(config: string, list: string, expected: number, extra: string[] = []): Promise<TimedRun & { report: any }> {
  const run = await runTimed([path.join(root, 'bin/penguinmails.js'), 'send', '--config', config, '--recipients', list, '--from', 'news@example.com', '--subject', 'Hi {{name}}', '--html', '<p>Hello {{name}}</p>', '--type', 'marketing', '--concurrency', String(concurrency), '--json', ...extra], dir);
  let report: any;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    report = undefined;
  }
  if (run.code !== 0 || report?.status !== 'delivered' || report.delivered !== expected) {
    throw new Error(`penguinmails exited ${run.code} with ${report?.status ?? 'no report'} (${report?.delivered ?? 0} of ${expected} delivered): ${run.stderr.trim() || report?.error || ''}`);
  }
  return { ...run, report };
}

/** One run of the floor (bench/bulk-floor.ts) over the same list, fakes and concurrency. */
async function runFloor(provider: 'postmark' | 'mailgun', baseUrl: string, list: string, mode: 'floor' | 'ceiling' = 'floor'): Promise<TimedRun & { elapsedMs: number }> {
  const token = provider === 'postmark' ? POSTMARK_TOKEN : MAILGUN_KEY;
  const run = await runTimed([path.join(import.meta.dirname, 'bulk-floor.js'), provider, baseUrl, list, String(concurrency), token, ...(mode === 'ceiling' ? ['--prebuilt'] : [])], dir);
  if (run.code !== 0) throw new Error(`the ${mode} exited ${run.code}: ${run.stderr.trim()}`);
  const { delivered, elapsedMs } = JSON.parse(run.stdout) as { delivered: number; elapsedMs: number };
  if (delivered !== recipients) throw new Error(`the floor sent ${delivered} of ${recipients}`);
  return { ...run, elapsedMs };
}

/** The wall-clock targets, as ratios to the ideal sending time (issue #21). */
const SENDING_LIMIT = 1.15;
const WHOLE_PROCESS_LIMIT = 1.3;

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const median = (values: number[]) => {
  const order = sorted(values);
  const middle = Math.floor(order.length / 2);
  return order.length % 2 ? order[middle] : (order[middle - 1] + order[middle]) / 2;
};
const seconds = (ms: number) => (ms / 1000).toFixed(2);
/** `1.57 s`; with several runs the median, then the range. */
const spread = (values: number[], show: (value: number) => string) =>
  values.length === 1 ? show(values[0]) : `${show(median(values))} median of ${values.length}, runs ${show(sorted(values)[0])}–${show(sorted(values).at(-1)!)}`;

interface Target {
  name: string;
  /** The measured median, as shown. */
  shown: string;
  ratio?: number;
  limit: number;
  /** How the ratio is read: against a floor (`×`) or in MB. */
  unit: '×' | 'MB';
}

function targetLine(target: Target): string {
  const measured = target.ratio === undefined ? 'not measured (needs GNU time at /usr/bin/time)' : `${target.ratio.toFixed(target.unit === '×' ? 2 : 0)}${target.unit === '×' ? '×' : ' MB'}`;
  const verdict = target.ratio !== undefined && target.ratio <= target.limit ? 'met' : 'MISSED';
  return `  ${verdict.padEnd(7)}${target.name.padEnd(34)}${measured} (target ≤ ${target.limit}${target.unit === '×' ? '×' : ' MB'}) — ${target.shown}`;
}

async function measure(provider: 'postmark' | 'mailgun'): Promise<void> {
  const sampleSize = Math.min(baselineSample, recipients);
  const postmark = new FakePostmark();
  const mailgun = new FakeMailgun();
  await Promise.all([postmark.start(), mailgun.start()]);
  for (const fake of [postmark, mailgun]) {
    fake.latencyMs = latencyMs;
    fake.keepBodies = false;
  }
  const fake = provider === 'postmark' ? postmark : mailgun;
  const perCall = provider === 'postmark' ? 500 : 1000;
  const fullList = path.join(dir, 'full.csv');
  const sampleList = path.join(dir, 'sample.csv');
  const config = (name: string) => writeConfig(`${provider}-${name}`, postmark.url, mailgun.url, provider);

  // A real API is warm: an untimed run first, so that the fake's own code is compiled.
  await runSend(config('warm-up'), fullList, recipients);
  const timed: (TimedRun & { report: any; calls: number })[] = [];
  const floors: (TimedRun & { elapsedMs: number })[] = [];
  const ceilings: number[] = [];
  for (let run = 0; run < runs; run++) {
    fake.reset();
    const cli = await runSend(config(`batched-${run}`), fullList, recipients);
    timed.push({ ...cli, calls: fake.requests.length });
    floors.push(await runFloor(provider, fake.url, fullList));
    ceilings.push((await runFloor(provider, fake.url, fullList, 'ceiling')).elapsedMs);
  }
  const single = await runSend(config('single'), sampleList, sampleSize, ['--batch-size', '1']);
  await Promise.all([postmark.stop(), mailgun.stop()]);

  const baselineMs = (single.wallMs / sampleSize) * recipients;
  const minimum = Math.ceil(recipients / perCall);
  const idealMs = Math.ceil(minimum / concurrency) * latencyMs;
  const timesIdeal = (ms: number) => `${seconds(ms)} s (${(ms / idealMs).toFixed(2)}×)`;
  const sendingMs = timed.map((t) => t.report.elapsedMs as number);
  const wallMs = timed.map((t) => t.wallMs);
  const measuredCpu = canMeasureCpu;
  const cpuMs = timed.map((t) => t.cpuMs ?? 0);
  const floorCpuMs = floors.map((f) => f.cpuMs ?? 0);
  // GNU time's peak RSS (the whole process); without it the CLI's own report.
  const rssMb = timed.map((t) => t.peakRssMb ?? (t.report.peakRssMb as number));
  const megabytes = (mb: number) => `${mb} MB`;
  console.log(`${provider}  (load average ${loadavg().map((l) => l.toFixed(2)).join(', ')} at the end)`);
  console.log(`  delivered          ${recipients.toLocaleString('en-US')} of ${recipients.toLocaleString('en-US')}${runs > 1 ? ` in each of ${runs} runs` : ''}`);
  console.log(`  calls              ${[...new Set(timed.map((t) => t.calls))].join(' / ')} (minimum ceil(N/${perCall}) = ${minimum})`);
  console.log(`  ideal              ${seconds(idealMs)} s (${Math.ceil(minimum / concurrency)} rounds × ${latencyMs} ms)`);
  console.log(`  sending time       ${spread(sendingMs, timesIdeal)} — after set-up (config, outbox, SDK) to the last answer`);
  console.log(`  wall time          ${spread(wallMs, timesIdeal)} — the whole process`);
  if (measuredCpu) {
    console.log(`  CPU (user+sys)     ${spread(cpuMs, (ms) => `${seconds(ms)} s`)}`);
    console.log(`  floor CPU          ${spread(floorCpuMs, (ms) => `${seconds(ms)} s`)} — a minimal batching loop (bench/bulk-floor.ts), wall ${spread(floors.map((f) => f.wallMs), timesIdeal)}, peak RSS ${spread(floors.map((f) => f.peakRssMb!), megabytes)}`);
  }
  // The same clock as the CLI's sending time (after its start-up, to its last answer): what a
  // minimal loop reaches on this machine, against the same ideal.
  console.log(`  floor sending      ${spread(floors.map((f) => f.elapsedMs), timesIdeal)} — the minimal loop's own sending time (not a target)`);
  console.log(`  ceiling sending    ${spread(ceilings, timesIdeal)} — every body built before the clock: the best a client reaches here`);
  console.log(`  peak RSS           ${spread(rssMb, megabytes)}`);
  console.log(`  one call per email ${(baselineMs / 1000).toFixed(1)} s (extrapolated from ${sampleSize} recipients in ${seconds(single.wallMs)} s) → batching is ${(baselineMs / median(wallMs)).toFixed(1)}× faster`);
  // The floor's own ratio next to a wall-clock target: a machine where even the minimal loop misses
  // it is slower than the target assumes (its CPU, or the fakes sharing its two cores).
  const floorRatio = (values: number[], limit: number, name = 'the floor') => {
    const ratio = median(values) / idealMs;
    return `${name}: ${ratio.toFixed(2)}×${ratio > limit ? ', missed too' : ''}`;
  };
  const targets: Target[] = [
    { name: 'sending time / ideal', shown: `${seconds(median(sendingMs))} s against ${seconds(idealMs)} s (${floorRatio(floors.map((f) => f.elapsedMs), SENDING_LIMIT)}; ${floorRatio(ceilings, SENDING_LIMIT, 'the ceiling')})`, ratio: median(sendingMs) / idealMs, limit: SENDING_LIMIT, unit: '×' },
    { name: 'whole process / ideal', shown: `${seconds(median(wallMs))} s against ${seconds(idealMs)} s (${floorRatio(floors.map((f) => f.wallMs), WHOLE_PROCESS_LIMIT)})`, ratio: median(wallMs) / idealMs, limit: WHOLE_PROCESS_LIMIT, unit: '×' },
    { name: 'CPU / the floor\'s', shown: measuredCpu ? `${seconds(median(cpuMs))} s against ${seconds(median(floorCpuMs))} s` : '', ratio: measuredCpu ? median(cpuMs) / median(floorCpuMs) : undefined, limit: 2, unit: '×' },
    { name: 'peak RSS', shown: `the median of ${rssMb.length} run${rssMb.length > 1 ? 's' : ''}`, ratio: median(rssMb), limit: 120, unit: 'MB' },
  ];
  console.log('  targets');
  for (const target of targets) console.log(targetLine(target));
  console.log('');
  const missed = targets.filter((t) => t.ratio === undefined || t.ratio > t.limit).map((t) => `${provider} ${t.name}`);
  writeFileSync(path.join(dir, `${provider}-missed.json`), JSON.stringify(missed));
}

if (phase) {
  await measure(phase);
} else {
  try {
    await writeList('full.csv', recipients);
    await writeList('sample.csv', Math.min(baselineSample, recipients));
    console.log(`${recipients.toLocaleString('en-US')} recipients, ${latencyMs} ms per call, concurrency ${concurrency}${runs > 1 ? `, ${runs} timed runs each` : ''}`);
    const note = environmentNote();
    console.log(note ? `${note}\n` : '');
    const missed: string[] = [];
    for (const provider of ['mailgun', 'postmark']) {
      // Before the first too: `npm run bench:bulk` builds first, and that is load enough.
      if (pauseSeconds > 0) {
        console.log(`(idle for ${pauseSeconds} s first)\n`);
        await new Promise((resolve) => setTimeout(resolve, pauseSeconds * 1000));
      }
      const child = spawn(process.execPath, [...process.execArgv, import.meta.filename, ...process.argv.slice(2)], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, BENCH_PHASE: provider, BENCH_DIR: dir } });
      const [code] = await once(child, 'close');
      if (code !== 0) {
        console.error(`bench/bulk: the ${provider} measurement failed (exit ${code})`);
        process.exitCode = 1;
        missed.push(`${provider} (the measurement failed)`);
      } else missed.push(...(JSON.parse(readFileSync(path.join(dir, `${provider}-missed.json`), 'utf8')) as string[]));
    }
    console.log(missed.length === 0 ? 'all targets met' : `targets MISSED: ${missed.join('; ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
