import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { StoreSettings } from '../../config/types.js';
import { UserError } from '../../core/errors.js';
import { splitBulkRecipientKey } from '../../core/bulk-key.js';
import { inTransaction, openPool, type Query } from '../postgres/connect.js';
import { migrate } from '../postgres/migrate.js';
import { openDatabase } from '../sqlite/database.js';

/** Rows copied, per table. */
export type CopyCounts = Record<'outbox' | 'deliveries' | 'bulkDeliveries' | 'bulkInFlight' | 'health' | 'usage' | 'apiKeys' | 'suppressions' | 'events' | 'bulkJobs', number>;

type PostgresSettings = Extract<StoreSettings, { kind: 'postgres' }>;

/**
 * Moves an embedded SQLite store into an empty PostgreSQL one: every outbox entry (ids kept),
 * delivery, bulk batch, batch still in flight, provider health, usage count, API key hash,
 * suppression, provider event (ids kept) and bulk run not ended, in one PostgreSQL transaction (all or nothing), then counts both sides to prove nothing was
 * lost. Refused while a run holds a lock on the SQLite file (a live send or bulk run), and when
 * the PostgreSQL store already holds entries, deliveries, suppressions or events (a copy is done
 * once). Not copied: run locks (none may be live), the send-side rate windows (counters of the
 * current minute or hour, which start again at zero) and webhook tokens (used within minutes).
 */
export async function copySqliteToPostgres(sqlitePath: string, target: PostgresSettings, now: number): Promise<CopyCounts> {
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

const digestOf = (stored: string) => splitBulkRecipientKey(stored)?.digest ?? stored;

async function copyTables(db: SqliteDatabase, query: Query): Promise<CopyCounts> {
  const outboxColumns = ['id', 'idempotency_key', 'message_json', 'chain_json', 'status', 'reason', 'attempts_json', 'tries', 'provider', 'message_id', 'lease_owner', 'lease_until', 'sending_since', 'next_attempt_at', 'created_at', 'updated_at'];
  const outbox = await copyRows(db, query, `SELECT ${outboxColumns.join(', ')} FROM outbox ORDER BY id`, { table: 'outbox', columns: outboxColumns }, (row: Record<string, unknown>) =>
    outboxColumns.map((c) => row[c]),
  );
  // New entries must not reuse copied ids.
  await query("SELECT setval(pg_get_serial_sequence('outbox', 'id'), GREATEST((SELECT max(id) FROM outbox), 1))");

  const deliveryColumns = ['idempotency_key', 'provider', 'message_id', 'delivered_at', 'content_key'];
  const deliveries = await copyRows(db, query, `SELECT ${deliveryColumns.join(', ')} FROM deliveries`, { table: 'deliveries', columns: deliveryColumns }, (row: Record<string, unknown>) => deliveryColumns.map((c) => row[c]));
  // SQLite keeps a batch's keys and ids as JSON (one id as a plain string); PostgreSQL as arrays of digests.
  const bulkDeliveries = await copyRows(
    db,
    query,
    'SELECT run_key, provider, keys_json, message_ids_json, delivered_at FROM bulk_deliveries ORDER BY id',
    { table: 'bulk_deliveries', columns: ['run_key', 'provider', 'digests', 'message_ids', 'delivered_at'] },
    (row: { run_key: string; provider: string; keys_json: string; message_ids_json: string; delivered_at: number }) => {
      const ids = JSON.parse(row.message_ids_json) as string | string[];
      return [row.run_key, row.provider, (JSON.parse(row.keys_json) as string[]).map(digestOf), Array.isArray(ids) ? ids : [ids], row.delivered_at];
    },
  );
  const bulkInFlight = await copyRows(
    db,
    query,
    'SELECT run_key, owner, provider, keys_json, started_at FROM bulk_in_flight ORDER BY id',
    { table: 'bulk_in_flight', columns: ['run_key', 'owner', 'provider', 'digests', 'started_at'] },
    (row: { run_key: string; owner: string; provider: string; keys_json: string; started_at: number }) => [row.run_key, row.owner, row.provider, (JSON.parse(row.keys_json) as string[]).map(digestOf), row.started_at],
  );
  const healthColumns = ['provider', 'consecutive_failures', 'open_until', 'last_error', 'last_failure_at', 'last_success_at'];
  const health = await copyRows(db, query, `SELECT ${healthColumns.join(', ')} FROM health`, { table: 'health', columns: healthColumns }, (row: Record<string, unknown>) => healthColumns.map((c) => row[c]));
  const usage = await copyRows(db, query, 'SELECT month, provider, type, emails FROM usage', { table: 'usage', columns: ['month', 'provider', 'type', 'emails'] }, (row: Record<string, unknown>) => [
    row.month,
    row.provider,
    row.type,
    row.emails,
  ]);
  const keyColumns = ['name', 'key_hash', 'created_at', 'revoked_at', 'last_used_at'];
  const apiKeys = await copyRows(db, query, `SELECT ${keyColumns.join(', ')} FROM api_keys`, { table: 'api_keys', columns: keyColumns }, (row: Record<string, unknown>) => keyColumns.map((c) => row[c]));
  const suppressionColumns = ['address', 'scope', 'reason', 'source', 'created_at'];
  const suppressions = await copyRows(db, query, `SELECT ${suppressionColumns.join(', ')} FROM suppressions`, { table: 'suppressions', columns: suppressionColumns }, (row: Record<string, unknown>) =>
    suppressionColumns.map((c) => row[c]),
  );
  const eventColumns = ['id', 'event_key', 'type', 'bounce', 'provider', 'provider_message_id', 'idempotency_key', 'recipient', 'occurred_at', 'received_at', 'raw_json'];
  const events = await copyRows(db, query, `SELECT ${eventColumns.join(', ')} FROM events ORDER BY id`, { table: 'events', columns: eventColumns }, (row: Record<string, unknown>) => eventColumns.map((c) => row[c]));
  await query("SELECT setval(pg_get_serial_sequence('events', 'id'), GREATEST((SELECT max(id) FROM events), 1))");
  // Accepted bulk runs not ended: let go, so that the first server on PostgreSQL resumes them.
  const bulkJobs = await copyRows(db, query, 'SELECT id, job_json, created_at FROM bulk_jobs ORDER BY created_at', { table: 'bulk_jobs', columns: ['id', 'job_json', 'created_at'] }, (row: Record<string, unknown>) => [row.id, row.job_json, row.created_at]);
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
