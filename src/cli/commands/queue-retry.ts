import type { Command } from 'commander';
import { openAlerts } from '../../app/alerts/open-alerts.js';
import { Dispatcher } from '../../app/dispatcher.js';
import { retryOutboxEntries } from '../../app/retry-outbox.js';
import { ExitCode, UserError } from '../../core/errors.js';
import { loadCommandConfig, openStore } from '../context.js';
import type { Output } from '../output.js';
import { suggestCommand } from '../suggest-command.js';
import { parseOutboxId } from '../read-input.js';
import { renderAttempt } from '../render-attempts.js';

export async function run(options: Record<string, unknown>, output: Output, _command: Command, args: string[]): Promise<number> {
  const [idText] = args;
  if (!idText && !options.all) throw new UserError('queue retry: give an outbox id or --all', { hint: `\`${suggestCommand('queue list', options)}\` shows the ids` });
  if (idText && options.all) throw new UserError('queue retry: give an id or --all, not both');
  const config = await loadCommandConfig(options, { requireEnv: true });
  const store = await openStore(config);
  const alerts = openAlerts(config, store, { suggest: (command) => suggestCommand(command, options), warn: (message) => output.warn(message) });
  const dispatcher = new Dispatcher(config, store, { onAttempt: (attempt) => output.progress(renderAttempt(output, attempt)), alerts });
  try {
    const open = idText ? [] : await store.listEntries(false);
    const ids = idText ? [parseOutboxId(idText)] : open.filter((e) => e.status === 'pending' || options.force).map((e) => e.id);
    // --all leaves ambiguous entries alone (they may have been delivered): say so, or they go unseen.
    const ambiguousLeft = options.force ? [] : open.filter((e) => e.status === 'ambiguous').map((e) => e.id);
    if (idText) {
      const entry = await store.getEntry(ids[0]);
      if (!entry) throw new UserError(`queue retry: no outbox entry #${ids[0]}`, { hint: `\`${suggestCommand('queue list', options)}\` shows the ids` });
      if (entry.status === 'dropped') throw new UserError(`queue retry: #${ids[0]} was dropped`, { hint: 'a dropped message is not sent again; send it anew if it is still wanted' });
    }
    const results = await retryOutboxEntries(dispatcher, ids, { force: Boolean(options.force) });
    if (ambiguousLeft.length) {
      const which = ambiguousLeft.slice(0, 10).map((id) => `#${id}`).join(', ') + (ambiguousLeft.length > 10 ? ', …' : '');
      output.warn(`left alone: ${ambiguousLeft.length} ambiguous entr${ambiguousLeft.length === 1 ? 'y' : 'ies'} (${which}) that may have been delivered; check, then \`${suggestCommand('queue retry <id> --force', options)}\` sends one anyway`);
    }
    if (output.json) output.emitJson({ status: 'ok', results, ...(ambiguousLeft.length ? { ambiguousLeft } : {}) });
    else {
      if (results.length === 0) output.line(ambiguousLeft.length ? 'nothing retried: the ambiguous entries above still wait (exit 4)' : 'nothing to retry');
      for (const r of results) {
        const detail = r.status === 'delivered' ? `via ${r.provider} — message id ${r.messageId}` : (r.reason ?? '');
        output.line(`#${r.id}: ${r.status}${detail ? ` — ${detail}` : ''}`);
      }
    }
    // A skipped entry counts as what it is now: settled (delivered, rejected) or still waiting
    // (ambiguous without --force — e.g. a retry killed mid-send — or being retried elsewhere).
    // Under --all, an entry another live retry holds is that run's to report, not this one's.
    const outcomes = await Promise.all(
      results.map(async (r) => {
        if (r.status !== 'skipped') return r.status;
        const now = (await store.getEntry(r.id))?.status;
        return idText || now === 'ambiguous' ? now : undefined;
      }),
    );
    // Ambiguous entries --all left alone still wait, as one asked for by id without --force does.
    if (ambiguousLeft.length || outcomes.some((status) => status === 'pending' || status === 'ambiguous')) return ExitCode.queued;
    if (outcomes.includes('rejected')) return ExitCode.rejected;
    if (results.some((r) => r.refused)) return ExitCode.partial;
    return ExitCode.ok;
  } finally {
    await alerts.close();
    await dispatcher.close();
    await store.close();
  }
}
