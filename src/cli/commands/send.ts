import type { Command } from 'commander';
import { Dispatcher, type Dispatch } from '../../app/dispatcher.js';
import { withMessageLock } from '../../app/run-lock.js';
import { leaseMs, retryOutboxEntries } from '../../app/retry-outbox.js';
import { ExitCode, UserError } from '../../core/errors.js';
import { describeHealth } from '../../core/health.js';
import { finalizeMessage, type EmailMessage } from '../../core/message.js';
import type { Route } from '../../core/router.js';
import { queueCopyForRefused } from '../../app/refused-recipients.js';
import type { RefusedSplit } from '../../core/refused.js';
import { validateMessage } from '../../core/validate-message.js';
import { assertFitsProviders } from '../../providers/message-size.js';
import { composeDraft, parsePayload, type SendFlags } from '../compose.js';
import { assertKnownProvider, loadCommandConfig, openStore } from '../context.js';
import type { Output } from '../output.js';
import { readTextInput } from '../read-input.js';
import { renderAttempt } from '../render-attempts.js';

type SendOptions = SendFlags & { payload?: string; recipients?: string; dryRun?: boolean; failover?: boolean; config?: string; concurrency?: string; batchSize?: string; resume?: boolean };

/** Flags that only mean something for a list: on a single send they would be silently ignored. */
const BULK_ONLY_FLAGS = { concurrency: '--concurrency', batchSize: '--batch-size', resume: '--resume' } as const;

const EXIT_FOR_STATUS = { delivered: ExitCode.ok, partial: ExitCode.partial, rejected: ExitCode.rejected, queued: ExitCode.queued } as const;

export async function run(options: Record<string, unknown>, output: Output, command: Command): Promise<number> {
  const flags = options as SendOptions;
  if (flags.recipients) {
    const { runBulk } = await import('./send-bulk.js');
    return runBulk({ ...flags, recipients: flags.recipients }, output, command);
  }
  const bulkOnly = (Object.keys(BULK_ONLY_FLAGS) as (keyof typeof BULK_ONLY_FLAGS)[]).find((key) => command.getOptionValueSource(key) === 'cli');
  if (bulkOnly) throw new UserError(`${BULK_ONLY_FLAGS[bulkOnly]} applies to a bulk send only`, { hint: 'add --recipients <list>, or drop the flag' });
  const config = await loadCommandConfig(flags, { requireEnv: !flags.dryRun, warn: (message) => output.warn(message) });
  const payload = flags.payload ? parsePayload(await readTextInput(flags.payload, '--payload'), flags.payload) : undefined;
  const { draft, forceProvider } = await composeDraft(flags, payload, config);
  validateMessage(draft);
  const message = finalizeMessage(draft);
  if (forceProvider) assertKnownProvider(config, forceProvider, flags.provider ? '--provider' : 'payload.provider');
  if (Object.keys(config.providers).length === 0) throw new UserError('no providers configured', { hint: 'add postmark, mailgun or smtp under providers: in the config' });

  const store = flags.dryRun ? undefined : await openStore(config);
  const dispatcher = new Dispatcher(config, store, { onAttempt: (attempt) => output.line(renderAttempt(output, attempt)) });
  try {
    const route = dispatcher.route(message, { forceProvider, noFailover: flags.failover === false });
    assertFitsProviders(message, route, config.providers);
    output.detail(`route: ${route.chain.join(' → ')} (${route.source})`);
    for (const note of route.notes) output.detail(`note: ${note}`);
    if (store) for (const name of route.chain) output.detail(`health of ${name}: ${describeHealth(store.get(name), Date.now())}`);
    if (flags.dryRun) return printDryRun(output, dispatcher, message, route);

    const onWait = (holder: string) => output.warn(`another penguinmails run (${holder}) is sending this message: waiting for it to finish`);
    const onReleaseFailure = (error: unknown) =>
      output.warn(`could not let go of this message's run lock (${error instanceof Error ? error.message : String(error)}); a later send of it may wait until this process has ended`);
    return await withMessageLock(
      store!,
      message.idempotencyKey,
      async () => {
        const waiting = store!.openEntryFor(message.idempotencyKey);
        if (waiting) return await retryWaitingEntry(output, dispatcher, message, waiting);
        const result = await dispatcher.deliver(message, route.chain);
        return finish(output, store!, config.failover.outboxPath, message, route, result);
      },
      { onWait, onReleaseFailure, maxWaitMs: leaseMs(dispatcher) },
    );
  } finally {
    await dispatcher.close();
    store?.close();
  }
}

/**
 * The same message (same idempotency key) already waits in the outbox: sending a second copy could
 * duplicate an ambiguous one or race a `queue retry`, so that entry is retried instead, under its lease.
 */
