import type { Pool } from 'pg';
import type { Attempt } from '../../core/chain-runner.js';
import type { HealthRecord } from '../../core/health.js';
import { splitBulkRecipientKey } from '../../core/bulk-key.js';
import { explicitContentKey, type EmailMessage } from '../../core/message.js';
import { UserError } from '../../core/errors.js';
import { currentWindow, windowState, type RateLimit, type StoredWindow, type WindowState } from '../../core/rate-limit.js';
import { redactSecrets } from '../../core/secrets.js';
import { monthKey, type AcceptedBatch, type ApiKeyRecord, type Delivery, type OutboxEntry, type EventRecord, type StoredEventType, type OutboxStatus, type Store, type StoredEvent, type Suppression } from '../ports.js';
import { toEntry, toEvent, toKey, toSuppression, type EventRow, type KeyRow, type OutboxRow, type SuppressionRow } from '../rows.js';
import { DatabaseClock } from './clock.js';
import { inTransaction, openPool, RunAgain, unreachable, type PostgresOptions, type Query } from './connect.js';
import { currentSchema, migrate, type MigrationReport } from './migrate.js';

/** Rows each month's usage of a provider and type is spread over (migration 3). */
const USAGE_SHARDS = 16;

type EnqueueStatus = 'pending' | 'ambiguous';
const OPEN = "status IN ('pending', 'ambiguous')";

/**
 * Every repository of ports.ts over PostgreSQL, for many processes on many machines sharing one
 * state. Same semantics as the SQLite store (the contract tests run both): row locks
 * (`FOR UPDATE`, `SKIP LOCKED` for claims) where SQLite takes its one write lock, unique indexes
 * for "one open entry per key" and "one delivery per key". Times are stored on the database's
 * clock (see clock.ts), so hosts whose clocks differ still agree on leases.
 */
export class PostgresStore implements Store {
  private constructor(
    private readonly pool: Pool,
    private readonly clock: DatabaseClock,
    readonly schema: MigrationReport,
  ) {}

  /**
   * `migrate: false` (a read that must change nothing, such as a dry run's look at the suppression
   * list): the schema must already be this version's, else a UserError says so and nothing is written.
   */
  static async open(options: PostgresOptions, { migrate: migrating = true }: { migrate?: boolean } = {}): Promise<PostgresStore> {
    const pool = await openPool(options);
    try {
      const migration = migrating ? await migrate(pool, options.schema) : await currentSchema(pool, options.schema, options.label);
      const clock = await DatabaseClock.measure(pool);
      return new PostgresStore(pool, clock, migration);
    } catch (error) {
      await pool.end().catch(() => {});
      if (error instanceof UserError) throw error;
      throw unreachable(options, error);
    }
  }

  /** Nothing to do ahead: the server keeps the data. */
  async prepareToClose(): Promise<void> {}

  async close(): Promise<void> {
    await this.pool.end();
  }

  private readonly query: Query = (text, values) => this.pool.query(text, values);

  private atomically<T>(work: (query: Query) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }

  /** A host time as stored (database clock), and back. */
  private db(time: number): number {
    return this.clock.toDatabase(time);
  }

  private host(time: number): number;
  private host(time: number | null): number | null;
  private host(time: number | null): number | null {
    return time === null ? null : this.clock.toHost(time);
  }

  private toEntry(row: OutboxRow): OutboxEntry {
    return toEntry(row, (time) => this.clock.toHost(time));
  }

  private toKey(row: KeyRow): ApiKeyRecord {
    return toKey(row, (time) => this.clock.toHost(time));
  }

  // ── delivery ledger ──
  async findDelivery(key: string): Promise<Delivery | undefined> {
    return (await this.findSingleDelivery(this.query, key)) ?? (await this.findBulkDelivery(key));
  }

  private async findSingleDelivery(query: Query, key: string): Promise<Delivery | undefined> {
    const { rows } = await query<{ provider: string; message_id: string; delivered_at: number; content_key: string | null }>('SELECT provider, message_id, delivered_at, content_key FROM deliveries WHERE idempotency_key = $1', [key]);
    const row = rows[0];
    return row && { provider: row.provider, messageId: row.message_id, deliveredAt: this.host(row.delivered_at), ...(row.content_key ? { contentKey: row.content_key } : {}) };
  }

