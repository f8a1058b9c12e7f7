import { estimateMessageBytes } from '../../providers/message-size.js';
import { ResumeFilter, type ResumeReport } from './resume.js';
import { refuseKeyOfOtherBulkContent } from './bulk-key-check.js';
import { FLUSH_MS as LEDGER_FLUSH_MS, LedgerBuffer } from './ledger-buffer.js';
import { bulkResumeMs } from '../../core/idempotency.js';
import { addressDigest } from '../../core/bulk-key.js';
import { ProviderError, UserError } from '../../core/errors.js';
import { runStopped } from '../../core/rate-limit.js';
import { runChain, type ItemAnswer } from '../../core/chain-runner.js';
import { alertingChainHooks } from '../../core/failover-alerts.js';
import { personalise } from '../../core/merge.js';
import { explicitContentKey, type EmailMessage } from '../../core/message.js';
import type { BulkRecipient, RecipientStatus } from '../../core/provider-port.js';
import { BoundedDigestSet } from '../../lists/bounded-digest-set.js';
import type { RecipientRow } from '../../lists/recipient-source.js';
import type { Dispatcher } from '../dispatcher.js';
import { newLeaseOwner } from '../lease-owner.js';
import { withRunLock } from '../run-lock.js';
import { RateGate, Semaphore, Slots } from './rate-gate.js';
import { suppressedAmong, suppressionText } from '../suppression-check.js';
import { suppressDeadAddresses, type Refusal } from '../suppression-learning.js';
import { monthKey } from '../../store/ports.js';

export type RecipientOutcome = 'delivered' | 'rejected' | 'queued' | 'invalid' | 'skipped';

export interface BulkFailure {
  line?: number;
  email?: string;
  outcome: 'rejected' | 'queued' | 'invalid';
  reason: string;
  outboxId?: number;
  /** Queued as ambiguous: the provider may have it, so the worker does not retry it by itself. */
  ambiguous?: true;
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
  /** Of the rejected: rows whose address is on the suppression list (no provider was called for them). */
  suppressed: number;
  /** Rows sent although their address is on the suppression list (the template's ignoreSuppressions). */
  suppressionsIgnored: number;
  /** Addresses a provider refused as dead (Postmark 406, SMTP 5.1.1) that this run put on the suppression list. */
  newlySuppressed: number;
  calls: Record<string, number>;
  byProvider: Record<string, { delivered: number; rejected: number }>;
  rateLimitPauses: number;
}

export interface BulkOptions {
  /** The template's chain: every row's, unless routeRow gives rows their own. */
  chain: string[];
  /** Each row's chain when rules route rows apart (split, recipient domain; see row-routes.ts). */
  routeRow?: (row: { email: string; digest: string }) => string[];
  template: EmailMessage;
  concurrency: number;
  /** Caps the provider's batch size (1 = one API call per email, the benchmark baseline). */
  batchSize?: number;
  /** Recipients remembered in memory per set before the rest go to a temporary file (DEFAULT_DIGESTS_IN_MEMORY). */
  digestsInMemory?: number;
  /** About how many rows the list has, when that can be told before reading it (see estimatedRows). */
  expectedRows?: number;
  onProgress?: (stats: BulkStats) => void;
  /** Something the user should know that does not stop the run. */
  onWarning?: (message: string) => void;
  /**
   * Called once every row has gone into a call, while the last calls are under way (not after
   * Ctrl-C): the CLI has its store do its closing work then (Store.prepareToClose), instead of
   * after the report. Awaited; what it throws is ignored.
   */
  onAllCallsStarted?: () => Promise<void>;
}

const MAX_FAILURES_KEPT = 100;

/**
 * The next batch of at most `size` recipients with no email address twice: a Mailgun batch keys
 * its recipient variables by address, so a repeat would overwrite the first one's fields. Where
 * every provider the batch may go to takes repeats (`addressesMayRepeat`), simply the first `size`.
 */
