import { statSync } from 'node:fs';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { StoreSettings } from '../../config/types.js';
import { UserError } from '../../core/errors.js';
import { splitBulkRecipientKey } from '../../core/bulk-key.js';
import { inTransaction, openPool, type Query } from '../postgres/connect.js';
import { migrate } from '../postgres/migrate.js';
import { isStoreFile, openDatabase } from '../sqlite/database.js';

/** Rows copied, per table. */
export type CopyCounts = Record<'outbox' | 'deliveries' | 'bulkDeliveries' | 'bulkInFlight' | 'health' | 'usage' | 'apiKeys' | 'suppressions' | 'events' | 'bulkJobs', number>;

type PostgresSettings = Extract<StoreSettings, { kind: 'postgres' }>;

/**
 * Moves an embedded SQLite store into an empty PostgreSQL one: every outbox entry (ids kept),
 * delivery, bulk batch, batch still in flight, provider health, usage count, API key hash,
 * suppression, provider event (ids kept) and bulk run not ended, in one PostgreSQL transaction
 * (all or nothing), then counts both sides to prove nothing was lost. Refused while a run holds a
 * lock on the SQLite file (a live send or bulk run), and when the PostgreSQL store already holds
 * entries, deliveries, suppressions or events (a copy is done once). Not copied: run locks (none
 * may be live), the send-side rate windows (counters of the current minute or hour, which start
 * again at zero) and webhook tokens (used within minutes).
 */
export async function copySqliteToPostgres(sqlitePath: string, target: PostgresSettings, now: number): Promise<CopyCounts> {
  await refuseIfNotAStore(sqlitePath);
  const { db } = await openDatabase(sqlitePath);
  try {
    const liveLocks = db.prepare('SELECT run_key, owner FROM bulk_run_locks WHERE heartbeat_at > ?').all(now - 120_000) as { run_key: string; owner: string }[];
    if (liveLocks.length > 0) {
      throw new UserError(`${sqlitePath} is in use: ${liveLocks[0].owner} holds the run of ${liveLocks[0].run_key}`, {
        hint: 'stop every penguinmails process using that file (serve, queue work, sends), then copy',
      });
    }
    const pool = await openPool(target);
    try {
      await migrate(pool, target.schema);
      const counts = await inTransaction(pool, async (query) => {
        await refuseIfNotEmpty(query, target.label);
        return copyTables(db, query);
      });
      await verify(db, pool, counts);
      return counts;
    } finally {
      await pool.end();
    }
  } finally {
    db.close();
  }
}

async function refuseIfNotEmpty(query: Query, label: string): Promise<void> {
  const { rows } = await query<{ outbox: string; deliveries: string; bulk: string; suppressions: string; events: string }>(
    'SELECT (SELECT count(*) FROM outbox) AS outbox, (SELECT count(*) FROM deliveries) AS deliveries, (SELECT count(*) FROM bulk_deliveries) AS bulk, (SELECT count(*) FROM suppressions) AS suppressions, (SELECT count(*) FROM events) AS events',
  );
  const [outbox, deliveries, bulk, suppressions, events] = ['outbox', 'deliveries', 'bulk', 'suppressions', 'events'].map((name) => Number(rows[0][name as keyof (typeof rows)[0]]));
  if (outbox + deliveries + bulk + suppressions + events > 0) {
    throw new UserError(`${label} is not empty (${outbox} outbox entries, ${deliveries + bulk} delivery records, ${suppressions} suppressions, ${events} events): nothing copied`, {
      hint: 'copy into a new database or schema (store: { url, schema }); a store is copied once, before processes use it',
    });
  }
}

/** Reads every row of a SQLite table, in batches of INSERTs of up to 500 rows. */
async function copyRows(db: SqliteDatabase, query: Query, select: string, insert: { table: string; columns: string[] }, toValues: (row: never) => unknown[]): Promise<number> {
  let count = 0;
  let batch: unknown[][] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const width = insert.columns.length;
    const placeholders = batch.map((_, r) => `(${insert.columns.map((_, c) => `$${r * width + c + 1}`).join(', ')})`).join(', ');
    await query(`INSERT INTO ${insert.table} (${insert.columns.join(', ')}) VALUES ${placeholders}`, batch.flat());
    batch = [];
  };
  for (const row of db.prepare(select).iterate() as IterableIterator<never>) {
    batch.push(toValues(row));
    count++;
    if (batch.length === 500) await flush();
  }
  await flush();
  return count;
}

/** A table whose columns are the same on both sides, copied as they are (`order`: the SQLite order, for ids). */
function copySameColumns(db: SqliteDatabase, query: Query, table: string, columns: string[], order = ''): Promise<number> {
  return copyRows(db, query, `SELECT ${columns.join(', ')} FROM ${table}${order && ` ORDER BY ${order}`}`, { table, columns }, (row: Record<string, unknown>) => columns.map((c) => row[c]));
}