  /** A recipient key of a bulk run ("<message key>/<recipient>") in that run's delivered batches. */
  private async findBulkDelivery(key: string): Promise<Delivery | undefined> {
    const parts = splitBulkRecipientKey(key);
    if (!parts) return undefined;
    const { rows } = await this.query<{ provider: string; message_ids: string[]; delivered_at: number; position: number }>(
      'SELECT provider, message_ids, delivered_at, array_position(digests, $2) AS position FROM bulk_deliveries WHERE run_key = $1 AND digests @> ARRAY[$2] LIMIT 1',
      [parts.messageKey, parts.digest],
    );
    const row = rows[0];
    if (!row) return undefined;
    const messageId = row.message_ids.length === 1 ? row.message_ids[0] : row.message_ids[row.position - 1];
    return { provider: row.provider, messageId, deliveredAt: this.host(row.delivered_at) };
  }

  async forEachBulkDeliveredDigest(runKey: string, since: number, visit: (digest: string) => void): Promise<void> {
    const { rows } = await this.query<{ digests: string[] }>('SELECT digests FROM bulk_deliveries WHERE run_key = $1 AND delivered_at >= $2', [runKey, this.db(since)]);
    for (const row of rows) for (const digest of row.digests) visit(digest);
  }

  async otherBulkContent(runKey: string, contentKey: string, since: number): Promise<{ provider: string; deliveredAt: number } | undefined> {
    const { rows } = await this.query<{ provider: string; delivered_at: number }>(
      'SELECT provider, delivered_at FROM bulk_deliveries WHERE run_key = $1 AND delivered_at >= $2 AND content_key IS NOT NULL AND content_key <> $3 ORDER BY delivered_at LIMIT 1',
      [runKey, this.db(since), contentKey],
    );
    return rows[0] && { provider: rows[0].provider, deliveredAt: this.host(rows[0].delivered_at) };
  }

  async recordBulkBatches(runKey: string, type: string, batches: AcceptedBatch[], now: number, contentKey: string | null = null): Promise<void> {
    await this.atomically(async (query) => {
      for (const batch of batches) {
        if (batch.digests.length > 0) {
          // Mailgun answers one id for the whole call: stored once.
          const ids = batch.messageIds.every((id) => id === batch.messageIds[0]) ? [batch.messageIds[0]] : batch.messageIds;
          await query('INSERT INTO bulk_deliveries (run_key, provider, digests, message_ids, delivered_at, content_key) VALUES ($1, $2, $3, $4, $5, $6)', [runKey, batch.provider, batch.digests, ids, this.db(now), contentKey]);
          await this.addUsage(query, monthKey(now), batch.provider, type, batch.digests.length);
        }
        await this.settle(query, batch.batchId, batch.stillOpen);
      }
    });
  }

  async recordDelivery(message: EmailMessage, provider: string, messageId: string, now: number, emails: number): Promise<void> {
    await this.atomically(async (query) => {
      // A key sent again once its idempotency window had passed: the ledger keeps the latest delivery.
      await query(
        `INSERT INTO deliveries (idempotency_key, provider, message_id, delivered_at, content_key) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (idempotency_key) DO UPDATE SET provider = excluded.provider, message_id = excluded.message_id, delivered_at = excluded.delivered_at, content_key = excluded.content_key`,
        [message.idempotencyKey, provider, messageId, this.db(now), explicitContentKey(message)],
      );
      await query(
        `UPDATE outbox SET status = 'delivered', provider = $1, message_id = $2, reason = 'delivered by a later send', updated_at = $3 WHERE idempotency_key = $4 AND ${OPEN} AND lease_owner IS NULL`,
        [provider, messageId, this.db(now), message.idempotencyKey],
      );
      await this.addUsage(query, monthKey(now), provider, message.type, emails);
    });
  }

  async openEntryFor(key: string): Promise<{ id: number; status: 'pending' | 'ambiguous'; createdAt: number } | undefined> {
    const { rows } = await this.query<{ id: number; status: 'pending' | 'ambiguous'; created_at: number }>(`SELECT id, status, created_at FROM outbox WHERE idempotency_key = $1 AND ${OPEN}`, [key]);
    const row = rows[0];
    return row && { id: row.id, status: row.status, createdAt: this.host(row.created_at) };
  }

  async outboxEntriesAmong(keys: string[]): Promise<Map<string, { id: number; status: OutboxStatus }>> {
    const { rows } = await this.query<{ key: string; id: number; status: OutboxStatus }>(
      "SELECT idempotency_key AS key, id, status FROM outbox WHERE status <> 'delivered' AND idempotency_key = ANY($1::text[]) ORDER BY id",
      [keys],
    );
    return new Map(rows.map((r) => [r.key, { id: r.id, status: r.status }]));
  }

  async hasSingleRecordsUnder(runKey: string): Promise<boolean> {
    const [from, to] = [`${runKey}/`, `${runKey}0`]; // '0' sorts right after '/' (keys use the "C" collation)
    const { rows } = await this.query(
      'SELECT EXISTS (SELECT 1 FROM deliveries WHERE idempotency_key >= $1 AND idempotency_key < $2) OR EXISTS (SELECT 1 FROM outbox WHERE idempotency_key >= $1 AND idempotency_key < $2) AS found',
      [from, to],
    );
    return rows[0].found === true;
  }