export function takeBatch<T extends { address: string }>(queue: T[], size: number, addressesMayRepeat = false): { batch: T[]; rest: T[] } {
  if (addressesMayRepeat) return { batch: queue.slice(0, size), rest: queue.slice(size) };
  const batch: T[] = [];
  const rest: T[] = [];
  const addresses = new Set<string>();
  for (const item of queue) {
    if (batch.length < size && !addresses.has(item.address)) {
      batch.push(item);
      addresses.add(item.address);
    } else rest.push(item);
  }
  return { batch, rest };
}

/** A batch's recipients by answer: accepted (with their message ids), and those whose fate is unknown (ambiguous). */
function sortAnswers(part: { digest: string }[], statuses: RecipientStatus[]): { digests: string[]; messageIds: string[]; stillOpen: string[] } {
  const digests: string[] = [];
  const messageIds: string[] = [];
  const stillOpen: string[] = [];
  for (let i = 0; i < statuses.length; i++) {
    const status = statuses[i];
    if (status.accepted) {
      digests.push(part[i].digest);
      messageIds.push(status.messageId);
    } else if (status.error.errorClass === 'ambiguous') stillOpen.push(part[i].digest);
  }
  return { digests, messageIds, stillOpen };
}

/**
 * A row on its way. `address` is its email in lower case, as the digest, a batch's one-address
 * rule and the suppression list read it: lower-cased once per row instead of once for each (a new
 * string each time, ~8 ms per 100,000 rows a time, #21).
 */
type Pending = BulkRecipient & { line: number; address: string };

/**
 * Sends one personalised copy per recipient through the providers' batch APIs, with bounded
 * concurrency. Whole-call failures follow the failover policy for the batch; per-recipient
 * failures go through the single-message engine on their own, never resending the accepted ones.
 */
