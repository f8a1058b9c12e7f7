import type { AlertKind } from '../core/alert.js';
import type { Attempt } from '../core/chain-runner.js';
import type { HealthRecord } from '../core/health.js';
import type { EmailMessage } from '../core/message.js';
import type { RateLimit, WindowState } from '../core/rate-limit.js';

/**
 * What the rest of the program asks of the durable store, as four repositories. A backend (one
 * folder: src/store/sqlite/, later PostgreSQL) implements all four; every method is async so that
 * a networked database can implement the same contract.
 */

/** expired: retried by the worker until `worker.maxAge` without success (kept, listed, never sent). */
export type OutboxStatus = 'pending' | 'ambiguous' | 'delivered' | 'rejected' | 'dropped' | 'expired';

export interface OutboxEntry {
  id: number;
  idempotencyKey: string;
  message: EmailMessage;
  chain: string[];
  status: OutboxStatus;
  reason: string | null;
  attempts: Attempt[];
  tries: number;
  provider: string | null;
  messageId: string | null;
  /** When the worker tries a pending entry again (null: as soon as it runs). */
  nextAttemptAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Delivery {
  provider: string;
  messageId: string;
  deliveredAt: number;
  /** For a message with an explicit key: what it said (contentKeyOf); absent on older records and bulk copies. */
  contentKey?: string;
}

/** A batch call a bulk run made: accepted recipients (digests, ids in order) and those still undecided. */
export interface AcceptedBatch {
  provider: string;
  digests: string[];
  messageIds: string[];
  /** The in-flight record of the call. */
  batchId: number;
  /** Recipients of the call whose fate is not recorded yet (kept in flight). */
  stillOpen: string[];
}

/** Messages no provider took, waiting for a retry; claimed under leases so no two runs send one. */
export interface OutboxRepository {
  /** Stores an undelivered message; a message whose key is already waiting keeps its entry (returned). */
  enqueue(message: EmailMessage, chain: string[], status: 'pending' | 'ambiguous', reason: string, attempts: Attempt[], now: number): Promise<number>;
  /** A single send about to call its first provider: an entry leased to this run (markSending follows). */
  recordSendStart(message: EmailMessage, chain: string[], owner: string, now: number, leaseMs: number): Promise<number>;
  /** The send recorded by recordSendStart got an answer (delivered or rejected): its entry goes. */
  forgetSendStart(id: number, owner: string): Promise<void>;
  /** The waiting entry of a key, if any (createdAt in ms). */
  openEntryFor(key: string): Promise<{ id: number; status: 'pending' | 'ambiguous'; createdAt: number } | undefined>;
  /** Of these keys, those with an outbox entry not delivered (one query for a batch): key → entry. */
  outboxEntriesAmong(keys: string[]): Promise<Map<string, { id: number; status: OutboxStatus }>>;
  getEntry(id: number): Promise<OutboxEntry | undefined>;
  listEntries(includeClosed: boolean): Promise<OutboxEntry[]>;
  /**
   * Claims an entry for one retry run. A lease held by a process that no longer exists is taken
   * over; if it was sending, the entry becomes ambiguous instead. A delivery that makes the entry
   * a repeat (isRepeat) closes it as delivered.
   */
  claim(
    id: number,
    owner: string,
    now: number,
    leaseMs: number,
    options: { force: boolean; isOwnerAlive: (owner: string) => boolean; isRepeat: (delivery: Delivery, entry: OutboxEntry) => boolean },
  ): Promise<{ entry?: OutboxEntry; refused?: string; deliveredEarlier?: Delivery }>;
  /** A claimed entry is being handed to a provider (a crash now means "ambiguous"). */
  markSending(id: number, owner: string, now: number): Promise<void>;
  /** The provider answered that it did not take it: a crash now leaves it pending, not ambiguous. */
  clearSending(id: number, owner: string): Promise<void>;
  /** Ends a retry: records its attempts and new status (and when to try again), and releases the lease. */
  finishRetry(
    id: number,
    owner: string,
    update: { status: OutboxStatus; reason: string | null; attempts: Attempt[]; provider?: string; messageId?: string; nextAttemptAt?: number },
    now: number,
  ): Promise<void>;
  /** Pending entries due for the worker (not leased, next attempt reached), oldest first. */
  dueEntries(now: number, limit: number): Promise<OutboxEntry[]>;
  /** Pending entries first stored before `createdBefore` become `expired` (not leased ones only); returns their ids. */
  expireEntries(createdBefore: number, reason: string, now: number): Promise<number[]>;
  /** Drops a waiting entry; refuses one that a live retry is sending right now. */
  drop(id: number, now: number, isOwnerAlive: (owner: string) => boolean): Promise<{ status?: OutboxStatus; busy?: string }>;
}

/** "This idempotency key was delivered" (single sends, bulk batches) and the monthly usage ledger. */
export interface DeliveryLedger {
  findDelivery(key: string): Promise<Delivery | undefined>;
  /** Records a delivery, counts it as usage, and closes any waiting outbox entry of that key — atomically. */
  recordDelivery(message: EmailMessage, provider: string, messageId: string, now: number, emails: number): Promise<void>;
  /**
   * Records accepted bulk batches and narrows their in-flight records, in one transaction.
   * `contentKey`: what the message said, kept under an explicit key (see otherBulkContent).
   */
  recordBulkBatches(runKey: string, type: string, batches: AcceptedBatch[], now: number, contentKey?: string | null): Promise<void>;
  /**
   * A batch of the bulk message `runKey` delivered since a time with content other than
   * `contentKey` (the key reused for another message), if any; batches kept without a content key
   * (a derived key, or written before content keys were kept) never count.
   */
  otherBulkContent(runKey: string, contentKey: string, since: number): Promise<{ provider: string; deliveredAt: number } | undefined>;
  /** Visits the digest of every recipient the bulk runs of one message delivered since a time. */
  forEachBulkDeliveredDigest(runKey: string, since: number, visit: (digest: string) => void): Promise<void>;
  /** Whether any single-message record (delivery or outbox entry) has a key under this bulk message's key. */
  hasSingleRecordsUnder(runKey: string): Promise<boolean>;
  /** Which of these keys were delivered since a time (one query for a batch). */
  deliveredAmong(keys: string[], since: number): Promise<Set<string>>;
  usageByProvider(month: string): Promise<Record<string, number>>;
}

/** One circuit per provider, shared by every process on the store. */
export interface HealthRepository {
  healthOf(provider: string): Promise<HealthRecord | undefined>;
  saveHealth(record: HealthRecord): Promise<void>;
}

/** One live run per message (run locks) and the bulk batches handed to a provider but not yet settled. */
export interface RunRepository {
  /** Takes the run of a message: returns the live holder when another run has it. */
  claimRunLock(runKey: string, owner: string, now: number, staleAfterMs: number, isOwnerAlive: (owner: string) => boolean): Promise<string | undefined>;
  heartbeatRunLock(runKey: string, owner: string, now: number): Promise<void>;
  releaseRunLock(runKey: string, owner: string): Promise<void>;
  /** Notes that these recipients (digests) are being handed to a provider; returns the batch id. */
  markInFlight(runKey: string, digests: string[], owner: string, provider: string, now: number): Promise<number>;
  /** Narrows a batch to the recipients still unsettled, or removes it when none are left. */
  settleInFlight(batchId: number, stillOpen?: string[]): Promise<void>;
  /** The batches of one bulk message that earlier runs left in flight: digest → batch. */
  inFlightOf(runKey: string): Promise<Map<string, { batchId: number; provider: string }>>;
  /**
   * Recipients an earlier run left in flight go to the outbox as ambiguous and out of their
   * in-flight records, with those whose fate is known otherwise (`settled`), in one transaction;
   * returns the outbox ids in order.
   */
  queueInDoubt(items: { message: EmailMessage; chain: string[]; reason: string; batchId: number; digest: string }[], settled: { batchId: number; digest: string }[], now: number): Promise<number[]>;
}

export interface ApiKeyRecord {
  name: string;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** API keys of `serve`: only a hash of each key is stored. */
export interface KeyRepository {
  /** Stores a new key's hash under a name; false when the name is taken. */
  createKey(name: string, keyHash: string, now: number): Promise<boolean>;
  listKeys(): Promise<ApiKeyRecord[]>;
  /** Revokes a key by name; false when there is no such live key. */
  revokeKey(name: string, now: number): Promise<boolean>;
  /** The live (not revoked) key with this hash, if any, with the hash stored (for a constant-time check). */
  findKeyByHash(keyHash: string): Promise<(ApiKeyRecord & { keyHash: string }) | undefined>;
  /**
   * Sets the lastUsedAt of the key named `name` to `at` (epoch ms), revoked or not, unless it is
   * already at or after `at` (it never moves back); nothing happens when there is no such key.
   * The server calls it at most once a minute per key, not on every request.
   */
  noteKeyUsed(name: string, at: number): Promise<void>;
}

/** What a provider's webhook told us about a message (SPEC events), normalised. */
export type DeliveryEventType = 'delivered' | 'deferred' | 'bounced' | 'complained' | 'unsubscribed' | 'opened' | 'clicked' | 'rejected';
/** The events store also keeps our own alerts (issue #22): `type` is the alert's kind, the recipient empty. */
export type StoredEventType = DeliveryEventType | AlertKind;

export interface DeliveryEvent {
  /** Unique per event: a provider's retry of the same event is stored once (e.g. "postmark:bounce:123"). */
  eventKey: string;
  type: DeliveryEventType;
  /** For `bounced`: hard (the address does not exist) or soft (full mailbox, greylisting…). */
  bounce?: 'hard' | 'soft';
  /** The provider's name in the config (the webhook URL's {provider-name}). */
  provider: string;
  providerMessageId: string | null;
  /** Our idempotency key, when the provider message id matches a delivery in the ledger. */
  idempotencyKey: string | null;
  /** Lower-cased. */
  recipient: string;
  occurredAt: number;
  /** The provider's payload for this event, as JSON. */
  raw: string;
}

/** What the events store takes: a provider's event, or one of our alerts. */
export interface EventRecord extends Omit<DeliveryEvent, 'type'> {
  type: StoredEventType;
}

export interface StoredEvent extends EventRecord {
  id: number;
  receivedAt: number;
}

/** Events received from providers' webhooks, each stored once. */
export interface EventRepository {
  /** Stores events (fills idempotencyKey from the ledger where it can); returns those that were new. */
  recordEvents(events: EventRecord[], now: number): Promise<StoredEvent[]>;
  /** Newest first. `to` matches the recipient (lower-cased); `since` the time it happened. */
  listEvents(filter: { type?: StoredEventType; since?: number; to?: string; limit: number }): Promise<StoredEvent[]>;
  /** Removes events received before a time (the retention setting); returns how many. */
  pruneEvents(receivedBefore: number): Promise<number>;
}

/** An address no message may go to (SPEC suppressions): for every sending domain ('*'), or one. */
export interface Suppression {
  /** Lower-cased. */
  address: string;
  /** '*' for every sending domain, else the From domain it applies to (lower-cased). */
  scope: string;
  /** e.g. 'hard bounce', 'spam complaint', 'unsubscribed', 'added by hand'. */
  reason: string;
  /** Who said so: a provider name, 'manual', 'import'. */
  source: string;
  createdAt: number;
}

export interface SuppressionRepository {
  /** Adds suppressions; an address already suppressed in that scope keeps its first record. Returns how many were new. */
  addSuppressions(suppressions: Suppression[]): Promise<number>;
  /** Removes an address (from one scope, or from all when scope is undefined); returns how many records went. */
  removeSuppression(address: string, scope?: string): Promise<number>;
  listSuppressions(): Promise<Suppression[]>;
  /** Of these addresses, those suppressed for mail from this domain (globally or for it): address → record. */
  suppressedAmong(addresses: string[], sendingDomain: string): Promise<Map<string, Suppression>>;
}

/**
 * Send-side rate limits (issue #22): one fixed-window counter per provider and window length
 * (a second, a minute, an hour, a UTC day, aligned on the clock — the database's for PostgreSQL),
 * shared by every process on the store.
 */
export interface RateLimitRepository {
  /**
   * Takes up to `want` sends from every window of a provider at once (the same number from each):
   * as many as the fullest window has left, or none when that is fewer than `atLeast` — atomically,
   * so concurrent takes through any number of handles never exceed a limit. `limits` are sorted by
   * window, shortest first. Returns what was granted and each window's state after the take.
   */
  takeRate(provider: string, limits: RateLimit[], want: number, atLeast: number, now: number): Promise<{ granted: number; windows: WindowState[] }>;
  /**
   * Gives `count` back to each of these windows that is still the window of `takenAt` (sends taken
   * then that the provider did not take after all); a window that has turned is left alone.
   */
  returnRate(provider: string, limits: RateLimit[], count: number, takenAt: number): Promise<void>;
  /** Each window's state now, taking nothing (route explain). */
  rateWindows(provider: string, limits: RateLimit[], now: number): Promise<WindowState[]>;
}

/** A store's schema version, and the migrations that opening it applied (none when up to date). */
export interface SchemaReport {
  version: number;
  applied: { version: number; name: string }[];
}

/**
 * Values a provider signs to be used once (Mailgun's webhook signature tokens): claimed in the
 * store with the digest of the request that carried them, so that the same token with another body
 * (a replay carrying forged events) is refused by every process sharing it, and after a restart,
 * while the provider's own retry of that request (the same body) is taken.
 */
export interface WebhookTokenRepository {
  /**
   * True when this token of a provider type (`mailgun`) was not claimed before (or its claim has
   * expired) — it is now, for `bodyDigest`, until `expiresAt` — or was claimed for the same body.
   */
  claimWebhookToken(providerType: string, token: string, bodyDigest: string, expiresAt: number, now: number): Promise<boolean>;
}

/**
 * Bulk runs accepted by `serve` (POST /api/v1/emails/bulk), kept with their template and list until
 * they end: a server that stops or dies first leaves its runs to be resumed — by itself once
 * restarted, or by another server on the same store. A run is held by one server at a time, under
 * a lease it renews while it sends.
 */
export interface BulkJobRepository {
  /** Keeps an accepted run (`job`: its template and list as JSON), held by `owner` until `leaseUntil`. */
  saveBulkJob(id: string, job: string, owner: string, leaseUntil: number, now: number): Promise<void>;
  /** Renews the lease of `owner`'s runs among `ids` (those it is sending: a heartbeat). */
  renewBulkJobs(owner: string, ids: string[], leaseUntil: number): Promise<void>;
  /**
   * The oldest run nobody holds (let go, or its lease or retry time has passed), or whose holder
   * `isOwnerAlive` says is gone (a server on this host that died: its runs need not wait for the
   * lease): now held by `owner`.
   */
  claimBulkJob(owner: string, leaseUntil: number, now: number, isOwnerAlive: (owner: string) => boolean): Promise<{ id: string; job: string; createdAt: number } | undefined>;
  /** Lets go of a run that has not ended (a shutdown): claimable at once, or from `retryAt` on (a run that could not go on here now). */
  releaseBulkJob(id: string, owner: string, retryAt?: number): Promise<void>;
  /** `owner`'s run has ended: every row was decided (delivered, rejected, or queued in the outbox). */
  finishBulkJob(id: string, owner: string): Promise<void>;
}

/** The whole store: every repository, its schema, and closing it. */
export interface Store extends OutboxRepository, DeliveryLedger, HealthRepository, RunRepository, KeyRepository, EventRepository, SuppressionRepository, RateLimitRepository, WebhookTokenRepository, BulkJobRepository {
  readonly schema: SchemaReport;
  /**
   * Does ahead of close() what closing would otherwise do at the end (SQLite: copies the
   * write-ahead log into the database file), for a caller about to wait anyway — a bulk run whose
   * last calls are under way. The store stays usable; never rejects (what is not done here,
   * close() does).
   */
  prepareToClose(): Promise<void>;
  close(): Promise<void>;
}

export function monthKey(time: number): string {
  return new Date(time).toISOString().slice(0, 7);
}