async function retryWaitingEntry(output: Output, dispatcher: Dispatcher, message: EmailMessage, waiting: { id: number; status: string }): Promise<number> {
  output.warn(`this message already waits in the outbox as #${waiting.id} (${waiting.status}): retrying that entry instead of sending another copy`);
  const [result] = await retryOutboxEntries(dispatcher, [waiting.id], { force: false });
  // Closed by someone else between the look-up and the claim: report what it became.
  const closedMeanwhile = result.status === 'skipped' ? dispatcher.store!.getEntry(waiting.id) : undefined;
  const finalStatus = closedMeanwhile?.status === 'delivered' ? 'delivered' : result.status;
  const status = result.refused ? 'partial' : finalStatus === 'delivered' || finalStatus === 'rejected' ? finalStatus : 'queued';
  const outboxId = result.retryCopyId ?? waiting.id;
  if (status === 'queued') output.error(`not delivered: ${result.reason ?? result.status}`, `it stays in the outbox as #${waiting.id}; see \`penguinmails queue show ${waiting.id}\``);
  else if (status === 'rejected') output.error(`rejected: ${result.reason}`, 'this is permanent for this message');
  else output.line(`${status === 'partial' ? output.c.warn('partly delivered') : output.c.ok('delivered')}: ${result.reason ?? `via ${result.provider}`}`);
  if (output.json) {
    output.emitJson({
      status,
      provider: result.provider ?? closedMeanwhile?.provider ?? null,
      messageId: result.messageId ?? closedMeanwhile?.messageId ?? null,
      attempts: result.attempts,
      outboxId,
      idempotencyKey: message.idempotencyKey,
      reason: result.reason ?? null,
      ...(result.status === 'ambiguous' ? { ambiguous: true } : {}),
      ...(result.refused ? { refused: result.refused } : {}),
    });
  }
  return EXIT_FOR_STATUS[status];
}

function printDryRun(output: Output, dispatcher: Dispatcher, message: EmailMessage, route: Route): number {
  const requests = route.chain.map((name) => ({ provider: name, type: dispatcher.config.providers[name].type, request: dispatcher.provider(name).previewRequest(message) }));
  if (output.json) {
    output.emitJson({ status: 'dry-run', provider: route.chain[0], messageId: null, attempts: [], outboxId: null, idempotencyKey: message.idempotencyKey, route: { chain: route.chain, rule: route.source, notes: route.notes }, requests });
    return ExitCode.ok;
  }
  output.line(`dry run — nothing sent. Route: ${route.chain.join(' → ')} (${route.source})`);
  for (const { provider, type, request } of requests) {
    output.line('');
    output.line(output.c.bold(`${provider} (${type}) would receive:`));
    output.line(JSON.stringify(request, null, 2));
  }
  return ExitCode.ok;
}

function finish(output: Output, store: NonNullable<Dispatcher['store']>, outboxPath: string, message: EmailMessage, route: Route, result: Dispatch): number {
  let outboxId: number | null = null;
  let status: 'delivered' | 'rejected' | 'queued' | 'partial' = result.status === 'undelivered' ? 'queued' : result.status;
  if (result.status === 'undelivered') {
    outboxId = store.enqueue(message, route.chain, result.ambiguous ? 'ambiguous' : 'pending', result.reason ?? 'not delivered', result.attempts, Date.now());
  }
  let split: RefusedSplit | undefined;
  if (result.refused) {
    status = 'partial';
    const queued = queueCopyForRefused(store, message, result.refused, route.chain, result.provider!, Date.now());
    split = queued.split;
    outboxId = queued.retryCopyId ?? null;
  }
  for (const warning of result.warnings) output.warn(warning);
  if (status === 'delivered') {
    output.line(`${output.c.ok('delivered')} via ${result.provider} — message id ${result.messageId}`);
  } else if (status === 'partial') {
    output.line(`${output.c.warn('partly delivered')} via ${result.provider} — message id ${result.messageId}`);
    for (const r of split!.permanent) output.error(`${r.address} refused for good: ${r.reason}`);
    for (const r of split!.temporary) output.error(`${r.address} refused for now: ${r.reason}`, `a copy for the refused recipients waits in the outbox as #${outboxId}`);
  } else if (status === 'rejected') {
    output.error(`rejected by ${result.provider}: ${result.reason}`, 'this is permanent for this message: no other provider was tried (fix the recipient or content)');
  } else {
    const retry = result.ambiguous
      ? `the provider may already have it: check before resending; \`penguinmails queue retry ${outboxId} --force\` resends it`
      : `run \`penguinmails queue retry ${outboxId}\` later`;
    output.error(`not delivered: ${result.reason}`, `stored in the outbox as #${outboxId} (${outboxPath}); ${retry}`);
  }
  if (output.json) {
    output.emitJson({
      status,
      provider: status === 'delivered' || status === 'partial' ? result.provider : null,
      messageId: result.messageId ?? null,
      attempts: result.attempts,
      outboxId,
      idempotencyKey: message.idempotencyKey,
      reason: result.reason ?? null,
      ...(result.ambiguous ? { ambiguous: true } : {}),
      ...(result.duplicateOf ? { duplicateOf: result.duplicateOf } : {}),
      ...(split ? { refused: [...split.permanent.map((r) => ({ ...r, permanent: true })), ...split.temporary.map((r) => ({ ...r, permanent: false }))] } : {}),
    });
  }
  return EXIT_FOR_STATUS[status];
}
