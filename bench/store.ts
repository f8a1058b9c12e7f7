/**
 * Store benchmark: SQLite against PostgreSQL, in one run.
 *
 * 1. The outbox through the Store API: `entries` entries enqueued, then each claimed and finished
 *    (claim + finishRetry, what a retry does around its provider call), by one claimer and by 4
 *    claimers at once.
 * 2. `penguinmails serve` under load (as bench/serve.ts: autocannon, `POST /api/v1/emails/send`, a
 *    fake Postmark answering after `latencyMs`): one server on SQLite, one on PostgreSQL, and two
 *    servers on one PostgreSQL schema, each driven by its own autocannon with half the connections
 *    (the requests/s summed). Measured in turns, each figure the median of its rounds, with the CPU
 *    each party used, to say what limited a run.
 *
 * Targets: PostgreSQL ≥ 0.7× SQLite for one server; 2 servers ≥ 1.5× one on PostgreSQL where the
 * machine's cores allow.
 *
 *   npm run bench:store -- [entries=2000] [seconds=10] [connections=50] [latencyMs=20] [rounds=3]
 *
 * PostgreSQL: PENGUINMAILS_BENCH_DATABASE_URL (else PENGUINMAILS_TEST_DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/test); the benchmark works in schemas of its own and drops them.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import type { StoreSettings } from '../src/config/types.js';
import { sampleMessage } from '../test/helpers/sample-message.js';
import { openStoreAt } from '../src/store/open-store.js';
import type { Store } from '../src/store/ports.js';
import { loadSend, median, runProcess, startListening, withCpuShares, type LoadFigures } from './bench-processes.js';

const [entries = 2000, seconds = 10, connections = 50, latencyMs = 20, rounds = 3] = process.argv.slice(2).map(Number);
for (const [name, value, min] of [['entries', entries, 1], ['seconds', seconds, 1], ['connections', connections, 2], ['latencyMs', latencyMs, 0], ['rounds', rounds, 1]] as const) {
  if (!Number.isInteger(value) || value < min) {
    console.error(`bench/store: ${name} must be a whole number ≥ ${min} (got ${value})`);
    process.exit(2);
  }
}
const databaseUrl = process.env.PENGUINMAILS_BENCH_DATABASE_URL || process.env.PENGUINMAILS_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/penguinmails.js');
const helpers = path.join(import.meta.dirname, 'serve-helpers.js');
const dir = mkdtempSync(path.join(tmpdir(), 'penguinmails-bench-store-'));
const children: ChildProcess[] = [];
const schemas = [`pm_bench_outbox_${process.pid}`, `pm_bench_serve_${process.pid}`];
const applicationName = `pm_bench_${process.pid}`;
const monitors: pg.Client[] = [];

const sqliteSettings: StoreSettings = { kind: 'sqlite', path: path.join(dir, 'outbox.db'), label: 'bench outbox', configKey: 'store' };
const postgresSettings: StoreSettings = { kind: 'postgres', url: databaseUrl, poolSize: 10, statementTimeoutMs: 30_000, schema: schemas[0], label: 'bench PostgreSQL' };

// ── 1. the outbox through the Store API ──

interface OutboxFigures {
  enqueuePerSecond: number;
  claimCompletePerSecond: number;
}

/** Enqueues `entries` entries, then `claimers` loops at once claim and finish them all. */
async function outboxRun(store: Store, label: string, claimers: number): Promise<OutboxFigures> {
  const ids: number[] = [];
  const enqueueStarted = performance.now();
  for (let i = 0; i < entries; i++) ids.push(await store.enqueue(sampleMessage(`bench-${label}-${claimers}-${i}`), ['postmark'], 'pending', 'all providers down', [], Date.now()));
  const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;
  let next = 0;
  const claimer = async (n: number) => {
    const owner = `bench-host:${process.pid}:${n}`;
    for (let i = next++; i < ids.length; i = next++) {
      const id = ids[i];
      const { entry, refused } = await store.claim(id, owner, Date.now(), 60_000, { force: false, isOwnerAlive: () => true, isRepeat: () => false });
      if (!entry) throw new Error(`entry ${id} not claimed: ${refused}`);
      await store.finishRetry(id, owner, { status: 'delivered', reason: null, attempts: [], provider: 'postmark', messageId: `m-${id}` }, Date.now());
    }
  };
  const claimStarted = performance.now();
  await Promise.all(Array.from({ length: claimers }, (_, n) => claimer(n)));
  const claimSeconds = (performance.now() - claimStarted) / 1000;
  return { enqueuePerSecond: entries / enqueueSeconds, claimCompletePerSecond: entries / claimSeconds };
}

