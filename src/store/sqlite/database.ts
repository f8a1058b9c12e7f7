import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { SchemaReport } from '../ports.js';

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

/**
 * Schema changes after the first version, applied in order, each once (PRAGMA user_version says
 * how many have been): every process opening the file runs the missing ones inside one write
 * transaction, so two processes starting together migrate once.
 */
const MIGRATIONS: string[] = [
  // 1: the outbox learns `expired` (the worker's maxAge) and when an entry is due again (backoff);
  //    API keys for `serve`, stored as hashes.
  `
  CREATE TABLE outbox_next (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL,
    message_json TEXT NOT NULL,
    chain_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ambiguous', 'delivered', 'rejected', 'dropped', 'expired')),
    reason TEXT,
    attempts_json TEXT NOT NULL DEFAULT '[]',
    tries INTEGER NOT NULL DEFAULT 0,
    provider TEXT,
    message_id TEXT,
    lease_owner TEXT,
    lease_until INTEGER,
    sending_since INTEGER,
    next_attempt_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  INSERT INTO outbox_next (id, idempotency_key, message_json, chain_json, status, reason, attempts_json, tries, provider, message_id, lease_owner, lease_until, sending_since, created_at, updated_at)
    SELECT id, idempotency_key, message_json, chain_json, status, reason, attempts_json, tries, provider, message_id, lease_owner, lease_until, sending_since, created_at, updated_at FROM outbox;
  DROP TABLE outbox;
  ALTER TABLE outbox_next RENAME TO outbox;
  CREATE INDEX outbox_status ON outbox(status, next_attempt_at);
  CREATE UNIQUE INDEX outbox_open_key ON outbox(idempotency_key) WHERE status IN ('pending', 'ambiguous');
  CREATE TABLE api_keys (
    name TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    last_used_at INTEGER
  );
  `,
  // 2: delivery events from providers' webhooks (each stored once) and the suppression list.
  `
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_key TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    bounce TEXT,
    provider TEXT NOT NULL,
    provider_message_id TEXT,
    idempotency_key TEXT,
    recipient TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    raw_json TEXT NOT NULL
  );
  CREATE INDEX events_recipient ON events(recipient, occurred_at);
  CREATE INDEX events_occurred ON events(occurred_at);
  CREATE INDEX events_received ON events(received_at);
  CREATE TABLE suppressions (
    address TEXT NOT NULL,
    scope TEXT NOT NULL,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (address, scope)
  ) WITHOUT ROWID;
  CREATE INDEX deliveries_message_id ON deliveries(message_id);
  `,
  // 3: send-side rate limits (issue #22): one fixed-window counter per provider and window length.
  `
  CREATE TABLE rate_windows (
    provider TEXT NOT NULL,
    window_ms INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (provider, window_ms)
  ) WITHOUT ROWID;
  `,
  // 4: what a message under an explicit key said, so that the key reused for other content is
  //    refused; webhook signature tokens used once (Mailgun), for every process sharing the file;
  //    bulk runs accepted by serve, kept until they end (resumed after a stop).
  `
  ALTER TABLE deliveries ADD COLUMN content_key TEXT;
  CREATE TABLE webhook_tokens (
    provider TEXT NOT NULL,
    token TEXT NOT NULL,
    body_digest TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (provider, token)
  ) WITHOUT ROWID;
  CREATE INDEX webhook_tokens_expiry ON webhook_tokens(expires_at);
  CREATE TABLE bulk_jobs (
    id TEXT PRIMARY KEY,
    job_json TEXT NOT NULL,
    owner TEXT,
    lease_until INTEGER,
    created_at INTEGER NOT NULL
  );
  `,
  // 5: what a bulk message under an explicit key said, kept with each batch, so that the key
  //    reused for another message is refused as a single send's is.
  `
  ALTER TABLE bulk_deliveries ADD COLUMN content_key TEXT;
  `,
];

/**
 * Brings the schema up to date; safe when several processes open a new or old file at once.
 * Returns the schema version (the base schema is 0) and the migrations this call applied.
 */
