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
  private lastFlush = Date.now();

  constructor(
    private readonly ledger: Pick<DeliveryLedger, 'recordBulkBatches'>,
    private readonly runKey: string,
    private readonly messageType: string,
    private readonly now: () => number,
  ) {}

  /** Adds a batch; writes the buffer when it has grown large or old enough. */
  async add(batch: AcceptedBatch): Promise<void> {
    this.batches.push(batch);
    this.rows += batch.digests.length;
    if (this.rows >= FLUSH_ROWS || Date.now() - this.lastFlush >= FLUSH_MS) await this.flush();
  }

  async flush(): Promise<void> {
    const batches = this.batches;
    if (batches.length === 0) return;
    this.batches = [];
    this.rows = 0;
    this.lastFlush = Date.now();
    await this.ledger.recordBulkBatches(this.runKey, this.messageType, batches, this.now());
  }
}
