import type { Command } from 'commander';
import { openAlerts } from '../../app/alerts/open-alerts.js';
import { Dispatcher } from '../../app/dispatcher.js';
import { runWorkerPass, type WorkerPass } from '../../app/outbox-worker.js';
import { formatDuration } from '../../core/duration.js';
import { ExitCode } from '../../core/errors.js';
import { loadCommandConfig, openStore } from '../context.js';
import type { Output } from '../output.js';
import { suggestCommand } from '../suggest-command.js';

/**
 * `queue work [--once]`: the outbox worker without the server (cron, CI, a process of its own).
 * Runs a pass every worker.interval until SIGINT/SIGTERM; --once runs one pass and exits.
 */
export async function run(options: Record<string, unknown>, output: Output, _command: Command): Promise<number> {
  const config = await loadCommandConfig(options, { requireEnv: true });
  const store = await openStore(config);
  const alerts = openAlerts(config, store, { suggest: (command) => suggestCommand(command, options), warn: (message) => output.warn(message) });
  const dispatcher = new Dispatcher(config, store, { alerts });
  let stopping = false;
  let wake: () => void = () => undefined;
  const stop = () => {
    stopping = true;
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const passes: WorkerPass[] = [];
  try {
    if (!options.once) output.warn(`working the outbox every ${formatDuration(config.worker.intervalMs)} (Ctrl-C to stop)`);
    do {
      const pass = await runWorkerPass(dispatcher, config.worker);
      passes.push(pass);
      report(output, pass);
      if (options.once || stopping) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, config.worker.intervalMs);
      });
    } while (!stopping);
    const results = passes.flatMap((p) => p.results);
    const expired = passes.flatMap((p) => p.expired);
    if (output.json) output.emitJson({ status: 'ok', passes: passes.length, results, expired });
    // --once in a script: 4 when something still waits after the pass, as `queue retry` says.
    const waiting = options.once && (await store.listEntries(false)).some((e) => e.status === 'pending' || e.status === 'ambiguous');
    return waiting ? ExitCode.queued : ExitCode.ok;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    await alerts.close();
    await dispatcher.close();
    await store.close();
  }
}

function report(output: Output, pass: WorkerPass): void {
  for (const id of pass.expired) output.line(`#${id}: expired — not delivered within worker.maxAge`);
  for (const r of pass.results) {
    const detail = r.status === 'delivered' ? `via ${r.provider} — message id ${r.messageId}` : (r.reason ?? '');
    output.line(`#${r.id}: ${r.status}${detail ? ` — ${detail}` : ''}`);
  }
  if (pass.results.length === 0 && pass.expired.length === 0) output.detail('nothing due');
}
