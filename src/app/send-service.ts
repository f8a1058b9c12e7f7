import type { Config } from '../config/types.js';
import { formatDuration } from '../core/duration.js';
import { IdempotencyConflictError, UserError } from '../core/errors.js';
import type { Attempt } from '../core/failover.js';
import { contentKeyOf, type EmailMessage } from '../core/message.js';
import { refuseKeyOfBulkRun } from './bulk/bulk-key-check.js';
import { describeRefusal } from '../core/refused.js';
import type { Route } from '../core/router.js';
import { closestMatch } from '../core/suggest.js';
import { assertFitsProviders } from '../providers/message-size.js';
import { PROVIDER_TYPES } from '../providers/registry.js';
import type { OutboxEntry, Store } from '../store/ports.js';
import type { Dispatch, Dispatcher } from './dispatcher.js';
import { newLeaseOwner } from './lease-owner.js';
import { backoffMs } from './outbox-worker.js';
import { queueCopyForRefused } from './refused-recipients.js';
import { leaseMs, retryOutboxEntries } from './retry-outbox.js';
import { withMessageLock } from './run-lock.js';
import type { SuppressedRecipient } from './suppression-check.js';

export type SendStatus = 'delivered' | 'duplicate' | 'queued' | 'rejected' | 'partial';

/** The result document of one message (SPEC send → Result JSON), whoever sent it: CLI, server, library. */
export interface SendResult {
  status: SendStatus;
  provider: string | null;
  messageId: string | null;
  attempts: Attempt[];
  outboxId: number | null;
  idempotencyKey: string;
  reason: string | null;
  /** The last provider may have the message: it waits in the outbox and is not resent blindly. */
  ambiguous?: true;
  /** status duplicate: the delivery that made this send a repeat. */
  duplicateOf?: { provider: string; messageId: string; deliveredAt: string };
  /** Delivered, but these recipients were refused (permanently, or for now: then a copy waits as outboxId). */
  refused?: { address: string; reason: string; permanent: boolean }[];
  /** The message already waited in the outbox: that entry was retried instead of sending another copy. */
  retriedEntry?: { id: number; status: string };
  /** status rejected before any provider was called: these recipients are on the suppression list. */
  suppressed?: SuppressedRecipient[];
  /** The send overrode the suppression list (--ignore-suppressions): the listed recipients it went to anyway (maybe none). */
  ignoredSuppressions?: SuppressedRecipient[];
  /** Notes worth the sender's attention (a provider could not carry a field, a repeat was re-keyed…). */
  warnings?: string[];
}

export interface SendReport {
  result: SendResult;
  /** Things worth telling the sender that are not part of the result (provider notes). */
  warnings: string[];
}

/**
 * Whether the message waiting in the outbox is this one. It always is for a given key; for a key
 * derived from the content, an ambiguous copy older than idempotency.window is an earlier message.
 */
function isSameMessage(dispatcher: Dispatcher, message: EmailMessage, waiting: { status: string; createdAt: number }): boolean {
  if (message.idempotencyKeySource !== 'derived' || waiting.status !== 'ambiguous') return true;
  return dispatcher.now() - waiting.createdAt < dispatcher.config.idempotency.windowMs;
}

/**
 * A message under an explicit key that waits in the outbox with other content: the key was reused
 * for a different message, which is neither a repeat of it nor to be sent in its place.
 */
async function refuseOtherContent(store: Store, message: EmailMessage, waitingId: number): Promise<void> {
  if (message.idempotencyKeySource === 'derived') return;
  const entry = await store.getEntry(waitingId);
  if (entry && contentKeyOf(entry.message) !== contentKeyOf(message)) {
    throw new IdempotencyConflictError(message.idempotencyKey, `waiting in the outbox as #${entry.id} since ${entry.createdAt}`);
  }
}

