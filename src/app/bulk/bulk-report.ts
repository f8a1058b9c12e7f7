import type { BulkStats } from './bulk-sender.js';

/**
 * The status of a finished run (`send --recipients`, `POST /api/v1/emails/bulk`): nothing sent and
 * nothing waiting is rejected; nothing sent but some waiting is queued unless some were refused
 * too (partial, as is any mix where some were sent).
 */
export function bulkStatus(stats: BulkStats): 'delivered' | 'partial' | 'queued' | 'rejected' {
  const sent = stats.delivered + stats.skipped;
  const failed = stats.rejected + stats.queued + stats.invalid;
  if (failed === 0) return 'delivered';
  if (sent > 0) return 'partial';
  if (stats.queued === 0) return 'rejected';
  return stats.rejected + stats.invalid === 0 ? 'queued' : 'partial';
}

/** The counts of a bulk report, the same for the CLI and the server. */
export function bulkCounts(stats: BulkStats) {
  return {
    delivered: stats.delivered,
    skippedAlreadyDelivered: stats.skipped,
    duplicateRows: stats.duplicates,
    rejected: stats.rejected,
    /** Of the rejected: on the suppression list (no provider called for them). */
    suppressed: stats.suppressed,
    ...(stats.suppressionsIgnored ? { suppressionsIgnored: stats.suppressionsIgnored } : {}),
    /** Refused by a provider as dead (Postmark 406, SMTP 5.1.1): now on the suppression list. */
    newlySuppressed: stats.newlySuppressed,
    queued: stats.queued,
    invalid: stats.invalid,
    calls: stats.calls,
    byProvider: stats.byProvider,
    rateLimitPauses: stats.rateLimitPauses,
  };
}