  async deliveredAmong(keys: string[], since: number): Promise<Set<string>> {
    const { rows } = await this.query<{ key: string }>('SELECT idempotency_key AS key FROM deliveries WHERE delivered_at >= $1 AND idempotency_key = ANY($2::text[])', [this.db(since), keys]);
    return new Set(rows.map((r) => r.key));
  }

  async usageByProvider(month: string): Promise<Record<string, number>> {
    const { rows } = await this.query<{ provider: string; emails: number }>('SELECT provider, SUM(emails)::bigint AS emails FROM usage WHERE month = $1 GROUP BY provider', [month]);
    return Object.fromEntries(rows.map((r) => [r.provider, r.emails]));
  }

  private async addUsage(query: Query, month: string, provider: string, type: string, emails: number): Promise<void> {
    // One of 16 rows per month, provider and type (see migration 3): concurrent deliveries rarely wait on each other.
    const shard = Math.floor(Math.random() * USAGE_SHARDS);
    await query('INSERT INTO usage (month, provider, type, shard, emails) VALUES ($1, $2, $3, $5, $4) ON CONFLICT (month, provider, type, shard) DO UPDATE SET emails = usage.emails + excluded.emails', [
      month,
      provider,
      type,
      emails,
      shard,
    ]);
  }

  // ── bulk batches in flight, run locks ──
  async markInFlight(runKey: string, digests: string[], owner: string, provider: string, now: number): Promise<number> {
    const { rows } = await this.query<{ id: number }>('INSERT INTO bulk_in_flight (run_key, owner, provider, digests, started_at) VALUES ($1, $2, $3, $4, $5) RETURNING id', [
      runKey,
      owner,
      provider,
      digests,
      this.db(now),
    ]);
    return rows[0].id;
  }

  async settleInFlight(batchId: number, stillOpen: string[] = []): Promise<void> {
    await this.settle(this.query, batchId, stillOpen);
  }

  private async settle(query: Query, batchId: number, stillOpen: string[]): Promise<void> {
    if (stillOpen.length === 0) await query('DELETE FROM bulk_in_flight WHERE id = $1', [batchId]);
    else await query('UPDATE bulk_in_flight SET digests = $1 WHERE id = $2', [stillOpen, batchId]);
  }

  async inFlightOf(runKey: string): Promise<Map<string, { batchId: number; provider: string }>> {
    const { rows } = await this.query<{ id: number; provider: string; digests: string[] }>('SELECT id, provider, digests FROM bulk_in_flight WHERE run_key = $1 ORDER BY id', [runKey]);
    const digests = new Map<string, { batchId: number; provider: string }>();
    for (const row of rows) for (const digest of row.digests) digests.set(digest, { batchId: row.id, provider: row.provider });
    return digests;
  }

  async queueInDoubt(items: { message: EmailMessage; chain: string[]; reason: string; batchId: number; digest: string }[], settled: { batchId: number; digest: string }[], now: number): Promise<number[]> {
    return this.atomically(async (query) => {
      const ids: number[] = [];
      for (const item of items) ids.push(await this.enqueueIn(query, item.message, item.chain, 'ambiguous', item.reason, [], now));
      const resolved = new Map<number, Set<string>>();
      for (const { batchId, digest } of [...items, ...settled]) (resolved.get(batchId) ?? resolved.set(batchId, new Set()).get(batchId)!).add(digest);
      for (const [batchId, done] of resolved) {
        const { rows } = await query<{ digests: string[] }>('SELECT digests FROM bulk_in_flight WHERE id = $1 FOR UPDATE', [batchId]);
        if (rows[0]) await this.settle(query, batchId, rows[0].digests.filter((digest) => !done.has(digest)));
      }
      return ids;
    });
  }

  async claimRunLock(runKey: string, owner: string, now: number, staleAfterMs: number, isOwnerAlive: (owner: string) => boolean): Promise<string | undefined> {
    const at = this.db(now);
    const taken = await this.query('INSERT INTO run_locks (run_key, owner, heartbeat_at) VALUES ($1, $2, $3) ON CONFLICT (run_key) DO NOTHING', [runKey, owner, at]);
    if (taken.rowCount === 1) return undefined;
    return this.atomically(async (query) => {
      const { rows } = await query<{ owner: string; heartbeat_at: number }>('SELECT owner, heartbeat_at FROM run_locks WHERE run_key = $1 FOR UPDATE', [runKey]);
      const row = rows[0];
      if (!row) {
        // Released in between: take it as if new (a racing run may insert first; then we look again).
        const inserted = await query('INSERT INTO run_locks (run_key, owner, heartbeat_at) VALUES ($1, $2, $3) ON CONFLICT (run_key) DO NOTHING', [runKey, owner, at]);
        if (inserted.rowCount === 1) return undefined;
        throw new RunAgain();
      }
      if (row.owner !== owner && row.heartbeat_at > at - staleAfterMs && isOwnerAlive(row.owner)) return row.owner;
      await query('UPDATE run_locks SET owner = $2, heartbeat_at = $3 WHERE run_key = $1', [runKey, owner, at]);
      return undefined;
    });
  }

