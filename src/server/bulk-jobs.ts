import { bulkCounts, bulkStatus } from '../app/bulk/bulk-report.js';
import { createHash, randomUUID } from 'node:crypto';
import { BulkSender, type BulkFailure, type BulkOptions } from '../app/bulk/bulk-sender.js';
import type { Dispatcher } from '../app/dispatcher.js';
import { IdempotencyConflictError } from '../core/errors.js';
import { MIN_BULK_RESUME_MS } from '../core/idempotency.js';
import type { EmailMessage } from '../core/message.js';
import { isLeaseOwnerAlive } from '../app/lease-owner.js';
import type { BulkJobRepository } from '../store/ports.js';
import { rowsOf, type BulkRecipientInput } from './bulk-recipients.js';

/** Provider calls at once per bulk request (the CLI's --concurrency default). */
const CONCURRENCY = 4;
/** Finished reports kept for GET /api/v1/bulk/{id}; the oldest go first. */
const FINISHED_KEPT = 1_000;

interface BulkJob {
  id: string;
  /** The template's idempotency key: one run of it at a time (BulkSender's run lock). */
  runKey: string;
  /** A hash of the saved run (template, forced provider, list): tells a repeat of the request from other content. */
  content: string;
  sender: BulkSender;
  chain: string[];
  /** A split or recipient-domain rule routes each row on its own (chain is then the template's). */
  perRow: boolean;
  rule: string;
  startedAt: number;
  endedAt?: number;
  error?: string;
  done: Promise<void>;
}

/**
 * Bulk runs at once in one server process: each holds its list (up to server.bodyLimit) in memory
 * and sends at its own concurrency, so more at once would only share the same providers' limits.
 */
export const MAX_RUNNING_BULK_JOBS = 8;

/** How long a server holds an accepted run without renewing it (a server that died lets go after this). */
export const BULK_JOB_LEASE_MS = 2 * 60_000;
const RENEW_EVERY_MS = BULK_JOB_LEASE_MS / 4;
/**
 * A run that could not go on (its route failed, another process's run of the same list still holds
 * it, the store failed mid-run) is tried again after this, by whichever server claims it first.
 */
const RETRY_AFTER_MS = 60_000;

/** What is kept of an accepted run to resume it: the template (its idempotency key is the run's), the forced provider, the list. */
interface SavedBulkJob {
  template: EmailMessage;
  forceProvider?: string;
  recipients: BulkRecipientInput[];
}

/** The route of a run's template (the chain, its rule, and the per-row router when rules route rows one by one). */
export type BulkRoute = { chain: string[]; source: string; routeRow?: BulkOptions['routeRow'] };

/**
 * The bulk runs of this server process (POST /api/v1/emails/bulk). Each accepted run is kept in
 * the store with its list until it ends (see BulkJobRepository): one this server stops before
 * the end (a shutdown past its grace) or loses (a crash) is resumed — by this server once
 * restarted, or by another on the same store — and skips whoever was delivered. Reports are kept
 * in memory: the resumed run's report is on the server that resumed it.
 */
export class BulkJobs {
  private readonly jobs = new Map<string, BulkJob>();
  private renewal?: NodeJS.Timeout;
  /** Slots taken by requests being accepted and runs being resumed (so that nothing passes the cap together). */
  private reserved = 0;
  /** Set by stopAll (a shutdown): no run starts any more, whether accepted or resumed. */
  private stopped = false;
  /** The look for runs to resume under way, if any (a shutdown waits for it). */
  private resuming?: Promise<string[]>;
  /** Runs being kept in the store (start), by template key: see start. */
  private readonly starting = new Map<string, { content: string; id: Promise<string | undefined> }>();

  constructor(
    private readonly store: BulkJobRepository,
    /** This server's name as the holder of its runs (a lease owner). */
    private readonly owner: string,
    private readonly onWarning: (message: string) => void,
  ) {}

  /**
   * Takes one of `limit` slots for a request about to start a run, before anything is awaited;
   * undefined when they are all taken. The returned function gives it back (once the run has
   * started, or the request failed).
   */
  reserve(limit: number): (() => void) | undefined {
    if (this.running + this.reserved >= limit) return undefined;
    this.reserved++;
    let given = false;
    return () => {
      if (!given) this.reserved--;
      given = true;
    };
  }

