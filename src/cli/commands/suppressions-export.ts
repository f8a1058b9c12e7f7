import type { Command } from 'commander';
import { describeSuppression } from '../../app/suppression-check.js';
import { suppressionsCsv } from '../../app/suppressions.js';
import { ExitCode } from '../../core/errors.js';
import { loadCommandConfig, openExistingStore } from '../context.js';
import type { Output } from '../output.js';
import { stdout } from '../stdio.js';

/** `suppressions export`: the list as CSV on stdout (`suppressions import` reads it back); --json gives JSON. */
export async function run(options: Record<string, unknown>, output: Output, _command: Command): Promise<number> {
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openExistingStore(config);
  try {
    const suppressions = (await store?.listSuppressions()) ?? [];
    if (output.json) output.emitJson({ status: 'ok', suppressions: suppressions.map(describeSuppression) });
    else stdout.write(suppressionsCsv(suppressions));
    return ExitCode.ok;
  } finally {
    await store?.close();
  }
}