  async heartbeatRunLock(runKey: string, owner: string, now: number): Promise<void> {
    await this.query('UPDATE run_locks SET heartbeat_at = $1 WHERE run_key = $2 AND owner = $3', [this.db(now), runKey, owner]);
  }

  async releaseRunLock(runKey: string, owner: string): Promise<void> {
    await this.query('DELETE FROM run_locks WHERE run_key = $1 AND owner = $2', [runKey, owner]);
  }

  // ── provider health: one circuit per provider for every process ──
  async healthOf(provider: string): Promise<HealthRecord | undefined> {
    const { rows } = await this.query<{
      provider: string;
      consecutive_failures: number;
      open_until: number | null;
      last_error: string | null;
      last_failure_at: number | null;
      last_success_at: number | null;
    }>('SELECT * FROM health WHERE provider = $1', [provider]);
    const row = rows[0];
    if (!row) return undefined;
    return {
      provider: row.provider,
      consecutiveFailures: row.consecutive_failures,
      openUntil: this.host(row.open_until) ?? undefined,
      lastError: row.last_error ?? undefined,
      lastFailureAt: this.host(row.last_failure_at) ?? undefined,
      lastSuccessAt: this.host(row.last_success_at) ?? undefined,
    };
  }

  async saveHealth(record: HealthRecord): Promise<void> {
    const stored = (time: number | undefined) => (time === undefined ? null : this.db(time));
    await this.query(
      `INSERT INTO health (provider, consecutive_failures, open_until, last_error, last_failure_at, last_success_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (provider) DO UPDATE SET consecutive_failures = excluded.consecutive_failures, open_until = excluded.open_until,
         last_error = excluded.last_error, last_failure_at = excluded.last_failure_at, last_success_at = excluded.last_success_at`,
      [
        record.provider,
        record.consecutiveFailures,
        stored(record.openUntil),
        record.lastError === undefined ? null : redactSecrets(record.lastError),
        stored(record.lastFailureAt),
        stored(record.lastSuccessAt),
      ],
    );
  }

  // ── outbox ──
  async enqueue(message: EmailMessage, chain: string[], status: EnqueueStatus, reason: string, attempts: Attempt[], now: number): Promise<number> {
    return this.atomically((query) => this.enqueueIn(query, message, chain, status, reason, attempts, now));
  }

  /** Inside a transaction: adds to the key's waiting entry, or stores a new one (a racing insert runs the transaction again). */
  private async enqueueIn(query: Query, message: EmailMessage, chain: string[], status: EnqueueStatus, reason: string, attempts: Attempt[], now: number): Promise<number> {
    const { rows } = await query<{ id: number; attempts_json: string }>(`SELECT id, attempts_json FROM outbox WHERE idempotency_key = $1 AND ${OPEN} FOR UPDATE`, [message.idempotencyKey]);
    const existing = rows[0];
    if (existing) {
      const all = [...JSON.parse(existing.attempts_json), ...attempts];
      await query('UPDATE outbox SET status = $1, reason = $2, attempts_json = $3, tries = tries + 1, updated_at = $4 WHERE id = $5', [status, redactSecrets(reason), attemptsJson(all), this.db(now), existing.id]);
      return existing.id;
    }
    const inserted = await query<{ id: number }>(
      `INSERT INTO outbox (idempotency_key, message_json, chain_json, status, reason, attempts_json, tries, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)
       ON CONFLICT (idempotency_key) WHERE ${OPEN} DO NOTHING RETURNING id`,
      [message.idempotencyKey, JSON.stringify(message), JSON.stringify(chain), status, redactSecrets(reason), attemptsJson(attempts), this.db(now)],
    );
    if (!inserted.rows[0]) throw new RunAgain();
    return inserted.rows[0].id;
  }

