import type { Command } from 'commander';
import { ExitCode } from '../../core/errors.js';
import { loadCommandConfig, openExistingStore } from '../context.js';
import type { Output } from '../output.js';

export async function run(options: Record<string, unknown>, output: Output, _command: Command): Promise<number> {
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openExistingStore(config);
  try {
    const entries = (await store?.listEntries(Boolean(options.all))) ?? [];
    const summary = entries.map((e) => ({
      id: e.id, status: e.status, to: e.message.to, subject: e.message.subject, type: e.message.type, chain: e.chain,
      tries: e.tries, attempts: e.attempts.length, reason: e.reason, createdAt: e.createdAt, updatedAt: e.updatedAt, idempotencyKey: e.idempotencyKey,
    }));
    if (output.json) {
      output.emitJson({ status: 'ok', outbox: config.store.label, entries: summary });
      return ExitCode.ok;
    }
    if (entries.length === 0) {
      output.line(`the outbox is empty (${config.store.label})`);
      return ExitCode.ok;
    }
    output.line(output.c.bold(pad(['ID', 'STATUS', 'TRIES', 'CREATED', 'TO', 'SUBJECT'])));
    for (const e of summary) output.line(pad([`#${e.id}`, e.status, String(e.tries), e.createdAt.slice(0, 19).replace('T', ' '), e.to.join(','), e.subject]));
    return ExitCode.ok;
  } finally {
    await store?.close();
  }
}

const WIDTHS = [6, 10, 6, 20, 28, 0];
function pad(cells: string[]): string {
  return cells.map((cell, i) => (WIDTHS[i] ? cell.slice(0, WIDTHS[i] - 1).padEnd(WIDTHS[i]) : cell)).join('').trimEnd();
}