async function outboxBench(): Promise<void> {
  console.log(`\n1. Outbox through the Store API: ${entries} entries enqueued, then claimed + finished (claim, finishRetry)`);
  const figures: Record<string, Record<number, OutboxFigures>> = {};
  for (const [name, settings] of [['SQLite', sqliteSettings], ['PostgreSQL', postgresSettings]] as const) {
    const store = await openStoreAt(settings);
    try {
      await outboxRun(store, `${name}-warm-up`, 1); // untimed: V8, the connections, the statements
      figures[name] = { 1: await outboxRun(store, name, 1), 4: await outboxRun(store, name, 4) };
    } finally {
      await store.close();
    }
  }
  for (const claimers of [1, 4]) {
    const [s, p] = [figures.SQLite[claimers], figures.PostgreSQL[claimers]];
    console.log(`  ${claimers} claimer${claimers > 1 ? 's' : ' '} at once   SQLite ${fmt(s.claimCompletePerSecond)}/s   PostgreSQL ${fmt(p.claimCompletePerSecond)}/s   PostgreSQL/SQLite ${(p.claimCompletePerSecond / s.claimCompletePerSecond).toFixed(2)}×`);
  }
  const [s, p] = [figures.SQLite[1], figures.PostgreSQL[1]];
  console.log(`  enqueue (one at a time)   SQLite ${fmt(s.enqueuePerSecond)}/s   PostgreSQL ${fmt(p.enqueuePerSecond)}/s   PostgreSQL/SQLite ${(p.enqueuePerSecond / s.enqueuePerSecond).toFixed(2)}×`);
}

// ── 2. serve under load ──

/**
 * Runs `work` while sampling, every 100 ms, what the servers' PostgreSQL connections are doing:
 * running a statement, waiting in a transaction for penguinmails' next statement, or waiting
 * inside PostgreSQL (a row lock — with the statement that waits —, the WAL flush of a commit, …).
 * Idle connections (no transaction) are left out. Returns the number of samples of each, and of ticks.
 */
async function sampleWaits<T>(monitor: pg.Client, work: () => Promise<T>): Promise<{ figures: T; waits: Map<string, number>; ticks: number }> {
  const waits = new Map<string, number>();
  let ticks = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { rows } = await monitor.query<{ state: string; wait: string | null; statement: string }>(
        "SELECT state, wait_event_type || ':' || wait_event AS wait, left(regexp_replace(query, '\\s+', ' ', 'g'), 40) AS statement FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'",
        [applicationName],
      );
      ticks++;
      for (const { state, wait, statement } of rows) {
        const what =
          state === 'idle in transaction'
            ? 'in a transaction, waiting for penguinmails'
            : !wait
              ? 'running a statement'
              : wait.startsWith('Lock:')
                ? `waiting on ${wait} (${statement}…)`
                : `waiting on ${wait}`;
        waits.set(what, (waits.get(what) ?? 0) + 1);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    return { figures: await work(), waits, ticks };
  } finally {
    sampling = false;
    await sampler;
  }
}

interface ServeRound extends LoadFigures {
  /** What the servers' PostgreSQL connections were doing, by samples; ticks: how many times they were sampled. */
  waits: Map<string, number>;
  ticks: number;
  /** CPU used, in cores, by each party, and by the whole machine. */
  cores: Record<string, number>;
  machineBusy: number;
}

