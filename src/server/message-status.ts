import type { SendResult } from '../app/send-service.js';
import type { OutboxEntry, Store } from '../store/ports.js';

/** The result document of a message as it stands now (`GET /api/v1/emails/{id}`). */
export type CurrentResult = Omit<SendResult, 'status'> & {
  status: SendResult['status'] | 'dropped' | 'expired';
  deliveredAt?: string;
  /** A waiting entry: when the worker tries it again. */
  nextAttemptAt?: string | null;
};

/**
 * Outbox ids this server gave in 202 answers, with their message's key: a send that went on past
 * the request budget and was then delivered leaves no outbox entry behind (the ledger holds it), so
 * its id is looked up by key. Kept per process, the most recent ones only.
 */
export class HandedOutIds {
  private readonly keys = new Map<number, string>();
  constructor(private readonly limit = 10_000) {}

  remember(outboxId: number, key: string): void {
    this.keys.set(outboxId, key);
    if (this.keys.size > this.limit) this.keys.delete(this.keys.keys().next().value!);
  }

  keyOf(outboxId: number): string | undefined {
    return this.keys.get(outboxId);
  }
}

/**
 * By idempotency key or outbox id; undefined when the store knows neither. A key comes first: a
 * client whose keys are order numbers ("1042") asks about its own message, not outbox entry 1042.
 */
export async function currentResult(store: Store, id: string, handedOut: HandedOutIds): Promise<CurrentResult | undefined> {
  const asKey = await byKey(store, id);
  if (asKey || !/^[1-9][0-9]{0,15}$/.test(id)) return asKey;
  const entry = await store.getEntry(Number(id));
  if (entry) return fromEntry(entry);
  const key = handedOut.keyOf(Number(id));
  return key ? byKey(store, key, Number(id)) : undefined;
}

async function byKey(store: Store, key: string, outboxId?: number): Promise<CurrentResult | undefined> {
  // A copy waiting now says more than an earlier delivery of the same content.
  const open = await store.openEntryFor(key);
  const waiting = open && (await store.getEntry(open.id));
  if (waiting) return fromEntry(waiting);
  const delivered = await deliveredByKey(store, key);
  if (delivered) return outboxId ? { ...delivered, outboxId } : delivered;
  const closed = (await store.outboxEntriesAmong([key])).get(key);
  const entry = closed && (await store.getEntry(closed.id));
  return entry && fromEntry(entry);
}

/** The delivery ledger's word. */
async function deliveredByKey(store: Store, key: string): Promise<CurrentResult | undefined> {
  const delivery = await store.findDelivery(key);
  if (!delivery) return undefined;
  return {
    status: 'delivered',
    provider: delivery.provider,
    messageId: delivery.messageId,
    deliveredAt: new Date(delivery.deliveredAt).toISOString(),
    attempts: [],
    outboxId: null,
    idempotencyKey: key,
    reason: null,
  };
}

function fromEntry(entry: OutboxEntry): CurrentResult {
  const waiting = entry.status === 'pending' || entry.status === 'ambiguous';
  return {
    status: waiting ? 'queued' : (entry.status as 'delivered' | 'rejected' | 'dropped' | 'expired'),
    provider: entry.provider,
    messageId: entry.messageId,
    attempts: entry.attempts,
    outboxId: entry.id,
    idempotencyKey: entry.idempotencyKey,
    reason: entry.reason,
    ...(entry.status === 'ambiguous' ? { ambiguous: true as const } : {}),
    ...(entry.status === 'pending' ? { nextAttemptAt: entry.nextAttemptAt } : {}),
  };
}