  async recordSendStart(message: EmailMessage, chain: string[], owner: string, now: number, leaseMs: number): Promise<number> {
    const at = this.db(now);
    const { rows } = await this.query<{ id: number }>(
      `INSERT INTO outbox (idempotency_key, message_json, chain_json, status, reason, attempts_json, tries, lease_owner, lease_until, created_at, updated_at)
       VALUES ($1, $2, $3, 'pending', $4, '[]', 0, $5, $6, $7, $7) RETURNING id`,
      [message.idempotencyKey, JSON.stringify(message), JSON.stringify(chain), `being sent by ${owner}`, owner, at + leaseMs, at],
    );
    return rows[0].id;
  }

  async forgetSendStart(id: number, owner: string): Promise<void> {
    await this.query('DELETE FROM outbox WHERE id = $1 AND lease_owner = $2', [id, owner]);
  }

  async getEntry(id: number): Promise<OutboxEntry | undefined> {
    const { rows } = await this.query<OutboxRow>('SELECT * FROM outbox WHERE id = $1', [id]);
    return rows[0] && this.toEntry(rows[0]);
  }

  async listEntries(includeClosed: boolean): Promise<OutboxEntry[]> {
    const sql = includeClosed ? 'SELECT * FROM outbox ORDER BY id' : "SELECT * FROM outbox WHERE status IN ('pending', 'ambiguous', 'expired') ORDER BY id";
    return (await this.query<OutboxRow>(sql)).rows.map((row) => this.toEntry(row));
  }

  /**
   * Claims an entry for one retry run. The row is locked for the claim (SKIP LOCKED: a row another
   * process is claiming right now is refused at once, not waited for); the lease then keeps it.
   */
  async claim(
    id: number,
    owner: string,
    now: number,
    leaseMs: number,
    options: { force: boolean; isOwnerAlive: (owner: string) => boolean; isRepeat: (delivery: Delivery, entry: OutboxEntry) => boolean },
  ): Promise<{ entry?: OutboxEntry; refused?: string; deliveredEarlier?: Delivery }> {
    const at = this.db(now);
    // Scanning a bulk run's batches can take a while: done before locking the row. Safe, because
    // a bulk run never sends a key that waits in the outbox.
    const key = (await this.query<{ idempotency_key: string }>('SELECT idempotency_key FROM outbox WHERE id = $1', [id])).rows[0]?.idempotency_key;
    if (key === undefined) return { refused: 'no such entry' };
    const inBulk = await this.findBulkDelivery(key);
    return this.atomically(async (query) => {
      const { rows } = await query<OutboxRow>('SELECT * FROM outbox WHERE id = $1 FOR UPDATE SKIP LOCKED', [id]);
      const row = rows[0];
      if (!row) return { refused: 'being retried by another process (claiming it right now)' };
      const leased = row.lease_owner !== null && row.lease_until !== null && row.lease_until > at && options.isOwnerAlive(row.lease_owner);
      if (leased) return { refused: `being retried by ${row.lease_owner}` };
      const delivered = (await this.findSingleDelivery(query, row.idempotency_key)) ?? inBulk;
      if (delivered && (row.status === 'pending' || row.status === 'ambiguous') && options.isRepeat(delivered, this.toEntry(row))) {
        await query(
          "UPDATE outbox SET status = 'delivered', provider = $1, message_id = $2, reason = 'delivered under the same idempotency key', lease_owner = NULL, lease_until = NULL, sending_since = NULL, updated_at = $3 WHERE id = $4",
          [delivered.provider, delivered.messageId, at, id],
        );
        return { deliveredEarlier: delivered };
      }
      if (row.lease_owner !== null && row.sending_since !== null) {
        // The previous claimant died mid-send: the provider may have the message.
        await query("UPDATE outbox SET status = 'ambiguous', reason = $1, lease_owner = NULL, lease_until = NULL, sending_since = NULL, updated_at = $2 WHERE id = $3", [
          `a retry (${row.lease_owner}) was interrupted while sending; it may have been delivered`,
          at,
          id,
        ]);
        row.status = 'ambiguous';
      }
      if (row.status === 'ambiguous' && !options.force) return { refused: 'outcome ambiguous (the provider may already have it); use --force to resend' };
      if (row.status !== 'pending' && row.status !== 'ambiguous') return { refused: `already ${row.status}` };
      await query('UPDATE outbox SET lease_owner = $1, lease_until = $2, sending_since = NULL, updated_at = $3 WHERE id = $4', [owner, at + leaseMs, at, id]);
      return { entry: this.toEntry({ ...row, lease_owner: owner }) };
    });
  }

  async markSending(id: number, owner: string, now: number): Promise<void> {
    await this.query('UPDATE outbox SET sending_since = $1 WHERE id = $2 AND lease_owner = $3', [this.db(now), id, owner]);
  }

  async clearSending(id: number, owner: string): Promise<void> {
    await this.query('UPDATE outbox SET sending_since = NULL WHERE id = $1 AND lease_owner = $2', [id, owner]);
  }

