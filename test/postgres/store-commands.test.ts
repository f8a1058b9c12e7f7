import { writeFileSync } from 'node:fs';
import { describe, expect, it, afterAll } from 'vitest';
import { MIGRATIONS } from '../../src/store/postgres/schema.js';
import { runCli } from '../helpers/cli.js';
import { CLOSED_PORT, TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { freshSchema, testPostgresUrl } from '../helpers/postgres.js';

// SPEC store: the CLI on a PostgreSQL store — `store migrate`, `store copy`, a send and its
// outbox, and every bad store value a clear error that changes nothing.
const url = testPostgresUrl();
const { postmark } = useFakeEsps();
const DOWN = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
const schemas: { drop: () => Promise<void> }[] = [];
afterAll(async () => {
  for (const schema of schemas) await schema.drop();
});

function schema(): string {
  const made = freshSchema('pm_cli');
  schemas.push(made);
  return made.name;
}

async function countRows(schemaName: string, table: string): Promise<number> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query(`SELECT count(*) AS n FROM ${schemaName}.${table}`)).rows[0].n);
  } finally {
    await client.end();
  }
}

describe.skipIf(!url)('the CLI on a PostgreSQL store', () => {
  it('store migrate: applies the schema once, then says it is up to date; four at once migrate once', async () => {
    const name = schema();
    const runs = await Promise.all([1, 2, 3, 4].map(() => runCli(['store', 'migrate', '--store', url, '--schema', name, '--json'])));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const applied = runs.flatMap((run) => run.json().applied);
    const versions = MIGRATIONS.map((m) => m.version);
    expect(applied.map((m: { version: number }) => m.version)).toEqual(versions);
    expect(await countRows(name, 'schema_migrations')).toBe(versions.length);
    const again = await runCli(['store', 'migrate', '--store', url, '--schema', name]);
    expect(again.stdout).toContain(`schema up to date (version ${versions.length})`);
  });

  it('send with every ESP down → stored in PostgreSQL; ESP back → queue retry delivers it once', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], attempts: 1, store: { url, schema: schema() } });
    postmark.persistentFault = DOWN;
    const queued = await runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't', '--idempotency-key', 'pg-1', '--json'], { env: TEST_ENV });
    expect(queued.code, queued.stderr).toBe(4);
    expect(queued.stderr).toMatch(/PostgreSQL database "test"/);
    const list = (await runCli(['queue', 'list', '--config', configPath, '--json'])).json();
    expect(list.entries).toEqual([expect.objectContaining({ id: queued.json().outboxId, status: 'pending' })]);
    postmark.persistentFault = undefined;
    const retried = await runCli(['queue', 'retry', '--all', '--config', configPath, '--json'], { env: TEST_ENV });
    expect(retried.code, retried.stderr).toBe(0);
    const again = await runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't', '--idempotency-key', 'pg-1', '--json'], { env: TEST_ENV });
    expect(again.json().status).toBe('duplicate');
    expect(postmark.requests).toHaveLength(2); // the refused first try, and the one delivery
  });

  it('store copy: moves a SQLite outbox, ledger and keys into an empty PostgreSQL store, and refuses a second copy', async () => {
    const { configPath, dir } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], attempts: 1 });
    const send = (key: string) => runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', key, '--text', 't', '--idempotency-key', key, '--json'], { env: TEST_ENV });
    expect((await send('delivered-1')).code).toBe(0);
    postmark.persistentFault = DOWN;
    const waiting = (await send('waiting-1')).json().outboxId;
    postmark.persistentFault = undefined;
    expect((await runCli(['keys', 'create', '--name', 'ci', '--config', configPath])).code).toBe(0);
    expect((await runCli(['suppressions', 'add', 'bounced@example.com', '--config', configPath])).code).toBe(0);
    // A bulk message under an explicit key: its ledger keeps what it said.
    const listFile = `${dir}/list.csv`;
    writeFileSync(listFile, 'email\nreader@example.com\n');
    const letter = (config: string, subject: string) => runCli(['send', '--config', config, '--recipients', listFile, '--subject', subject, '--text', 't', '--idempotency-key', 'letter-1', '--json'], { env: TEST_ENV });
    expect((await letter(configPath, 'Letter')).code).toBe(0);
    // A provider's event, as a webhook records it (serve is not needed for the copy).
    const { default: Database } = await import('better-sqlite3');
    const sqlite = new Database(`${dir}/outbox.db`);
    sqlite
      .prepare('INSERT INTO events (event_key, type, bounce, provider, provider_message_id, recipient, occurred_at, received_at, raw_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run('postmark:bounce:1', 'bounced', 'hard', 'postmark', 'pm-1', 'bounced@example.com', Date.now() - 1000, Date.now(), '{"RecordType":"Bounce"}');
    sqlite.close();

    const name = schema();
    const copy = await runCli(['store', 'copy', '--from', `${dir}/outbox.db`, '--to', url, '--schema', name, '--json']);
    expect(copy.code, copy.stderr).toBe(0);
    expect(copy.json().copied).toMatchObject({ outbox: 1, deliveries: 1, bulkDeliveries: 1, apiKeys: 1, usage: 2, suppressions: 1, events: 1 });

    // The copied store is the one a config pointing at PostgreSQL now uses.
    const { configPath: pgConfig } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], attempts: 1, store: { url, schema: name } });
    const list = (await runCli(['queue', 'list', '--config', pgConfig, '--json'])).json();
    expect(list.entries).toEqual([expect.objectContaining({ id: waiting, status: 'pending' })]);
    const repeat = await runCli(['send', '--config', pgConfig, '--to', 'a@example.com', '--subject', 'delivered-1', '--text', 't', '--idempotency-key', 'delivered-1', '--json'], { env: TEST_ENV });
    expect(repeat.json().status).toBe('duplicate');
    // The bulk key still knows its message: the same content resumes, other content is refused.
    expect((await letter(pgConfig, 'Letter')).json()).toMatchObject({ delivered: 0, skippedAlreadyDelivered: 1 });
    const reused = await letter(pgConfig, 'Another letter');
    expect(reused.code, reused.stderr).toBe(2);
    expect(reused.json().error).toMatch(/idempotency key "letter-1" was used for a different message \(a bulk run delivered through postmark on/);
    expect((await runCli(['keys', 'list', '--config', pgConfig, '--json'])).json().keys).toEqual([expect.objectContaining({ name: 'ci' })]);
    // The suppression list moved too: the bounced address is still refused before any ESP is called.
    const calls = postmark.requests.length;
    const suppressed = await runCli(['send', '--config', pgConfig, '--to', 'bounced@example.com', '--subject', 'S', '--text', 't', '--json'], { env: TEST_ENV });
    expect(suppressed.code, suppressed.stderr).toBe(3);
    expect(postmark.requests).toHaveLength(calls);
    expect((await runCli(['events', 'list', '--config', pgConfig, '--json'])).json().events).toEqual([expect.objectContaining({ type: 'bounced', recipient: 'bounced@example.com' })]);
    // New entries do not reuse copied ids.
    postmark.persistentFault = DOWN;
    const next = await runCli(['send', '--config', pgConfig, '--to', 'b@example.com', '--subject', 'new', '--text', 't', '--json'], { env: TEST_ENV });
    expect(next.json().outboxId).toBeGreaterThan(waiting);

    const second = await runCli(['store', 'copy', '--from', `${dir}/outbox.db`, '--to', url, '--schema', name]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/is not empty \(2 outbox entries/);
    expect(await countRows(name, 'outbox')).toBe(2);
  });

  it('send --dry-run never migrates a shared store: an older schema is left as it is, and said', async () => {
    const name = schema();
    expect((await runCli(['store', 'migrate', '--store', url, '--schema', name])).code).toBe(0);
    const latest = Math.max(...MIGRATIONS.map((m) => m.version));
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // As a store an older penguinmails left: its newest migration not applied.
      await client.query(`DELETE FROM ${name}.schema_migrations WHERE version = $1`, [latest]);
      const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], store: { url, schema: name } });
      const dry = await runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't', '--dry-run', '--json'], { env: TEST_ENV });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stderr).toMatch(new RegExp(`warning: the suppression list was not read: PostgreSQL database "test" .*\\(schema ${name}\\) is at schema version ${latest - 1}, not this penguinmails's ${latest}, and this command does not migrate it`));
      const { rows } = await client.query(`SELECT max(version) AS v FROM ${name}.schema_migrations`);
      expect(rows[0].v).toBe(latest - 1);
    } finally {
      await client.end();
    }
  });

  it('bad store values: each a clear error (exit 2) that names the problem and never shows a password', async () => {
    const cases: [string[], RegExp][] = [
      [['store', 'migrate', '--store', `postgres://postgres:hunter2pw@127.0.0.1:${CLOSED_PORT}/test`], /cannot use the store .*ECONNREFUSED[\s\S]*hint: is PostgreSQL running there/],
      [['store', 'migrate', '--store', url.replace(/\/[^/]*$/, '/no_such_database_pm')], /database "no_such_database_pm" does not exist[\s\S]*createdb/],
      [['store', 'migrate', '--store', 'mysql://db/mail'], /"mysql:\/\/" is not a store penguinmails knows/],
      [['store', 'migrate', '--store', url, '--schema', 'Bad-Name'], /schema name/],
      [['store', 'copy', '--from', '/nonexistent/outbox.db', '--to', url], /--from \/nonexistent\/outbox.db: no such file/],
      [['store', 'copy', '--from', url, '--to', url], /--from must be a SQLite file/],
      [['store', 'copy', '--to', url], /store copy needs --from/],
    ];
    for (const [args, expected] of cases) {
      const run = await runCli(args);
      expect(run.code, `${args.join(' ')}\n${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(expected);
      expect(run.stderr + run.stdout).not.toContain('hunter2pw');
    }
    const copyToSqlite = await runCli(['store', 'copy', '--from', '/nonexistent/outbox.db', '--to', 'other.db']);
    expect(copyToSqlite.code).toBe(2);
  });
});
