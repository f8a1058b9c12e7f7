import type { Command } from 'commander';
import { importSuppressions, parseSuppressionCsv } from '../../app/suppressions.js';
import { ExitCode } from '../../core/errors.js';
import { loadCommandConfig, openStore } from '../context.js';
import type { Output } from '../output.js';
import { readTextInput } from '../read-input.js';

/** `suppressions import <csv>`: all the rows or none (a bad row is named by its line, nothing imported). */
export async function run(options: Record<string, unknown>, output: Output, _command: Command, args: string[]): Promise<number> {
  const [file] = args;
  const suppressions = parseSuppressionCsv(await readTextInput(file, 'suppressions import'));
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openStore(config);
  try {
    const { rows, added } = await importSuppressions(store, suppressions);
    output.line(`imported ${file === '-' ? 'stdin' : file}: ${rows} row${rows === 1 ? '' : 's'}, ${added} new on the suppression list, ${rows - added} there already`);
    if (output.json) output.emitJson({ status: 'ok', rows, added, alreadyListed: rows - added });
    return ExitCode.ok;
  } finally {
    await store.close();
  }
}
