import { bulkCounts, bulkStatus } from '../../app/bulk/bulk-report.js';
import { assertFitsProviders } from '../../providers/message-size.js';
import { unsetInChain } from '../../config/unresolved-env.js';
import type { Command } from 'commander';
import { BulkSender, type BulkStats } from '../../app/bulk/bulk-sender.js';
import { openAlerts } from '../../app/alerts/open-alerts.js';
import { Dispatcher } from '../../app/dispatcher.js';
import { rowRouter } from '../../app/bulk/row-routes.js';
import { assertListReadable, estimatedRows, listFormatOf, listName, RecipientReader, type RecipientRow } from '../../lists/recipient-source.js';
import { ListFieldCheck } from '../list-field-check.js';
import { groupThousands } from '../../cost/money.js';
import { ExitCode, UserError } from '../../core/errors.js';
import { finalizeMessage, type MessageType } from '../../core/message.js';
import { composeDraft, type SendFlags } from '../compose.js';
import { checkComposedMessage, parsePayload } from '../payload-check.js';
import { assertKnownProvider } from '../../app/send-service.js';
import { loadCommandConfig, openStore, withStoreForReading } from '../context.js';
import { exitCodeFor } from '../exit-codes.js';
import type { GlobalOptions, Output } from '../output.js';
import { countLines, ProgressBar } from '../progress.js';
import { parseCount, readTextInput } from '../read-input.js';
import { previewBulkSend } from './send-bulk-dry-run.js';
import { holdBulkHeap } from '../bulk-heap.js';
import { stderr } from '../stdio.js';
import { suggestCommand } from '../suggest-command.js';

const MEMORY_RECIPIENTS_ENV = 'PENGUINMAILS_BULK_MEMORY_RECIPIENTS';


/**
 * A bulk send is marketing unless --type or the payload says otherwise: Postmark takes bulk mail
 * only on a broadcast stream. The config's defaults.type is for single messages: it does not count.
 */
const BULK_DEFAULT_TYPE: MessageType = 'marketing';

/** After Ctrl-C, the rest of the list is counted for the report for at most this long. */
const COUNT_UNREAD_BUDGET_MS = 10_000;

type BulkFlags = SendFlags & GlobalOptions & { payload?: string; recipients: string; dryRun?: boolean; failover?: boolean; concurrency?: string; batchSize?: string; resume?: boolean; ignoreSuppressions?: boolean };