  async finishRetry(id: number, owner: string, update: { status: OutboxStatus; reason: string | null; attempts: Attempt[]; provider?: string; messageId?: string; nextAttemptAt?: number }, now: number): Promise<void> {
    await this.atomically(async (query) => {
      const { rows } = await query<{ attempts_json: string; status: OutboxStatus }>('SELECT attempts_json, status FROM outbox WHERE id = $1 AND lease_owner = $2 FOR UPDATE', [id, owner]);
      const row = rows[0];
      if (!row) return;
      const attempts = [...JSON.parse(row.attempts_json), ...update.attempts];
      const status = row.status === 'dropped' && update.status !== 'delivered' ? 'dropped' : update.status;
      await query(
        `UPDATE outbox SET status = $1, reason = $2, attempts_json = $3, tries = tries + 1, provider = COALESCE($4, provider), message_id = COALESCE($5, message_id),
           next_attempt_at = $6, lease_owner = NULL, lease_until = NULL, sending_since = NULL, updated_at = $7 WHERE id = $8`,
        [
          status,
          update.reason === null ? null : redactSecrets(update.reason),
          attemptsJson(attempts),
          update.provider ?? null,
          update.messageId ?? null,
          update.nextAttemptAt === undefined ? null : this.db(update.nextAttemptAt),
          this.db(now),
          id,
        ],
      );
    });
  }

  async dueEntries(now: number, limit: number): Promise<OutboxEntry[]> {
    const at = this.db(now);
    const { rows } = await this.query<OutboxRow>(
      "SELECT * FROM outbox WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= $1) AND (lease_until IS NULL OR lease_until <= $1) ORDER BY COALESCE(next_attempt_at, 0), id LIMIT $2",
      [at, limit],
    );
    return rows.map((row) => this.toEntry(row));
  }

  async expireEntries(createdBefore: number, reason: string, now: number): Promise<number[]> {
    const at = this.db(now);
    const { rows } = await this.query<{ id: number }>(
      `UPDATE outbox SET status = 'expired', reason = $1, lease_owner = NULL, lease_until = NULL, updated_at = $2
       WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND created_at < $3 AND (lease_until IS NULL OR lease_until <= $2) FOR UPDATE SKIP LOCKED) RETURNING id`,
      [reason, at, this.db(createdBefore)],
    );
    return rows.map((r) => r.id).sort((a, b) => a - b);
  }

  async drop(id: number, now: number, isOwnerAlive: (owner: string) => boolean): Promise<{ status?: OutboxStatus; busy?: string }> {
    const at = this.db(now);
    return this.atomically(async (query) => {
      const { rows } = await query<{ status: OutboxStatus; lease_owner: string | null; lease_until: number | null }>('SELECT status, lease_owner, lease_until FROM outbox WHERE id = $1 FOR UPDATE', [id]);
      const row = rows[0];
      if (!row) return {};
      if (row.lease_owner && row.lease_until && row.lease_until > at && isOwnerAlive(row.lease_owner)) return { status: row.status, busy: row.lease_owner };
      if (row.status !== 'pending' && row.status !== 'ambiguous') return { status: row.status };
      await query("UPDATE outbox SET status = 'dropped', updated_at = $1 WHERE id = $2", [at, id]);
      return { status: 'dropped' };
    });
  }

  // ── delivery events and suppressions ──
  async recordEvents(events: EventRecord[], now: number): Promise<StoredEvent[]> {
    return this.atomically(async (query) => {
      const stored: StoredEvent[] = [];
      for (const event of events) {
        let idempotencyKey = event.idempotencyKey;
        if (idempotencyKey === null && event.providerMessageId !== null) {
          const { rows } = await query<{ idempotency_key: string }>('SELECT idempotency_key FROM deliveries WHERE message_id = $1 AND provider = $2 LIMIT 1', [event.providerMessageId, event.provider]);
          idempotencyKey = rows[0]?.idempotency_key ?? null;
        }
        const recipient = event.recipient.toLowerCase();
        const { rows } = await query<{ id: number }>(
          `INSERT INTO events (event_key, type, bounce, provider, provider_message_id, idempotency_key, recipient, occurred_at, received_at, raw_json)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (event_key) DO NOTHING RETURNING id`,
          [event.eventKey, event.type, event.bounce ?? null, event.provider, event.providerMessageId, idempotencyKey, recipient, event.occurredAt, this.db(now), redactSecrets(event.raw)],
        );
        if (rows[0]) stored.push({ ...event, idempotencyKey, recipient, id: rows[0].id, receivedAt: now });
      }
      return stored;
    });
  }