export interface SendHooks {
  /** The attempt was put on record as this outbox entry (before the first provider call). */
  onRecorded?: (outboxId: number) => void;
  /**
   * Asked once the send has an outcome: true when the entry's id was handed out meanwhile (an API
   * answer given before the end), so the entry is kept, closed as delivered or rejected, rather than
   * forgotten — that id still finds the message, from any process.
   */
  keepRecord?: () => boolean;
  /** Another run sends the same message right now: this one waits for it. */
  onWait?: (holder: string) => void;
  onReleaseFailure?: (error: unknown) => void;
}

/**
 * The route of a message about to be sent, checked: a forced provider must exist, and the
 * message must fit the chain's providers (one that cannot take it is left out, or it stops here).
 */
export async function routeMessage(dispatcher: Dispatcher, message: EmailMessage, options: { forceProvider?: string; forceProviderField?: string; noFailover?: boolean } = {}): Promise<Route> {
  const { config } = dispatcher;
  assertCanRoute(config, options.forceProvider, options.forceProviderField);
  const route = await dispatcher.route(message, { forceProvider: options.forceProvider, noFailover: options.noFailover });
  assertFitsProviders(message, route, config.providers);
  return route;
}

/** Some provider is configured, and a forced one is one of them (checked before anything is opened). */
export function assertCanRoute(config: Config, forceProvider: string | undefined, forceProviderField = 'provider'): void {
  if (forceProvider) assertKnownProvider(config, forceProvider, forceProviderField);
  if (Object.keys(config.providers).length === 0) throw new UserError('no providers configured', { hint: `add ${oneOf(PROVIDER_TYPES)} under providers: in the config` });
}