export async function runBulk(flags: BulkFlags, output: Output, _command: Command): Promise<number> {
  if (flags.to?.length || flags.cc?.length || flags.bcc?.length) throw new UserError('--recipients gives the recipients: do not combine it with --to/--cc/--bcc');
  if (flags.recipients === '-') {
    const stdinFlags = { payload: '--payload', htmlFile: '--html-file', textFile: '--text-file' } as const;
    const alsoStdin = (Object.keys(stdinFlags) as (keyof typeof stdinFlags)[]).find((key) => flags[key] === '-');
    if (alsoStdin) throw new UserError(`${stdinFlags[alsoStdin]} and --recipients cannot both read stdin`, { hint: 'give one of them as a file' });
  }
  const concurrency = parseCount(flags.concurrency ?? '4', '--concurrency', { min: 1, max: 64 })!;
  const batchSize = parseCount(flags.batchSize, '--batch-size', { min: 1 });
  // A list that cannot be read is said at once, before any warning about how it would be sent.
  assertListReadable(flags.recipients);
  // Memory does not grow with the list: past this many recipients, the sets go to a temporary file.
  const digestsInMemory = parseCount(process.env[MEMORY_RECIPIENTS_ENV] || undefined, MEMORY_RECIPIENTS_ENV, { min: 10_000, max: 5_000_000 });
  const config = await loadCommandConfig(flags, { requireEnv: !flags.dryRun, warn: (message) => output.warn(message) });
  const payload = flags.payload ? parsePayload(await readTextInput(flags.payload, '--payload'), flags.payload) : undefined;
  const body = payload?.body;
  if (body && (body.to?.length || body.cc?.length || body.bcc?.length)) {
    throw new UserError(`--recipients gives the recipients: the payload's "to", "cc" and "bcc" cannot be used with it`, { hint: 'leave them out of the payload for a bulk send' });
  }
  const givenType = flags.type ?? body?.type;
  const composeFlags = { ...flags, type: givenType ?? BULK_DEFAULT_TYPE, to: ['recipient@example.com'] };
  const { draft, forceProvider } = await composeDraft(composeFlags, body ? { ...body, to: [] } : undefined, config);
  checkComposedMessage(draft, composeFlags, payload);
  const template = finalizeMessage(draft);
  if (flags.ignoreSuppressions) template.ignoreSuppressions = true;
  if (forceProvider) assertKnownProvider(config, forceProvider, '--provider');
  // Said once, as it decides the Postmark stream and the routing rules.
  if (!givenType) output.warn(`no --type given: a bulk send goes as ${BULK_DEFAULT_TYPE} (Postmark's broadcast stream, the marketing routing rules); add --type transactional if these are transactional messages`);

  const store = flags.dryRun ? undefined : await openStore(config);
  // Alert warnings (a webhook failing) go above the progress bar once there is one.
  let warnOfAlerts = (message: string) => output.warn(message);
  const alerts = store ? openAlerts(config, store, { suggest: (command) => suggestCommand(command, flags), warn: (message) => warnOfAlerts(message) }) : undefined;
  const dispatcher = new Dispatcher(config, store, { alerts });
  try {
    const route = await dispatcher.route(template, { forceProvider, noFailover: flags.failover === false });
    // Each copy carries the template's attachments: one the first provider cannot take stops here.
    assertFitsProviders(template, route, config.providers);
    if (flags.dryRun) {
      for (const warning of unsetInChain(config, route.chain)) output.warn(warning);
      return await withStoreForReading(config, output, (store) => previewBulkSend(output, dispatcher, template, route, flags.recipients, batchSize, store));
    }

    // Set-up, not sending: the first batches would otherwise wait while the SDK loads, and the
    // heap rules load what watches the collections.
    await dispatcher.provider(route.chain[0]).prepare();
    holdBulkHeap();
    const showBar = !output.json && !output.quiet && stderr.isTTY;
    const lines = showBar ? await countLines(flags.recipients) : undefined;
    const rows = lines !== undefined && listFormatOf(flags.recipients) === 'csv' ? lines - 1 : lines;
    const bar = showBar ? new ProgressBar(stderr.nodeStream(), rows) : undefined;
    const handled = (s: BulkStats) => s.delivered + s.rejected + s.queued + s.invalid + s.skipped;
    const started = Date.now();
    const warn = (message: string) => (bar ? bar.above(() => output.warn(message)) : output.warn(message));
    warnOfAlerts = warn;
    const routeRow = await rowRouter(dispatcher, template, { forceProvider, noFailover: flags.failover === false });
    const sender = new BulkSender(dispatcher, {
      chain: route.chain,
      routeRow,
      template,
      concurrency,
      batchSize,
      digestsInMemory,
      expectedRows: rows ?? estimatedRows(flags.recipients),
      onWarning: warn,
      onProgress: (s) => bar?.update(handled(s)),
      // The store's closing work (SQLite's checkpoint) while the last answers are awaited, not after the report (#21).
      onAllCallsStarted: () => store!.prepareToClose(),
    });
    // First Ctrl-C: finish the calls under way, write the ledger, report. A second one kills.
    const stop = () => {
      warn('stopping: finishing the calls under way (Ctrl-C again to kill); rerun the same command to resume');
      sender.stop();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let stats: BulkStats;
    const fieldCheck = new ListFieldCheck(template, listName(flags.recipients), warn);
    const reader = new RecipientReader(flags.recipients, undefined, { onCsvHeader: fieldCheck.onCsvHeader });
    /** Interrupted: the rows of the list not read yet, when they can be counted. */
    let unreadRows: number | undefined;
    try {
      stats = await sender.run(checkingFields(reader.rows(), fieldCheck));
      if (!sender.interrupted) fieldCheck.finish();
      // The rest of the list is counted, not parsed into rows (a second Ctrl-C kills, as during the run).
      else unreadRows = await reader.countUnreadRows(Date.now() + COUNT_UNREAD_BUDGET_MS);
    } finally {
      reader.close();
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    }
    bar?.finish(handled(stats));
    // Not an error (a nightly job's list can be empty), but seldom what was meant.
    if (stats.read === 0 && !sender.interrupted) output.warn(`${listName(flags.recipients)} has no recipient rows: nothing was sent`);

    const status = bulkStatus(stats);
    const report = {
      status: sender.interrupted ? 'interrupted' : status,
      // perRow: a split or recipient-domain rule routed each row on its own (the chain is the template's).
      route: { chain: route.chain, rule: route.source, perRow: routeRow !== undefined },
      // The list's rows: after Ctrl-C, those read and those counted after (when they could be).
      recipients: sender.interrupted ? reader.rowsYielded + (unreadRows ?? 0) : stats.read,
      ...bulkCounts(stats),
      // Ctrl-C: the rows not sent, for the rerun (the counts above then add up to the list's rows):
      // those taken but not sent yet, and those not read. Unknown (null) when the rest of the list
      // could not be counted (stdin): then at least the rows known of.
      ...(sender.interrupted ? notSentCounts(reader.rowsYielded - handled(stats) - stats.duplicates, unreadRows) : {}),
      failures: sender.failures,
      failuresNotListed: sender.failuresNotKept,
      elapsedMs: Date.now() - started,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    printSummary(output, report);
    const inDoubt = sender.failures.find((failure) => failure.ambiguous);
    if (inDoubt?.outboxId !== undefined) {
      output.warn(
        `some recipients wait in the outbox as ambiguous: the provider may have them, so they are not retried by themselves; check with the provider first, then \`${suggestCommand(`queue retry ${inDoubt.outboxId} --force`, flags)}\` resends one (\`${suggestCommand('queue list', flags)}\` lists them)`,
      );
    }
    if (output.json) output.emitJson(report);
    if (sender.interrupted) return ExitCode.interrupted;
    return exitCodeFor(status);
  } finally {
    await alerts?.close();
    await dispatcher.close();
    await store?.close();
  }
}

function notSentCounts(knownRows: number, unreadRows: number | undefined): { notSent: number | null; notSentAtLeast?: number } {
  return unreadRows === undefined ? { notSent: null, notSentAtLeast: knownRows } : { notSent: knownRows + unreadRows };
}

async function* checkingFields(rows: AsyncIterable<RecipientRow[]>, check: ListFieldCheck): AsyncGenerator<RecipientRow[]> {
  for await (const chunk of rows) {
    check.seeRows(chunk);
    yield chunk;
  }
}

function printSummary(output: Output, report: { notSent?: number | null; notSentAtLeast?: number; recipients: number; delivered: number; skippedAlreadyDelivered: number; duplicateRows: number; rejected: number; suppressed: number; suppressionsIgnored?: number; newlySuppressed: number; queued: number; invalid: number; calls: Record<string, number>; byProvider: BulkStats['byProvider']; failures: { line?: number; email?: string; outcome: string; reason: string; outboxId?: number; ambiguous?: true }[]; failuresNotListed: number; elapsedMs: number; rateLimitPauses: number }): void {
  const rows: [string, number][] = [
    ['recipients read', report.recipients],
    ['delivered', report.delivered],
    ['already delivered (skipped)', report.skippedAlreadyDelivered],
    ['duplicate rows (sent once)', report.duplicateRows],
    ['rejected (permanent)', report.rejected],
    ...(report.suppressed ? [['  of which suppressed', report.suppressed] as [string, number]] : []),
    ['queued in the outbox', report.queued],
    ['invalid rows', report.invalid],
  ];
  for (const [label, value] of rows) output.line(`${label.padEnd(30)}${groupThousands(value).padStart(10)}`);
  if (typeof report.notSent === 'number') output.line(`${'not sent (Ctrl-C; rerun)'.padEnd(30)}${groupThousands(report.notSent).padStart(10)}`);
  if (report.notSent === null) output.line(`${'not sent (Ctrl-C; rerun)'.padEnd(30)}${`at least ${groupThousands(report.notSentAtLeast ?? 0)}`.padStart(10)} (the rest of the list was not counted)`);
  for (const [provider, calls] of Object.entries(report.calls)) {
    const counts = report.byProvider[provider] ?? { delivered: 0, rejected: 0 };
    output.line(`${`${provider}`.padEnd(30)}${groupThousands(counts.delivered).padStart(10)} delivered in ${groupThousands(calls)} call(s)`);
  }
  if (report.suppressionsIgnored) output.warn(`sent to ${groupThousands(report.suppressionsIgnored)} address(es) on the suppression list (--ignore-suppressions)`);
  if (report.newlySuppressed) output.line(`${groupThousands(report.newlySuppressed)} address(es) refused as dead (Postmark 406, SMTP 5.1.1) are now on the suppression list`);
  if (report.rateLimitPauses) output.line(`rate limited ${report.rateLimitPauses} time(s): the run slowed down`);
  output.line(`took ${(report.elapsedMs / 1000).toFixed(1)}s`);
  for (const f of report.failures) {
    output.line(`${f.line !== undefined ? `line ${f.line}` : ''}${f.email ? ` ${f.email}` : ''}: ${f.outcome}${f.ambiguous ? ' (ambiguous)' : ''} — ${f.reason}${f.outboxId ? ` (outbox #${f.outboxId})` : ''}`);
  }
  if (report.failuresNotListed) output.line(`… and ${report.failuresNotListed} more (see --json or queue list)`);
}
