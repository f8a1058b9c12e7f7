/**
 * Operator alerts (issue #22): things an operator wants to be told about as they happen —
 * a failover, a provider's circuit opening, a budget cap or a daily sending quota reached.
 * The core and the application layer raise them; `src/app/alerts/` turns them into stored events,
 * Prometheus counters and the optional signed webhook POST. Raising never throws and never
 * delays a send.
 */
export type AlertKind = 'failover' | 'circuit-opened' | 'budget-cap-reached' | 'rate-limit-quota-reached';

export interface Alert {
  kind: AlertKind;
  /** The provider concerned (for a failover: the one given up on). */
  provider: string;
  /** A failover: the provider tried next, if any. */
  nextProvider?: string;
  /** One sentence for people: what happened and what penguinmails does about it. */
  message: string;
  /** The message's idempotency key, when one message caused it. */
  idempotencyKey?: string;
  at: Date;
  /** Kind-specific figures (spend, cap, quota, failures…), JSON-serialisable. */
  details?: Record<string, unknown>;
}

export interface AlertSink {
  raise(alert: Alert): void;
}

/** For code paths with nobody to tell (dry runs, unit tests of the core). */
export const noAlerts: AlertSink = { raise() {} };

/** Every kind, for filters and schemas (`events list --type`, `GET /api/v1/events?type=`). */
export const ALERT_KINDS: readonly AlertKind[] = ['failover', 'circuit-opened', 'budget-cap-reached', 'rate-limit-quota-reached'];
