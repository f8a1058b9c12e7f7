import type { Command } from 'commander';
import { openAlerts } from '../../app/alerts/open-alerts.js';
import { Dispatcher } from '../../app/dispatcher.js';
import { assertCanRoute, routeMessage, sendMessage, type SendReport } from '../../app/send-service.js';
import { suppressedReason, suppressedRecipientsOf, type SuppressedRecipient } from '../../app/suppression-check.js';
import { assertChainResolved, unsetInChain } from '../../config/unresolved-env.js';
import type { Config } from '../../config/types.js';
import { ExitCode, UserError } from '../../core/errors.js';
import { describeHealth } from '../../core/health.js';
import { finalizeMessage, recipientCount, type EmailMessage } from '../../core/message.js';
import type { Route } from '../../core/router.js';
import { composeDraft, type SendFlags } from '../compose.js';
import { checkComposedMessage, parsePayload } from '../payload-check.js';
import { loadCommandConfig, openStore, withStoreForReading } from '../context.js';
import type { Output } from '../output.js';
import { readTextInput } from '../read-input.js';
import { renderAttempt } from '../render-attempts.js';
import { exitCodeFor } from '../exit-codes.js';
import { suggestCommand } from '../suggest-command.js';

type SendOptions = SendFlags & { payload?: string; recipients?: string; dryRun?: boolean; failover?: boolean; config?: string; concurrency?: string; batchSize?: string; resume?: boolean; ignoreSuppressions?: boolean };

/** Flags that only mean something for a list: on a single send they would be silently ignored. */
const BULK_ONLY_FLAGS = { concurrency: '--concurrency', batchSize: '--batch-size', resume: '--resume' } as const;

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
  const { draft, forceProvider } = await composeDraft(flags, payload?.body, config);
  checkComposedMessage(draft, flags, payload);
  const message = finalizeMessage(draft);
  // A deliberate override: it travels with the message (an outbox retry of it keeps it).
  if (flags.ignoreSuppressions) message.ignoreSuppressions = true;
  const forceProviderField = flags.provider ? '--provider' : 'payload.provider';
  assertCanRoute(config, forceProvider, forceProviderField);

  const store = flags.dryRun ? undefined : await openStore(config);
  const alerts = store ? openAlerts(config, store, { suggest: (command) => suggestCommand(command, flags), warn: (message) => output.warn(message) }) : undefined;
  const dispatcher = new Dispatcher(config, store, { onAttempt: (attempt) => output.progress(renderAttempt(output, attempt)), alerts });
  try {
    const route = await routeMessage(dispatcher, message, { forceProvider, forceProviderField, noFailover: flags.failover === false });
    output.detail(`route: ${route.chain.join(' → ')} (${route.source})`);
    for (const note of route.notes) output.detail(`note: ${note}`);
    if (store && output.verbose) for (const name of route.chain) output.detail(`health of ${name}: ${describeHealth(await store.healthOf(name), Date.now())}`);
    if (flags.dryRun) {
      for (const warning of unsetInChain(config, route.chain)) output.warn(warning);
      return printDryRun(output, dispatcher, message, route, await suppressedForDryRun(config, message, output));
    }
    assertChainResolved(config, route.chain);

    // Ctrl-C / SIGTERM mid-send: say what became of the message before going (exit 130).
    let recordedAs: number | undefined;
    const interrupted = () => {
      const where = recordedAs === undefined ? 'nothing was handed to a provider yet' : `it waits in the outbox as #${recordedAs}; if a provider had it already, a rerun reports it ambiguous instead of resending`;
      output.error(`interrupted: ${where}`, recordedAs === undefined ? 'run the command again to send it' : `see \`${suggestCommand(`queue show ${recordedAs}`, flags)}\``);
      if (output.json) output.emitJson({ status: 'interrupted', exitCode: ExitCode.interrupted, idempotencyKey: message.idempotencyKey, outboxId: recordedAs ?? null });
      process.exit(ExitCode.interrupted);
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    try {
      const report = await sendMessage(dispatcher, message, route.chain, {
        onRecorded: (outboxId) => (recordedAs = outboxId),
        onWait: (holder) => output.warn(`another penguinmails run (${holder}) is sending this message: waiting for it to finish`),
        onReleaseFailure: (error) =>
          output.warn(`could not let go of this message's run lock (${error instanceof Error ? error.message : String(error)}); a later send of it may wait until this process has ended`),
      });
      return printResult(output, report, flags, config);
    } finally {
      process.removeListener('SIGINT', interrupted);
      process.removeListener('SIGTERM', interrupted);
    }
  } finally {
    // A one-shot send gets its alerts out (stored; POSTed within a short grace) before it exits.
    await alerts?.close();
    await dispatcher.close();
    await store?.close();
  }
}

