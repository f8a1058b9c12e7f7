import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Database as SqliteDatabase } from 'better-sqlite3';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL,
  message_json TEXT NOT NULL,
  chain_json TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'ambiguous', 'delivered', 'rejected', 'dropped')),
  reason TEXT,
  attempts_json TEXT NOT NULL DEFAULT '[]',
  tries INTEGER NOT NULL DEFAULT 0,
  provider TEXT,
  message_id TEXT,
  lease_owner TEXT,
  lease_until INTEGER,
  sending_since INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox(status);
CREATE UNIQUE INDEX IF NOT EXISTS outbox_open_key ON outbox(idempotency_key) WHERE status IN ('pending', 'ambiguous');

CREATE TABLE IF NOT EXISTS deliveries (
  idempotency_key TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  message_id TEXT NOT NULL,
  delivered_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Bulk deliveries: one row per accepted batch (recipient keys and message ids in order). A row per
-- recipient in \`deliveries\` cost more than the API call; bulk keys are "<message key>/<recipient>".
CREATE TABLE IF NOT EXISTS bulk_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_key TEXT NOT NULL,
  provider TEXT NOT NULL,
  keys_json TEXT NOT NULL,
  message_ids_json TEXT NOT NULL,
  delivered_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS bulk_deliveries_run ON bulk_deliveries(run_key);

CREATE TABLE IF NOT EXISTS health (
  provider TEXT PRIMARY KEY,
  consecutive_failures INTEGER NOT NULL,
  open_until INTEGER,
  last_error TEXT,
  last_failure_at INTEGER,
  last_success_at INTEGER
);

-- Bulk batches handed to a provider and not yet settled: if the run dies, their fate is unknown.
CREATE TABLE IF NOT EXISTS bulk_in_flight (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_key TEXT NOT NULL,
  owner TEXT NOT NULL,
  provider TEXT NOT NULL,
  keys_json TEXT NOT NULL,
  started_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS bulk_in_flight_run ON bulk_in_flight(run_key);

-- One live run per message: two runs of the same list would race, and so would two identical
-- sends (keyed "send:<key>"). The heartbeat lets a new run take over from one that died where its
-- process cannot be checked (another host).
CREATE TABLE IF NOT EXISTS bulk_run_locks (
  run_key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  heartbeat_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS usage (
  month TEXT NOT NULL,
  provider TEXT NOT NULL,
  type TEXT NOT NULL,
  emails INTEGER NOT NULL,
  PRIMARY KEY (month, provider, type)
);
`;

/** Opens (creating on first use) the SQLite file that holds the outbox, health and usage. */
export async function openDatabase(filePath: string): Promise<SqliteDatabase> {
  const { default: Database } = await import('better-sqlite3');
  if (filePath !== ':memory:') mkdirSync(path.dirname(filePath), { recursive: true });
  const db = new Database(filePath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  // Fewer, larger checkpoints: bulk runs write many small transactions.
  db.pragma('wal_autocheckpoint = 4000');
  // The delivery ledger's keys are random: a bigger page cache keeps bulk inserts off the disk.
  db.pragma('cache_size = -8000');
  db.exec(SCHEMA);
  return db;
}
