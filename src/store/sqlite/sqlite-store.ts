import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import type { Attempt } from '../../core/chain-runner.js';
import type { HealthRecord } from '../../core/health.js';
import { splitBulkRecipientKey } from '../../core/bulk-key.js';
import { explicitContentKey, type EmailMessage } from '../../core/message.js';
import { chargeOf, currentWindow, grantable, windowState, type RateLimit, type StoredWindow, type WindowState } from '../../core/rate-limit.js';
import { redactSecrets } from '../../core/secrets.js';
import { monthKey, type AcceptedBatch, type ApiKeyRecord, type Delivery, type OutboxEntry, type EventRecord, type StoredEventType, type OutboxStatus, type SchemaReport, type Store, type StoredEvent, type Suppression } from '../ports.js';
import { toEntry, toEvent, toKey, toSuppression, type EventRow, type KeyRow, type OutboxRow, type SuppressionRow } from '../rows.js';
import { openDatabase, withBusyRetry } from './database.js';
import { GroupCommit } from './group-commit.js';
import { BackgroundSync } from './background-sync.js';

/**
 * The embedded backend: every repository of ports.ts over one SQLite file (better-sqlite3 is
 * synchronous; the methods are async to keep the contract a networked database can meet).
 */
export class SqliteStore implements Store {
  private readonly statements = new Map<string, Statement>();
  /** The small writes of single sends, committed together (see group-commit.ts). */
  private readonly group = new GroupCommit((work) => this.atomically(work));
  /** The write-ahead log, written out to disk as bulk runs record their batches (see background-sync.ts); none in memory. */
  private readonly logSync?: BackgroundSync;

  private constructor(
    private readonly db: SqliteDatabase,
    /** The schema version, and what opening this store migrated. */
    readonly schema: SchemaReport,
  ) {
    // The log sits beside the file SQLite opened (a symbolic link followed), which it names here
    // as an absolute path; a temporary or in-memory database has none.
    const file = (db.pragma('database_list') as { name: string; file: string }[]).find((entry) => entry.name === 'main')?.file;
    if (file) this.logSync = new BackgroundSync(`${file}-wal`);
  }

  /** Syncs of the write-ahead log completed in the background (for tests and diagnostics). */
  get logSyncs(): number {
    return this.logSync?.completed ?? 0;
  }

