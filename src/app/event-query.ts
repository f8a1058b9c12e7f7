import { isBareAddress } from '../core/address.js';
import { parseDuration } from '../core/duration.js';
import { UserError } from '../core/errors.js';
import { ALERT_KINDS } from '../core/alert.js';
import type { DeliveryEventType, EventRepository, StoredEventType } from '../store/ports.js';

/** The normalised event types (SPEC "Events and suppressions"). */
export const DELIVERY_EVENT_TYPES: readonly DeliveryEventType[] = ['delivered', 'deferred', 'bounced', 'complained', 'unsubscribed', 'opened', 'clicked', 'rejected'];
/** What `--type` / `?type=` may ask for: those, and the kinds of our own alerts (issue #22). */
export const EVENT_TYPES: readonly StoredEventType[] = [...DELIVERY_EVENT_TYPES, ...ALERT_KINDS];

export const DEFAULT_EVENT_LIMIT = 100;
export const MAX_EVENT_LIMIT = 10_000;

/** A query for stored events as a person types it (`events list` flags, query-string values). */
export interface EventQueryInput {
  type?: string;
  /** A time (2026-01-31, 2026-01-31T12:00:00Z) or a duration back from now (24h, 7d). */
  since?: string;
  to?: string;
  limit?: string | number;
}

export type EventFilter = Parameters<EventRepository['listEvents']>[0];

/** Checks a query; each bad value is a usage error naming the field (`field` gives its spelling, e.g. "--since"). */
export function checkedEventFilter(input: EventQueryInput, now = Date.now(), field: (name: string) => string = (name) => `--${name}`): EventFilter {
  const filter: EventFilter = { limit: DEFAULT_EVENT_LIMIT };
  if (input.type !== undefined) {
    if (!EVENT_TYPES.includes(input.type as StoredEventType)) throw new UserError(`${field('type')}: "${input.type}" is not an event type`, { hint: `one of ${EVENT_TYPES.join(', ')}` });
    filter.type = input.type as StoredEventType;
  }
  if (input.since !== undefined) filter.since = sinceTime(input.since, now, field('since'));
  if (input.to !== undefined) {
    if (!isBareAddress(input.to.trim())) throw new UserError(`${field('to')}: "${input.to}" is not an email address`);
    filter.to = input.to.trim().toLowerCase();
  }
  if (input.limit !== undefined) {
    const text = String(input.limit).trim();
    const limit = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(limit >= 1 && limit <= MAX_EVENT_LIMIT)) throw new UserError(`${field('limit')}: "${text}" is not a whole number from 1 to ${MAX_EVENT_LIMIT}`);
    filter.limit = limit;
  }
  return filter;
}

/** "24h" → that long ago; a date or date-time → that time (a date alone is midnight UTC). */
function sinceTime(text: string, now: number, flag: string): number {
  const trimmed = text.trim();
  // A unit is required: a bare number could as well be a timestamp.
  if (/^\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)$/.test(trimmed)) return now - parseDuration(trimmed)!;
  const time = /^\d{4}-\d{2}-\d{2}/.test(trimmed) ? Date.parse(trimmed) : NaN;
  if (Number.isNaN(time)) throw new UserError(`${flag}: "${text}" is neither a time nor a duration`, { hint: 'e.g. 2026-01-31, 2026-01-31T12:00:00Z, or 24h, 7d, 30m back from now' });
  return time;
}
