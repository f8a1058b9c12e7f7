import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Attempt } from '../core/chain-runner.js';
import { circuitState } from '../core/health.js';
import type { DeliveryEvent, Store } from '../store/ports.js';

const CIRCUIT_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * `GET /metrics` (Prometheus text, `penguinmails_` prefix). Labels are provider names (config
 * names), statuses and outcomes only: never a key, an address or a secret.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly sends: Counter<'provider' | 'outcome'>;
  private readonly attempts: Counter<'provider' | 'outcome'>;
  private readonly failovers: Counter<'from' | 'to'>;
  private readonly retries: Counter<'provider'>;
  private readonly duration: Histogram<'outcome'>;
  private readonly events: Counter<'provider' | 'type'>;
  private readonly webhooks: Counter<'provider' | 'status'>;
  private readonly alerts: Counter<'kind' | 'provider'>;

  constructor(store: Store, providers: string[]) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'penguinmails_' });
    this.sends = new Counter({ name: 'penguinmails_sends_total', help: 'Messages sent through the API or retried by the worker, by provider and outcome (delivered, duplicate, queued, rejected, partial)', labelNames: ['provider', 'outcome'], registers });
    this.attempts = new Counter({ name: 'penguinmails_provider_attempts_total', help: 'Calls to a provider, by provider and outcome (delivered, transient, provider-unusable, permanent, ambiguous, skipped)', labelNames: ['provider', 'outcome'], registers });
    this.failovers = new Counter({ name: 'penguinmails_failovers_total', help: 'Times a message went on from one provider to the next', labelNames: ['from', 'to'], registers });
    this.retries = new Counter({ name: 'penguinmails_retries_total', help: 'Tries of a provider after its first one for the same message', labelNames: ['provider'], registers });
    this.duration = new Histogram({
      name: 'penguinmails_send_duration_seconds',
      help: 'Time from an API send request to its outcome (sends past the request budget included, until they end)',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.events = new Counter({
      name: 'penguinmails_events_received_total',
      help: "Delivery events received by the providers' webhooks (repeats included), by provider and type (delivered, deferred, bounced_hard, bounced_soft, complained, unsubscribed, opened, clicked, rejected)",
      labelNames: ['provider', 'type'],
      registers,
    });
    this.webhooks = new Counter({
      name: 'penguinmails_webhook_requests_total',
      help: 'Webhook requests for a configured provider, by provider and HTTP status (401: bad credentials or signature)',
      labelNames: ['provider', 'status'],
      registers,
    });
    this.alerts = new Counter({
      name: 'penguinmails_alerts_total',
      help: 'Alerts raised, by kind (failover, circuit-opened, budget-cap-reached, rate-limit-quota-reached) and provider (for a failover: the one given up on); repeats folded by alerts.coalesce are not counted',
      labelNames: ['kind', 'provider'],
      registers,
    });
    new Gauge({
      name: 'penguinmails_outbox_waiting',
      help: 'Outbox entries waiting, by status (pending: the worker retries them; ambiguous: a person decides; expired: past worker.maxAge)',
      labelNames: ['status'],
      registers,
      async collect() {
        // The store down: the last values stay, and penguinmails_store_up says so (metrics are
        // wanted most during an outage, so /metrics still answers).
        const entries = await store.listEntries(false).catch(() => undefined);
        if (!entries) return;
        const counts: Record<string, number> = { pending: 0, ambiguous: 0, expired: 0 };
        for (const entry of entries) counts[entry.status] = (counts[entry.status] ?? 0) + 1;
        for (const [status, count] of Object.entries(counts)) this.set({ status }, count);
      },
    });
    new Gauge({
      name: 'penguinmails_store_up',
      help: 'Whether the store answered when these metrics were read (1) or not (0: the store gauges keep their last values)',
      registers,
      async collect() {
        const answered = await store.healthOf(providers[0] ?? 'metrics').then(
          () => 1,
          () => 0,
        );
        this.set(answered);
      },
    });
    new Gauge({
      name: 'penguinmails_provider_circuit_state',
      help: 'Circuit breaker per provider: 0 closed (healthy), 1 half-open (probing), 2 open (skipped)',
      labelNames: ['provider'],
      registers,
      async collect() {
        const now = Date.now();
        try {
          for (const provider of providers) this.set({ provider }, CIRCUIT_VALUE[circuitState(await store.healthOf(provider), now)]);
        } catch {
          // The store down: the last values stay (see penguinmails_store_up).
        }
      },
    });
  }

  /** One provider call (the dispatcher's onAttempt). */
  recordAttempt(attempt: Attempt): void {
    this.attempts.inc({ provider: attempt.provider, outcome: attempt.outcome });
    if (attempt.try > 1) this.retries.inc({ provider: attempt.provider });
  }

  /** A message's outcome, with the provider switches its attempts show; `seconds` for API sends. */
  recordResult(outcome: string, provider: string | null | undefined, attempts: Attempt[], seconds?: number): void {
    this.sends.inc({ provider: provider ?? 'none', outcome });
    for (let i = 1; i < attempts.length; i++) {
      if (attempts[i].provider !== attempts[i - 1].provider) this.failovers.inc({ from: attempts[i - 1].provider, to: attempts[i].provider });
    }
    if (seconds !== undefined) this.duration.observe({ outcome }, seconds);
  }

  /** A webhook request for a configured provider (never an unknown name: callers choose the label values). */
  recordWebhook(provider: string, status: number, events: DeliveryEvent[]): void {
    this.webhooks.inc({ provider, status: String(status) });
    for (const event of events) this.events.inc({ provider, type: event.type === 'bounced' ? `bounced_${event.bounce ?? 'soft'}` : event.type });
  }

  /** An alert that went out (the alert sink's count). */
  recordAlert(alert: { kind: string; provider: string }): void {
    this.alerts.inc({ kind: alert.kind, provider: alert.provider });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
