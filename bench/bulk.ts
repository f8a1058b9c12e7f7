/**
 * Bulk-send benchmark: the built CLI sends N recipients through fake Postmark and Mailgun
 * servers that answer after a fixed latency, and is compared with the ideal and with sending one
 * API call per email.
 *
 *   npm run bench:bulk -- [recipients=100000] [latencyMs=50] [concurrency=4] [baselineSample=2000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { FakeMailgun, MAILGUN_DOMAIN, MAILGUN_KEY } from '../test/fakes/fake-mailgun.js';
import { FakePostmark, POSTMARK_TOKEN } from '../test/fakes/fake-postmark.js';

const [recipients = 100_000, latencyMs = 50, concurrency = 4, baselineSample = 2_000] = process.argv.slice(2).map(Number);
const root = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'penguinmails-bench-'));

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

async function runSend(config: string, list: string, extra: string[] = []): Promise<{ wallMs: number; report: any }> {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(root, 'bin/penguinmails.js'), 'send', '--config', config, '--recipients', list, '--from', 'news@example.com', '--subject', 'Hi {{name}}', '--html', '<p>Hello {{name}}</p>', '--type', 'marketing', '--concurrency', String(concurrency), '--json', ...extra], { stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  await once(child, 'close');
  return { wallMs: performance.now() - started, report: JSON.parse(stdout) };
}

const postmark = new FakePostmark();
const mailgun = new FakeMailgun();
await Promise.all([postmark.start(), mailgun.start()]);
for (const fake of [postmark, mailgun]) {
  fake.latencyMs = latencyMs;
  fake.keepBodies = false;
}

const fullList = await writeList('full.csv', recipients);
const sampleList = await writeList('sample.csv', Math.min(baselineSample, recipients));
console.log(`${recipients.toLocaleString('en-US')} recipients, ${latencyMs} ms per call, concurrency ${concurrency}\n`);

for (const [provider, fake, perCall] of [['postmark', postmark, 500], ['mailgun', mailgun, 1000]] as const) {
  // A real API is warm: a first, untimed run gets the fake's own code compiled before the timed one.
  await runSend(writeConfig(`${provider}-warm-up`, postmark.url, mailgun.url, provider), sampleList);
  fake.reset();
  const batched = await runSend(writeConfig(`${provider}-batched`, postmark.url, mailgun.url, provider), fullList);
  const calls = fake.requests.length;
  const minimum = Math.ceil(recipients / perCall);
  const idealMs = Math.ceil(minimum / concurrency) * latencyMs;
  fake.reset();
  const single = await runSend(writeConfig(`${provider}-single`, postmark.url, mailgun.url, provider), sampleList, ['--batch-size', '1']);
  const baselineMs = (single.wallMs / Math.min(baselineSample, recipients)) * recipients;
  console.log(`${provider}`);
  console.log(`  delivered          ${batched.report.delivered.toLocaleString('en-US')} of ${recipients.toLocaleString('en-US')}`);
  console.log(`  calls              ${calls} (minimum ceil(N/${perCall}) = ${minimum})`);
  const sendingMs = batched.report.elapsedMs;
  console.log(`  ideal              ${(idealMs / 1000).toFixed(2)} s (${Math.ceil(minimum / concurrency)} rounds × ${latencyMs} ms)`);
  console.log(`  sending time       ${(sendingMs / 1000).toFixed(2)} s (after set-up: first row read → last answer; ${(sendingMs / idealMs).toFixed(2)}× ideal)`);
  console.log(`  wall time          ${(batched.wallMs / 1000).toFixed(2)} s (whole process, with ${((batched.wallMs - sendingMs) / 1000).toFixed(2)} s of start-up and shutdown; ${(batched.wallMs / idealMs).toFixed(2)}× ideal)`);
  console.log(`  peak RSS           ${batched.report.peakRssMb} MB`);
  console.log(`  one call per email ${(baselineMs / 1000).toFixed(1)} s (extrapolated from ${Math.min(baselineSample, recipients)} recipients in ${(single.wallMs / 1000).toFixed(2)} s) → batching is ${(baselineMs / batched.wallMs).toFixed(1)}× faster\n`);
}

await Promise.all([postmark.stop(), mailgun.stop()]);