/** "a, b or c" */
function oneOf(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

export function assertKnownProvider(config: Config, name: string, field: string): void {
  const known = Object.keys(config.providers);
  if (known.includes(name)) return;
  const suggestion = closestMatch(name, known);
  throw new UserError(`${field}: unknown provider "${name}" (known: ${known.join(', ') || 'none configured'})`, { hint: suggestion ? `did you mean "${suggestion}"?` : 'add it under providers: in the config' });
}

/**
 * Sends one message with every guarantee of the product: one run per idempotency key at a time;
 * a copy already waiting in the outbox is retried rather than sent again; the attempt is recorded
 * before any provider is called, so a run killed mid-send leaves the message `ambiguous`, never
 * resent blindly; what no provider took waits in the outbox.
 */
export async function sendMessage(dispatcher: Dispatcher, message: EmailMessage, chain: string[], hooks: SendHooks = {}): Promise<SendReport> {
  const store = dispatcher.store;
  if (!store) throw new Error('sendMessage needs a store');
  // Another send under this key may hold the lock for as long as its providers take: other content
  // is refused now, not once that send has ended (an API client would have been answered 202 by
  // then, for a message never to be sent). Checked again under the lock.
  if (message.idempotencyKeySource !== 'derived') {
    const recorded = await store.openEntryFor(message.idempotencyKey);
    if (recorded) await refuseOtherContent(store, message, recorded.id);
    await refuseKeyOfBulkRun(store, message, dispatcher.config.idempotency, dispatcher.now());
  }
  const report = await withMessageLock(
    store,
    message.idempotencyKey,
    async () => {
      const waiting = await store.openEntryFor(message.idempotencyKey);
      if (!waiting) return deliverRecorded(dispatcher, message, chain, hooks);
      await refuseOtherContent(store, message, waiting.id);
      if (!isSameMessage(dispatcher, message, waiting)) {
        // An identical message past the window is a new one (SPEC): it must not stay chained to an
        // earlier copy that waits for a person; it gets a key of its own.
        const fresh: EmailMessage = { ...message, idempotencyKey: `${message.idempotencyKey}.t${dispatcher.now().toString(36)}` };
        const report = await deliverRecorded(dispatcher, fresh, chain, hooks);
        report.warnings.unshift(`an identical message from ${new Date(waiting.createdAt).toISOString()} waits in the outbox as #${waiting.id} (ambiguous); this one, outside idempotency.window, was sent as a new message`);
        return report;
      }
      // The message is on record already: as that entry.
      hooks.onRecorded?.(waiting.id);
      return retryWaitingEntry(dispatcher, message, waiting);
    },
    { onWait: hooks.onWait, onReleaseFailure: hooks.onReleaseFailure, maxWaitMs: leaseMs(dispatcher) },
  );
  if (report.warnings.length) report.result.warnings = report.warnings;
  return report;
}

/** Delivers with the attempt on record: an outbox entry leased to this run exists while providers are called. */
async function deliverRecorded(dispatcher: Dispatcher, message: EmailMessage, chain: string[], hooks: SendHooks): Promise<SendReport> {
  const store = dispatcher.store!;
  const owner = newLeaseOwner();
  let entryId: number | undefined;
  const recordStart = async () => {
    if (entryId === undefined) {
      entryId = await store.recordSendStart(message, chain, owner, dispatcher.now(), leaseMs(dispatcher));
      hooks.onRecorded?.(entryId);
    }
  };
  const dispatch = await dispatcher.deliver(message, chain, {
    // Recorded before the first call; marked "sending" only while a provider has the message, so a
    // run killed between tries (or before any) leaves it pending, and one killed mid-call ambiguous.
    beforeCall: async () => {
      await recordStart();
      await store.markSending(entryId!, owner, dispatcher.now());
    },
    // A wait for a rate limit happens on record too (a request past its budget answers with the entry).
    beforeRateWait: recordStart,
    afterRefusal: async () => {
      if (entryId !== undefined) await store.clearSending(entryId, owner);
    },
  });
  let outboxId: number | null = null;
  if (entryId === undefined && dispatch.status === 'undelivered') {
    // No provider was called (a budget cap holds it, or skips every provider): on record now, for the worker.
    outboxId = await store.enqueue(message, chain, 'pending', dispatch.reason ?? 'not delivered', dispatch.attempts, dispatcher.now());
  } else if (entryId !== undefined) {
    if (dispatch.status === 'undelivered') {
      const status = dispatch.ambiguous ? 'ambiguous' : 'pending';
      // The worker's first retry comes after one backoff, not at its next pass.
      const nextAttemptAt = dispatcher.now() + backoffMs(1, dispatcher.config.worker);
      await store.finishRetry(entryId, owner, { status, reason: dispatch.reason ?? 'not delivered', attempts: dispatch.attempts, nextAttemptAt }, dispatcher.now());
      outboxId = entryId;
    } else if (hooks.keepRecord?.()) {
      // Its id was handed out (an API answer past its budget): the entry stays, closed, to be looked up.
      const closed = dispatch.status === 'rejected' ? 'rejected' : 'delivered';
      await store.finishRetry(entryId, owner, { status: closed, reason: dispatch.reason ?? null, attempts: dispatch.attempts, provider: dispatch.provider, messageId: dispatch.messageId }, dispatcher.now());
    } else {
      // Delivered or rejected: the ledger (or the answer) holds the outcome, not the outbox.
      await store.forgetSendStart(entryId, owner);
    }
  }
  const result = resultOf(message, dispatch, outboxId);
  if (result.status === 'duplicate') result.reason = howToSendAgain(message, dispatcher.config);
  if (dispatch.refused) {
    const queued = await queueCopyForRefused(store, message, dispatch.refused, chain, dispatch.provider!, dispatcher.now());
    result.status = 'partial';
    result.outboxId = queued.retryCopyId ?? null;
    result.refused = [...queued.split.permanent.map((r) => ({ ...r, permanent: true })), ...queued.split.temporary.map((r) => ({ ...r, permanent: false }))];
  }
  return { result, warnings: dispatch.warnings };
}

/** A repeat was not sent: why, and how to send it anyway (SPEC send → Idempotency). */
function howToSendAgain(message: EmailMessage, config: Config): string {
  if (message.idempotencyKeySource === 'derived') {
    return `an identical message within ${formatDuration(config.idempotency.windowMs)} counts as a repeat (idempotency.window): not sent again; to send it now, give it its own idempotency key (--idempotency-key, idempotency_key in the body, or the Idempotency-Key header)`;
  }
  return `idempotency key ${message.idempotencyKey} was delivered already (kept for ${formatDuration(config.idempotency.keepMs)}, idempotency.keep): not sent again; use another idempotency key (--idempotency-key, idempotency_key, Idempotency-Key) to send it again`;
}

function resultOf(message: EmailMessage, dispatch: Dispatch, outboxId: number | null): SendResult {
  const status: SendStatus = dispatch.status === 'undelivered' ? 'queued' : dispatch.status;
  const handedOver = status === 'delivered' || status === 'duplicate';
  return {
    status,
    provider: handedOver || status === 'rejected' ? (dispatch.provider ?? null) : null,
    messageId: dispatch.messageId ?? null,
    attempts: dispatch.attempts,
    outboxId,
    idempotencyKey: message.idempotencyKey,
    reason: dispatch.reason ?? null,
    ...(dispatch.ambiguous ? { ambiguous: true as const } : {}),
    ...(dispatch.duplicateOf ? { duplicateOf: dispatch.duplicateOf } : {}),
    ...(dispatch.suppressed ? { suppressed: dispatch.suppressed } : {}),
    ...(dispatch.ignoredSuppressions ? { ignoredSuppressions: dispatch.ignoredSuppressions } : {}),
  };
}

/** The entry once a live retry holding it (if any) has finished with it, or as it is after one lease at most. */
async function settledEntry(dispatcher: Dispatcher, id: number, skippedBecause: string): Promise<OutboxEntry | undefined> {
  const store = dispatcher.store!;
  let entry = await store.getEntry(id);
  if (!skippedBecause.startsWith('being retried by')) return entry;
  const first = entry?.updatedAt;
  const giveUpAt = Date.now() + leaseMs(dispatcher);
  while (entry && entry.status === 'pending' && entry.updatedAt === first && Date.now() < giveUpAt) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    entry = await store.getEntry(id);
  }
  return entry;
}

