import { bulkCounts, bulkStatus } from '../app/bulk/bulk-report.js';
import { randomUUID } from 'node:crypto';
import { BulkSender, type BulkFailure, type BulkOptions } from '../app/bulk/bulk-sender.js';
import type { Dispatcher } from '../app/dispatcher.js';
import type { BodyProblem } from '../app/platform-body.js';
import { isBareAddress } from '../core/address.js';
import type { EmailMessage } from '../core/message.js';
import type { RecipientRow } from '../lists/recipient-source.js';
import { BadRequest } from './errors.js';

/** Provider calls at once per bulk request (the CLI's --concurrency default). */
const CONCURRENCY = 4;
/** Rows handed to the bulk sender at a time (it reads them as a list file's chunks). */
const ROWS_PER_CHUNK = 500;
/** Finished reports kept for GET /api/v1/bulk/{id}; the oldest go first. */
const FINISHED_KEPT = 1_000;
const MAX_DETAILS = 20;

export interface BulkRecipientInput {
  email: string;
  [field: string]: string;
}

/** Checks `recipients` of a bulk body: a non-empty list of objects with an `email` and string merge fields. */
export function checkRecipients(raw: unknown): BulkRecipientInput[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new BadRequest('invalid bulk request', [{ path: 'recipients', message: raw === undefined ? 'required (a list of {"email", …merge fields})' : 'must be a non-empty list of {"email", …merge fields}' }]);
  const problems: BodyProblem[] = [];
  raw.forEach((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) problems.push({ path: `recipients[${i}]`, message: 'must be an object with "email" and merge fields' });
    else {
      if (typeof (item as Record<string, unknown>).email !== 'string') problems.push({ path: `recipients[${i}].email`, message: 'required (a string)' });
      for (const [field, value] of Object.entries(item)) {
        if (typeof value !== 'string') problems.push({ path: `recipients[${i}].${field}`, message: 'merge fields must be strings' });
      }
    }
  });
  if (problems.length) throw new BadRequest('invalid bulk request', problems.slice(0, MAX_DETAILS), problems.length > MAX_DETAILS ? `${problems.length - MAX_DETAILS} more problems not listed; nothing was sent` : 'nothing was sent');
  return raw as BulkRecipientInput[];
}

/** The rows a list file would give: `line` is the recipient's position in the list (1-based). */
async function* rowsOf(recipients: BulkRecipientInput[]): AsyncGenerator<RecipientRow[]> {
  for (let start = 0; start < recipients.length; start += ROWS_PER_CHUNK) {
    yield recipients.slice(start, start + ROWS_PER_CHUNK).map(({ email, ...fields }, i): RecipientRow => {
      const line = start + i + 1;
      return isBareAddress(email.trim()) ? { line, email: email.trim(), fields } : { line, error: `"${email}" is not a valid email address` };
    });
  }
}

interface BulkJob {
  id: string;
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
 * The bulk runs of this server process (POST /api/v1/emails/bulk), with their reports, in memory:
 * a report is gone when the process ends (the deliveries are not: posting the same bulk again
 * skips whoever was delivered).
 */
export class BulkJobs {
  private readonly jobs = new Map<string, BulkJob>();

  constructor(private readonly onWarning: (message: string) => void) {}

  start(dispatcher: Dispatcher, template: EmailMessage, route: { chain: string[]; source: string; routeRow?: BulkOptions['routeRow'] }, recipients: BulkRecipientInput[]): string {
    const id = randomUUID();
    const sender = new BulkSender(dispatcher, { chain: route.chain, routeRow: route.routeRow, template, concurrency: CONCURRENCY, onWarning: this.onWarning });
    const job: BulkJob = { id, sender, chain: route.chain, rule: route.source, perRow: route.routeRow !== undefined, startedAt: Date.now(), done: Promise.resolve() };
    job.done = sender.run(rowsOf(recipients)).then(
      () => void (job.endedAt = Date.now()),
      (error: unknown) => {
        job.endedAt = Date.now();
        job.error = error instanceof Error ? error.message : String(error);
      },
    );
    this.jobs.set(id, job);
    this.forgetOldest();
    return id;
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
      failures: failures as BulkFailure[],
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

  /** Shutting down past the grace: runs take no more recipients; calls under way finish and are recorded. */
  stopAll(): void {
    for (const job of this.jobs.values()) if (job.endedAt === undefined) job.sender.stop();
  }

  private forgetOldest(): void {
    const finished = [...this.jobs.values()].filter((job) => job.endedAt !== undefined);
    for (const job of finished.slice(0, Math.max(0, finished.length - FINISHED_KEPT))) this.jobs.delete(job.id);
  }
}

