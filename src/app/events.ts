import { isRecipientAddress } from '../core/address.js';
import type { DeliveryEvent, EventRepository, StoredEvent, StoredEventType, Suppression, SuppressionRepository } from '../store/ports.js';

/**
 * Delivery events from providers' webhooks, once a webhook file (src/providers/webhooks/) has
 * checked and normalised them: stored once each, and the addresses that must not be mailed again
 * put on the suppression list (SPEC Events and suppressions).
 */

/** Why an event suppresses its recipient; events not listed do not. */
export function suppressionReason(event: { type: StoredEventType; bounce?: DeliveryEvent['bounce'] }): string | undefined {
  if (event.type === 'bounced' && event.bounce === 'hard') return 'hard bounce';
  if (event.type === 'complained') return 'spam complaint';
  if (event.type === 'unsubscribed') return 'unsubscribed';
  return undefined;
}

export interface Ingested {
  /** The events not stored before (a provider's retry of an event is not). */
  stored: StoredEvent[];
  /** Addresses newly put on the suppression list. */
  suppressed: number;
}

/**
 * Stores events and suppresses the recipients of the new hard bounces, complaints and
 * unsubscribes, for every sending domain ('*'): an address that bounced at one provider does not
 * exist for any other either, and someone who complained or unsubscribed did so of us, not of one
 * of our providers. A repeat of an event already stored suppresses nothing again, so an address
 * removed from the list by hand stays off it.
 */
export async function ingestEvents(store: EventRepository & SuppressionRepository, events: DeliveryEvent[], now: number): Promise<Ingested> {
  if (events.length === 0) return { stored: [], suppressed: 0 };
  const stored = await store.recordEvents(events.map(withoutNulCharacters), now);
  const suppressions: Suppression[] = [];
  for (const event of stored) {
    const reason = suppressionReason(event);
    // An event's recipient that is no address is kept with the event, not put on the list.
    if (reason && isRecipientAddress(event.recipient)) suppressions.push({ address: event.recipient, scope: '*', reason, source: event.provider, createdAt: now });
  }
  const suppressed = suppressions.length ? await store.addSuppressions(suppressions) : 0;
  return { stored, suppressed };
}

/**
 * A provider's payload with each NUL character (U+0000) as U+FFFD: PostgreSQL stores no NUL in
 * text or JSON, and refusing the event would have the provider send it again for days.
 */
function withoutNulCharacters<T>(value: T): T {
  if (typeof value === 'string') return (value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value) as T;
  if (Array.isArray(value)) return value.map(withoutNulCharacters) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [withoutNulCharacters(key), withoutNulCharacters(item)])) as T;
  return value;
}

/** Removes events received longer ago than `events.retention` (0 keeps them); returns how many went. */
export async function pruneEvents(store: EventRepository, retentionMs: number, now: number): Promise<number> {
  if (retentionMs <= 0) return 0;
  return store.pruneEvents(now - retentionMs);
}

/** An event as the API and `events list --json` show it: times in ISO 8601, the raw payload as JSON. */
export interface EventDocument {
  id: number;
  /** A delivery event's type, or an alert's kind (then `recipient` is empty and `raw` the alert). */
  type: StoredEventType;
  bounce?: 'hard' | 'soft';
  provider: string;
  messageId: string | null;
  idempotencyKey: string | null;
  recipient: string;
  occurredAt: string;
  receivedAt: string;
  eventKey: string;
  raw: unknown;
}

export function eventDocument(event: StoredEvent): EventDocument {
  let raw: unknown = event.raw;
  try {
    raw = JSON.parse(event.raw);
  } catch {
    // kept as text
  }
  return {
    id: event.id,
    type: event.type,
    ...(event.bounce ? { bounce: event.bounce } : {}),
    provider: event.provider,
    messageId: event.providerMessageId,
    idempotencyKey: event.idempotencyKey,
    recipient: event.recipient,
    occurredAt: new Date(event.occurredAt).toISOString(),
    receivedAt: new Date(event.receivedAt).toISOString(),
    eventKey: event.eventKey,
    raw,
  };
}

export interface SuppressionDocument {
  address: string;
  scope: string;
  reason: string;
  source: string;
  createdAt: string;
}

export function suppressionDocument(suppression: Suppression): SuppressionDocument {
  return { ...suppression, createdAt: new Date(suppression.createdAt).toISOString() };
}
