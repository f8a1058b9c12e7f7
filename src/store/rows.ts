import type { ApiKeyRecord, StoredEventType, OutboxEntry, OutboxStatus, StoredEvent, Suppression } from './ports.js';

/** Table rows as both backends store them (same columns; times in ms). */
export interface OutboxRow {
  id: number;
  idempotency_key: string;
  message_json: string;
  chain_json: string;
  status: OutboxStatus;
  reason: string | null;
  attempts_json: string;
  tries: number;
  provider: string | null;
  message_id: string | null;
  lease_owner: string | null;
  lease_until: number | null;
  sending_since: number | null;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface KeyRow {
  name: string;
  key_hash: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface EventRow {
  id: number;
  event_key: string;
  type: StoredEventType;
  bounce: 'hard' | 'soft' | null;
  provider: string;
  provider_message_id: string | null;
  idempotency_key: string | null;
  recipient: string;
  occurred_at: number;
  received_at: number;
  raw_json: string;
}

export interface SuppressionRow {
  address: string;
  scope: string;
  reason: string;
  source: string;
  created_at: number;
}

export function toEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    eventKey: row.event_key,
    type: row.type,
    ...(row.bounce ? { bounce: row.bounce } : {}),
    provider: row.provider,
    providerMessageId: row.provider_message_id,
    idempotencyKey: row.idempotency_key,
    recipient: row.recipient,
    occurredAt: row.occurred_at,
    receivedAt: row.received_at,
    raw: row.raw_json,
  };
}

export function toSuppression(row: SuppressionRow): Suppression {
  return { address: row.address, scope: row.scope, reason: row.reason, source: row.source, createdAt: row.created_at };
}

/** A stored time (ms) as ISO text; `toHost` turns a database-clock time into this host's (PostgreSQL). */
function isoTime(time: number | null, toHost: (time: number) => number): string | null {
  return time === null ? null : new Date(toHost(time)).toISOString();
}

const sameClock = (time: number) => time;

export function toEntry(row: OutboxRow, toHost = sameClock): OutboxEntry {
  return {
    id: row.id,
    idempotencyKey: row.idempotency_key,
    message: JSON.parse(row.message_json),
    chain: JSON.parse(row.chain_json),
    status: row.status,
    reason: row.reason,
    attempts: JSON.parse(row.attempts_json),
    tries: row.tries,
    provider: row.provider,
    messageId: row.message_id,
    nextAttemptAt: isoTime(row.next_attempt_at, toHost),
    createdAt: isoTime(row.created_at, toHost)!,
    updatedAt: isoTime(row.updated_at, toHost)!,
  };
}

export function toKey(row: KeyRow, toHost = sameClock): ApiKeyRecord {
  return { name: row.name, createdAt: isoTime(row.created_at, toHost)!, revokedAt: isoTime(row.revoked_at, toHost), lastUsedAt: isoTime(row.last_used_at, toHost) };
}