/** A table with ids of its own: new rows must not reuse the copied ones. */
async function keepIdsAhead(query: Query, table: string): Promise<void> {
  await query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), GREATEST((SELECT max(id) FROM ${table}), 1))`);
}

const digestOf = (stored: string) => splitBulkRecipientKey(stored)?.digest ?? stored;

async function copyTables(db: SqliteDatabase, query: Query): Promise<CopyCounts> {
  const outbox = await copySameColumns(db, query, 'outbox', ['id', 'idempotency_key', 'message_json', 'chain_json', 'status', 'reason', 'attempts_json', 'tries', 'provider', 'message_id', 'lease_owner', 'lease_until', 'sending_since', 'next_attempt_at', 'created_at', 'updated_at'], 'id');
  await keepIdsAhead(query, 'outbox');
  const deliveries = await copySameColumns(db, query, 'deliveries', ['idempotency_key', 'provider', 'message_id', 'delivered_at', 'content_key']);
  // SQLite keeps a batch's keys and ids as JSON (one id as a plain string); PostgreSQL as arrays of digests.
  const bulkDeliveries = await copyRows(
    db,
    query,
    'SELECT run_key, provider, keys_json, message_ids_json, delivered_at, content_key FROM bulk_deliveries ORDER BY id',
    { table: 'bulk_deliveries', columns: ['run_key', 'provider', 'digests', 'message_ids', 'delivered_at', 'content_key'] },
    (row: { run_key: string; provider: string; keys_json: string; message_ids_json: string; delivered_at: number; content_key: string | null }) => {
      const ids = JSON.parse(row.message_ids_json) as string | string[];
      return [row.run_key, row.provider, (JSON.parse(row.keys_json) as string[]).map(digestOf), Array.isArray(ids) ? ids : [ids], row.delivered_at, row.content_key];
    },
  );
  const bulkInFlight = await copyRows(
    db,
    query,
    'SELECT run_key, owner, provider, keys_json, started_at FROM bulk_in_flight ORDER BY id',
    { table: 'bulk_in_flight', columns: ['run_key', 'owner', 'provider', 'digests', 'started_at'] },
    (row: { run_key: string; owner: string; provider: string; keys_json: string; started_at: number }) => [row.run_key, row.owner, row.provider, (JSON.parse(row.keys_json) as string[]).map(digestOf), row.started_at],
  );
  const health = await copySameColumns(db, query, 'health', ['provider', 'consecutive_failures', 'open_until', 'last_error', 'last_failure_at', 'last_success_at']);
  const usage = await copySameColumns(db, query, 'usage', ['month', 'provider', 'type', 'emails']);
  const apiKeys = await copySameColumns(db, query, 'api_keys', ['name', 'key_hash', 'created_at', 'revoked_at', 'last_used_at']);
  const suppressions = await copySameColumns(db, query, 'suppressions', ['address', 'scope', 'reason', 'source', 'created_at']);
  const events = await copySameColumns(db, query, 'events', ['id', 'event_key', 'type', 'bounce', 'provider', 'provider_message_id', 'idempotency_key', 'recipient', 'occurred_at', 'received_at', 'raw_json'], 'id');
  await keepIdsAhead(query, 'events');
  // Accepted bulk runs not ended, without their holder: the first server on PostgreSQL resumes them.
  const bulkJobs = await copySameColumns(db, query, 'bulk_jobs', ['id', 'job_json', 'created_at'], 'created_at');
  return { outbox, deliveries, bulkDeliveries, bulkInFlight, health, usage, apiKeys, suppressions, events, bulkJobs };
}

/** Counts both sides after the commit: a copy that lost a row says so instead of claiming success. */
async function verify(db: SqliteDatabase, pool: import('pg').Pool, copied: CopyCounts): Promise<void> {
  const tables: [keyof CopyCounts, string][] = [
    ['outbox', 'outbox'],
    ['deliveries', 'deliveries'],
    ['bulkDeliveries', 'bulk_deliveries'],
    ['bulkInFlight', 'bulk_in_flight'],
    ['health', 'health'],
    ['usage', 'usage'],
    ['apiKeys', 'api_keys'],
    ['suppressions', 'suppressions'],
    ['events', 'events'],
    ['bulkJobs', 'bulk_jobs'],
  ];
  for (const [name, table] of tables) {
    const inSqlite = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const inPostgres = Number((await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
    if (inSqlite !== copied[name] || inPostgres !== copied[name]) {
      throw new Error(`copy check failed for ${table}: ${inSqlite} rows in SQLite, ${copied[name]} copied, ${inPostgres} in PostgreSQL`);
    }
  }
}

/** The source is read as it is first: a file that is no penguinmails store is refused, and left unchanged. */
async function refuseIfNotAStore(sqlitePath: string): Promise<void> {
  if (statSync(sqlitePath).isDirectory()) throw new UserError(`--from ${sqlitePath} is a directory`, { hint: 'give the outbox file itself, e.g. .penguinmails/outbox.db' });
  let isStore: boolean;
  try {
    isStore = await isStoreFile(sqlitePath);
  } catch (error) {
    throw new UserError(`--from ${sqlitePath}: ${(error as Error).message}`, { hint: 'give the SQLite file penguinmails keeps its outbox in (store: in the config)' });
  }
  if (!isStore) throw new UserError(`--from ${sqlitePath} is not a penguinmails store (it has no outbox)`, { hint: 'give the SQLite file penguinmails keeps its outbox in (store: in the config); nothing was copied or changed' });
}