  /**
   * Keeps the run in the store (accepted once this resolves), then starts it. Returns its id, or
   * undefined when a shutdown began meanwhile (nothing was kept: the request is to be refused).
   * While a run of the same template key goes on here, nothing new starts: the same request gets
   * that run's id, other content an IdempotencyConflictError.
   */
  async start(dispatcher: Dispatcher, template: EmailMessage, route: BulkRoute, recipients: BulkRecipientInput[], forceProvider?: string): Promise<string | undefined> {
    if (this.stopped) return undefined;
    const saved: SavedBulkJob = { template, recipients, ...(forceProvider ? { forceProvider } : {}) };
    const job = JSON.stringify(saved);
    const content = contentHash(job);
    const runKey = template.idempotencyKey;
    // The same request while its run goes on here, or is being kept (a client's retry, requests at
    // once, a run this server resumed): that run is the answer. A second run would only find the
    // first one's lock and fail. Looked up and noted before anything is awaited.
    const same = this.goingWithKey(runKey) ?? this.starting.get(runKey);
    if (same && same.content !== content) throw new IdempotencyConflictError(runKey, 'a bulk run still going');
    if (same) return same.id;
    const id = randomUUID();
    const kept = this.keepAndRun(id, job, content, dispatcher, template, route, recipients);
    this.starting.set(runKey, { content, id: kept });
    try {
      return await kept;
    } finally {
      this.starting.delete(runKey);
    }
  }

  private async keepAndRun(id: string, job: string, content: string, dispatcher: Dispatcher, template: EmailMessage, route: BulkRoute, recipients: BulkRecipientInput[]): Promise<string | undefined> {
    const now = dispatcher.now();
    await this.store.saveBulkJob(id, job, this.owner, now + BULK_JOB_LEASE_MS, now);
    // Stopped while it was being kept: kept it is, so it is accepted, and the next server runs it.
    if (this.stopped) await this.store.releaseBulkJob(id, this.owner);
    else this.run(id, dispatcher, template, route, recipients, content);
    return id;
  }

  /** The run of this template key going here, if any. */
  private goingWithKey(runKey: string): BulkJob | undefined {
    return [...this.jobs.values()].find((job) => job.endedAt === undefined && job.runKey === runKey);
  }

  /**
   * Takes up runs nobody holds (their server stopped or died), while fewer than `limit` run here
   * and no shutdown has begun. `routeOf` routes a run's template again, with today's config. One
   * look at a time: a call while one is under way waits for it.
   */
  resumeWaiting(dispatcher: Dispatcher, limit: number, routeOf: (template: EmailMessage, forceProvider?: string) => Promise<BulkRoute>): Promise<string[]> {
    this.resuming ??= this.resumeEach(dispatcher, limit, routeOf).finally(() => (this.resuming = undefined));
    return this.resuming;
  }

  private async resumeEach(dispatcher: Dispatcher, limit: number, routeOf: (template: EmailMessage, forceProvider?: string) => Promise<BulkRoute>): Promise<string[]> {
    const resumed: string[] = [];
    for (;;) {
      // A slot for each claim, taken before the claim: a resumed run counts against the cap at once.
      const release = this.stopped ? undefined : this.reserve(limit);
      if (!release) break;
      try {
        const now = dispatcher.now();
        const claimed = await this.store.claimBulkJob(this.owner, now + BULK_JOB_LEASE_MS, now, isLeaseOwnerAlive);
        if (!claimed) break;
        // Our own run, still going, whose lease lapsed (renewals failed for a while): claimed back, not run twice.
        const ours = this.jobs.get(claimed.id);
        if (ours && ours.endedAt === undefined) continue;
        // Past the horizon a rerun resumes from (the ledger's 7 days), it could send twice: given up, said.
        if (now - claimed.createdAt > MIN_BULK_RESUME_MS) {
          await this.store.finishBulkJob(claimed.id, this.owner);
          this.onWarning(`bulk run ${claimed.id}, accepted ${new Date(claimed.createdAt).toISOString()}, is given up: it could not end within ${MIN_BULK_RESUME_MS / 86_400_000} days, past which a rerun could no longer tell who was delivered`);
          continue;
        }
        let saved: SavedBulkJob;
        let route: BulkRoute;
        const content = contentHash(claimed.job);
        try {
          saved = JSON.parse(claimed.job) as SavedBulkJob;
          // The same run was posted again here before this look found it: the one going does its work.
          const going = this.goingWithKey(saved.template.idempotencyKey);
          if (going?.content === content) {
            await this.store.finishBulkJob(claimed.id, this.owner);
            continue;
          }
          route = await routeOf(saved.template, saved.forceProvider);
        } catch (error) {
          // The config no longer routes it (a provider gone, a secret unset): tried again later, by
          // whichever server can; the other runs go on meanwhile.
          await this.store.releaseBulkJob(claimed.id, this.owner, dispatcher.now() + RETRY_AFTER_MS);
          this.onWarning(`bulk run ${claimed.id} cannot be resumed here now (tried again in ${RETRY_AFTER_MS / 1000} s): ${error instanceof Error ? error.message : String(error)}`);
          continue;
        }
        if (this.stopped) {
          await this.store.releaseBulkJob(claimed.id, this.owner);
          break;
        }
        this.run(claimed.id, dispatcher, saved.template, route, saved.recipients, content);
        resumed.push(claimed.id);
      } finally {
        release();
      }
    }
    return resumed;
  }

