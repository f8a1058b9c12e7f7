/**
 * Bulk-send benchmark: the built CLI sends N recipients through fake Postmark and Mailgun
 * servers that answer after a fixed latency, and is compared with the ideal and with sending one
 * API call per email.
 *
 *   npm run bench:bulk -- [recipients=100000] [latencyMs=50] [concurrency=4] [baselineSample=2000] [runs=1] [pauseSeconds=30]
 *
 * Each provider is measured in a process of its own, with fresh fakes warmed by an untimed run
 * (fakes that had just served other runs answered late for a while, which counted as the CLI's
 * time); the timed runs come before the baseline. Before each provider the machine is left idle:
 * on the 2-core VM this was written on, the CPU slowed down after ~20 s of sustained load (a build,
 * the other provider's runs), and Mailgun measured right after Postmark came out ~10% slower than
 * after a pause (1.38× instead of 1.26× the ideal). Mailgun goes first: its short ideal (1.25 s)
 * leaves the least room.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, createWriteStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { FakeMailgun, MAILGUN_DOMAIN, MAILGUN_KEY } from '../test/fakes/fake-mailgun.js';
import { FakePostmark, POSTMARK_TOKEN } from '../test/fakes/fake-postmark.js';

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

async function writeList(file: string, count: number): Promise<string> {
  const target = path.join(dir, file);
  const out = createWriteStream(target);
  out.write('email,name\n');
  for (let i = 0; i < count; i++) if (!out.write(`user${i}@example.com,User ${i}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  return target;
}

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
async function runSend(config: string, list: string, expected: number, extra: string[] = []): Promise<{ wallMs: number; report: any }> {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(root, 'bin/penguinmails.js'), 'send', '--config', config, '--recipients', list, '--from', 'news@example.com', '--subject', 'Hi {{name}}', '--html', '<p>Hello {{name}}</p>', '--type', 'marketing', '--concurrency', String(concurrency), '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'close');
  const wallMs = performance.now() - started;
  let report: any;
  try {
    report = JSON.parse(stdout);
  } catch {
    report = undefined;
  }
  if (code !== 0 || report?.status !== 'delivered' || report.delivered !== expected) {
    throw new Error(`penguinmails exited ${code} with ${report?.status ?? 'no report'} (${report?.delivered ?? 0} of ${expected} delivered): ${stderr.trim() || report?.error || ''}`);
  }
  return { wallMs, report };
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
  const timed: { wallMs: number; report: any; calls: number }[] = [];
  for (let run = 0; run < runs; run++) {
    fake.reset();
    const { wallMs, report } = await runSend(config(`batched-${run}`), fullList, recipients);
    timed.push({ wallMs, report, calls: fake.requests.length });
  }
  const single = await runSend(config('single'), sampleList, sampleSize, ['--batch-size', '1']);
  await Promise.all([postmark.stop(), mailgun.stop()]);

  const baselineMs = (single.wallMs / sampleSize) * recipients;
  const minimum = Math.ceil(recipients / perCall);
  const idealMs = Math.ceil(minimum / concurrency) * latencyMs;
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
  const median = (values: number[]) => {
    const order = sorted(values);
    const middle = Math.floor(order.length / 2);
    return order.length % 2 ? order[middle] : (order[middle - 1] + order[middle]) / 2;
  };
  const seconds = (ms: number) => (ms / 1000).toFixed(2);
  const timesIdeal = (ms: number) => `${(ms / idealMs).toFixed(2)}×`;
  /** `1.57 s (1.26×)`; with several runs the median, then the range: `…, runs 1.55–1.60 s (1.24–1.28×)`. */
  const timing = (values: number[]) => {
    const middle = median(values);
    const [low, high] = [sorted(values)[0], sorted(values).at(-1)!];
    const shown = `${seconds(middle)} s (${timesIdeal(middle)})`;
    return values.length === 1 ? shown : `${shown} median of ${values.length}, runs ${seconds(low)}–${seconds(high)} s (${timesIdeal(low)}–${timesIdeal(high)})`;
  };
  const megabytes = (values: number[]) => (values.length === 1 ? `${values[0]} MB` : `${median(values)} MB median, runs ${sorted(values)[0]}–${sorted(values).at(-1)} MB`);
  const sendingMs = timed.map((t) => t.report.elapsedMs as number);
  const wallMs = timed.map((t) => t.wallMs);
  console.log(`${provider}`);
  console.log(`  delivered          ${recipients.toLocaleString('en-US')} of ${recipients.toLocaleString('en-US')}${runs > 1 ? ` in each of ${runs} runs` : ''}`);
  console.log(`  calls              ${[...new Set(timed.map((t) => t.calls))].join(' / ')} (minimum ceil(N/${perCall}) = ${minimum})`);
  console.log(`  ideal              ${seconds(idealMs)} s (${Math.ceil(minimum / concurrency)} rounds × ${latencyMs} ms)`);
  console.log(`  sending time       ${timing(sendingMs)} — after set-up (config, outbox, SDK) to the last answer`);
  console.log(`  wall time          ${timing(wallMs)} — the whole process`);
  console.log(`  peak RSS           ${megabytes(timed.map((t) => t.report.peakRssMb as number))}`);
  console.log(`  one call per email ${(baselineMs / 1000).toFixed(1)} s (extrapolated from ${sampleSize} recipients in ${seconds(single.wallMs)} s) → batching is ${(baselineMs / median(wallMs)).toFixed(1)}× faster\n`);
}

if (phase) {
  await measure(phase);
} else {
  try {
    await writeList('full.csv', recipients);
    await writeList('sample.csv', Math.min(baselineSample, recipients));
    console.log(`${recipients.toLocaleString('en-US')} recipients, ${latencyMs} ms per call, concurrency ${concurrency}${runs > 1 ? `, ${runs} timed runs each` : ''}\n`);
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
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