/** The recipients a real send would refuse for the suppression list; none when the send overrides the list. */
function suppressedForDryRun(config: Config, message: EmailMessage, output: Output): Promise<SuppressedRecipient[]> {
  if (message.ignoreSuppressions) return Promise.resolve([]);
  return withStoreForReading(config, output, async (store) => (store ? suppressedRecipientsOf(store, message) : []));
}

function printDryRun(output: Output, dispatcher: Dispatcher, message: EmailMessage, route: Route, suppressed: SuppressedRecipient[]): number {
  const requests = route.chain.map((name) => ({ provider: name, type: dispatcher.config.providers[name].type, request: dispatcher.provider(name).previewRequest(message) }));
  // A real send would stop before any provider: said with the requests it would not make.
  const wouldReject = suppressed.length ? `a real send would be rejected before any provider: ${suppressedReason(suppressed, recipientCount(message))}` : undefined;
  if (output.json) {
    output.emitJson({ status: 'dry-run', provider: route.chain[0], messageId: null, attempts: [], outboxId: null, idempotencyKey: message.idempotencyKey, route: { chain: route.chain, rule: route.source, notes: route.notes }, ...(wouldReject ? { wouldBe: 'rejected', reason: wouldReject, suppressed } : {}), requests });
    return ExitCode.ok;
  }
  // Part of the result (stdout, kept by --quiet): what a real send would come to.
  output.line(`dry run — nothing sent. Route: ${route.chain.join(' → ')} (${route.source})`);
  if (wouldReject) output.line(output.c.warn(wouldReject));
  for (const { provider, type, request } of requests) {
    output.line('');
    output.line(output.c.bold(`${provider} (${type}) would receive:`));
    output.line(JSON.stringify(request, null, 2));
  }
  return ExitCode.ok;
}

function printResult(output: Output, { result, warnings }: SendReport, flags: SendOptions, config: Config): number {
  for (const warning of warnings) output.warn(warning);
  const queueCommand = (args: string) => suggestCommand(`queue ${args}`, flags);
  const via = `via ${result.provider} — message id ${result.messageId}`;
  if (result.status === 'delivered') output.line(`${output.c.ok('delivered')} ${via}`);
  else if (result.status === 'duplicate') {
    const first = result.duplicateOf!;
    output.line(`${output.c.ok('duplicate')}: already delivered ${first.deliveredAt} via ${first.provider} — message id ${first.messageId}; not sent again`);
    output.warn(result.reason!);
  } else if (result.status === 'partial') {
    output.line(`${output.c.warn('partly delivered')} ${via}`);
    for (const r of result.refused ?? []) {
      if (r.permanent) output.error(`${r.address} refused for good: ${r.reason}`);
      else output.error(`${r.address} refused for now: ${r.reason}`, `a copy for the refused recipients waits in the outbox as #${result.outboxId}; \`${queueCommand(`retry ${result.outboxId}`)}\` sends it`);
    }
  } else if (result.status === 'rejected' && result.suppressed) {
    const remove = result.suppressed.map((s) => `\`${suggestCommand(`suppressions remove ${s.address}${s.scope === '*' ? '' : ` --scope ${s.scope}`}`, flags)}\``).join(', ');
    output.error(`rejected before any provider was called: ${result.reason}`, `nothing was sent; if an address works again: ${remove}; to send anyway once: --ignore-suppressions`);
  } else if (result.status === 'rejected') {
    output.error(`rejected${result.provider ? ` by ${result.provider}` : ''}: ${result.reason}`, 'this is permanent for this message: no other provider was tried (fix the recipient or content)');
  } else {
    const id = result.outboxId;
    const retry = result.ambiguous
      ? `the provider may already have it: check before resending; \`${queueCommand(`retry ${id} --force`)}\` resends it`
      : `\`${queueCommand(`retry ${id}`)}\` retries it (or \`${queueCommand(`show ${id}`)}\` to see why)`;
    output.error(`not delivered: ${result.reason}`, `stored in the outbox as #${id} (${config.store.label}); ${retry}`);
  }
  if (output.json) output.emitJson(result);
  return exitCodeFor(result.status);
}

