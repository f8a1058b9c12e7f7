import type { BulkRecipient } from '../core/provider-port.js';
import type { EmailMessage } from '../core/message.js';

/**
 * Bulk request bodies built ahead of their call (Provider.prepareBulk): a bulk run builds the next
 * batch's body while that batch waits for a free call slot, so that when an answer frees one the
 * call goes out without first spending a millisecond or so on its body (#21: that time was on the
 * path from one answer to the next call, some twenty-five times in a row per slot).
 *
 * A body is given once, and only to the sendBulk of the same template object and the same array of
 * recipients: a batch split, moved to another provider or retried with other recipients has its
 * body built as usual. Kept weakly: a body never taken goes with its batch.
 */
export class PreparedBodies<Body> {
  private readonly bodies = new WeakMap<readonly BulkRecipient[], { template: EmailMessage; body: Body }>();

  keep(template: EmailMessage, recipients: readonly BulkRecipient[], body: Body): void {
    this.bodies.set(recipients, { template, body });
  }

  /** The body kept for exactly this call, if any; it is not given again. */
  take(template: EmailMessage, recipients: readonly BulkRecipient[]): Body | undefined {
    const kept = this.bodies.get(recipients);
    if (kept === undefined || kept.template !== template) return undefined;
    this.bodies.delete(recipients);
    return kept.body;
  }
}