  /** `content`: the hash of the run as kept in the store (contentHash). */
  private run(id: string, dispatcher: Dispatcher, template: EmailMessage, route: BulkRoute, recipients: BulkRecipientInput[], content: string): void {
    const sender = new BulkSender(dispatcher, { chain: route.chain, routeRow: route.routeRow, template, concurrency: CONCURRENCY, onWarning: this.onWarning });
    const job: BulkJob = { id, runKey: template.idempotencyKey, content, sender, chain: route.chain, rule: route.source, perRow: route.routeRow !== undefined, startedAt: Date.now(), done: Promise.resolve() };
    job.done = sender
      .run(rowsOf(recipients))
      .then(
        () => undefined,
        (error: unknown) => {
          job.error = error instanceof Error ? error.message : String(error);
          return error;
        },
      )
      .then(async (failure) => {
        // Stopped by a shutdown: let go, for the next server. Refused for good (its key delivered
        // another message, which a second server accepting the same key learns only once the first
        // run has delivered): over, said. Failed otherwise (another process's run of the same list
        // still holds it, the store failed mid-run): tried again later, when a rerun skips whoever
        // was delivered. Otherwise the run is over.
        try {
          if (failure instanceof IdempotencyConflictError) {
            await this.store.finishBulkJob(id, this.owner);
            this.onWarning(`bulk run ${id} is given up: ${job.error}`);
          } else if (failure !== undefined) await this.store.releaseBulkJob(id, this.owner, dispatcher.now() + RETRY_AFTER_MS);
          else if (sender.interrupted) await this.store.releaseBulkJob(id, this.owner);
          else await this.store.finishBulkJob(id, this.owner);
        } catch (error) {
          this.onWarning(`bulk run ${id}: could not record its end (${error instanceof Error ? error.message : String(error)}); it may be resumed and skip whoever was delivered`);
        }
        job.endedAt = Date.now();
        if (this.running === 0) this.stopRenewing();
      });
    this.jobs.set(id, job);
    this.forgetOldest();
    this.renewWhileRunning(dispatcher);
  }

  /** The ids of the runs going here: the only rows this server renews. */
  private runningIds(): string[] {
    return [...this.jobs.values()].filter((job) => job.endedAt === undefined).map((job) => job.id);
  }

  private renewWhileRunning(dispatcher: Dispatcher): void {
    this.renewal ??= setInterval(() => {
      this.store.renewBulkJobs(this.owner, this.runningIds(), dispatcher.now() + BULK_JOB_LEASE_MS).catch((error: unknown) => this.onWarning(`could not renew the lease of this server's bulk runs: ${error instanceof Error ? error.message : String(error)}`));
    }, RENEW_EVERY_MS).unref();
  }

  private stopRenewing(): void {
    clearInterval(this.renewal);
    this.renewal = undefined;
  }

  /** The `send --recipients --json` report so far. */
  report(id: string) {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    const { stats, failures, failuresNotKept } = job.sender;
    const running = job.endedAt === undefined;
    return {
      bulkId: job.id,
      status: running ? 'running' : job.error ? 'error' : job.sender.interrupted ? 'interrupted' : bulkStatus(stats),
      ...(job.error ? { error: job.error } : {}),
      route: { chain: job.chain, rule: job.rule, perRow: job.perRow },
      recipients: stats.read,
      ...bulkCounts(stats),
      // A recipient of the API's list is named by its place in it, as every other problem of a body is.
      failures: (failures as BulkFailure[]).map((failure) => (failure.line === undefined ? failure : { path: `recipients[${failure.line - 1}]`, ...failure })),
      failuresNotListed: failuresNotKept,
      startedAt: new Date(job.startedAt).toISOString(),
      elapsedMs: (job.endedAt ?? Date.now()) - job.startedAt,
    };
  }

  get running(): number {
    return [...this.jobs.values()].filter((job) => job.endedAt === undefined).length;
  }

  /** Resolves when every run has ended. */
  async settled(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((job) => job.done));
  }

  /**
   * Shutting down: no run starts any more; with `stopRunning` (past the grace), the runs take no
   * more recipients (calls under way finish and are recorded), and are let go for the next server.
   */
  stopAll(stopRunning = true): void {
    this.stopped = true;
    if (stopRunning) for (const job of this.jobs.values()) if (job.endedAt === undefined) job.sender.stop();
  }

  /** Resolves when the look for runs to resume (if one is under way) has ended. */
  async resumed(): Promise<void> {
    await this.resuming?.catch(() => undefined);
  }

  private forgetOldest(): void {
    const finished = [...this.jobs.values()].filter((job) => job.endedAt !== undefined);
    for (const job of finished.slice(0, Math.max(0, finished.length - FINISHED_KEPT))) this.jobs.delete(job.id);
  }
}

/** A run as kept in the store, as a hash: the same request gives the same one. */
function contentHash(savedJob: string): string {
  return createHash('sha256').update(savedJob).digest('hex');
}
