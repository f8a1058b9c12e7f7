import type { Dispatcher } from '../../app/dispatcher.js';
import { suppressedAmong, suppressionText, type SuppressedRecipient } from '../../app/suppression-check.js';
import type { SuppressionRepository } from '../../store/ports.js';
import { BoundedDigestSet } from '../../lists/bounded-digest-set.js';
import { listName, readRecipients } from '../../lists/recipient-source.js';
import { ListFieldCheck } from '../list-field-check.js';
import { groupThousands } from '../../cost/money.js';
import { recipientDigest, type BulkRecipient } from '../../core/bulk-key.js';
import { ExitCode } from '../../core/errors.js';
import { mergeFieldNames } from '../../core/merge.js';
import type { EmailMessage } from '../../core/message.js';
import type { Route } from '../../core/router.js';
import type { Output } from '../output.js';

/** The first call's request is shown for this many recipients (a whole batch would bury it). */
const SAMPLE_RECIPIENTS = 3;
const INVALID_ROWS_LISTED = 20;

/**
 * `send --recipients … --dry-run`: reads the whole list (so bad rows show now, with their line
 * numbers), then shows each provider of the route the request its first call would get.
 */
export async function previewBulkSend(
  output: Output,
  dispatcher: Dispatcher,
  template: EmailMessage,
  route: Route,
  source: string,
  batchSize: number | undefined,
  /** The store's suppression list, when there is a store (a dry run creates none). */
  suppressions?: SuppressionRepository,
): Promise<number> {
  let rows = 0;
  let withAddress = 0;
  let duplicates = 0;
  let invalid = 0;
  const invalidRows: { line: number; reason: string }[] = [];
  // As the real run: rows to suppressed addresses are rejected before any provider.
  let suppressedRows = 0;
  const suppressed: SuppressedRecipient[] = [];
  const sample: BulkRecipient[] = [];
  // As the real run: a row repeating an earlier one (same address in any case, same fields) is sent once.
  const seen = new BoundedDigestSet();
  const fieldCheck = new ListFieldCheck(template, listName(source), (message) => output.warn(message));
  try {
    for await (const chunk of readRecipients(source, undefined, { onCsvHeader: fieldCheck.onCsvHeader })) {
      fieldCheck.seeRows(chunk);
      // Rows not seen before, with their digests and addresses; the chunk's suppressions are then one store query.
      const fresh: { row: Extract<(typeof chunk)[number], { email: string }>; digest: string; address: string }[] = [];
      for (const row of chunk) {
        rows++;
        if ('error' in row) {
          invalid++;
          if (invalidRows.length < INVALID_ROWS_LISTED) invalidRows.push({ line: row.line, reason: row.error });
          continue;
        }
        const digest = recipientDigest(row);
        if (!seen.add(digest)) {
          duplicates++;
          continue;
        }
        fresh.push({ row, digest, address: row.email.toLowerCase() });
      }
      const listed = suppressions && !template.ignoreSuppressions ? await suppressedAmong(suppressions, fresh.map(({ address }) => address), template.from) : new Map<string, SuppressedRecipient>();
      for (const { row, digest, address } of fresh) {
        const entry = listed.get(address);
        if (entry) {
          suppressedRows++;
          if (suppressed.length < INVALID_ROWS_LISTED) suppressed.push(entry);
          continue;
        }
        withAddress++;
        // A Mailgun batch holds each address once (see takeBatch): the sample shows each address once.
        if (sample.length < SAMPLE_RECIPIENTS && !sample.some((r) => r.email.toLowerCase() === address)) {
          sample.push({ email: row.email, fields: row.fields, digest });
        }
      }
    }
  } finally {
    seen.close();
  }
  fieldCheck.finish();
  const requests = route.chain.map((name) => {
    const provider = dispatcher.provider(name);
    const perCall = Math.max(1, Math.min(provider.maxBulkRecipients, batchSize ?? provider.maxBulkRecipients));
    return { provider: name, type: dispatcher.config.providers[name].type, recipientsPerCall: perCall, callsIfAllGoHere: Math.ceil(withAddress / perCall), request: sample.length ? provider.previewBulkRequest(template, sample) : null };
  });
  const doc = {
    status: 'dry-run',
    idempotencyKey: template.idempotencyKey,
    route: { chain: route.chain, rule: route.source },
    recipients: rows,
    withAddress,
    duplicateRows: duplicates,
    invalid,
    invalidRows,
    suppressedRows,
    suppressed,
    mergeFields: mergeFieldNames(template),
    requestsShownFor: sample.length,
    requests,
  };
  if (output.json) {
    output.emitJson(doc);
    return ExitCode.ok;
  }
  output.line(
    `dry run — nothing sent. ${groupThousands(rows)} row(s): ${groupThousands(withAddress)} to send, ${groupThousands(duplicates)} repeating an earlier row (sent once), ${groupThousands(invalid)} invalid, ${groupThousands(suppressedRows)} on the suppression list (rejected). Route: ${route.chain.join(' → ')} (${route.source}). Merge fields: ${doc.mergeFields.join(', ') || 'none'}`,
  );
  for (const row of invalidRows) output.line(`  line ${row.line}: ${row.reason}`);
  if (invalid > invalidRows.length) output.line(`  … and ${groupThousands(invalid - invalidRows.length)} more`);
  for (const entry of suppressed) output.line(`  suppressed: ${suppressionText(entry)}`);
  if (suppressedRows > suppressed.length) output.line(`  … and ${groupThousands(suppressedRows - suppressed.length)} more on the suppression list`);
  for (const { provider, type, recipientsPerCall, callsIfAllGoHere, request } of requests) {
    output.line('');
    output.line(output.c.bold(`${provider} (${type}): up to ${groupThousands(recipientsPerCall)} recipients a call, ${groupThousands(callsIfAllGoHere)} call(s) if all go here; its first call, for the first ${sample.length}:`));
    output.line(request === null ? '(no recipient with an address)' : JSON.stringify(request, null, 2));
  }
  return ExitCode.ok;
}