/**
 * The same message (same idempotency key) already waits in the outbox: sending a second copy could
 * duplicate an ambiguous one or race a `queue retry`, so that entry is retried instead, under its lease.
 */
async function retryWaitingEntry(dispatcher: Dispatcher, message: EmailMessage, waiting: { id: number; status: string }): Promise<SendReport> {
  const warnings = [`this message already waits in the outbox as #${waiting.id} (${waiting.status}): retrying that entry instead of sending another copy`];
  const [retry] = await retryOutboxEntries(dispatcher, [waiting.id], { force: false });
  // Another run (a `queue retry`, the worker) is sending it right now: wait for its outcome, as two
  // identical sends wait for each other. Closed by someone else meanwhile: report what it became.
  const now = retry.status === 'skipped' ? await settledEntry(dispatcher, waiting.id, retry.reason ?? '') : undefined;
  const finalStatus = now?.status === 'delivered' ? 'delivered' : retry.status;
  const status: SendStatus = retry.refused ? 'partial' : finalStatus === 'delivered' || finalStatus === 'rejected' ? finalStatus : 'queued';
  const ambiguous = retry.status === 'ambiguous' || (retry.status === 'skipped' && now?.status === 'ambiguous');
  return {
    warnings,
    result: {
      status,
      provider: retry.provider ?? now?.provider ?? null,
      messageId: retry.messageId ?? now?.messageId ?? null,
      attempts: retry.attempts,
      outboxId: retry.retryCopyId ?? waiting.id,
      idempotencyKey: message.idempotencyKey,
      reason: retry.reason ?? null,
      ...(ambiguous ? { ambiguous: true as const } : {}),
      ...(retry.refused ? { refused: retry.refused.flatMap((r) => describeRefusal(r) ?? []) } : {}),
      ...(retry.suppressed ? { suppressed: retry.suppressed } : {}),
      retriedEntry: { id: waiting.id, status: waiting.status },
    },
  };
}