export class BulkSender {
  readonly stats: BulkStats = { read: 0, delivered: 0, rejected: 0, queued: 0, invalid: 0, skipped: 0, duplicates: 0, suppressed: 0, suppressionsIgnored: 0, newlySuppressed: 0, calls: {}, byProvider: {}, rateLimitPauses: 0 };
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
  /** Recipients this run has taken (a repeated row is sent once), as their key's digest. */
  private readonly taken: BoundedDigestSet;
  /** What earlier runs of this message did: who is not to be sent again. */
  private readonly resume: ResumeFilter<Pending>;
  private stopRequested = false;
  /** Accepted batches not yet written to the ledger. */
  private readonly ledger: LedgerBuffer;
  /** This month's usage ledger when the run started (budget caps add this run's deliveries to it). */
  private usageAtStart?: Record<string, number>;
  /** Budget-cap warnings already given, by provider (said once per run). */
  private readonly budgetWarned = new Set<string>();

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
    this.ledger = new LedgerBuffer(this.store, this.runKey, options.template.type, dispatcher.now, explicitContentKey(options.template));
    this.taken = new BoundedDigestSet({ memoryLimit: options.digestsInMemory, expectedMembers: options.expectedRows, onSpillFailure });
    const since = () => dispatcher.now() - bulkResumeMs(options.template, dispatcher.config.idempotency);
    this.resume = new ResumeFilter<Pending>(this.store, this.runKey, options.chain, (r) => this.personal(r), since, dispatcher.now, { memoryLimit: options.digestsInMemory, onSpillFailure });
  }

  /** The message's key: every recipient key of this bulk message starts with it. */
  private get runKey(): string {
    return this.options.template.idempotencyKey;
  }

  /** Stops taking new recipients (Ctrl-C): calls under way finish, the ledger is written. */
  stop(): void {
    this.stopRequested = true;
    for (const gate of this.gates.values()) gate.release();
    this.ledger.writeSoon();
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
      this.resume.close();
    }
  }

  private async runWithLock(rows: AsyncIterable<RecipientRow[]>): Promise<BulkStats> {
    await refuseKeyOfOtherBulkContent(this.store, this.options.template, this.dispatcher.config.idempotency, this.dispatcher.now());
    // Batches of this message that an earlier run left in flight: that run died, their fate is unknown.
    await this.resume.load();
    const slots = new Slots(this.options.concurrency);
    const batchSize = this.batchSizeFor(this.options.chain[0]);
    if (this.dispatcher.budgets.apply) this.usageAtStart = await this.store.usageByProvider(monthKey(this.dispatcher.now()));
    // One array for the whole run, emptied by each flush (splice hands its rows on). A new empty
    // array per flush starts out as an array of small integers, and the first row pushed into one
    // threw admitRows out of its optimised code ("not a Smi" in --trace-deopt), which V8 then
    // compiled again: ~9 ms of compiling per 100,000 rows (#21).
    const candidates: Pending[] = [];
    // Rows waiting for a batch, per chain: rows routed apart (split, recipient domain) never share a batch.
    const chunks = new Map<string[], { rows: Pending[]; size: number }>();
    const chainOf = this.options.routeRow ?? (() => this.options.chain);
    const flush = async (force: boolean) => {
      // Ledger and suppression look-ups are done per batch, not per recipient: one query for many keys.
      this.queueByChain(await this.withoutSuppressed(await this.resume.notYetHandled(candidates.splice(0), this.resumeReport)), chunks, chainOf, batchSize);
      for (const [chain, chunk] of chunks) {
        while ((chunk.rows.length >= chunk.size || (force && chunk.rows.length > 0)) && !slots.failed && !this.stopRequested) {
          // The ledger cannot be written (a full disk, the database gone): no more calls.
          this.ledger.throwIfWriteFailed();
          const { batch, rest } = takeBatch(chunk.rows, chunk.size, this.addressesMayRepeatIn(chain));
          chunk.rows = rest;
          this.prepareRequest(batch, chain[0]);
          // Waiting for a slot can outlast a Ctrl-C: a batch not yet started then stays for the rerun.
          await slots.run(async () => {
            if (!this.stopRequested) await this.deliverChunk(batch, chain);
          });
          // Lets the call just started reach its socket before rows are read again: the SDK gets
          // there through a chain of promise steps, which row parsing would otherwise hold up.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    };
    // Accepted batches are recorded at least this often, even while every worker waits (429 pause).
    const ledgerTimer = setInterval(() => this.ledger.writeSoon(), LEDGER_FLUSH_MS);
    ledgerTimer.unref();
    try {
      reading: for await (const chunkOfRows of rows) {
        for (let next = 0; next < chunkOfRows.length; ) {
          // Both change only while this awaits (a signal, a call's end), never in admitRows.
          if (this.stopRequested || slots.failed) break reading;
          next = this.admitRows(chunkOfRows, next, candidates, batchSize);
          if (candidates.length >= batchSize) await flush(false);
        }
      }
      // Interrupted: rows read but not sent are left alone, so rerunning the command sends them.
      if (!this.stopRequested) {
        await flush(true);
        await this.options.onAllCallsStarted?.().catch(() => {});
      }
    } finally {
      try {
        await slots.drain();
      } finally {
        clearInterval(ledgerTimer);
        await this.ledger.flush();
      }
    }
    this.stats.rateLimitPauses = [...this.gates.values()].reduce((sum, gate) => sum + gate.pauses, 0);
    this.progress();
    return this.stats;
  }

  /*
   * The loops over rows live in small synchronous methods of their own (admitRows, queueByChain,
   * countDelivered), not in the async functions that await between batches: V8 optimises a function
   * whose loop runs hot as a whole, inlined callees and all, and it optimised runWithLock, its flush
   * and deliverChunk, large async functions that run a few hundred times, over and over. Moving the
   * loops out took 2–5 % off a bulk run's instructions, all of it V8's compiler on its own threads
   * (callgrind, 100,000 rows: Mailgun 6,553 → 6,217 M, Postmark ~6,900 → ~6,750 M).
   */

  /**
   * Takes rows from `from` into `candidates` until it holds a batch (or the rows run out): invalid
   * rows and repeats are counted and left out. Returns where it stopped.
   */
  private admitRows(rows: RecipientRow[], from: number, candidates: Pending[], batchSize: number): number {
    let next = from;
    while (next < rows.length && candidates.length < batchSize) {
      const start = candidates.length;
      while (next < rows.length && candidates.length < batchSize) {
        const row = rows[next++];
        this.stats.read++;
        if ('error' in row) {
          this.fail({ line: row.line, outcome: 'invalid', reason: row.error });
          continue;
        }
        const lowered = row.email.toLowerCase();
        // Most addresses are in lower case already: the row in flight then holds one string, not two.
        const address = lowered === row.email ? row.email : lowered;
        candidates.push({ line: row.line, email: row.email, fields: row.fields, digest: addressDigest(address, row.fields), address });
      }
      // The rows' look-ups in the set of rows taken come after their digests, one after another:
      // the set is a few MB read at random, and look-ups in a row overlap their memory reads,
      // where one look-up between two rows' parsing waited for each (~25 % less for the set, #21).
      // A repeat is left out; the first of its rows stays, as before.
      let kept = start;
      for (let i = start; i < candidates.length; i++) {
        if (this.taken.add(candidates[i].digest)) candidates[kept++] = candidates[i];
        else this.stats.duplicates++;
      }
      candidates.length = kept;
    }
    return next;
  }

  /**
   * Has the provider build the batch's request while it waits for a slot, not once one is free
   * (see prepareBulk). Only a head start: if that fails, sendBulk builds it and reports what fails.
   */
  private prepareRequest(batch: Pending[], providerName: string): void {
    try {
      this.dispatcher.provider(providerName).prepareBulk?.(this.options.template, batch);
    } catch {
      // Built again, and failed again where it is reported, by the call.
    }
  }

  /** Whether every provider of the chain takes one address twice in a bulk call (a batch may fail over to any). */
  private addressesMayRepeatIn(chain: string[]): boolean {
    return chain.every((name) => this.dispatcher.provider(name).bulkAddressesMayRepeat === true);
  }

  /** Puts each row in the waiting rows of its chain. */
  private queueByChain(rows: Pending[], chunks: Map<string[], { rows: Pending[]; size: number }>, chainOf: (row: Pending) => string[], batchSize: number): void {
    if (this.options.routeRow === undefined) {
      // Every row goes the template's way: one look-up for them all, not one per row.
      let chunk = chunks.get(this.options.chain);
      if (!chunk) chunks.set(this.options.chain, (chunk = { rows: [], size: batchSize }));
      for (const row of rows) chunk.rows.push(row);
      return;
    }
    for (const row of rows) {
      const chain = chainOf(row);
      let chunk = chunks.get(chain);
      if (!chunk) chunks.set(chain, (chunk = { rows: [], size: chain === this.options.chain ? batchSize : this.batchSizeFor(chain[0]) }));
      chunk.rows.push(row);
    }
  }

  private countDelivered(delivered: { provider: string }[]): void {
    for (const { provider } of delivered) {
      this.stats.delivered++;
      this.byProvider(provider).delivered++;
    }
  }

  /**
   * Recipients per call: the provider's count limit, and where each copy travels whole (Postmark's
   * batch), as many as fit its byte limit (attachments make copies large).
   */
  private batchSizeFor(providerName: string): number {
    const provider = this.dispatcher.provider(providerName);
    // A margin for each copy's own fields (addresses, headers, JSON) beyond the body and attachments.
    const copyBytes = Math.ceil(estimateMessageBytes(this.options.template) * 1.05) + 4_096;
    const bySize = provider.maxBulkBytes ? Math.floor(provider.maxBulkBytes / copyBytes) : Infinity;
    // A batch never holds more than the provider's smallest rate-limit window (see docs/bulk.md).
    const byRate = Math.min(...this.dispatcher.config.providers[providerName].rateLimits.map((limit) => limit.count));
    return Math.max(1, Math.min(provider.maxBulkRecipients, bySize, byRate, this.options.batchSize ?? Infinity));
  }

  /**
   * Recipients on the suppression list are rejected rows, before any provider call (one store
   * query for the batch); the others go on. With the template's ignoreSuppressions they are sent,
   * and counted as such.
   */
  private async withoutSuppressed(recipients: Pending[]): Promise<Pending[]> {
    if (recipients.length === 0) return recipients;
    const listed = await suppressedAmong(this.store, recipients.map((r) => r.address), this.options.template.from);
    if (listed.size === 0) return recipients;
    if (this.options.template.ignoreSuppressions) {
      this.stats.suppressionsIgnored += recipients.filter((r) => listed.has(r.address)).length;
      return recipients;
    }
    return recipients.filter((recipient) => {
      const suppression = listed.get(recipient.address);
      if (!suppression) return true;
      this.stats.suppressed++;
      this.fail({ line: recipient.line, email: recipient.email, outcome: 'rejected', reason: `on the suppression list: ${suppressionText(suppression)}; not sent` });
      return false;
    });
  }

  /** Best effort: a store failure here leaves these rows rejected as reported, with a warning. */
  private async suppressDeadAddresses(refusals: Refusal[]): Promise<void> {
    try {
      this.stats.newlySuppressed += (await suppressDeadAddresses(this.store, this.dispatcher.config, refusals, this.dispatcher.now())).length;
    } catch (error) {
      this.options.onWarning?.(`could not put ${refusals.length} refused address(es) on the suppression list (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  private readonly resumeReport: ResumeReport<Pending> = {
    skipped: () => void this.stats.skipped++,
    inOutbox: (recipient, entry) => {
      const where = { line: recipient.line, email: recipient.email, outboxId: entry.id };
      if (entry.status === 'dropped') this.stats.skipped++;
      else if (entry.status === 'rejected') this.fail({ ...where, outcome: 'rejected', reason: 'rejected earlier (see queue show)' });
      else this.fail({ ...where, outcome: 'queued', reason: `already waiting in the outbox (${entry.status}) from an earlier run: use queue retry` });
    },
    queuedInDoubt: (recipient, reason, outboxId) => this.fail({ line: recipient.line, email: recipient.email, outcome: 'queued', reason, outboxId, ambiguous: true }),
  };

  private personal(recipient: BulkRecipient): EmailMessage {
    return personalise(this.options.template, recipient);
  }

  /**
   * One batch through the chain runner (the same failover engine as a single message): each call
   * is one provider batch call, recorded in flight before it goes out and in the ledger after.
   */
  private async deliverChunk(recipients: Pending[], routedChain: string[]): Promise<void> {
    const openBatches = new Set<number>();
    const { failover } = this.dispatcher.config;
    const chain = await this.withinBudget(recipients, routedChain);
    if (!chain) return;
    const outcome = await runChain<Pending, string>(recipients, chain, { ...failover.retry, resendAmbiguous: failover.resendAmbiguous }, {
      call: (name, items) => this.callProvider(name, items, openBatches),
      now: this.dispatcher.now,
      // A 429's pause holds every call to that provider; other retries wait on their own.
      wait: async (name, ms, rateLimited) => (rateLimited ? this.gateOf(name).pause(ms) : this.sleep(ms)),
      health: { book: this.store, policy: failover.health },
      skipReason: (name) => {
        const limited = this.rateLimitedUntil.get(name);
        return limited && limited.until > this.dispatcher.now() ? limited.reason : this.dispatcher.rateLimiter?.spentReason(name);
      },
      onRetryAfterTooLong: (name, retryAfterMs, reason) => this.rateLimitedUntil.set(name, { until: this.dispatcher.now() + retryAfterMs, reason }),
      // One alert per switch of this batch, however many recipients it carries.
      ...alertingChainHooks<Pending>(this.dispatcher.alerts, this.dispatcher.now, { bulk: true }),
      // A retry, or the end of a rate-limit pause, after Ctrl-C: no new call (the rerun sends these).
      beforeCall: async (name) => {
        await this.gateOf(name).wait();
        this.ledger.throwIfWriteFailed();
        return !this.stopRequested;
      },
    });
    this.countDelivered(outcome.delivered);
    const alone: { recipient: Pending; chain: string[] }[] = [];
    const refusals: Refusal[] = [];
    for (const { item, provider, error, wholeCall } of outcome.rejected) {
      // A whole batch refused does not say which recipient was at fault: each is tried on its own.
      if (wholeCall) alone.push({ recipient: item, chain: chain.slice(chain.indexOf(provider)) });
      else {
        this.byProvider(provider).rejected++;
        this.fail({ line: item.line, email: item.email, outcome: 'rejected', reason: `${provider}: ${error.message}` });
        refusals.push({ address: item.email.toLowerCase(), provider, code: error.code, message: error.message });
      }
    }
    // Dead addresses (Postmark 406, SMTP 5.1.1) go on the suppression list: one store call per batch.
    if (refusals.length) await this.suppressDeadAddresses(refusals);
    for (const { item, provider, error } of outcome.ambiguous) await this.queueAll([item], `${provider}: ${error.message}`, 'ambiguous', routedChain);
    if (outcome.undelivered.length) await this.queueAll(outcome.undelivered, `every provider failed for this batch${outcome.reasons.length ? ` (${outcome.reasons.join('; ')})` : ''}`, 'pending', routedChain);
    this.progress();
    // Their fate is recorded now (ledger, outbox): the in-flight records can go.
    if (openBatches.size) {
      await this.ledger.flush();
      for (const batchId of openBatches) await this.store.settleInFlight(batchId);
    }
    await this.deliverEachOnItsOwn(alone);
  }

  /**
   * One provider's call(s) for these recipients, in batches of its size. Each batch is marked in
   * flight before it goes out (if this process dies, a later run knows these are in doubt); what
   * it accepted is buffered for the ledger. A batch that failed whole fails each of its recipients
   * when there were several batches; one batch throws, as one call.
   */
  private async callProvider(name: string, recipients: Pending[], openBatches: Set<number>): Promise<ItemAnswer<string>[]> {
    const provider = this.dispatcher.provider(name);
    const size = this.batchSizeFor(name);
    const answers: ItemAnswer<string>[] = [];
    for (let start = 0; start < recipients.length; ) {
      if (start > 0) await this.gateOf(name).wait();
      const allowed = await this.rateAllowance(name, Math.min(size, recipients.length - start), start === 0);
      if (!allowed.ok) {
        // Out of room at this provider (or stopping): the rest of the call moves on (or stays for the rerun).
        answers.push(...recipients.slice(start).map(() => ({ ok: false as const, error: allowed.error })));
        break;
      }
      // The batch itself when the call takes it whole: its request may have been built already (prepareBulk).
      const part = start === 0 && allowed.count === recipients.length ? recipients : recipients.slice(start, start + allowed.count);
      const takenAt = this.dispatcher.now();
      start += part.length;
      const batchId = await this.store.markInFlight(this.runKey, part.map((r) => r.digest), this.owner, name, this.dispatcher.now());
      this.stats.calls[name] = (this.stats.calls[name] ?? 0) + 1;
      let statuses: RecipientStatus[];
      try {
        statuses = await provider.sendBulk(this.options.template, part);
      } catch (error) {
        // Nothing was accepted; a timeout keeps its record until the recipients wait as ambiguous.
        if (error instanceof ProviderError && error.errorClass === 'ambiguous') openBatches.add(batchId);
        else {
          await this.store.settleInFlight(batchId);
          await this.dispatcher.rateLimiter?.giveBack(name, part.length, takenAt);
        }
        // One batch for the whole call throws, as one call; a part of several fails its recipients.
        if (part.length === recipients.length || !(error instanceof ProviderError)) throw error;
        answers.push(...part.map(() => ({ ok: false as const, error })));
        continue;
      }
      const notSent = statuses.filter((status) => !status.accepted && status.error.errorClass !== 'ambiguous').length;
      if (notSent) await this.dispatcher.rateLimiter?.giveBack(name, notSent, takenAt);
      await this.bufferAccepted(name, part, statuses, batchId, openBatches);
      answers.push(...statuses.map((status): ItemAnswer<string> => (status.accepted ? { ok: true, value: status.messageId } : { ok: false, error: status.error })));
    }
    return answers;
  }

  /**
   * How many of the next `want` recipients the provider's rate limit lets go now (waiting for the
   * next window when it is near; a Ctrl-C cuts the wait short). A spent quota fails the rest of
   * the call; before its first batch, the whole call (thrown, as one failure the runner moves on from).
   */
  private async rateAllowance(name: string, want: number, first: boolean): Promise<{ ok: true; count: number } | { ok: false; error: ProviderError }> {
    const limiter = this.dispatcher.rateLimiter;
    if (!limiter) return { ok: true, count: want };
    try {
      const count = await limiter.admitBatch(name, want, { sleep: (ms) => this.gateOf(name).hold(ms), stopped: () => this.stopRequested });
      return count > 0 ? { ok: true, count } : { ok: false, error: runStopped(name) };
    } catch (error) {
      if (first || !(error instanceof ProviderError)) throw error;
      return { ok: false, error };
    }
  }

  /** The accepted recipients of one batch go to the ledger buffer; the in-flight record keeps those still undecided. */
  private async bufferAccepted(name: string, part: Pending[], statuses: RecipientStatus[], batchId: number, openBatches: Set<number>): Promise<void> {
    const { digests, messageIds, stillOpen } = sortAnswers(part, statuses);
    if (digests.length === 0 && stillOpen.length === 0) {
      await this.store.settleInFlight(batchId);
      return;
    }
    if (stillOpen.length) openBatches.add(batchId);
    this.ledger.add({ provider: name, digests, messageIds, batchId, stillOpen });
  }

  private byProvider(name: string): { delivered: number; rejected: number } {
    return (this.stats.byProvider[name] ??= { delivered: 0, rejected: 0 });
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
   * Recipients a whole-batch refusal covered, each on its own: at most --concurrency calls at once
   * across the run (a thousand at once would meet a rate limit, or time out into "ambiguous").
   * After Ctrl-C none starts: those were not sent, and the rerun sends them.
   */
  private async deliverEachOnItsOwn(items: { recipient: Pending; chain: string[] }[]): Promise<void> {
    await Promise.all(
      items.map(({ recipient, chain }) =>
        this.singleCalls.use(async () => {
          if (!this.stopRequested) await this.deliverChunk([recipient], chain);
        }),
      ),
    );
  }

  /**
   * The batch's chain after the providers' budget caps (pricing.<name>.budget), counting this run's
   * deliveries on top of the ledger at the start; undefined when nothing may be sent now (the rows
   * then wait in the outbox). Batches under way at once are not counted against each other: a run
   * can pass a cap by up to --concurrency batches.
   */
  private async withinBudget(recipients: Pending[], chain: string[]): Promise<string[] | undefined> {
    if (!this.usageAtStart) return chain;
    const usage = { ...this.usageAtStart };
    for (const [name, counts] of Object.entries(this.stats.byProvider)) usage[name] = (usage[name] ?? 0) + counts.delivered;
    const budgeted = await this.dispatcher.budgets.chain(chain, recipients.length, { usage });
    if (!budgeted) return chain;
    for (const verdict of [...budgeted.warned, ...budgeted.skipped]) {
      if (!this.budgetWarned.has(verdict.provider)) this.options.onWarning?.(verdict.text);
      this.budgetWarned.add(verdict.provider);
    }
    if (budgeted.chain.length > 0) return budgeted.chain;
    const reason = budgeted.heldAt?.text ?? `every provider of the chain is over its budget (${budgeted.skipped.map((v) => v.provider).join(', ')})`;
    await this.queueAll(recipients, reason, 'pending', chain);
    return undefined;
  }

  private async queueAll(recipients: Pending[], reason: string, status: 'pending' | 'ambiguous', chain: string[]): Promise<void> {
    for (const recipient of recipients) {
      const outboxId = await this.store.enqueue(this.personal(recipient), chain, status, reason, [], this.dispatcher.now());
      this.fail({ line: recipient.line, email: recipient.email, outcome: 'queued', reason, outboxId, ...(status === 'ambiguous' ? { ambiguous: true as const } : {}) });
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
