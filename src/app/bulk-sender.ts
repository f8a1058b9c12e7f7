import { bulkResumeMs } from '../core/idempotency.js';
import { bulkRecipientKey, recipientDigest } from '../core/bulk-key.js';
import { ProviderError, UserError } from '../core/errors.js';
import { retryWait } from '../core/failover.js';
import { circuitState, recordFailure, recordSuccess, successWorthRecording } from '../core/health.js';
import { personalise } from '../core/merge.js';
import type { EmailMessage } from '../core/message.js';
import type { BulkItemResult, BulkRecipient } from '../providers/provider.js';
import { BoundedDigestSet } from '../bulk/bounded-digest-set.js';
import type { RecipientRow } from '../bulk/recipient-source.js';
import type { Dispatcher } from './dispatcher.js';
import { newLeaseOwner } from './lease-owner.js';
import { withRunLock } from './run-lock.js';
import { RateGate, Semaphore, Slots } from './rate-gate.js';

export type RecipientOutcome = 'delivered' | 'rejected' | 'queued' | 'invalid' | 'skipped';

export interface BulkFailure {
  line?: number;
  email?: string;
  outcome: 'rejected' | 'queued' | 'invalid';
  reason: string;
  outboxId?: number;
}

export interface BulkStats {
  read: number;
  delivered: number;
  rejected: number;
  queued: number;
  invalid: number;
  /** Delivered by an earlier run (same list, same message): not sent again. */
  skipped: number;
  /** Rows repeating an earlier row of the list (same recipient and fields): sent once. */
  duplicates: number;
  calls: Record<string, number>;
  byProvider: Record<string, { delivered: number; rejected: number }>;
  rateLimitPauses: number;
}

export interface BulkOptions {
  chain: string[];
  template: EmailMessage;
  concurrency: number;
  /** Caps the provider's batch size (1 = one API call per email, the benchmark baseline). */
  batchSize?: number;
  /** Recipients remembered in memory per set before the rest go to a temporary file (DEFAULT_DIGESTS_IN_MEMORY). */
  digestsInMemory?: number;
  onProgress?: (stats: BulkStats) => void;
  /** Something the user should know that does not stop the run. */
  onWarning?: (message: string) => void;
}

const MAX_FAILURES_KEPT = 100;
/**
 * Deliveries are written to the ledger in groups, a row per batch, several batches a transaction.
 * Safe to defer, because a batch's in-flight record is only removed in the same transaction: a
 * crash before the write leaves it "in doubt", never resent.
 */
const LEDGER_FLUSH_ROWS = 5_000;
const LEDGER_FLUSH_MS = 250;

/**
 * The next batch of at most `size` recipients with no email address twice: a Mailgun batch keys
 * its recipient variables by address, so a repeat would overwrite the first one's fields.
 */
export function takeBatch<T extends { email: string }>(queue: T[], size: number): { batch: T[]; rest: T[] } {
  const batch: T[] = [];
  const rest: T[] = [];
  const emails = new Set<string>();
  for (const item of queue) {
    const email = item.email.toLowerCase();
    if (batch.length < size && !emails.has(email)) {
      batch.push(item);
      emails.add(email);
    } else rest.push(item);
  }
  return { batch, rest };
}
type Pending = BulkRecipient & { line: number };

/**
 * Sends one personalised copy per recipient through the providers' batch APIs, with bounded
 * concurrency. Whole-call failures follow the failover policy for the batch; per-recipient
 * failures go through the single-message engine on their own, never resending the accepted ones.
 */
