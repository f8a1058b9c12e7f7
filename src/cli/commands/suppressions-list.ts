import type { Command } from 'commander';
import { describeSuppression } from '../../app/suppression-check.js';
import { ExitCode } from '../../core/errors.js';
import { loadCommandConfig, openExistingStore } from '../context.js';
import type { Output } from '../output.js';

/** `suppressions list`: every address no message may go to, with why and since when. */
export async function run(options: Record<string, unknown>, output: Output, _command: Command): Promise<number> {
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openExistingStore(config);
  try {
    const suppressions = ((await store?.listSuppressions()) ?? []).map(describeSuppression);
    if (output.json) {
      output.emitJson({ status: 'ok', suppressions });
      return ExitCode.ok;
    }
    if (suppressions.length === 0) {
      output.line('the suppression list is empty');
      return ExitCode.ok;
    }
    const width = Math.min(48, Math.max(8, ...suppressions.map((s) => s.address.length)) + 2);
    const scopeWidth = Math.min(32, Math.max(6, ...suppressions.map((s) => s.scope.length)) + 2);
    output.line(output.c.bold(`${'ADDRESS'.padEnd(width)}${'SCOPE'.padEnd(scopeWidth)}${'SINCE'.padEnd(22)}${'SOURCE'.padEnd(12)}REASON`));
    for (const s of suppressions) {
      output.line(`${s.address.padEnd(width)}${s.scope.padEnd(scopeWidth)}${s.since.slice(0, 19).replace('T', ' ').padEnd(22)}${s.source.padEnd(12)}${s.reason}`);
    }
    output.line(output.c.dim(`${suppressions.length} address${suppressions.length === 1 ? '' : 'es'}; scope * = every sending domain`));
    return ExitCode.ok;
  } finally {
    await store?.close();
  }
}
