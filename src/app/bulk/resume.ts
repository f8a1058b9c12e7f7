import { bulkRecipientKey } from '../../core/bulk-key.js';
import type { BulkRecipient } from '../../core/provider-port.js';
import type { EmailMessage } from '../../core/message.js';
import { BoundedDigestSet } from '../../lists/bounded-digest-set.js';
import type { Store } from '../../store/ports.js';

/** What became of a recipient an earlier run of the same message already handled. */
export interface ResumeReport<R> {
  /** Delivered before (or dropped from the outbox): not sent again. */
  skipped(recipient: R): void;
  /** Waiting in the outbox from an earlier run (or rejected there): the outbox decides, not a rerun. */
  inOutbox(recipient: R, entry: { id: number; status: string }): void;
  /** Left in flight by a run that died: queued as ambiguous. */
  queuedInDoubt(recipient: R, reason: string, outboxId: number): void;
}

/**
 * Resuming a bulk message: which recipients a run must still send. Loaded once per run (under the
 * run's lock), then asked batch by batch, one store query per batch rather than per recipient.
 */
export class ResumeFilter<R extends BulkRecipient> {
  /** Recipients delivered by earlier runs of this message (since `since`). */
  private readonly deliveredEarlier: BoundedDigestSet;
  /** Batches an earlier run left in flight: that run died, their fate is unknown. */
  private inDoubt = new Map<string, { batchId: number; provider: string }>();
  private lookUpEachBatch = true;

  constructor(
    private readonly store: Store,
    private readonly runKey: string,
    private readonly chain: string[],
    private readonly personalise: (recipient: R) => EmailMessage,
    private readonly since: () => number,
    private readonly now: () => number,
    digestSet: ConstructorParameters<typeof BoundedDigestSet>[0],
  ) {
    this.deliveredEarlier = new BoundedDigestSet(digestSet);
  }

  async load(): Promise<void> {
    this.inDoubt = await this.store.inFlightOf(this.runKey);
    await this.store.forEachBulkDeliveredDigest(this.runKey, this.since(), (digest) => this.deliveredEarlier.add(digest));
    // Only bulk runs of this message write keys under its key, and this run holds its lock: when
    // none is in the store now, none of the recipients it reads can turn up there on their own.
    this.lookUpEachBatch = await this.store.hasSingleRecordsUnder(this.runKey);
  }

  /**
   * Keeps only recipients this run must send. Skipped: delivered before, or with an outbox entry
   * (waiting, dropped or rejected: the outbox decides, not a rerun). Left in flight by a run that
   * died: unknown fate, so into the outbox as ambiguous — and out of that in-flight record.
   */
  async notYetHandled(recipients: R[], report: ResumeReport<R>): Promise<R[]> {
    // A first run of a message: nothing to look up.
    if (recipients.length === 0 || (!this.lookUpEachBatch && this.inDoubt.size === 0 && this.deliveredEarlier.size === 0)) return recipients;
    const keyOf = (recipient: R) => bulkRecipientKey(this.runKey, recipient.digest);
    const keys = this.lookUpEachBatch ? recipients.map(keyOf) : [];
    // Outbox first, ledger second: a concurrent `queue retry` records the delivery before it
    // closes the entry, so this order cannot miss a message that moves between the two.
    const inOutbox = this.lookUpEachBatch ? await this.store.outboxEntriesAmong(keys) : new Map<string, { id: number; status: string }>();
    const deliveredAlone = this.lookUpEachBatch ? await this.store.deliveredAmong(keys, this.since()) : new Set<string>();
    const inDoubt: { recipient: R; batchId: number; reason: string }[] = [];
    const settled: { batchId: number; digest: string }[] = [];
    const kept = recipients.filter((recipient) => {
      const { digest } = recipient;
      const key = keyOf(recipient);
      const earlierBatch = this.inDoubt.get(digest);
      const entry = inOutbox.get(key);
      if ((this.deliveredEarlier.size > 0 && this.deliveredEarlier.has(digest)) || deliveredAlone.has(key)) report.skipped(recipient);
      else if (entry) report.inOutbox(recipient, entry);
      else if (earlierBatch) {
        const reason = `an earlier run was killed after handing this message to ${earlierBatch.provider}; it may have been delivered`;
        inDoubt.push({ recipient, batchId: earlierBatch.batchId, reason });
        return false;
      } else return true;
      // Its fate is known: out of any in-flight record an earlier run left.
      if (earlierBatch) settled.push({ batchId: earlierBatch.batchId, digest });
      return false;
    });
    if (inDoubt.length || settled.length) {
      // Queued as ambiguous and taken out of their in-flight records together (one transaction).
      const items = inDoubt.map(({ recipient, batchId, reason }) => ({ message: this.personalise(recipient), chain: this.chain, reason, batchId, digest: recipient.digest }));
      const ids = await this.store.queueInDoubt(items, settled, this.now());
      inDoubt.forEach(({ recipient, reason }, i) => report.queuedInDoubt(recipient, reason, ids[i]));
    }
    return kept;
  }

  close(): void {
    this.deliveredEarlier.close();
  }
}
