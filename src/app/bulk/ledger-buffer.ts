import type { AcceptedBatch, DeliveryLedger } from '../../store/ports.js';

/**
 * Deliveries are written to the ledger in groups, a row per batch, several batches a transaction.
 * Safe to defer, because a batch's in-flight record is only removed in the same transaction: a
 * crash before the write leaves it "in doubt", never resent.
 */
const FLUSH_ROWS = 5_000;
export const FLUSH_MS = 250;

/** The accepted batches of one bulk run not yet written to the delivery ledger. */
export class LedgerBuffer {
  private batches: AcceptedBatch[] = [];
  private rows = 0;
  private lastWriteAt = Date.now();
  /** A write that writeSoon() scheduled and that has not ended yet. */
  private scheduled?: Promise<void>;
  /**
   * Every write started, in order, each after the one before: a flush that finds the buffer empty
   * still waits for a write under way, which may hold its batches (PostgreSQL's writes take time,
   * and a batch's in-flight record may only go once its ledger row is in). A write that fails
   * fails every later one: the run stops, and what was not written stays in flight for the rerun.
   */
  private writes: Promise<void> = Promise.resolve();
  /** Why a scheduled write failed: the next add() or flush() throws it. */
  private failure?: { error: unknown };

  constructor(
    private readonly ledger: Pick<DeliveryLedger, 'recordBulkBatches'>,
    private readonly runKey: string,
    private readonly messageType: string,
    private readonly now: () => number,
    /** What the message says, kept with each batch under an explicit key (null under a derived one). */
    private readonly contentKey: string | null = null,
  ) {}

  /**
   * Adds a batch. A buffer grown large or old is written soon (writeSoon), not here: the caller
   * is on the way from one provider answer to the next call, and the write would hold that call
   * up (a few milliseconds of SQLite, in one call's path out of five, #21).
   */
  add(batch: AcceptedBatch): void {
    this.throwIfWriteFailed();
    this.batches.push(batch);
    this.rows += batch.digests.length;
    if (this.rows >= FLUSH_ROWS || Date.now() - this.lastWriteAt >= FLUSH_MS) this.writeSoon();
  }

  /**
   * Writes the buffer once the work under way has run (the next turn of the event loop: by then a
   * call started after the answer just handled has reached its socket). Never rejects: a failure
   * is thrown by the next add() or flush().
   */
  writeSoon(): void {
    this.scheduled ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.write())
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.scheduled = undefined;
      });
  }

  /** Writes the buffer now, after every write under way; throws if a write failed. */
  async flush(): Promise<void> {
    await this.scheduled;
    this.throwIfWriteFailed();
    await this.write();
  }

  /** Throws the error of a write that writeSoon() made and that failed (the bulk engine asks before each call). */
  throwIfWriteFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Starts writing the buffer after the writes before it; resolves once all of them are in. */
  private write(): Promise<void> {
    const batches = this.batches;
    if (batches.length > 0) {
      this.batches = [];
      this.rows = 0;
      this.lastWriteAt = Date.now();
      const now = this.now();
      this.writes = this.writes.then(() => this.ledger.recordBulkBatches(this.runKey, this.messageType, batches, now, this.contentKey));
    }
    return this.writes;
  }
}
