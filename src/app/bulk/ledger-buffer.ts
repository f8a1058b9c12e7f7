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
  private lastWrite = Date.now();
  /** A write that writeSoon() scheduled and that has not ended yet. */
  private scheduled?: Promise<void>;
  /** Why a scheduled write failed: the next add() or flush() throws it. */
  private failure?: { error: unknown };

  constructor(
    private readonly ledger: Pick<DeliveryLedger, 'recordBulkBatches'>,
    private readonly runKey: string,
    private readonly messageType: string,
    private readonly now: () => number,
  ) {}

  /**
   * Adds a batch. A buffer grown large or old is written soon (writeSoon), not here: the caller
   * is on the way from one provider answer to the next call, and the write would hold that call
   * up (a few milliseconds of SQLite, in one call's path out of five, #21).
   */
  add(batch: AcceptedBatch): void {
    this.throwFailure();
    this.batches.push(batch);
    this.rows += batch.digests.length;
    if (this.rows >= FLUSH_ROWS || Date.now() - this.lastWrite >= FLUSH_MS) this.writeSoon();
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

  /** Writes the buffer now, after any write under way; throws if a write failed. */
  async flush(): Promise<void> {
    await this.scheduled;
    this.throwFailure();
    await this.write();
  }

  private async write(): Promise<void> {
    const batches = this.batches;
    if (batches.length === 0) return;
    this.batches = [];
    this.rows = 0;
    this.lastWrite = Date.now();
    await this.ledger.recordBulkBatches(this.runKey, this.messageType, batches, this.now());
  }

  private throwFailure(): void {
    if (this.failure) throw this.failure.error;
  }
}
