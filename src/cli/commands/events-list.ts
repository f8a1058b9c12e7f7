import type { Command } from 'commander';
import { checkedEventFilter } from '../../app/event-query.js';
import { eventDocument } from '../../app/events.js';
import { ExitCode } from '../../core/errors.js';
import { loadCommandConfig, openExistingStore } from '../context.js';
import type { Output } from '../output.js';

function alertText(raw: unknown): string {
  const message = (raw as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : '-';
}

/** `events list`: what providers' webhooks said about sent mail, and our alerts, newest first. */
export async function run(options: Record<string, unknown>, output: Output, _command: Command): Promise<number> {
  const filter = checkedEventFilter({ type: options.type as string | undefined, since: options.since as string | undefined, to: options.to as string | undefined, limit: options.limit as string | undefined });
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openExistingStore(config);
  try {
    const events = ((await store?.listEvents(filter)) ?? []).map(eventDocument);
    if (output.json) {
      output.emitJson({ status: 'ok', events });
      return ExitCode.ok;
    }
    if (events.length === 0) {
      output.line('no events match (providers report them to `serve` at /api/v1/webhooks/<provider>)');
      return ExitCode.ok;
    }
    const width = Math.min(48, Math.max(9, ...events.map((e) => e.recipient.length)) + 2);
    output.line(output.c.bold(`${'TIME'.padEnd(21)}${'TYPE'.padEnd(19)}${'RECIPIENT'.padEnd(width)}${'PROVIDER'.padEnd(12)}MESSAGE ID / ALERT`));
    for (const e of events) {
      const type = e.bounce ? `${e.type} (${e.bounce})` : e.type;
      // An alert (issue #22) has no recipient; its sentence says what happened.
      const last = e.recipient === '' ? alertText(e.raw) : (e.messageId ?? '-');
      output.line(`${e.occurredAt.slice(0, 19).replace('T', ' ').padEnd(21)}${type.padEnd(19)}${(e.recipient || '-').padEnd(width)}${e.provider.padEnd(12)}${last}`);
    }
    if (events.length === filter.limit) output.line(output.c.dim(`the newest ${filter.limit} shown; --limit shows more, --since/--type/--to narrow`));
    return ExitCode.ok;
  } finally {
    await store?.close();
  }
}