  async listEvents(filter: { type?: StoredEventType; since?: number; to?: string; limit: number }): Promise<StoredEvent[]> {
    const { rows } = await this.query<EventRow>(
      `SELECT * FROM events WHERE ($1::text IS NULL OR type = $1) AND ($2::bigint IS NULL OR occurred_at >= $2) AND ($3::text IS NULL OR recipient = $3)
       ORDER BY occurred_at DESC, id DESC LIMIT $4`,
      [filter.type ?? null, filter.since ?? null, filter.to?.toLowerCase() ?? null, filter.limit],
    );
    return rows.map((row) => ({ ...toEvent(row), receivedAt: this.host(row.received_at) }));
  }

  async pruneEvents(receivedBefore: number): Promise<number> {
    return (await this.query('DELETE FROM events WHERE received_at < $1', [this.db(receivedBefore)])).rowCount ?? 0;
  }

  async addSuppressions(suppressions: Suppression[]): Promise<number> {
    if (suppressions.length === 0) return 0;
    const { rowCount } = await this.query(
      `INSERT INTO suppressions (address, scope, reason, source, created_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) ON CONFLICT (address, scope) DO NOTHING`,
      [
        suppressions.map((s) => s.address.toLowerCase()),
        suppressions.map((s) => s.scope.toLowerCase()),
        suppressions.map((s) => s.reason),
        suppressions.map((s) => s.source),
        suppressions.map((s) => s.createdAt),
      ],
    );
    return rowCount ?? 0;
  }

  async saveBulkJob(id: string, job: string, owner: string, leaseUntil: number, now: number): Promise<void> {
    await this.query('INSERT INTO bulk_jobs (id, job_json, owner, lease_until, created_at) VALUES ($1, $2, $3, $4, $5)', [id, job, owner, this.db(leaseUntil), this.db(now)]);
  }

  async renewBulkJobs(owner: string, ids: string[], leaseUntil: number): Promise<void> {
    await this.query('UPDATE bulk_jobs SET lease_until = $1 WHERE owner = $2 AND id = ANY($3::text[])', [this.db(leaseUntil), owner, ids]);
  }

  async claimBulkJob(owner: string, leaseUntil: number, now: number, isOwnerAlive: (owner: string) => boolean): Promise<{ id: string; job: string; createdAt: number } | undefined> {
    return this.atomically(async (query) => {
      // Leases are timed on the database's clock, as the outbox's are. SKIP LOCKED: a run another
      // server is claiming right now is not waited for (two servers claim two runs). The runs are
      // read without their lists (a list can be megabytes): a store holds a few at most.
      const { rows } = await query<{ id: string; owner: string | null; lapsed: boolean }>(
        'SELECT id, owner, (lease_until IS NULL OR lease_until <= $1) AS lapsed FROM bulk_jobs ORDER BY created_at, id FOR UPDATE SKIP LOCKED',
        [this.db(now)],
      );
      const free = rows.find((run) => run.lapsed || (run.owner !== null && !isOwnerAlive(run.owner)));
      if (!free) return undefined;
      const claimed = await query<{ job_json: string; created_at: number }>('UPDATE bulk_jobs SET owner = $1, lease_until = $2 WHERE id = $3 RETURNING job_json, created_at', [owner, this.db(leaseUntil), free.id]);
      return { id: free.id, job: claimed.rows[0].job_json, createdAt: this.host(claimed.rows[0].created_at) };
    });
  }

  async releaseBulkJob(id: string, owner: string, retryAt?: number): Promise<void> {
    await this.query('UPDATE bulk_jobs SET owner = NULL, lease_until = $1 WHERE id = $2 AND owner = $3', [retryAt === undefined ? null : this.db(retryAt), id, owner]);
  }

  async finishBulkJob(id: string, owner: string): Promise<void> {
    await this.query('DELETE FROM bulk_jobs WHERE id = $1 AND owner = $2', [id, owner]);
  }

  async claimWebhookToken(providerType: string, token: string, bodyDigest: string, expiresAt: number, now: number): Promise<boolean> {
    return this.atomically(async (query) => {
      // Expiries on the database's clock, as leases are: hosts whose clocks differ agree on them.
      await query('DELETE FROM webhook_tokens WHERE expires_at <= $1', [this.db(now)]);
      // The first claim inserts; a concurrent one waits on the row, then reads its digest.
      const { rowCount } = await query('INSERT INTO webhook_tokens (provider, token, body_digest, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (provider, token) DO NOTHING', [providerType, token, bodyDigest, this.db(expiresAt)]);
      if (rowCount === 1) return true;
      const { rows } = await query<{ body_digest: string }>('SELECT body_digest FROM webhook_tokens WHERE provider = $1 AND token = $2', [providerType, token]);
      return rows[0]?.body_digest === bodyDigest;
    });
  }

