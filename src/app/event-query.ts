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

/** One bad value of a query or body, by the field it came in (HTTP answers every one; the CLI the first). */
export interface FieldProblem {
  field: string;
  message: string;
  hint?: string;
}

/**
 * Reads a query for stored events, collecting a problem per bad field. The CLI (`events list`) and
 * the HTTP API (`GET /api/v1/events`) share these rules; only the largest limit differs.
 */
export function eventFilterOf(input: EventQueryInput, options: { now?: number; maxLimit?: number } = {}): { filter: EventFilter; problems: FieldProblem[] } {
  const { now = Date.now(), maxLimit = MAX_EVENT_LIMIT } = options;
  const filter: EventFilter = { limit: DEFAULT_EVENT_LIMIT };
  const problems: FieldProblem[] = [];
  if (input.type !== undefined) {
    if (EVENT_TYPES.includes(input.type as StoredEventType)) filter.type = input.type as StoredEventType;
    else problems.push({ field: 'type', message: `"${input.type}" is not an event type`, hint: `one of ${EVENT_TYPES.join(', ')}` });
  }
  if (input.since !== undefined) {
    const since = sinceTime(input.since, now);
    if (since === undefined) problems.push({ field: 'since', message: `"${input.since}" is neither a time nor a duration`, hint: 'e.g. 2026-01-31, 2026-01-31T12:00:00Z, or 24h, 7d, 30m back from now' });
    else filter.since = since;
  }
  if (input.to !== undefined) {
    if (isBareAddress(input.to.trim())) filter.to = input.to.trim().toLowerCase();
    else problems.push({ field: 'to', message: `"${input.to}" is not an email address` });
  }
  if (input.limit !== undefined) {
    const text = String(input.limit).trim();
    const limit = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
    if (limit >= 1 && limit <= maxLimit) filter.limit = limit;
    else problems.push({ field: 'limit', message: `"${text}" is not a whole number from 1 to ${maxLimit}` });
  }
  return { filter, problems };
}

/** `events list`'s flags: the first bad one is a usage error naming the flag. */
export function checkedEventFilter(input: EventQueryInput, now = Date.now()): EventFilter {
  const { filter, problems } = eventFilterOf(input, { now });
  const [first] = problems;
  if (first) throw new UserError(`--${first.field}: ${first.message}`, first.hint ? { hint: first.hint } : {});
  return filter;
}

/** "24h" → that long ago; a date or date-time → that time (a date alone is midnight UTC); else undefined. */
function sinceTime(text: string, now: number): number | undefined {
  const trimmed = text.trim();
  // A unit is required: a bare number could as well be a timestamp.
  // Further back than the epoch is everything (a time before it is no time the store can hold).
  if (/^\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)$/.test(trimmed)) return Math.max(0, now - parseDuration(trimmed)!);
  const time = /^\d{4}-\d{2}-\d{2}/.test(trimmed) ? Date.parse(trimmed) : NaN;
  return Number.isNaN(time) ? undefined : time;
}