export class BulkSender {
  readonly stats: BulkStats = { read: 0, delivered: 0, rejected: 0, queued: 0, invalid: 0, skipped: 0, duplicates: 0, calls: {}, byProvider: {}, rateLimitPauses: 0 };
  readonly failures: BulkFailure[] = [];
  failuresNotKept = 0;
  private readonly owner = newLeaseOwner();
  /** Per provider: a 429's pause (within failover.retry.maxRetryAfter) holds every call to it. */
  private readonly gates = new Map<string, RateGate>();
  /** Per provider: it asked for a longer wait than maxRetryAfter; batches skip it until then. */
  private readonly rateLimitedUntil = new Map<string, { until: number; reason: string }>();
  /** Recipients sent on their own after their batch failed for them: no more calls at once than --concurrency. */
  private readonly singleCalls: Semaphore;
  private readonly store;
  private inDoubt = new Map<string, { batchId: number; provider: string }>();
  /** Recipients this run has taken (a repeated row is sent once), as their key's digest. */
  private readonly taken: BoundedDigestSet;
  /** Recipients delivered by earlier runs of this message. */
  private readonly deliveredEarlier: BoundedDigestSet;
  private lookUpEachBatch = true;
  private stopRequested = false;
  /** Accepted batches not yet written to the ledger; recipients by digest. */
  private ledgerBuffer: { provider: string; digests: string[]; messageIds: string[]; batchId: number; stillOpen: string[] }[] = [];
  private ledgerRows = 0;
  private lastLedgerFlush = Date.now();

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly options: BulkOptions,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.singleCalls = new Semaphore(options.concurrency);
    this.store = dispatcher.store!;
    let warned = false;
    const onSpillFailure = (error: unknown) => {
      if (!warned) options.onWarning?.(`could not move recipients to a temporary file (${error instanceof Error ? error.message : String(error)}); keeping them in memory instead (set TMPDIR to a writable directory with room)`);
      warned = true;
    };
    this.taken = new BoundedDigestSet({ memoryLimit: options.digestsInMemory, onSpillFailure });
    this.deliveredEarlier = new BoundedDigestSet({ memoryLimit: options.digestsInMemory, onSpillFailure });
  }

  /** The message's key: every recipient key of this bulk message starts with it. */
  private get runKey(): string {
    return this.options.template.idempotencyKey;
  }

  /**
   * Deliveries of this message older than this do not make a rerun skip their recipients: the same
   * list with the same content weeks later is a new mailing (at least 7 days, see bulkResumeMs).
   */
  private get resumeSince(): number {
    return this.dispatcher.now() - bulkResumeMs(this.options.template, this.dispatcher.config.idempotency);
  }

  /** Stops taking new recipients (Ctrl-C): calls under way finish, the ledger is written. */
  stop(): void {
    this.stopRequested = true;
    for (const gate of this.gates.values()) gate.release();
    this.flushLedger();
  }

  get interrupted(): boolean {
    return this.stopRequested;
  }

  /** `rows` comes in chunks (see readRecipients). */
  async run(rows: AsyncIterable<RecipientRow[]>): Promise<BulkStats> {
    const busy = (holder: string) => new UserError(`another run of this message to this list is still going (${holder})`, { hint: 'wait for it to finish; rerunning afterwards sends only what it did not' });
    const onReleaseFailure = (error: unknown) => this.options.onWarning?.(`could not let go of this run's lock (${error instanceof Error ? error.message : String(error)}); a rerun may wait until this process has ended`);
    try {
      return await withRunLock(this.store, this.runKey, () => this.runWithLock(rows), { maxWaitMs: 0, busy, owner: this.owner, now: this.dispatcher.now, onReleaseFailure });
    } finally {
      this.taken.close();
      this.deliveredEarlier.close();
    }
  }

  private async runWithLock(rows: AsyncIterable<RecipientRow[]>): Promise<BulkStats> {
    // Batches of this message that an earlier run left in flight: that run died, their fate is unknown.
    this.inDoubt = this.store.inFlightOf(this.runKey);
    this.store.forEachBulkDeliveredDigest(this.runKey, this.resumeSince, (digest) => this.deliveredEarlier.add(digest));
    // Only bulk runs of this message write keys under its key, and this run holds its lock: when
    // none is in the store now, none of the recipients it reads can turn up there on their own.
    this.lookUpEachBatch = this.store.hasSingleRecordsUnder(this.runKey);
    const slots = new Slots(this.options.concurrency);
    const batchSize = this.batchSizeFor(this.options.chain[0]);
    let candidates: Pending[] = [];
    let chunk: Pending[] = [];
    const flush = async (force: boolean) => {
      // Ledger look-ups are done per batch, not per recipient: one query for many keys.
      chunk.push(...this.notYetHandled(candidates));
      candidates = [];
      while ((chunk.length >= batchSize || (force && chunk.length > 0)) && !slots.failed && !this.stopRequested) {
        const { batch, rest } = takeBatch(chunk, batchSize);
        chunk = rest;
        // Waiting for a slot can outlast a Ctrl-C: a batch not yet started then stays for the rerun.
        await slots.run(async () => {
          if (!this.stopRequested) await this.deliverChunk(batch, 0);
        });
        // Lets the call just started reach its socket before rows are read again: the SDK gets
        // there through a chain of promise steps, which row parsing would otherwise hold up.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    // Accepted batches are recorded at least this often, even while every worker waits (429 pause).
    const ledgerTimer = setInterval(() => this.flushLedger(), LEDGER_FLUSH_MS);
    ledgerTimer.unref();
    try {
      reading: for await (const chunkOfRows of rows) {
        for (const row of chunkOfRows) {
          if (this.stopRequested || slots.failed) break reading;
          this.stats.read++;
          if ('error' in row) {
            this.fail({ line: row.line, outcome: 'invalid', reason: row.error });
            continue;
          }
          const digest = recipientDigest(row);
          if (!this.taken.add(digest)) {
            this.stats.duplicates++;
            continue;
          }
          candidates.push({ line: row.line, email: row.email, fields: row.fields, digest });
          if (candidates.length >= batchSize) await flush(false);
        }
      }
      // Interrupted: rows read but not sent are left alone, so rerunning the command sends them.
      if (!this.stopRequested) await flush(true);
    } finally {
      try {
        await slots.drain();
      } finally {
        clearInterval(ledgerTimer);
        this.flushLedger();
      }
    }
    this.stats.rateLimitPauses = [...this.gates.values()].reduce((sum, gate) => sum + gate.pauses, 0);
    this.progress();
    return this.stats;
  }

  private batchSizeFor(providerName: string): number {
    const max = this.dispatcher.provider(providerName).maxBulkRecipients;
    return Math.max(1, Math.min(max, this.options.batchSize ?? max));
  }

  /**
   * Keeps only recipients this run must send. Skipped: delivered before, or with an outbox entry
   * (waiting, dropped or rejected: the outbox decides, not a rerun). Left in flight by a run that
   * died: unknown fate, so into the outbox as ambiguous — and out of that in-flight record.
   */
  private notYetHandled(recipients: Pending[]): Pending[] {
    // A first run of a message: nothing to look up.
    if (recipients.length === 0 || (!this.lookUpEachBatch && this.inDoubt.size === 0 && this.deliveredEarlier.size === 0)) return recipients;
    const keyOf = (recipient: Pending) => bulkRecipientKey(this.runKey, recipient.digest);
    const keys = this.lookUpEachBatch ? recipients.map(keyOf) : [];
    // Outbox first, ledger second: a concurrent `queue retry` records the delivery before it
    // closes the entry, so this order cannot miss a message that moves between the two.
    const inOutbox = this.lookUpEachBatch ? this.store.outboxEntriesAmong(keys) : new Map<string, { id: number; status: string }>();
    const deliveredAlone = this.lookUpEachBatch ? this.store.deliveredAmong(keys, this.resumeSince) : new Set<string>();
    const resolvedInDoubt = new Map<number, Set<string>>();
    const sort = () =>
      recipients.filter((recipient) => {
        const { digest } = recipient;
        const inDoubt = this.inDoubt.get(digest);
        if (inDoubt) {
          if (!resolvedInDoubt.has(inDoubt.batchId)) resolvedInDoubt.set(inDoubt.batchId, new Set());
          resolvedInDoubt.get(inDoubt.batchId)!.add(digest);
        }
        const key = keyOf(recipient);
        if ((this.deliveredEarlier.size > 0 && this.deliveredEarlier.has(digest)) || deliveredAlone.has(key)) {
          this.stats.skipped++;
          return false;
        }
        const entry = inOutbox.get(key);
        if (entry) {
          this.reportOutboxEntry(recipient, entry);
          return false;
        }
        if (!inDoubt) return true;
        const reason = `an earlier run was killed after handing this message to ${inDoubt.provider}; it may have been delivered`;
        this.fail({ line: recipient.line, email: recipient.email, outcome: 'queued', reason, outboxId: this.store.enqueue(this.personal(recipient), this.options.chain, 'ambiguous', reason, [], this.dispatcher.now()) });
        return false;
      });
    if (this.inDoubt.size === 0) return sort();
    // Queueing an in-doubt recipient and taking it out of its in-flight record go together.
    return this.store.atomically(() => {
      const kept = sort();
      for (const [batchId, resolved] of resolvedInDoubt) this.store.resolveInFlight(batchId, resolved);
      return kept;
    });
  }

  private reportOutboxEntry(recipient: Pending, entry: { id: number; status: string }): void {
    const where = { line: recipient.line, email: recipient.email, outboxId: entry.id };
    if (entry.status === 'dropped') this.stats.skipped++;
    else if (entry.status === 'rejected') this.fail({ ...where, outcome: 'rejected', reason: 'rejected earlier (see queue show)' });
    else this.fail({ ...where, outcome: 'queued', reason: `already waiting in the outbox (${entry.status}) from an earlier run: use queue retry` });
  }

  private personal(recipient: BulkRecipient): EmailMessage {
    return personalise(this.options.template, recipient);
  }

  /** `whyNot`: what each provider tried before for these recipients answered. */
  private async deliverChunk(recipients: Pending[], providerIndex: number, whyNot: string[] = []): Promise<void> {
    const { chain } = this.options;
    if (providerIndex >= chain.length) {
      this.queueAll(recipients, `every provider failed for this batch${whyNot.length ? ` (${whyNot.join('; ')})` : ''}`, 'pending');
      return;
    }
    const name = chain[providerIndex];
    const health = this.store.get(name);
    const allDown = chain.slice(providerIndex).every((n) => circuitState(this.store.get(n), this.dispatcher.now()) === 'open');
    if (circuitState(health, this.dispatcher.now()) === 'open' && !allDown) return this.deliverChunk(recipients, providerIndex + 1, [...whyNot, `${name}: marked down`]);
    const rateLimited = this.rateLimitedUntil.get(name);
    if (rateLimited && rateLimited.until > this.dispatcher.now()) return this.deliverChunk(recipients, providerIndex + 1, [...whyNot, rateLimited.reason]);

    const size = this.batchSizeFor(name);
    for (let start = 0; start < recipients.length; start += size) {
      const part = recipients.slice(start, start + size);
      // Recorded before the call: if this process dies now, a later run knows these are in doubt.
      const batchId = this.store.markInFlight(this.runKey, part.map((r) => r.digest), this.owner, name, this.dispatcher.now());
      const verdict = await this.callWithRetries(name, part);
      if (verdict.kind === 'results') {
        await this.settle(name, providerIndex, part, verdict.results, batchId);
      } else if (verdict.kind === 'stopped') {
        // Ctrl-C before this call went out: nothing was sent, the rerun sends these.
        this.store.settleInFlight(batchId);
      } else if (verdict.kind === 'next-provider') {
        this.store.settleInFlight(batchId);
        await this.deliverChunk(part, providerIndex + 1, [...whyNot, verdict.reason]);
      } else if (verdict.kind === 'ambiguous') {
        this.queueAll(part, verdict.reason, 'ambiguous');
        this.store.settleInFlight(batchId);
      } else {
        await this.deliverEachOnItsOwn(part.map((recipient) => ({ recipient, chain: chain.slice(providerIndex) })));
        this.store.settleInFlight(batchId);
      }
    }
  }

  private gateOf(providerName: string): RateGate {
    let gate = this.gates.get(providerName);
    if (!gate) {
      gate = new RateGate(this.dispatcher.now);
      if (this.stopRequested) gate.release();
      this.gates.set(providerName, gate);
    }
    return gate;
  }

  /**
   * One batch call, retried per the policy. A 429 is one of the tries: its pause holds every call
   * to the provider, and a Retry-After beyond the cap moves the batch on at once (later batches
   * skip the provider until then) instead of waiting.
   */
  private async callWithRetries(name: string, part: Pending[]): Promise<{ kind: 'results'; results: BulkItemResult[] } | { kind: 'stopped' } | { kind: 'next-provider' | 'one-by-one' | 'ambiguous'; reason: string }> {
    const provider = this.dispatcher.provider(name);
    const { attempts, delayMs, maxRetryAfterMs } = this.dispatcher.config.failover.retry;
    const policy = this.dispatcher.config.failover.health;
    let lastError = '';
    for (let tryNumber = 1; tryNumber <= attempts; tryNumber++) {
      await this.gateOf(name).wait();
      // A retry, or the end of a rate-limit pause, after Ctrl-C: no new call.
      if (this.stopRequested) return { kind: 'stopped' };
      this.stats.calls[name] = (this.stats.calls[name] ?? 0) + 1;
      try {
        const results = await provider.sendBulk(this.options.template, part);
        const health = this.store.get(name);
        if (successWorthRecording(health, this.dispatcher.now())) this.store.put(recordSuccess(health, name, this.dispatcher.now()));
        return { kind: 'results', results };
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        if (error.errorClass === 'ambiguous') return { kind: 'ambiguous', reason: `${name}: ${error.message}` };
        if (error.httpStatus === 429) {
          const wait = retryWait(error.retryAfterMs, { delayMs, maxRetryAfterMs });
          if (wait.giveUp) {
            const reason = `${name}: ${error.message} (${wait.note})`;
            this.rateLimitedUntil.set(name, { until: this.dispatcher.now() + error.retryAfterMs!, reason });
            return { kind: 'next-provider', reason };
          }
          lastError = error.message;
          if (tryNumber < attempts) this.gateOf(name).pause(wait.ms);
          continue;
        }
        if (error.errorClass === 'permanent') return { kind: 'one-by-one', reason: error.message };
        this.store.put(recordFailure(this.store.get(name), name, error.message, this.dispatcher.now(), policy));
        if (error.errorClass === 'provider-unusable') return { kind: 'next-provider', reason: `${name}: ${error.message}` };
        lastError = error.message;
        if (tryNumber < attempts) await this.sleep(delayMs);
      }
    }
    return { kind: 'next-provider', reason: `${name} failed ${attempts} time(s)${lastError ? `, last: ${lastError}` : ''}` };
  }

  private async settle(name: string, providerIndex: number, part: Pending[], results: BulkItemResult[], batchId: number): Promise<void> {
    const digests: string[] = [];
    const messageIds: string[] = [];
    const retryOnTheirOwn: { recipient: Pending; chain: string[] }[] = [];
    // The provider cannot take these at all (e.g. an unconfirmed sender): the next one gets them as a batch.
    const forNextProvider: Pending[] = [];
    let unusableReason = '';
    const byProvider = (this.stats.byProvider[name] ??= { delivered: 0, rejected: 0 });
    results.forEach((result, i) => {
      const recipient = part[i];
      if (result.ok) {
        digests.push(recipient.digest);
        messageIds.push(result.messageId);
        return;
      }
      const { errorClass } = result.error;
      if (errorClass === 'permanent') {
        byProvider.rejected++;
        this.fail({ line: recipient.line, email: recipient.email, outcome: 'rejected', reason: `${name}: ${result.error.message}` });
      } else if (errorClass === 'ambiguous') {
        this.queueAll([recipient], `${name}: ${result.error.message}`, 'ambiguous');
      } else if (errorClass === 'provider-unusable') {
        forNextProvider.push(recipient);
        unusableReason = `${name}: ${result.error.message}`;
      } else {
        retryOnTheirOwn.push({ recipient, chain: this.options.chain.slice(providerIndex) });
      }
    });
    const stillOpen = [...retryOnTheirOwn.map(({ recipient }) => recipient.digest), ...forNextProvider.map((recipient) => recipient.digest)];
    this.ledgerBuffer.push({ provider: name, digests, messageIds, batchId, stillOpen });
    this.ledgerRows += digests.length;
    if (stillOpen.length || this.ledgerRows >= LEDGER_FLUSH_ROWS || Date.now() - this.lastLedgerFlush >= LEDGER_FLUSH_MS) this.flushLedger();
    byProvider.delivered += digests.length;
    this.stats.delivered += digests.length;
    this.progress();
    await Promise.all([this.deliverEachOnItsOwn(retryOnTheirOwn), forNextProvider.length ? this.deliverChunk(forNextProvider, providerIndex + 1, [unusableReason]) : undefined]);
    if (stillOpen.length) this.store.settleInFlight(batchId);
  }

  /**
   * Recipients a batch did not deliver, each through the single-message engine: at most
   * --concurrency calls at once across the run (a thousand at once would meet a rate limit, or
   * time out into "ambiguous"), each after any rate-limit pause. After Ctrl-C none starts: those
   * were not sent, and the rerun sends them.
   */
  private async deliverEachOnItsOwn(items: { recipient: Pending; chain: string[] }[]): Promise<void> {
    await Promise.all(
      items.map(({ recipient, chain }) =>
        this.singleCalls.use(async () => {
          if (chain.length) await this.gateOf(chain[0]).wait();
          if (!this.stopRequested) await this.deliverOne(recipient, chain);
        }),
      ),
    );
  }

  private flushLedger(): void {
    const entries = this.ledgerBuffer;
    if (entries.length === 0) return;
    this.ledgerBuffer = [];
    this.ledgerRows = 0;
    this.lastLedgerFlush = Date.now();
    const now = this.dispatcher.now();
    this.store.atomically(() => {
      for (const entry of entries) {
        this.store.recordBulkDelivery(this.runKey, entry.provider, this.options.template.type, entry.digests, entry.messageIds, now);
        this.store.settleInFlight(entry.batchId, entry.stillOpen);
      }
    });
  }

  /** One recipient through the single-message engine (retries, failover, outbox). */
  private async deliverOne(recipient: Pending, chain: string[]): Promise<void> {
    const message = this.personal(recipient);
    if (chain.length === 0) {
      this.queueAll([recipient], 'no provider left in the chain', 'pending');
      return;
    }
    // The ledger was checked for this recipient when the run took it.
    const outcome = await this.dispatcher.deliver(message, chain, { ledgerChecked: true });
    for (const attempt of outcome.attempts) if (attempt.outcome !== 'skipped') this.stats.calls[attempt.provider] = (this.stats.calls[attempt.provider] ?? 0) + 1;
    if (outcome.status === 'delivered') {
      this.stats.delivered++;
      (this.stats.byProvider[outcome.provider!] ??= { delivered: 0, rejected: 0 }).delivered++;
    } else if (outcome.status === 'rejected') {
      (this.stats.byProvider[outcome.provider!] ??= { delivered: 0, rejected: 0 }).rejected++;
      this.fail({ line: recipient.line, email: recipient.email, outcome: 'rejected', reason: outcome.reason ?? 'rejected' });
    } else {
      const outboxId = this.store.enqueue(message, chain, outcome.ambiguous ? 'ambiguous' : 'pending', outcome.reason ?? 'not delivered', outcome.attempts, this.dispatcher.now());
      this.fail({ line: recipient.line, email: recipient.email, outcome: 'queued', reason: outcome.reason ?? 'not delivered', outboxId });
    }
    this.progress();
  }

  private queueAll(recipients: Pending[], reason: string, status: 'pending' | 'ambiguous'): void {
    for (const recipient of recipients) {
      const outboxId = this.store.enqueue(this.personal(recipient), this.options.chain, status, reason, [], this.dispatcher.now());
      this.fail({ line: recipient.line, email: recipient.email, outcome: 'queued', reason, outboxId });
    }
    this.progress();
  }

  private fail(failure: BulkFailure): void {
    this.stats[failure.outcome]++;
    if (this.failures.length < MAX_FAILURES_KEPT) this.failures.push(failure);
    else this.failuresNotKept++;
  }

  private progress(): void {
    this.options.onProgress?.(this.stats);
  }
}