function migrate(db: SqliteDatabase): SchemaReport {
  withBusyRetry(() => db.exec(SCHEMA));
  const current = () => db.pragma('user_version', { simple: true }) as number;
  const applied: SchemaReport['applied'] = [];
  if (current() < MIGRATIONS.length) {
    withBusyRetry(() =>
      db
        .transaction(() => {
          applied.length = 0;
          for (let version = current(); version < MIGRATIONS.length; version++) {
            db.exec(MIGRATIONS[version]);
            db.pragma(`user_version = ${version + 1}`);
            applied.push({ version: version + 1, name: MIGRATION_NAMES[version] });
          }
        })
        .immediate(),
    );
  }
  return { version: current(), applied };
}

const MIGRATION_NAMES = ['outbox expired status and next attempt; API keys', 'delivery events and suppressions', 'send-side rate limit windows', 'content key of explicit-key deliveries; webhook tokens; bulk jobs'];

/** Waits this long for another process's write lock before SQLite gives up with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 10_000;

/**
 * Opens (creating on first use) the SQLite file that holds the outbox, health and usage.
 * The file holds message bodies and provider answers: it is readable by its owner only (0600,
 * and SQLite gives its -wal and -shm files the same mode).
 */
export async function openDatabase(filePath: string): Promise<{ db: SqliteDatabase; schema: SchemaReport }> {
  const { default: Database } = await import('better-sqlite3');
  if (filePath !== ':memory:') {
    createPrivateFile(filePath);
    // Before SQLite opens it, which gives its -wal and -shm files (message bodies) the file's mode;
    // and only a file that is a database or empty: not a user's text file named by mistake.
    if (isDatabaseOrEmpty(filePath)) tightenMode(filePath);
  }
  const db = new Database(filePath, { nativeBinding: builtAddon() });
  // First of all: every later statement (even switching to WAL) may meet another process's lock.
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  withBusyRetry(() => db.pragma('journal_mode = WAL'));
  db.pragma('synchronous = NORMAL');
  // Fewer, larger checkpoints: bulk runs write many small transactions.
  db.pragma('wal_autocheckpoint = 4000');
  // The delivery ledger's keys are random: a bigger page cache keeps bulk inserts off the disk.
  db.pragma('cache_size = -8000');
  return { db, schema: migrate(db) };
}

/**
 * Whether a file is a penguinmails store (it has the outbox table), read without writing to it:
 * `store copy --from` must not turn another program's database into one, nor a text file.
 */
export async function isStoreFile(filePath: string): Promise<boolean> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(filePath, { readonly: true, fileMustExist: true, nativeBinding: builtAddon() });
  try {
    return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").get() !== undefined;
  } finally {
    db.close();
  }
}

/**
 * Where `npm install` puts better-sqlite3's native addon, when it is there. Left to itself,
 * better-sqlite3 finds it through the `bindings` package, which parses a stack trace and tries a
 * dozen paths: ~5 ms of every `send` (#21 start-up). Anywhere else, undefined: `bindings` looks.
 */
function builtAddon(): string | undefined {
  const packageDir = path.dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
  const addon = path.join(packageDir, 'build', 'Release', 'better_sqlite3.node');
  return existsSync(addon) ? addon : undefined;
}

/** Creates the file (and its directory) for the owner alone, if it is not there yet. */
function createPrivateFile(filePath: string): void {
  mkdirSync(path.dirname(filePath), { recursive: true, mode: 0o700 });
  closeSync(openSync(filePath, 'a', 0o600));
}

/** Every SQLite database file starts with these 16 bytes. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

function isDatabaseOrEmpty(filePath: string): boolean {
  const head = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(filePath, 'r');
  try {
    const read = readSync(fd, head, 0, head.length, 0);
    return read === 0 || (read === head.length && head.equals(SQLITE_HEADER));
  } finally {
    closeSync(fd);
  }
}

/** Tightens an existing store file that others could read. */
function tightenMode(filePath: string): void {
  const mode = statSync(filePath).mode & 0o777;
  if (mode & 0o077) {
    try {
      chmodSync(filePath, mode & 0o700);
    } catch {
      // Not ours to change (another user's file we may write): leave it as it is.
    }
  }
}

/**
 * Runs a statement again when another process held the database past the busy timeout (two
 * processes creating the same new file at once can meet this even with the timeout set).
 * Contention is never an internal error: after the retries it is reported as SQLITE_BUSY.
 */
export function withBusyRetry<T>(work: () => T, tries = 5): T {
  for (let attempt = 1; ; attempt++) {
    try {
      return work();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= tries || (code !== 'SQLITE_BUSY' && code !== 'SQLITE_LOCKED')) throw error;
    }
  }
}