  /** Prepared once per text: preparing is costly, and each statement holds native memory until GC. */
  private sql(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  static async open(filePath: string): Promise<SqliteStore> {
    const { db, schema } = await openDatabase(filePath);
    return new SqliteStore(db, schema);
  }

  /**
   * Runs work as one write transaction, taking the write lock at BEGIN (IMMEDIATE): a transaction
   * that reads first and writes later would otherwise fail at once with SQLITE_BUSY when another
   * process wrote in between, instead of waiting for busy_timeout.
   */
  private atomically<T>(work: () => T): T {
    return withBusyRetry(() => this.db.transaction(work).immediate());
  }

  /**
   * The checkpoint that closing makes, made now (~20–40 ms after 100,000 bulk recipients on the VM
   * of docs/benchmarks.md, once the log is on disk: see logSync). PASSIVE: it waits for no one,
   * copies what it can, and another process's reader only leaves more for close() to copy.
   */
  async prepareToClose(): Promise<void> {
    try {
      this.group.flush();
      await this.logSync?.settled();
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Left for close(), which reports what goes wrong then.
    }
  }

  async close(): Promise<void> {
    this.group.flush();
    await this.logSync?.settled();
    this.db.close();
  }

  // ── delivery ledger: "this idempotency key was delivered" ──
  async findDelivery(key: string): Promise<Delivery | undefined> {
    return this.findSingleDelivery(key) ?? this.findBulkDelivery(key);
  }

  private findSingleDelivery(key: string): Delivery | undefined {
    const row = this.sql('SELECT provider, message_id, delivered_at, content_key FROM deliveries WHERE idempotency_key = ?').get(key) as
      | { provider: string; message_id: string; delivered_at: number; content_key: string | null }
      | undefined;
    return row && { provider: row.provider, messageId: row.message_id, deliveredAt: row.delivered_at, ...(row.content_key ? { contentKey: row.content_key } : {}) };
  }

  /** A recipient key of a bulk run ("<message key>/<recipient>") in that run's delivered batches. */
  private findBulkDelivery(key: string): Delivery | undefined {
    const parts = splitBulkRecipientKey(key);
    if (!parts) return undefined;
    const row = this.sql(
      'SELECT b.provider, b.message_ids_json, b.delivered_at, k.key AS position FROM bulk_deliveries b, json_each(b.keys_json) k WHERE b.run_key = ? AND k.value IN (?, ?) LIMIT 1',
    ).get(parts.messageKey, parts.digest, key) as { provider: string; message_ids_json: string; delivered_at: number; position: number } | undefined;
    if (!row) return undefined;
    const ids = JSON.parse(row.message_ids_json) as string | string[];
    return { provider: row.provider, messageId: Array.isArray(ids) ? ids[row.position] : ids, deliveredAt: row.delivered_at };
  }

  /**
   * Visits the recipient digest of every recipient delivered by the bulk runs of one message (see
   * bulkRecipientKey) since a time, one batch row at a time.
   */
  async forEachBulkDeliveredDigest(runKey: string, since: number, visit: (digest: string) => void): Promise<void> {
    for (const row of this.sql('SELECT keys_json FROM bulk_deliveries WHERE run_key = ? AND delivered_at >= ?').iterate(runKey, since) as IterableIterator<{ keys_json: string }>) {
      for (const stored of JSON.parse(row.keys_json) as string[]) visit(digestOf(stored));
    }
  }

  /** Records one accepted bulk batch: one row, however many recipients (by digest, id for id). */
  async recordBulkBatches(runKey: string, type: string, batches: AcceptedBatch[], now: number, contentKey: string | null = null): Promise<void> {
    this.atomically(() => {
      for (const batch of batches) {
        this.recordBulkDelivery(runKey, batch.provider, type, batch.digests, batch.messageIds, now, contentKey);
        this.settleInFlightNow(batch.batchId, batch.stillOpen);
      }
    });
    this.logSync?.start();
  }

  private recordBulkDelivery(runKey: string, provider: string, type: string, digests: string[], messageIds: string[], now: number, contentKey: string | null): void {
    if (digests.length === 0) return;
    // Mailgun answers one id for the whole call: store it once.
    const storedIds = messageIds.every((id) => id === messageIds[0]) ? messageIds[0] : messageIds;
    this.sql('INSERT INTO bulk_deliveries (run_key, provider, keys_json, message_ids_json, delivered_at, content_key) VALUES (?, ?, ?, ?, ?, ?)').run(runKey, provider, JSON.stringify(digests), JSON.stringify(storedIds), now, contentKey);
    this.addUsage(monthKey(now), provider, type, digests.length);
  }

  async otherBulkContent(runKey: string, contentKey: string, since: number): Promise<{ provider: string; deliveredAt: number } | undefined> {
    const row = this.sql('SELECT provider, delivered_at FROM bulk_deliveries WHERE run_key = ? AND delivered_at >= ? AND content_key IS NOT NULL AND content_key <> ? ORDER BY delivered_at LIMIT 1').get(runKey, since, contentKey) as
      | { provider: string; delivered_at: number }
      | undefined;
    return row && { provider: row.provider, deliveredAt: row.delivered_at };
  }

  /** Records a delivery, counts it in the usage ledger, and closes any outbox entry of that key — atomically. */
  async recordDelivery(message: EmailMessage, provider: string, messageId: string, now: number, emails: number): Promise<void> {
    return this.group.write(() => {
      // A key sent again once its idempotency window had passed: the ledger keeps the latest delivery.
      this
        .sql(
          'INSERT INTO deliveries (idempotency_key, provider, message_id, delivered_at, content_key) VALUES (?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO UPDATE SET provider = excluded.provider, message_id = excluded.message_id, delivered_at = excluded.delivered_at, content_key = excluded.content_key',
        )
        .run(message.idempotencyKey, provider, messageId, now, explicitContentKey(message));
      this.closeOpenEntry(message.idempotencyKey, provider, messageId, now);
      this.addUsage(monthKey(now), provider, message.type, emails);
    });
  }

  /** A waiting outbox entry of a key that has now been delivered is closed as delivered. */
  private closeOpenEntry(key: string, provider: string, messageId: string, now: number): void {
    this.sql("UPDATE outbox SET status = 'delivered', provider = ?, message_id = ?, reason = 'delivered by a later send', updated_at = ? WHERE idempotency_key = ? AND status IN ('pending', 'ambiguous') AND lease_owner IS NULL")
      .run(provider, messageId, now, key);
  }

  /** The waiting outbox entry of a key, if any. */
  async openEntryFor(key: string): Promise<{ id: number; status: 'pending' | 'ambiguous'; createdAt: number } | undefined> {
    const row = this.sql("SELECT id, status, created_at FROM outbox WHERE idempotency_key = ? AND status IN ('pending', 'ambiguous')").get(key) as
      | { id: number; status: 'pending' | 'ambiguous'; created_at: number }
      | undefined;
    return row && { id: row.id, status: row.status, createdAt: row.created_at };
  }

  /** Of these keys, those with an outbox entry not delivered (one query for a whole batch): key → entry. */
  async outboxEntriesAmong(keys: string[]): Promise<Map<string, { id: number; status: OutboxStatus }>> {
    const rows = this.sql("SELECT idempotency_key AS key, id, status FROM outbox WHERE status <> 'delivered' AND idempotency_key IN (SELECT value FROM json_each(?)) ORDER BY id").all(
      JSON.stringify(keys),
    ) as { key: string; id: number; status: OutboxStatus }[];
    return new Map(rows.map((r) => [r.key, { id: r.id, status: r.status }]));
  }

  /**
   * Whether any single-message record (delivery or outbox entry) has a key under this bulk
   * message's key: when none has, a run need not look its recipients up one batch at a time.
   */
  async hasSingleRecordsUnder(runKey: string): Promise<boolean> {
    const from = `${runKey}/`;
    const to = `${runKey}0`; // '0' sorts right after '/'
    const delivered = this.sql('SELECT 1 FROM deliveries WHERE idempotency_key >= ? AND idempotency_key < ? LIMIT 1').get(from, to);
    const queued = this.sql('SELECT 1 FROM outbox WHERE idempotency_key >= ? AND idempotency_key < ? LIMIT 1').get(from, to);
    return Boolean(delivered || queued);
  }

  /** Which of these keys were delivered since a time (one query for a whole batch). */
  async deliveredAmong(keys: string[], since: number): Promise<Set<string>> {
    const rows = this.sql('SELECT idempotency_key AS key FROM deliveries WHERE delivered_at >= ? AND idempotency_key IN (SELECT value FROM json_each(?))').all(since, JSON.stringify(keys)) as { key: string }[];
    return new Set(rows.map((r) => r.key));
  }

  // ── bulk batches in flight ──
  /**
   * Notes that these recipients of a bulk message (by digest) are being handed to a provider;
   * returns the batch id.
   */
  async markInFlight(runKey: string, digests: string[], owner: string, provider: string, now: number): Promise<number> {
    const result = this.sql('INSERT INTO bulk_in_flight (run_key, owner, provider, keys_json, started_at) VALUES (?, ?, ?, ?, ?)').run(runKey, owner, provider, JSON.stringify(digests), now);
    return Number(result.lastInsertRowid);
  }

  /** Narrows a batch to the recipients (digests) still unsettled, or removes it when none are left. */
  async settleInFlight(batchId: number, stillOpen: string[] = []): Promise<void> {
    this.settleInFlightNow(batchId, stillOpen);
  }

  private settleInFlightNow(batchId: number, stillOpen: string[]): void {
    if (stillOpen.length === 0) this.sql('DELETE FROM bulk_in_flight WHERE id = ?').run(batchId);
    else this.sql('UPDATE bulk_in_flight SET keys_json = ? WHERE id = ?').run(JSON.stringify(stillOpen), batchId);
  }

  /** The batches of one bulk message that earlier runs left in flight: recipient digest → batch. */
  async inFlightOf(runKey: string): Promise<Map<string, { batchId: number; provider: string }>> {
    const rows = this.sql('SELECT id, provider, keys_json FROM bulk_in_flight WHERE run_key = ?').all(runKey) as { id: number; provider: string; keys_json: string }[];
    const digests = new Map<string, { batchId: number; provider: string }>();
    for (const row of rows) for (const stored of JSON.parse(row.keys_json) as string[]) digests.set(digestOf(stored), { batchId: row.id, provider: row.provider });
    return digests;
  }

  /** Removes recipients whose fate has been recorded elsewhere (outbox, ledger) from their in-flight batch. */
  async queueInDoubt(items: { message: EmailMessage; chain: string[]; reason: string; batchId: number; digest: string }[], settled: { batchId: number; digest: string }[], now: number): Promise<number[]> {
    return this.atomically(() => {
      const ids = items.map((item) => this.enqueueNow(item.message, item.chain, 'ambiguous', item.reason, [], now));
      const resolved = new Map<number, Set<string>>();
      for (const { batchId, digest } of [...items, ...settled]) (resolved.get(batchId) ?? resolved.set(batchId, new Set()).get(batchId)!).add(digest);
      for (const [batchId, digests] of resolved) this.resolveInFlight(batchId, digests);
      return ids;
    });
  }

  private resolveInFlight(batchId: number, resolvedDigests: Set<string>): void {
    const row = this.sql('SELECT keys_json FROM bulk_in_flight WHERE id = ?').get(batchId) as { keys_json: string } | undefined;
    if (!row) return;
    const digests = (JSON.parse(row.keys_json) as string[]).map(digestOf);
    this.settleInFlightNow(batchId, digests.filter((digest) => !resolvedDigests.has(digest)));
  }

  /** Takes the run of a message (a bulk run, or one send): returns the live holder when another run has it. */
  async claimRunLock(runKey: string, owner: string, now: number, staleAfterMs: number, isOwnerAlive: (owner: string) => boolean): Promise<string | undefined> {
    return this.group.write(() => {
      const row = this.sql('SELECT owner, heartbeat_at FROM bulk_run_locks WHERE run_key = ?').get(runKey) as { owner: string; heartbeat_at: number } | undefined;
      if (row && row.owner !== owner && row.heartbeat_at > now - staleAfterMs && isOwnerAlive(row.owner)) return row.owner;
      this.sql('INSERT OR REPLACE INTO bulk_run_locks (run_key, owner, heartbeat_at) VALUES (?, ?, ?)').run(runKey, owner, now);
      return undefined;
    });
  }

  async heartbeatRunLock(runKey: string, owner: string, now: number): Promise<void> {
    this.sql('UPDATE bulk_run_locks SET heartbeat_at = ? WHERE run_key = ? AND owner = ?').run(now, runKey, owner);
  }

  async releaseRunLock(runKey: string, owner: string): Promise<void> {
    await this.group.write(() => this.sql('DELETE FROM bulk_run_locks WHERE run_key = ? AND owner = ?').run(runKey, owner));
  }

  // ── usage ledger ──
  private addUsage(month: string, provider: string, type: string, emails: number): void {
    this
      .sql('INSERT INTO usage (month, provider, type, emails) VALUES (?, ?, ?, ?) ON CONFLICT (month, provider, type) DO UPDATE SET emails = emails + excluded.emails')
      .run(month, provider, type, emails);
  }

  async usageByProvider(month: string): Promise<Record<string, number>> {
    const rows = this.sql('SELECT provider, SUM(emails) AS emails FROM usage WHERE month = ? GROUP BY provider').all(month) as { provider: string; emails: number }[];
    return Object.fromEntries(rows.map((r) => [r.provider, r.emails]));
  }

  // ── provider health ──
  async healthOf(provider: string): Promise<HealthRecord | undefined> {
    const row = this.sql('SELECT * FROM health WHERE provider = ?').get(provider) as
      | { provider: string; consecutive_failures: number; open_until: number | null; last_error: string | null; last_failure_at: number | null; last_success_at: number | null }
      | undefined;
    if (!row) return undefined;
    return {
      provider: row.provider,
      consecutiveFailures: row.consecutive_failures,
      openUntil: row.open_until ?? undefined,
      lastError: row.last_error ?? undefined,
      lastFailureAt: row.last_failure_at ?? undefined,
      lastSuccessAt: row.last_success_at ?? undefined,
    };
  }

  async saveHealth(record: HealthRecord): Promise<void> {
    this
      .sql(
        `INSERT INTO health (provider, consecutive_failures, open_until, last_error, last_failure_at, last_success_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (provider) DO UPDATE SET consecutive_failures = excluded.consecutive_failures, open_until = excluded.open_until,
           last_error = excluded.last_error, last_failure_at = excluded.last_failure_at, last_success_at = excluded.last_success_at`,
      )
      .run(record.provider, record.consecutiveFailures, record.openUntil ?? null, record.lastError === undefined ? null : redactSecrets(record.lastError), record.lastFailureAt ?? null, record.lastSuccessAt ?? null);
  }

  // ── outbox ──
  /** Stores an undelivered message; a message whose key is already waiting keeps its entry (returned). */
  async enqueue(message: EmailMessage, chain: string[], status: 'pending' | 'ambiguous', reason: string, attempts: Attempt[], now: number): Promise<number> {
    return this.enqueueNow(message, chain, status, reason, attempts, now);
  }

  private enqueueNow(message: EmailMessage, chain: string[], status: 'pending' | 'ambiguous', reason: string, attempts: Attempt[], now: number): number {
    return this.atomically(() => {
      const existing = this.sql("SELECT id, attempts_json FROM outbox WHERE idempotency_key = ? AND status IN ('pending', 'ambiguous')").get(message.idempotencyKey) as
        | { id: number; attempts_json: string }
        | undefined;
      if (existing) {
        const all = [...JSON.parse(existing.attempts_json), ...attempts];
        this.sql('UPDATE outbox SET status = ?, reason = ?, attempts_json = ?, tries = tries + 1, updated_at = ? WHERE id = ?').run(status, redactSecrets(reason), attemptsJson(all), now, existing.id);
        return existing.id;
      }
      const result = this
        .sql('INSERT INTO outbox (idempotency_key, message_json, chain_json, status, reason, attempts_json, tries, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)')
        .run(message.idempotencyKey, JSON.stringify(message), JSON.stringify(chain), status, redactSecrets(reason), attemptsJson(attempts), now, now);
      return Number(result.lastInsertRowid);
    });
  }

  /**
   * Records a single send before any provider is called: an outbox entry leased to this run and
   * marked as sending. If the run dies, the next claim finds a dead lease holder that was sending
   * and makes the entry ambiguous (it may have been delivered), so no rerun resends it blindly.
   */
  async recordSendStart(message: EmailMessage, chain: string[], owner: string, now: number, leaseMs: number): Promise<number> {
    const messageJson = JSON.stringify(message);
    const result = await this.group.write(() =>
      this
        .sql(
          "INSERT INTO outbox (idempotency_key, message_json, chain_json, status, reason, attempts_json, tries, lease_owner, lease_until, sending_since, created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, '[]', 0, ?, ?, ?, ?, ?)",
        )
        .run(message.idempotencyKey, messageJson, JSON.stringify(chain), `being sent by ${owner}`, owner, now + leaseMs, null, now, now),
    );
    return Number(result.lastInsertRowid);
  }

  /** The send recorded by recordSendStart ended with an answer (delivered or rejected): its entry goes. */
  async forgetSendStart(id: number, owner: string): Promise<void> {
    await this.group.write(() => this.sql('DELETE FROM outbox WHERE id = ? AND lease_owner = ?').run(id, owner));
  }

  async getEntry(id: number): Promise<OutboxEntry | undefined> {
    const row = this.sql('SELECT * FROM outbox WHERE id = ?').get(id) as OutboxRow | undefined;
    return row && toEntry(row);
  }

  async listEntries(includeClosed: boolean): Promise<OutboxEntry[]> {
    const sql = includeClosed ? 'SELECT * FROM outbox ORDER BY id' : "SELECT * FROM outbox WHERE status IN ('pending', 'ambiguous', 'expired') ORDER BY id";
    return (this.sql(sql).all() as OutboxRow[]).map((row) => toEntry(row));
  }

  /**
   * Claims an entry for one retry run, in a write transaction, so two runs never send it both.
   * A lease held by a process that no longer exists (killed) is taken over; if that process was
   * in the middle of sending, the outcome is unknown and the entry becomes ambiguous instead.
   */
  async claim(
    id: number,
    owner: string,
    now: number,
    leaseMs: number,
    options: { force: boolean; isOwnerAlive: (owner: string) => boolean; isRepeat: (delivery: Delivery, entry: OutboxEntry) => boolean },
  ): Promise<{ entry?: OutboxEntry; refused?: string; deliveredEarlier?: Delivery }> {
    // Scanning a bulk run's batches can take a while: done before taking the write lock. Safe,
    // because a bulk run never sends a key that waits in the outbox.
    const key = (this.sql('SELECT idempotency_key FROM outbox WHERE id = ?').get(id) as { idempotency_key: string } | undefined)?.idempotency_key;
    const inBulk = key ? this.findBulkDelivery(key) : undefined;
    return this.atomically(() => {
      const row = this.sql('SELECT * FROM outbox WHERE id = ?').get(id) as OutboxRow | undefined;
      if (!row) return { refused: 'no such entry' };
      const leased = row.lease_owner !== null && row.lease_until !== null && row.lease_until > now && options.isOwnerAlive(row.lease_owner);
      if (leased) return { refused: `being retried by ${row.lease_owner}` };
      const delivered = this.findSingleDelivery(row.idempotency_key) ?? inBulk;
      if (delivered && (row.status === 'pending' || row.status === 'ambiguous') && options.isRepeat(delivered, toEntry(row))) {
        this.sql("UPDATE outbox SET status = 'delivered', provider = ?, message_id = ?, reason = 'delivered under the same idempotency key', lease_owner = NULL, lease_until = NULL, sending_since = NULL, updated_at = ? WHERE id = ?")
          .run(delivered.provider, delivered.messageId, now, id);
        return { deliveredEarlier: delivered };
      }
      if (row.lease_owner !== null && row.sending_since !== null) {
        // The previous claimant died mid-send: the provider may have the message.
        this
          .sql("UPDATE outbox SET status = 'ambiguous', reason = ?, lease_owner = NULL, lease_until = NULL, sending_since = NULL, updated_at = ? WHERE id = ?")
          .run(`a retry (${row.lease_owner}) was interrupted while sending; it may have been delivered`, now, id);
        row.status = 'ambiguous';
      }
      if (row.status === 'ambiguous' && !options.force) return { refused: 'outcome ambiguous (the provider may already have it); use --force to resend' };
      if (row.status !== 'pending' && row.status !== 'ambiguous') return { refused: `already ${row.status}` };
      this.sql('UPDATE outbox SET lease_owner = ?, lease_until = ?, sending_since = NULL, updated_at = ? WHERE id = ?').run(owner, now + leaseMs, now, id);
      return { entry: toEntry({ ...row, lease_owner: owner }) };
    });
  }

  /** Marks that a claimed entry is being handed to a provider (so a crash now means "ambiguous"). */
  async clearSending(id: number, owner: string): Promise<void> {
    await this.group.write(() => this.sql('UPDATE outbox SET sending_since = NULL WHERE id = ? AND lease_owner = ?').run(id, owner));
  }

  async markSending(id: number, owner: string, now: number): Promise<void> {
    await this.group.write(() => this.sql('UPDATE outbox SET sending_since = ? WHERE id = ? AND lease_owner = ?').run(now, id, owner));
  }

  /** Ends a retry: records its attempts and new status, and releases the lease. */
  async finishRetry(id: number, owner: string, update: { status: OutboxStatus; reason: string | null; attempts: Attempt[]; provider?: string; messageId?: string; nextAttemptAt?: number }, now: number): Promise<void> {
    this.atomically(() => {
      const row = this.sql('SELECT attempts_json, status FROM outbox WHERE id = ? AND lease_owner = ?').get(id, owner) as { attempts_json: string; status: OutboxStatus } | undefined;
      if (!row) return;
      const attempts = [...JSON.parse(row.attempts_json), ...update.attempts];
      const status = row.status === 'dropped' && update.status !== 'delivered' ? 'dropped' : update.status;
      this
        .sql(
          'UPDATE outbox SET status = ?, reason = ?, attempts_json = ?, tries = tries + 1, provider = COALESCE(?, provider), message_id = COALESCE(?, message_id), next_attempt_at = ?, lease_owner = NULL, lease_until = NULL, sending_since = NULL, updated_at = ? WHERE id = ?',
        )
        .run(status, update.reason === null ? null : redactSecrets(update.reason), attemptsJson(attempts), update.provider ?? null, update.messageId ?? null, update.nextAttemptAt ?? null, now, id);
    });
  }

  async dueEntries(now: number, limit: number): Promise<OutboxEntry[]> {
    const rows = this
      .sql("SELECT * FROM outbox WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND (lease_until IS NULL OR lease_until <= ?) ORDER BY COALESCE(next_attempt_at, 0), id LIMIT ?")
      .all(now, now, limit) as OutboxRow[];
    return rows.map((row) => toEntry(row));
  }

  async expireEntries(createdBefore: number, reason: string, now: number): Promise<number[]> {
    return this.atomically(() => {
      const rows = this.sql("SELECT id FROM outbox WHERE status = 'pending' AND created_at < ? AND (lease_until IS NULL OR lease_until <= ?)").all(createdBefore, now) as { id: number }[];
      const expire = this.sql("UPDATE outbox SET status = 'expired', reason = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ?");
      for (const { id } of rows) expire.run(reason, now, id);
      return rows.map((r) => r.id);
    });
  }

  // ── API keys ──
  async createKey(name: string, keyHash: string, now: number): Promise<boolean> {
    return this.sql('INSERT OR IGNORE INTO api_keys (name, key_hash, created_at) VALUES (?, ?, ?)').run(name, keyHash, now).changes === 1;
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return (this.sql('SELECT * FROM api_keys ORDER BY created_at, name').all() as KeyRow[]).map((row) => toKey(row));
  }

  async revokeKey(name: string, now: number): Promise<boolean> {
    return this.sql('UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(now, name).changes === 1;
  }

  async findKeyByHash(keyHash: string): Promise<(ApiKeyRecord & { keyHash: string }) | undefined> {
    const row = this.sql('SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL').get(keyHash) as KeyRow | undefined;
    return row && { ...toKey(row), keyHash: row.key_hash };
  }

  // ── delivery events and suppressions ──
  async recordEvents(events: EventRecord[], now: number): Promise<StoredEvent[]> {
    return this.atomically(() => {
      const stored: StoredEvent[] = [];
      for (const event of events) {
        const idempotencyKey = event.idempotencyKey ?? this.keyOfMessageId(event.provider, event.providerMessageId);
        const result = this
          .sql(
            'INSERT OR IGNORE INTO events (event_key, type, bounce, provider, provider_message_id, idempotency_key, recipient, occurred_at, received_at, raw_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(event.eventKey, event.type, event.bounce ?? null, event.provider, event.providerMessageId, idempotencyKey, event.recipient.toLowerCase(), event.occurredAt, now, redactSecrets(event.raw));
        if (result.changes === 1) stored.push({ ...event, idempotencyKey, recipient: event.recipient.toLowerCase(), id: Number(result.lastInsertRowid), receivedAt: now });
      }
      return stored;
    });
  }

  /** The idempotency key of the single send a provider gave this message id. */
  private keyOfMessageId(provider: string, messageId: string | null): string | null {
    if (messageId === null) return null;
    const row = this.sql('SELECT idempotency_key FROM deliveries WHERE message_id = ? AND provider = ?').get(messageId, provider) as { idempotency_key: string } | undefined;
    return row?.idempotency_key ?? null;
  }

  async listEvents(filter: { type?: StoredEventType; since?: number; to?: string; limit: number }): Promise<StoredEvent[]> {
    const rows = this
      .sql(
        `SELECT * FROM events WHERE (? IS NULL OR type = ?) AND (? IS NULL OR occurred_at >= ?) AND (? IS NULL OR recipient = ?) ORDER BY occurred_at DESC, id DESC LIMIT ?`,
      )
      .all(filter.type ?? null, filter.type ?? null, filter.since ?? null, filter.since ?? null, filter.to?.toLowerCase() ?? null, filter.to?.toLowerCase() ?? null, filter.limit) as EventRow[];
    return rows.map(toEvent);
  }

  async pruneEvents(receivedBefore: number): Promise<number> {
    return this.sql('DELETE FROM events WHERE received_at < ?').run(receivedBefore).changes;
  }

  async addSuppressions(suppressions: Suppression[]): Promise<number> {
    return this.atomically(() => {
      let added = 0;
      const insert = this.sql('INSERT OR IGNORE INTO suppressions (address, scope, reason, source, created_at) VALUES (?, ?, ?, ?, ?)');
      for (const s of suppressions) added += insert.run(s.address.toLowerCase(), s.scope.toLowerCase(), s.reason, s.source, s.createdAt).changes;
      return added;
    });
  }

  async removeSuppression(address: string, scope?: string): Promise<number> {
    if (scope === undefined) return this.sql('DELETE FROM suppressions WHERE address = ?').run(address.toLowerCase()).changes;
    return this.sql('DELETE FROM suppressions WHERE address = ? AND scope = ?').run(address.toLowerCase(), scope.toLowerCase()).changes;
  }

  async saveBulkJob(id: string, job: string, owner: string, leaseUntil: number, now: number): Promise<void> {
    this.sql('INSERT INTO bulk_jobs (id, job_json, owner, lease_until, created_at) VALUES (?, ?, ?, ?, ?)').run(id, job, owner, leaseUntil, now);
  }

  async renewBulkJobs(owner: string, ids: string[], leaseUntil: number): Promise<void> {
    this.sql('UPDATE bulk_jobs SET lease_until = ? WHERE owner = ? AND id IN (SELECT value FROM json_each(?))').run(leaseUntil, owner, JSON.stringify(ids));
  }

  async claimBulkJob(owner: string, leaseUntil: number, now: number, isOwnerAlive: (owner: string) => boolean): Promise<{ id: string; job: string; createdAt: number } | undefined> {
    return this.atomically(() => {
      // The runs without their lists (a list can be megabytes): a server has a few at most.
      const runs = this.sql('SELECT id, owner, lease_until FROM bulk_jobs ORDER BY created_at, id').all() as { id: string; owner: string | null; lease_until: number | null }[];
      const free = runs.find((run) => run.lease_until === null || run.lease_until <= now || (run.owner !== null && !isOwnerAlive(run.owner)));
      if (!free) return undefined;
      const claimed = this.sql('UPDATE bulk_jobs SET owner = ?, lease_until = ? WHERE id = ? RETURNING job_json, created_at').get(owner, leaseUntil, free.id) as { job_json: string; created_at: number };
      return { id: free.id, job: claimed.job_json, createdAt: claimed.created_at };
    });
  }

  async releaseBulkJob(id: string, owner: string, retryAt?: number): Promise<void> {
    this.sql('UPDATE bulk_jobs SET owner = NULL, lease_until = ? WHERE id = ? AND owner = ?').run(retryAt ?? null, id, owner);
  }

  async finishBulkJob(id: string, owner: string): Promise<void> {
    this.sql('DELETE FROM bulk_jobs WHERE id = ? AND owner = ?').run(id, owner);
  }

  async claimWebhookToken(providerType: string, token: string, bodyDigest: string, expiresAt: number, now: number): Promise<boolean> {
    return this.atomically(() => {
      this.sql('DELETE FROM webhook_tokens WHERE expires_at <= ?').run(now);
      if (this.sql('INSERT OR IGNORE INTO webhook_tokens (provider, token, body_digest, expires_at) VALUES (?, ?, ?, ?)').run(providerType, token, bodyDigest, expiresAt).changes === 1) return true;
      const row = this.sql('SELECT body_digest FROM webhook_tokens WHERE provider = ? AND token = ?').get(providerType, token) as { body_digest: string } | undefined;
      return row?.body_digest === bodyDigest;
    });
  }

  async listSuppressions(): Promise<Suppression[]> {
    return (this.sql('SELECT * FROM suppressions ORDER BY created_at, address, scope').all() as SuppressionRow[]).map(toSuppression);
  }

  async suppressedAmong(addresses: string[], sendingDomain: string): Promise<Map<string, Suppression>> {
    // An empty list (the common case) answers at once: a bulk run asks once per batch, and looking
    // a thousand addresses up cost ~1 ms a batch.
    if (this.sql('SELECT 1 FROM suppressions LIMIT 1').get() === undefined) return new Map();
    const rows = this
      .sql("SELECT * FROM suppressions WHERE scope IN ('*', ?) AND address IN (SELECT value FROM json_each(?)) ORDER BY scope = '*'")
      .all(sendingDomain.toLowerCase(), JSON.stringify(addresses.map((a) => a.toLowerCase()))) as SuppressionRow[];
    // A global record wins over a domain's (sorted last, so set last).
    return new Map(rows.map((row) => [row.address, toSuppression(row)]));
  }

  async noteKeyUsed(name: string, at: number): Promise<void> {
    await this.group.write(() => this.sql('UPDATE api_keys SET last_used_at = ? WHERE name = ? AND (last_used_at IS NULL OR last_used_at < ?)').run(at, name, at));
  }

  /** Drops a waiting entry; refuses one that a live retry is sending right now. */
  // ── send-side rate limits: one counter per provider and window length ──
  async takeRate(provider: string, limits: RateLimit[], want: number, atLeast: number, now: number): Promise<{ granted: number; windows: WindowState[] }> {
    // A read then a write in one write transaction (shared with concurrent sends' small writes):
    // no other process can take from these counters in between.
    return this.group.write(() => {
      const windows = limits.map((limit) => this.rateWindow(provider, limit, now));
      const granted = grantable(limits, windows, want, atLeast);
      if (granted > 0) {
        limits.forEach((limit, i) => {
          windows[i] = { start: windows[i].start, used: windows[i].used + chargeOf(limit, granted) };
          this.sql('INSERT INTO rate_windows (provider, window_ms, window_start, used) VALUES (?, ?, ?, ?) ON CONFLICT (provider, window_ms) DO UPDATE SET window_start = excluded.window_start, used = excluded.used').run(
            provider,
            limit.windowMs,
            windows[i].start,
            windows[i].used,
          );
        });
      }
      return { granted, windows: limits.map((limit, i) => windowState(windows[i], limit.windowMs, now)) };
    });
  }

  async returnRate(provider: string, limits: RateLimit[], count: number, takenAt: number): Promise<void> {
    if (count <= 0 || limits.length === 0) return;
    await this.group.write(() => {
      for (const limit of limits) {
        this.sql('UPDATE rate_windows SET used = max(0, used - ?) WHERE provider = ? AND window_ms = ? AND window_start = ?').run(chargeOf(limit, count), provider, limit.windowMs, takenAt - (takenAt % limit.windowMs));
      }
    });
  }

  async rateWindows(provider: string, limits: RateLimit[], now: number): Promise<WindowState[]> {
    return limits.map((limit) => windowState(this.rateWindow(provider, limit, now), limit.windowMs, now));
  }

  private rateWindow(provider: string, limit: RateLimit, now: number): StoredWindow {
    const row = this.sql('SELECT window_start AS start, used FROM rate_windows WHERE provider = ? AND window_ms = ?').get(provider, limit.windowMs) as StoredWindow | undefined;
    return currentWindow(row, limit.windowMs, now);
  }

  async drop(id: number, now: number, isOwnerAlive: (owner: string) => boolean): Promise<{ status?: OutboxStatus; busy?: string }> {
    return this.atomically(() => {
      const row = this.sql('SELECT status, lease_owner, lease_until FROM outbox WHERE id = ?').get(id) as { status: OutboxStatus; lease_owner: string | null; lease_until: number | null } | undefined;
      if (!row) return {};
      if (row.lease_owner && row.lease_until && row.lease_until > now && isOwnerAlive(row.lease_owner)) return { status: row.status, busy: row.lease_owner };
      if (row.status !== 'pending' && row.status !== 'ambiguous') return { status: row.status };
      this.sql("UPDATE outbox SET status = 'dropped', updated_at = ? WHERE id = ?").run(now, id);
      return { status: 'dropped' };
    });
  }
}

/**
 * Attempts as stored: provider errors may echo a credential (an API key in an error body), and
 * the file outlives the process, so secrets are masked before they are written, not on display.
 */
function attemptsJson(attempts: Attempt[]): string {
  return redactSecrets(JSON.stringify(attempts));
}

/**
 * A recipient as stored in a bulk row: its digest, or its whole key in rows older versions wrote.
 * (The bulk tables keep a row per batch, keyed by the message's key, so each recipient is stored
 * without the shared "<message key>/" prefix, which was most of every row.)
 */
function digestOf(stored: string): string {
  return splitBulkRecipientKey(stored)?.digest ?? stored;
}
