import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ExitCode, UserError } from '../../core/errors.js';
import { loadStoreSettings } from '../store-option.js';
import type { Output } from '../output.js';

/** `store copy --from <sqlite file> [--to <postgres url>]`: moves an embedded outbox and ledger to PostgreSQL. */
export async function run(options: Record<string, unknown>, output: Output, _command: Command): Promise<number> {
  if (typeof options.from !== 'string') throw new UserError('store copy needs --from <sqlite file>', { hint: 'for example: penguinmails store copy --from .penguinmails/outbox.db --to "$DATABASE_URL"' });
  const from = await loadStoreSettings(options, options.from);
  if (from.kind !== 'sqlite') throw new UserError('--from must be a SQLite file (the embedded store)', { hint: 'copy goes from SQLite to PostgreSQL' });
  if (!existsSync(from.path)) throw new UserError(`--from ${from.path}: no such file`, { hint: 'give the path of the outbox file (store: or failover.outbox in the old config)' });
  const to = await loadStoreSettings(options, options.to);
  if (to.kind !== 'postgres') {
    throw new UserError('--to must be a postgres:// URL (or set store: to one in the config)', { hint: 'for example: --to postgres://app@db.internal:5432/mail' });
  }
  const { copySqliteToPostgres } = await import('../../store/copy/sqlite-to-postgres.js');
  const counts = await copySqliteToPostgres(from.path, to, Date.now());
  if (output.json) {
    output.emitJson({ status: 'ok', from: from.label, to: to.label, copied: counts });
    return ExitCode.ok;
  }
  output.line(`copied ${from.label} → ${to.label}`);
  output.line(
    `  ${counts.outbox} outbox entries, ${counts.deliveries} deliveries, ${counts.bulkDeliveries} bulk batches (${counts.bulkInFlight} in flight), ${counts.health} provider circuits, ${counts.usage} usage counts, ${counts.apiKeys} API keys, ${counts.suppressions} suppressions, ${counts.events} events — counted again on both sides`,
  );
  output.line('  next: set store: to the PostgreSQL URL in every config, and keep the SQLite file until you have checked the copy');
  return ExitCode.ok;
}