  async removeSuppression(address: string, scope?: string): Promise<number> {
    const result =
      scope === undefined
        ? await this.query('DELETE FROM suppressions WHERE address = $1', [address.toLowerCase()])
        : await this.query('DELETE FROM suppressions WHERE address = $1 AND scope = $2', [address.toLowerCase(), scope.toLowerCase()]);
    return result.rowCount ?? 0;
  }

  async listSuppressions(): Promise<Suppression[]> {
    return (await this.query<SuppressionRow>('SELECT * FROM suppressions ORDER BY created_at, address, scope')).rows.map(toSuppression);
  }

  async suppressedAmong(addresses: string[], sendingDomain: string): Promise<Map<string, Suppression>> {
    const { rows } = await this.query<SuppressionRow>("SELECT * FROM suppressions WHERE scope IN ('*', $1) AND address = ANY($2::text[]) ORDER BY scope = '*'", [
      sendingDomain.toLowerCase(),
      addresses.map((a) => a.toLowerCase()),
    ]);
    // A global record wins over a domain's (sorted last, so set last).
    return new Map(rows.map((row) => [row.address, toSuppression(row)]));
  }

  // ── API keys ──
  async createKey(name: string, keyHash: string, now: number): Promise<boolean> {
    const result = await this.query('INSERT INTO api_keys (name, key_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [name, keyHash, this.db(now)]);
    return result.rowCount === 1;
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return (await this.query<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, name')).rows.map((row) => this.toKey(row));
  }

  async revokeKey(name: string, now: number): Promise<boolean> {
    return (await this.query('UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL', [this.db(now), name])).rowCount === 1;
  }

  async noteKeyUsed(name: string, at: number): Promise<void> {
    await this.query('UPDATE api_keys SET last_used_at = $1 WHERE name = $2 AND (last_used_at IS NULL OR last_used_at < $1)', [this.db(at), name]);
  }

  async findKeyByHash(keyHash: string): Promise<(ApiKeyRecord & { keyHash: string }) | undefined> {
    const { rows } = await this.query<KeyRow>('SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [keyHash]);
    return rows[0] && { ...this.toKey(rows[0]), keyHash: rows[0].key_hash };
  }

  // ── send-side rate limits: one counter per provider and window length (migration 4) ──
  async takeRate(provider: string, limits: RateLimit[], want: number, atLeast: number, now: number): Promise<{ granted: number; windows: WindowState[] }> {
    // Windows are aligned on the database's clock, so every host agrees on when one begins.
    const at = this.db(now);
    const { rows } = await this.query<{ o_granted: number; o_starts: string[]; o_used: string[] }>('SELECT o_granted, o_starts, o_used FROM take_rate($1, $2, $3, $4, $5, $6)', [
      provider,
      limits.map((l) => l.windowMs),
      limits.map((l) => l.count),
      at,
      want,
      atLeast,
    ]);
    const [row] = rows;
    const windows = limits.map((limit, i) => windowState({ start: Number(row.o_starts[i]), used: Number(row.o_used[i]) }, limit.windowMs, at));
    return { granted: row.o_granted, windows };
  }

  async returnRate(provider: string, limits: RateLimit[], count: number, takenAt: number): Promise<void> {
    if (count <= 0 || limits.length === 0) return;
    const at = this.db(takenAt);
    // Each window gets back what the take charged it: at most its size (chargeOf).
    await this.query(
      'UPDATE rate_windows AS r SET used = GREATEST(0, r.used - LEAST($1, t.count)) FROM unnest($3::bigint[], $5::bigint[]) AS t(window_ms, count) WHERE r.provider = $2 AND r.window_ms = t.window_ms AND r.window_start = $4 - $4 % r.window_ms',
      [count, provider, limits.map((l) => l.windowMs), at, limits.map((l) => l.count)],
    );
  }

  async rateWindows(provider: string, limits: RateLimit[], now: number): Promise<WindowState[]> {
    const at = this.db(now);
    const { rows } = await this.query<{ window_ms: number; start: number; used: number }>('SELECT window_ms, window_start AS start, used FROM rate_windows WHERE provider = $1', [provider]);
    return limits.map((limit) => {
      const row = rows.find((r) => r.window_ms === limit.windowMs);
      const stored: StoredWindow | undefined = row && { start: row.start, used: row.used };
      return windowState(currentWindow(stored, limit.windowMs, at), limit.windowMs, at);
    });
  }
}

/** Attempts as stored: provider errors may echo a credential, so secrets are masked before writing. */
function attemptsJson(attempts: Attempt[]): string {
  return redactSecrets(JSON.stringify(attempts));
}
