import { randomUUID } from 'node:crypto';
import type { Alert, AlertKind } from '../../core/alert.js';
import { redactSecrets } from '../../core/secrets.js';
import type { EventRecord } from '../../store/ports.js';

/** An alert as the webhook POSTs it and the events store keeps it (`raw` of the event). */
export interface AlertDocument {
  /** Unique per alert: the same on every retry of its POST, so a receiver can drop repeats. */
  id: string;
  kind: AlertKind;
  provider: string;
  nextProvider?: string;
  message: string;
  idempotencyKey?: string;
  at: string;
  details?: Record<string, unknown>;
  /** Alerts like this one (same kind and providers) folded into the previous one since it went out (alerts.coalesce). */
  folded?: number;
}

/** The document of an alert; known secrets are masked (its reason quotes a provider's error, which may echo one). */
export function alertDocument(alert: Alert, folded: number): AlertDocument {
  return JSON.parse(redactSecrets(JSON.stringify(plainDocument(alert, folded)))) as AlertDocument;
}

function plainDocument(alert: Alert, folded: number): AlertDocument {
  return {
    id: randomUUID(),
    kind: alert.kind,
    provider: alert.provider,
    ...(alert.nextProvider ? { nextProvider: alert.nextProvider } : {}),
    message: alert.message,
    ...(alert.idempotencyKey ? { idempotencyKey: alert.idempotencyKey } : {}),
    at: alert.at.toISOString(),
    ...(alert.details ? { details: alert.details } : {}),
    ...(folded > 0 ? { folded } : {}),
  };
}

/** The alert as an event: its kind as the type, no recipient, the document as the payload. */
export function alertEvent(document: AlertDocument): EventRecord {
  return {
    eventKey: `alert:${document.id}`,
    type: document.kind,
    provider: document.provider,
    providerMessageId: null,
    idempotencyKey: document.idempotencyKey ?? null,
    recipient: '',
    occurredAt: Date.parse(document.at),
    raw: JSON.stringify(document),
  };
}
