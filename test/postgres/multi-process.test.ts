import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakePostmark } from '../fakes/fake-postmark.js';
import { BIN, tempDir } from '../helpers/cli.js';
import { TEST_ENV, testConfig } from '../helpers/config.js';
import { freshSchema, testPostgresUrl } from '../helpers/postgres.js';
import { createKey, startServer, type ServerProcess } from '../helpers/serve.js';
import { eventually, pause } from '../helpers/polling.js';

// SPEC store — one machine or many: several penguinmails processes (two `serve`, one `queue work`,
// CLI runs) on ONE PostgreSQL schema, through the built CLI. Whatever runs where, each message is
// delivered once: zero duplicates at the ESP, zero losses.

const DOWN = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
/** How long the checks below wait for the other processes. */
const WAIT_MS = 15_000;
const FROM = 'Penguin <noreply@example.com>';

/** The built CLI as a child process whose stderr can be watched while it runs. */
function startCli(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...TEST_ENV, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stderr: string; json: () => any }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr, json: () => JSON.parse(stdout) })),
  );
  return { stderr: () => stderr, done };
}

/** How many times each value occurs. */
function tally(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

if (!testPostgresUrl()) {
  describe.skip('many processes on one PostgreSQL store (no server: see the notice above)', () => it('skipped', () => {}));
} else {
  describe('many processes on one PostgreSQL store', () => {
    const postmark = new FakePostmark();
    const schema = freshSchema('pm_multi');
    const db = new pg.Client({ connectionString: testPostgresUrl() });
    const sql = async <Row extends pg.QueryResultRow = any>(text: string, values?: unknown[]) => (await db.query<Row>(text, values)).rows;
    let dir = '';
    let configPath = '';
    let key = '';
    let serverA: ServerProcess;
    let serverB: ServerProcess;
    let worker: ChildProcess;

    const post = async (server: ServerProcess, route: string, body: unknown, idempotencyKey: string) => {
      const response = await fetch(`${server.url}/api/v1/emails/${route}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as any };
    };

    /** The idempotency keys of the single messages the fake received (from request `from` on). */
    const singleKeys = (from = 0) =>
      postmark.sent
        .slice(from)
        .filter((s) => s.path === '/email')
        .map((s) => (s.body.Headers as { Name: string; Value: string }[]).find((h) => /idempotency/i.test(h.Name))!.Value);

    beforeAll(async () => {
      await Promise.all([postmark.start(), db.connect()]);
      const config = testConfig({
        postmarkUrl: postmark.url,
        order: ['postmark'],
        attempts: 1,
        // Held calls (the bulk case) must not time out before the server holding them is killed.
        timeout: '30s',
        failover: { health: { failureThreshold: 3, cooldown: '300ms' } },
        extra: {
          // Every process of the test on one schema of the test server; a small pool each.
          store: { url: testPostgresUrl(), schema: schema.name, poolSize: 4 },
          server: { requestBudget: '10s', rateLimit: { max: 100_000 } },
          worker: { interval: '200ms', backoff: '300ms', maxBackoff: '1s' },
        },
      });
      delete (config.failover as { outbox?: string }).outbox; // `store` takes its place
      dir = tempDir();
      configPath = path.join(dir, 'penguinmails.config.yaml');
      writeFileSync(configPath, stringify(config));
      // One key, created by one CLI run, works on both servers: keys live in the shared store.
      key = await createKey(configPath, 'app');
      [serverA, serverB] = await Promise.all([startServer(configPath, dir), startServer(configPath, dir)]);
      worker = spawn(process.execPath, [BIN, 'queue', 'work', '--config', configPath], { cwd: dir, env: { ...process.env, ...TEST_ENV }, stdio: 'ignore' });
      await db.query(`SET search_path = ${schema.name}`);
    }, 40_000);

    afterAll(async () => {
      const workerExit = worker && new Promise((resolve) => (worker.exitCode !== null ? resolve(worker.exitCode) : worker.on('close', resolve)));
      worker?.kill('SIGTERM');
      await Promise.all([serverA?.stop(), serverB?.stop(), workerExit]);
      await db.end();
      await schema.drop();
      await postmark.stop();
    }, 40_000);

    beforeEach(() => {
      postmark.reset();
      postmark.latencyMs = 0;
    });

    it('ESPs down while 30 messages are accepted by two servers, then back: two server workers, `queue work` and `queue retry --all` deliver each exactly once', async () => {
      postmark.persistentFault = DOWN;
      const keys = Array.from({ length: 30 }, (_, i) => `multi-down-${i}`);
      const answers = await Promise.all(
        keys.map((k, i) => post(i % 2 ? serverB : serverA, 'send', { from: FROM, to: `user${i}@example.com`, subject: `Message ${i}`, text_body: 'Hi' }, k)),
      );
      for (const answer of answers) expect(answer, JSON.stringify(answer.body)).toMatchObject({ status: 202, body: { status: 'queued', outboxId: expect.any(Number) } });
      expect(new Set(answers.map((a) => a.body.outboxId)).size).toBe(30);
      // Let the three workers fail against the ESP for a moment (and open its shared circuit).
      await pause(700);

      // `queue retry --all` starts while the ESP is still down; it comes back once the CLI's first
      // call has failed: the CLI then works through its list of all 30 while the three workers work
      // through the same entries as they fall due.
      const retry = startCli(['queue', 'retry', '--all', '--config', configPath, '--json']);
      await eventually(async () => retry.stderr(), (text) => /postmark/.test(text), WAIT_MS);
      // What the fake received until now was answered 503 (the fault is read as a request arrives).
      const downUntil = postmark.requests.length;
      postmark.persistentFault = undefined;
      postmark.latencyMs = 30; // calls overlap: the processes race for the same entries
      const retried = await retry.done;
      // Its first call failed while the ESP was down: that entry waits for the workers (exit 4).
      expect(retried.code, retried.stderr).toBe(4);
      expect(worker.exitCode, '`queue work` is still running').toBeNull();

      const open = await eventually(
        () => sql<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE idempotency_key = ANY($1) AND status IN ('pending', 'ambiguous')", [keys]),
        (rows) => rows[0].n === 0,
        WAIT_MS,
      );
      expect(open[0].n).toBe(0);
      const entries = await sql<{ key: string; status: string }>('SELECT idempotency_key AS key, status FROM outbox WHERE idempotency_key = ANY($1) ORDER BY id', [keys]);
      expect(entries).toHaveLength(30);
      expect(entries.every((e) => e.status === 'delivered'), JSON.stringify(entries)).toBe(true);
      const delivered = await sql<{ key: string }>('SELECT idempotency_key AS key FROM deliveries WHERE idempotency_key = ANY($1)', [keys]);
      expect(delivered.map((d) => d.key).sort()).toEqual([...keys].sort());
      // At the ESP: every key accepted exactly once once it was back.
      await pause(300); // a call still answering would show up here
      const accepted = tally(singleKeys(downUntil));
      expect([...accepted.keys()].sort()).toEqual([...keys].sort());
      expect([...accepted.entries()].filter(([, n]) => n !== 1)).toEqual([]);
      const results = retried.json().results as { id: number; status: string; reason?: string }[];
      // The entry whose call failed while the ESP was down (the workers had leased some others).
      expect(results.some((r) => r.status === 'pending')).toBe(true);
      expect(results.every((r) => ['pending', 'delivered', 'skipped'].includes(r.status))).toBe(true);
      // Both sides did part of the work: the CLI some entries, the workers the rest (its skipped
      // ones: leased by a worker, or delivered by one since the CLI listed them).
      const byCli = results.filter((r) => r.status === 'delivered').length;
      expect(byCli).toBeGreaterThan(0);
      expect(byCli).toBeLessThan(30);
    }, 40_000);

    it('the same Idempotency-Key posted to both servers at once: one delivery per key', async () => {
      postmark.latencyMs = 300; // both requests are under way at once
      const keys = Array.from({ length: 10 }, (_, i) => `multi-same-${i}`);
      const body = (i: number) => ({ from: FROM, to: `same${i}@example.com`, subject: `Receipt ${i}`, text_body: 'Thanks' });
      const answers = await Promise.all(keys.flatMap((k, i) => [post(serverA, 'send', body(i), k), post(serverB, 'send', body(i), k)]));
      for (const [i, k] of keys.entries()) {
        const pair = [answers[2 * i], answers[2 * i + 1]];
        expect(pair.map((a) => a.status), k).toEqual([200, 200]);
        expect(pair.map((a) => a.body.status).sort(), k).toEqual(['delivered', 'duplicate']);
      }
      const sent = tally(singleKeys());
      expect([...sent.keys()].sort()).toEqual([...keys].sort());
      expect([...sent.values()].every((n) => n === 1)).toBe(true);
      const delivered = await sql<{ n: number }>('SELECT count(*)::int AS n FROM deliveries WHERE idempotency_key = ANY($1)', [keys]);
      expect(delivered[0].n).toBe(10);
    }, 30_000);

    it('kill -9 of a server mid-bulk: the other takes over its run, the same bulk posted to it is answered with that run; nobody twice, nobody lost (those in doubt reported as ambiguous)', async () => {
      // 8 batch calls of 500 (Postmark's batch limit), 4 at a time. The fake answers the first two
      // calls and holds every later one: when server A is killed, 2 batches are delivered and
      // recorded, 4 are in flight (the ESP has them, A never learns), 2 have not started.
      const RECIPIENTS = 4_000;
      const runKey = 'multi-bulk-1';
      const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({ email: `reader${i}@example.com`, name: `Reader ${i}` }));
      const bulk = { from: FROM, subject: 'News for {{name}}', text_body: 'Hello {{name}}', recipients };
      const held: (() => void)[] = [];
      let answered = 0;
      postmark.beforeAnswer = (request) => {
        if (request.path !== '/email/batch' || ++answered <= 2) return;
        return new Promise<void>((resolve) => held.push(resolve));
      };
      const recordedDigests = async () =>
        (await sql<{ n: number }>('SELECT COALESCE(SUM(cardinality(digests)), 0)::int AS n FROM bulk_deliveries WHERE run_key = $1', [runKey]))[0].n;

      const accepted = await post(serverA, 'bulk', bulk, runKey);
      expect(accepted).toMatchObject({ status: 202, body: { bulkId: expect.any(String) } });
      await eventually(
        async () => ({ calls: postmark.requests.length, recorded: await recordedDigests() }),
        (s) => s.calls >= 6 && s.recorded >= 1_000,
        WAIT_MS,
      );
      expect(postmark.requests.length).toBe(6);
      serverA.child.kill('SIGKILL');
      await serverA.exited;
      // Read while every later call is still held: server B may take over A's run at once (A's
      // process is gone from this host), and its first batches must not be counted as A's.
      const deliveredByA = await recordedDigests();
      // A's held calls end (their caller is gone); the ESP counts as having them. B's are held on.
      for (const release of held.splice(0, 4)) release();

      // B takes over A's run at its next look (worker.interval). The same bulk posted to B while
      // that run goes on is answered with that run, not a second one.
      await eventually(async () => serverB.output(), (output) => output.includes(`"bulkId":"${accepted.body.bulkId}"`), WAIT_MS);
      const rerun = await post(serverB, 'bulk', bulk, runKey);
      expect(rerun).toMatchObject({ status: 202, body: { bulkId: accepted.body.bulkId } });
      postmark.beforeAnswer = undefined;
      for (const release of held.splice(0)) release();
      const report = await eventually(
        async () => (await fetch(`${serverB.url}/api/v1/bulk/${rerun.body.bulkId}`, { headers: { authorization: `Bearer ${key}` } })).json() as Promise<any>,
        (r) => r.status !== 'running',
        WAIT_MS,
      );
      expect(report).toMatchObject({ recipients: RECIPIENTS, rejected: 0, invalid: 0, duplicateRows: 0 });
      expect(report.skippedAlreadyDelivered).toBe(deliveredByA);

      // Nobody twice: each recipient reached the ESP at most once, over both runs.
      const atEsp = tally(postmark.sent.filter((s) => s.path === '/email/batch').flatMap((s) => (s.body as { To: string }[]).map((m) => m.To)));
      expect([...atEsp.entries()].filter(([, n]) => n > 1)).toEqual([]);
      // Nobody lost: delivered (in the ledger) + ambiguous (in the outbox, for a person) = everyone.
      const ambiguous = await sql<{ email: string }>(
        "SELECT message_json::json->'to'->>0 AS email FROM outbox WHERE status = 'ambiguous' AND idempotency_key LIKE $1",
        [`${runKey}/%`],
      );
      const delivered = await recordedDigests();
      expect(report.queued).toBe(ambiguous.length);
      expect(delivered + ambiguous.length).toBe(RECIPIENTS);
      const overlap = await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbox o WHERE o.status = 'ambiguous' AND o.idempotency_key LIKE $1
           AND EXISTS (SELECT 1 FROM bulk_deliveries b WHERE b.run_key = $2 AND b.digests @> ARRAY[split_part(o.idempotency_key, '/', 2)])`,
        [`${runKey}/%`, runKey],
      );
      expect(overlap[0].n).toBe(0);
      // Everyone not in doubt reached the ESP; those in doubt are exactly the ones A left in flight.
      const inDoubt = new Set(ambiguous.map((a) => a.email));
      const missing = recipients.filter((r) => !atEsp.has(r.email) && !inDoubt.has(r.email));
      expect(missing).toEqual([]);
      // This run: 2 batches delivered by A, 4 in flight when it died, 2 sent by B.
      expect({ deliveredByA, inDoubt: ambiguous.length, deliveredByB: report.delivered }).toEqual({ deliveredByA: 1_000, inDoubt: 2_000, deliveredByB: 1_000 });
    }, 40_000);
  });
}
