import type { Alert, AlertSink } from '../../core/alert.js';
import type { AlertSettings } from '../../config/types.js';
import type { EventRepository } from '../../store/ports.js';
import { alertDocument, alertEvent, type AlertDocument } from './alert-document.js';
import { AlertCoalescer } from './coalescer.js';
import { AlertWebhookSender, type WebhookSenderOptions } from './webhook-sender.js';
import { plainCommand, type SuggestCommand } from '../../core/suggest-command.js';

export interface AlertHubOptions {
  /** Where alerts are kept as events (`events list --type failover`, `GET /api/v1/events`); none for a dry run. */
  store?: EventRepository;
  /** Told of each alert that goes out (the server's `penguinmails_alerts_total`). */
  count?: (alert: AlertDocument) => void;
  /** Problems that must not stop a send: the store or the webhook failing. */
  warn?: (message: string) => void;
  now?: () => number;
  /** Tests: a shorter first retry wait than 1s. */
  webhook?: Pick<WebhookSenderOptions, 'backoffMs'>;
  /** How a command named in a warning is written. */
  suggest?: SuggestCommand;
}

/** How long a finished command waits for alerts still being stored or POSTed. */
export const ALERT_FLUSH_GRACE_MS = 5_000;

/**
 * The alert sink the edges give the Dispatcher (issue #22): each alert that passes the storm
 * control is stored as an event, counted, and POSTed to the signed webhook if one is set. `raise`
 * never throws and never waits: the store write and the POST go on beside the send; `close`
 * waits for them (a one-shot `send` gets its alert out before the process ends).
 */
export class AlertHub implements AlertSink {
  private readonly coalescer: AlertCoalescer;
  private readonly webhook: AlertWebhookSender | undefined;
  private readonly writes = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly warn: (message: string) => void;
  private closed = false;
  /** Alerts raised, and of those, sent on (the rest folded). */
  readonly counts = { raised: 0, sent: 0 };

  constructor(
    settings: AlertSettings,
    private readonly options: AlertHubOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.warn = options.warn ?? (() => undefined);
    this.coalescer = new AlertCoalescer(settings.coalesceMs);
    const { webhook } = settings;
    if (webhook?.unresolvedVariable) this.warn(`alerts.webhook: environment variable ${webhook.unresolvedVariable} is not set: alerts are not POSTed (they are still stored as events)`);
    else if (webhook) this.webhook = new AlertWebhookSender(webhook, { ...options.webhook, warn: this.warn });
  }

  raise(alert: Alert): void {
    try {
      this.counts.raised++;
      if (this.closed) return;
      const admitted = this.coalescer.admit(alert, this.now());
      if (!admitted) return;
      this.counts.sent++;
      const document = alertDocument(alert, admitted.folded);
      this.options.count?.(document);
      if (this.options.store) this.store(this.options.store, document);
      this.webhook?.enqueue(document);
    } catch (error) {
      // An alert is never worth a failed send.
      this.warn(`could not raise a ${alert.kind} alert: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private store(store: EventRepository, document: AlertDocument): void {
    const write = store
      .recordEvents([alertEvent(document)], this.now())
      .then(() => undefined)
      .catch((error: unknown) => this.warn(`could not store the ${document.kind} alert as an event: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => this.writes.delete(write));
    this.writes.add(write);
  }

  /** Waits for the store writes (before the store closes) and, within `graceMs`, the webhook POSTs. */
  async close(graceMs = ALERT_FLUSH_GRACE_MS): Promise<void> {
    this.closed = true;
    await Promise.all(this.writes);
    const left = (await this.webhook?.drain(graceMs)) ?? 0;
    if (left > 0) this.warn(`alert webhook ${this.webhook!.target}: ${left} alert(s) not POSTed before exit; they are in the events store (\`${(this.options.suggest ?? plainCommand)('events list')}\`)`);
  }
}