function writeConfig(name: string, store: unknown, esp: string): string {
  const config = path.join(dir, `${name}.config.yaml`);
  writeFileSync(
    config,
    stringify({
      providers: { postmark: { type: 'postmark', serverToken: 'pm-test-token-7f3a', baseUrl: esp } },
      failover: { order: ['postmark'], retry: { attempts: 1, delay: '10ms' } },
      store,
      server: { rateLimit: { max: 100_000_000 } },
    }),
  );
  return config;
}

async function createKey(config: string): Promise<string> {
  const created = await runProcess([bin, 'keys', 'create', '--name', 'bench', '--config', config, '--json'], dir);
  if (created.code !== 0) throw new Error(`keys create failed: ${created.stderr}`);
  return JSON.parse(created.stdout).key as string;
}

async function serveBench(): Promise<void> {
  const esp = await startListening([helpers, 'fake-postmark', String(latencyMs)], dir, children);
  const sqliteConfig = writeConfig('sqlite', 'outbox-serve.db', esp.url);
  // The servers' connections carry a name of their own, to tell their PostgreSQL processes apart.
  const serveUrl = new URL(databaseUrl);
  serveUrl.searchParams.set('application_name', applicationName);
  const postgresConfig = writeConfig('postgres', { url: serveUrl.toString(), schema: schemas[1] }, esp.url);
  const sqliteAuth = { authorization: `Bearer ${await createKey(sqliteConfig)}` };
  const postgresAuth = { authorization: `Bearer ${await createKey(postgresConfig)}` };
  const serve = (config: string) => startListening([bin, 'serve', '--listen', '127.0.0.1:0', '--config', config], dir, children);
  const [onSqlite, onPostgres, secondOnPostgres] = await Promise.all([serve(sqliteConfig), serve(postgresConfig), serve(postgresConfig)]);

  // The CPU of the PostgreSQL processes serving the benchmark's servers (found by their
  // application_name), and of PostgreSQL's background processes (WAL writer, checkpointer, …).
  const monitor = new pg.Client({ connectionString: databaseUrl });
  await monitor.connect();
  monitors.push(monitor);
  const connectionPids = async () => (await monitor.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName])).rows.map((r) => r.pid);
  const backgroundPids = async () => (await monitor.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'")).rows.map((r) => r.pid);
  const common = { fake: () => [esp.child.pid!], 'autocannon (this process)': () => [process.pid], postgres: connectionPids, 'postgres background': backgroundPids };
  const measure = (servers: ChildProcess[], work: () => Promise<LoadFigures>) => withCpuShares({ serve: () => servers.map((child) => child.pid!), ...common }, () => sampleWaits(monitor, work));
  const setups = {
    'SQLite, 1 server': () => measure([onSqlite.child], () => loadSend(onSqlite.url, seconds, connections, sqliteAuth)),
    'PostgreSQL, 1 server': () => measure([onPostgres.child], () => loadSend(onPostgres.url, seconds, connections, postgresAuth)),
    'PostgreSQL, 2 servers': () =>
      measure([onPostgres.child, secondOnPostgres.child], async () => {
        const half = Math.floor(connections / 2);
        const both = await Promise.all([loadSend(onPostgres.url, seconds, half, postgresAuth), loadSend(secondOnPostgres.url, seconds, connections - half, postgresAuth)]);
        return { rps: both[0].rps + both[1].rps, p50: Math.max(both[0].p50, both[1].p50), p99: Math.max(both[0].p99, both[1].p99), non2xx: both[0].non2xx + both[1].non2xx, errors: both[0].errors + both[1].errors };
      }),
  };
  type Setup = keyof typeof setups;

  console.log(`\n2. serve: POST /api/v1/emails/send, ${connections} connections in all, fake Postmark answering after ${latencyMs} ms, ${rounds} round(s) of ${seconds} s in turns`);
  // Untimed warm-up of each server (V8, pools, SDK).
  await loadSend(onSqlite.url, 2, connections, sqliteAuth);
  await loadSend(onPostgres.url, 2, connections, postgresAuth);
  await loadSend(secondOnPostgres.url, 2, connections, postgresAuth);
  const runs = Object.fromEntries(Object.keys(setups).map((name) => [name, [] as ServeRound[]])) as Record<Setup, ServeRound[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of Object.keys(setups) as Setup[]) {
      // Requests the last load left under way finish first (a slow server is still answering them).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const { result, cores, machineBusy } = await setups[name]();
      runs[name].push({ ...result.figures, waits: result.waits, ticks: result.ticks, cores, machineBusy });
    }
  }
  const summary = (name: Setup) => {
    const r = runs[name];
    const at = (pick: (x: ServeRound) => number) => median(r.map(pick));
    return {
      rps: at((x) => x.rps),
      p50: at((x) => x.p50),
      p99: at((x) => x.p99),
      failed: r.reduce((n, x) => n + x.non2xx + x.errors, 0),
      cores: Object.fromEntries(Object.keys(r[0].cores).map((party) => [party, at((x) => x.cores[party])])),
      machineBusy: at((x) => x.machineBusy),
      waits: r.reduce((all, x) => {
        for (const [what, n] of x.waits) all.set(what, (all.get(what) ?? 0) + n);
        return all;
      }, new Map<string, number>()),
      ticks: r.reduce((n, x) => n + x.ticks, 0),
      all: r.map((x) => fmt(x.rps)).join(', '),
    };
  };
  const figures = Object.fromEntries((Object.keys(setups) as Setup[]).map((name) => [name, summary(name)])) as Record<Setup, ReturnType<typeof summary>>;
  for (const [name, x] of Object.entries(figures)) {
    console.log(
      `  ${name.padEnd(22)} ${fmt(x.rps).padStart(6)} req/s (rounds ${x.all})   p50 ${String(x.p50).padStart(4)} ms   p99 ${String(x.p99).padStart(4)} ms${x.failed ? `   (${x.failed} non-2xx or errors)` : ''}`,
    );
    const parts = Object.entries(x.cores).map(([party, cores]) => `${party} ${cores.toFixed(2)}`);
    const perRequest = (cores: number) => ((cores / x.rps) * 1000).toFixed(2);
    console.log(`  ${''.padEnd(22)} CPU in cores: ${parts.join(', ')}; whole machine busy ${x.machineBusy.toFixed(2)} of ${availableParallelism()}`);
    console.log(`  ${''.padEnd(22)} CPU per request: serve ${perRequest(x.cores.serve)} ms, PostgreSQL ${perRequest(x.cores.postgres + x.cores['postgres background'])} ms`);
    if (x.waits.size > 0) {
      const top = [...x.waits].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([what, n]) => `${(n / x.ticks).toFixed(2)} ${what}`);
      console.log(`  ${''.padEnd(22)} its PostgreSQL connections at a time, on average: ${top.join('; ')}`);
    }
  }
  const postgresToSqlite = figures['PostgreSQL, 1 server'].rps / figures['SQLite, 1 server'].rps;
  const twoToOne = figures['PostgreSQL, 2 servers'].rps / figures['PostgreSQL, 1 server'].rps;
  console.log(`  (postgres: the servers' PostgreSQL connections; postgres background: WAL writer, checkpointer, autovacuum…, for every database user; the rest of "busy" is other work on the machine)`);
  console.log(`  PostgreSQL / SQLite, 1 server: ${postgresToSqlite.toFixed(2)}× (target ≥ 0.7×)`);
  console.log(`  2 servers / 1 server on PostgreSQL: ${twoToOne.toFixed(2)}× (target ≥ 1.5× where the cores allow)`);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function dropSchemas(): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

async function checkDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (error) {
    console.error(`bench/store: no PostgreSQL at ${databaseUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:****@')} (${(error as Error).message}); set PENGUINMAILS_BENCH_DATABASE_URL`);
    process.exit(2);
  } finally {
    await client.end().catch(() => {});
  }
}

await checkDatabase();
console.log(`bench/store on ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
try {
  await outboxBench();
  await serveBench();
} finally {
  for (const child of children) child.kill('SIGTERM');
  for (const monitor of monitors) await monitor.end();
  await new Promise((resolve) => setTimeout(resolve, 500)); // the servers let go of their connections
  await dropSchemas();
}
