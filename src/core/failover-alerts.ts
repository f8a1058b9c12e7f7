import type { Alert, AlertSink } from './alert.js';
import type { ChainDeps } from './chain-runner.js';
import type { HealthRecord } from './health.js';
import { formatTimeLeft } from './health.js';

/**
 * The failover engine's alerts (issue #22): one per provider switch of a message or a bulk batch
 * (never one per recipient), and one per circuit opening. Pure: they go to the sink given.
 */
export function failoverAlert(from: string, to: string, reason: string, at: number, context: { idempotencyKey?: string; recipients?: number }): Alert {
  const what = context.recipients !== undefined ? `a batch of ${context.recipients} recipient(s)` : 'a message';
  return {
    kind: 'failover',
    provider: from,
    nextProvider: to,
    message: `failover: ${what} moved from ${from} to ${to} (${reason})`,
    ...(context.idempotencyKey ? { idempotencyKey: context.idempotencyKey } : {}),
    at: new Date(at),
    details: { reason, ...(context.recipients !== undefined ? { recipients: context.recipients } : {}) },
  };
}

export function circuitOpenedAlert(record: HealthRecord, at: number, context: { idempotencyKey?: string }): Alert {
  const skippedFor = record.openUntil !== undefined ? formatTimeLeft(record.openUntil - at) : 'a while';
  return {
    kind: 'circuit-opened',
    provider: record.provider,
    message: `circuit opened: ${record.provider} failed ${record.consecutiveFailures} time(s) in a row (last: ${record.lastError}); it is skipped for ${skippedFor}`,
    ...(context.idempotencyKey ? { idempotencyKey: context.idempotencyKey } : {}),
    at: new Date(at),
    details: {
      consecutiveFailures: record.consecutiveFailures,
      lastError: record.lastError ?? null,
      openUntil: record.openUntil !== undefined ? new Date(record.openUntil).toISOString() : null,
    },
  };
}

/**
 * The chain runner's hooks that raise these alerts. `recipients` counts a bulk batch's pending
 * items; a single message gives its idempotency key instead.
 */
export function alertingChainHooks<Item>(
  sink: AlertSink,
  now: () => number,
  context: { idempotencyKey?: string; bulk?: boolean },
): Pick<ChainDeps<Item, unknown>, 'onProviderSwitch' | 'onCircuitOpened'> {
  return {
    onProviderSwitch: (from, to, items, reason) =>
      sink.raise(failoverAlert(from, to, reason, now(), { idempotencyKey: context.idempotencyKey, recipients: context.bulk ? items.length : undefined })),
    onCircuitOpened: (_provider, record) => sink.raise(circuitOpenedAlert(record, now(), { idempotencyKey: context.idempotencyKey })),
  };
}
