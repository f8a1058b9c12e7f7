/**
 * Start-up benchmark (issue #21): how long a command takes from `node` to exit, as a ratio against
 * a floor measured in the same run, interleaved so that the machine's load weighs on both alike.
 *
 *   npm run bench:startup -- [runs=20]        (medians of `runs` runs each)
 *
 * Targets:
 *   --help                                    ≤ 1.25 × bare `node -e ''`
 *   cost estimate --volume 100000 (no config) ≤ 1.5 × bare node
 *   route explain (the example config, no ESP secrets set) ≤ 1.5 × bare node
 *   one send through a local fake Postmark    ≤ 1.6 × a minimal node:http POST script doing the same request
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { FakePostmark, POSTMARK_TOKEN } from '../test/fakes/fake-postmark.js';
import { environmentNote } from './environment-note.js';

const runs = Number(process.argv[2] ?? 20);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`bench/startup: runs must be a whole number ≥ 1 (got ${process.argv[2]})`);
  process.exit(2);
}

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/penguinmails.js');
const work = mkdtempSync(path.join(tmpdir(), 'pm-bench-startup-'));
const emptyDir = path.join(work, 'empty');
const exampleDir = path.join(work, 'example');
const sendDir = path.join(work, 'send');

/**
 * The floor of `send`: what a hand-written script needs to do the same request (one POST /email
 * with the same JSON body and token, keep-alive off, the answer read and checked).
 */
const POST_SCRIPT = `
const http = require('node:http');
const url = new URL('/email', process.env.POSTMARK_URL);
const body = JSON.stringify({ From: 'noreply@example.com', To: 'ada@example.com', Subject: process.argv[1], TextBody: 'Thank you for your order.', MessageStream: 'outbound' });
const request = http.request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Postmark-Server-Token': process.env.POSTMARK_SERVER_TOKEN, 'Content-Length': Buffer.byteLength(body) } }, (response) => {
  let text = '';
  response.setEncoding('utf8');
  response.on('data', (chunk) => (text += chunk));
  response.on('end', () => { if (response.statusCode !== 200 || JSON.parse(text).ErrorCode !== 0) process.exitCode = 1; });
});
request.on('error', () => { process.exitCode = 1; });
request.end(body);
`;

interface Probe {
  label: string;
  args: (run: number) => string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

interface Target {
  label: string;
  probe: Probe;
  floor: Probe;
  limit: number;
}

/** Runs `node <args>` to its end; its wall time in ms. A failed run stops the benchmark (it would measure an error). */
function timed(probe: Probe, run: number): Promise<number> {
  const args = probe.args(run);
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: probe.cwd, env: probe.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`${probe.label} (${args.join(' ')}) exited with ${code}: ${stderr.slice(0, 500)}`));
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<boolean> {
  const postmark = new FakePostmark();
  postmark.keepBodies = false;
  const postmarkUrl = await postmark.start();
  try {
    setUp(postmarkUrl);
    const sendEnv = { ...process.env, POSTMARK_SERVER_TOKEN: POSTMARK_TOKEN, POSTMARK_URL: postmarkUrl };
    const bare: Probe = { label: "node -e ''", args: () => ['-e', ''], cwd: emptyDir };
    const postScript: Probe = { label: 'node:http POST script', args: (run) => ['-e', POST_SCRIPT, `Your receipt #${run}`], cwd: sendDir, env: sendEnv };
    const cli = (label: string, cwd: string, args: (run: number) => string[], env?: NodeJS.ProcessEnv): Probe => ({ label, args: (run) => [bin, ...args(run)], cwd, env });
    // No ESP secrets in the environment for the commands that send nothing.
    const noSecrets = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(POSTMARK|MAILGUN|SENDGRID|AWS|SMTP)_/.test(name)));
    const targets: Target[] = [
      { label: '--help', probe: cli('penguinmails --help', emptyDir, () => ['--help']), floor: bare, limit: 1.25 },
      { label: 'cost estimate (no config)', probe: cli('penguinmails cost estimate --volume 100000', emptyDir, () => ['cost', 'estimate', '--volume', '100000'], noSecrets), floor: bare, limit: 1.5 },
      { label: 'route explain (example config)', probe: cli('penguinmails route explain', exampleDir, () => ['route', 'explain'], noSecrets), floor: bare, limit: 1.5 },
      {
        label: 'send (fake Postmark)',
        // A new text per run: the same content within idempotency.window would be a `duplicate`.
        probe: cli('penguinmails send', sendDir, (run) => ['send', '--to', 'ada@example.com', '--subject', 'Your receipt', '--text', `Thank you for your order #${run}.`], sendEnv),
        floor: postScript,
        limit: 1.6,
      },
    ];
    const probes = [...new Set(targets.flatMap((target) => [target.floor, target.probe]))];
    const times = new Map<Probe, number[]>(probes.map((probe) => [probe, []]));
    // One warm-up round (file cache, the store's first migration), not counted.
    for (const probe of probes) await timed(probe, -1);
    const loadBefore = loadavg();
    for (let run = 0; run < runs; run++) for (const probe of probes) times.get(probe)!.push(await timed(probe, run));
    const loadAfter = loadavg();

    console.log(`bench/startup: medians of ${runs} runs, interleaved (load average ${loadBefore[0].toFixed(2)} before, ${loadAfter[0].toFixed(2)} after; node ${process.version})`);
    const note = environmentNote();
    if (note) console.log(note);
    for (const probe of probes) console.log(`  ${probe.label.padEnd(46)} ${median(times.get(probe)!).toFixed(1).padStart(7)} ms`);
    let allMet = true;
    for (const target of targets) {
      const ratio = median(times.get(target.probe)!) / median(times.get(target.floor)!);
      const met = ratio <= target.limit;
      allMet &&= met;
      console.log(`  ${target.label.padEnd(32)} ${ratio.toFixed(2)}× ${target.floor.label.padEnd(24)} (target ≤ ${target.limit}×)  ${met ? 'met' : 'MISSED'}`);
    }
    console.log(allMet ? 'all start-up targets met' : 'start-up targets MISSED');
    return allMet;
  } finally {
    await postmark.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** An empty directory (no config anywhere up to the root), the example config, and a one-provider config for `send`. */
function setUp(postmarkUrl: string): void {
  for (const dir of [emptyDir, exampleDir, sendDir]) mkdirSync(dir);
  copyFileSync(path.join(root, 'penguinmails.config.example.yaml'), path.join(exampleDir, 'penguinmails.config.yaml'));
  const sendConfig = [
    'defaults:',
    '  from: noreply@example.com',
    'providers:',
    '  postmark:',
    '    type: postmark',
    '    serverToken: ${POSTMARK_SERVER_TOKEN}',
    `    baseUrl: ${postmarkUrl}`,
    '',
  ].join('\n');
  writeFileSync(path.join(sendDir, 'penguinmails.config.yaml'), sendConfig);
}

main().then(
  (met) => {
    process.exitCode = met ? 0 : 1;
  },
  (error: Error) => {
    console.error(`bench/startup: ${error.message}`);
    process.exitCode = 2;
  },
);
