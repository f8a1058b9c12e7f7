/**
 * Send-side rate limit benchmark (issue #22): the built CLI sends N recipients in bulk through a
 * fake Postmark that counts the recipients it receives in each wall-clock second, with
 * `rateLimit: <limit>/s` on the provider. Prints the highest and the mean per-second rate against
 * the limit, and whether the limit held within 5 %.
 *
 *   npm run bench:rate-limit -- [recipients=100000] [limitPerSecond=2500] [latencyMs=20] [concurrency=4] [store=sqlite|postgres]
 *
 * `postgres` counts in a PostgreSQL store (PENGUINMAILS_BENCH_DATABASE_URL, else
 * PENGUINMAILS_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test), in a schema of
 * its own dropped at the end.
 *
 * The mean is over the whole seconds between the first and the last (a run starts and ends part
 * way through a second). At 2,500/s a 100k run takes about 40 s: long enough for seconds to
 * vary, short enough to rerun.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakePostmark, POSTMARK_TOKEN } from '../test/fakes/fake-postmark.js';
import { writeRecipientList } from './recipient-list.js';
import { runTimed } from './timed-process.js';

const [recipients = 100_000, limit = 2_500, latencyMs = 20, concurrency = 4] = process.argv.slice(2, 6).map(Number);
const storeKind = process.argv[6] ?? 'sqlite';
if (storeKind !== 'sqlite' && storeKind !== 'postgres') {
  console.error(`bench/rate-limit: store must be sqlite or postgres (got ${storeKind})`);
  process.exit(2);
}
const databaseUrl = process.env.PENGUINMAILS_BENCH_DATABASE_URL ?? process.env.PENGUINMAILS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `pm_bench_rate_${process.pid}`;
for (const [name, value, min] of [['recipients', recipients, 1], ['limitPerSecond', limit, 1], ['latencyMs', latencyMs, 0], ['concurrency', concurrency, 1]] as const) {
  if (!Number.isInteger(value) || value < min) {
    console.error(`bench/rate-limit: ${name} must be a whole number ≥ ${min} (got ${value})`);
    process.exit(2);
  }
}
const root = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'penguinmails-bench-rate-'));

const writeList = (count: number) => writeRecipientList(path.join(dir, 'list.csv'), count);

try {
  const postmark = new FakePostmark();
  await postmark.start();
  postmark.latencyMs = latencyMs;
  postmark.keepBodies = false;
  /** Recipients received per wall-clock second (epoch seconds). */
  const perSecond = new Map<number, number>();
  postmark.beforeAnswer = (request) => {
    const second = Math.floor(Date.now() / 1000);
    const count = request.path === '/email/batch' ? (JSON.parse(request.rawBody.toString('utf8')) as unknown[]).length : 1;
    perSecond.set(second, (perSecond.get(second) ?? 0) + count);
  };
  const config = path.join(dir, 'penguinmails.config.yaml');
  writeFileSync(
    config,
    `providers:
  postmark: { type: postmark, serverToken: "${POSTMARK_TOKEN}", baseUrl: "${postmark.url}", rateLimit: ${limit}/s }
failover: { order: [postmark], retry: { attempts: 1, delay: 10ms } }
store: ${storeKind === 'postgres' ? `{ url: "${databaseUrl}", schema: ${schema} }` : path.join(dir, 'outbox.db')}
`,
  );
  const list = await writeList(recipients);
  console.log(`${recipients.toLocaleString('en-US')} recipients, rateLimit ${limit.toLocaleString('en-US')}/s, ${latencyMs} ms per call, concurrency ${concurrency}, ${storeKind} store\n`);

  const { code, stdout, stderr, wallMs } = await runTimed(
    [path.join(root, 'bin/penguinmails.js'), 'send', '--config', config, '--recipients', list, '--from', 'news@example.com', '--subject', 'Hi {{name}}', '--html', '<p>Hello {{name}}</p>', '--type', 'marketing', '--concurrency', String(concurrency), '--json'],
    dir,
  );
  await postmark.stop();
  const report = JSON.parse(stdout || '{}');
  if (code !== 0 || report.delivered !== recipients) throw new Error(`penguinmails exited ${code} (${report.delivered ?? 0} of ${recipients} delivered): ${stderr.trim()}`);

  const seconds = [...perSecond.keys()].sort((a, b) => a - b);
  const counts = seconds.map((s) => perSecond.get(s)!);
  const whole = counts.slice(1, -1);
  const max = Math.max(...counts);
  const mean = whole.length ? whole.reduce((a, b) => a + b, 0) / whole.length : counts[0];
  const overs = counts.filter((n) => n > limit).length;
  const pct = (n: number) => `${((n / limit) * 100).toFixed(1)} %`;
  const ideal = recipients / limit;
  console.log(`  delivered        ${report.delivered.toLocaleString('en-US')} in ${report.calls?.postmark ?? '?'} calls`);
  console.log(`  wall time        ${(wallMs / 1000).toFixed(1)} s (at exactly the limit: ${ideal.toFixed(1)} s)`);
  console.log(`  seconds counted  ${counts.length} (${whole.length} whole)`);
  console.log(`  max per second   ${max.toLocaleString('en-US')} (${pct(max)} of the limit); seconds over the limit: ${overs}`);
  console.log(`  mean per second  ${Math.round(mean).toLocaleString('en-US')} (${pct(mean)} of the limit, whole seconds)`);
  console.log(`  lowest whole s.  ${whole.length ? Math.min(...whole).toLocaleString('en-US') : '-'}`);
  console.log(`  held within 5 %: ${max <= limit * 1.05 ? 'met' : 'MISSED'}`);
  if (max > limit * 1.05) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
  if (storeKind === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
}
