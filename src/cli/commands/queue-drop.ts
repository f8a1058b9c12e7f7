import type { Command } from 'commander';
import { ExitCode, UserError } from '../../core/errors.js';
import { loadCommandConfig, openStore } from '../context.js';
import type { Output } from '../output.js';
import { parseCount } from '../read-input.js';

export async function run(options: Record<string, unknown>, output: Output, _command: Command, args: string[]): Promise<number> {
  const id = parseCount(args[0], 'id', { min: 1 })!;
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openStore(config);
  try {
    const status = store.drop(id, Date.now());
    if (!status) throw new UserError(`no outbox entry #${id}`, { hint: 'penguinmails queue list shows the ids' });
    if (status !== 'dropped') throw new UserError(`#${id} is ${status}, not waiting: nothing to drop`);
    if (output.json) output.emitJson({ id, status });
    else output.line(`#${id} dropped: it will not be retried`);
    return ExitCode.ok;
  } finally {
    store.close();
  }
}
