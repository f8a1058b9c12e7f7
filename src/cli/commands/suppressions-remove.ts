import type { Command } from 'commander';
import { checkedAddress, checkedScope, removeSuppression } from '../../app/suppressions.js';
import { ExitCode, UserError } from '../../core/errors.js';
import { loadCommandConfig, openExistingStore } from '../context.js';
import type { Output } from '../output.js';

/** `suppressions remove <address>`: sends to it go out again (from every scope, or --scope's only). */
export async function run(options: Record<string, unknown>, output: Output, _command: Command, args: string[]): Promise<number> {
  const [addressText] = args;
  const scopeText = options.scope as string | undefined;
  const address = checkedAddress(addressText);
  if (scopeText !== undefined) checkedScope(scopeText);
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openExistingStore(config);
  if (!store) throw new UserError(`${address} is not on the suppression list`, { hint: 'the list is empty; nothing was changed' });
  try {
    const removed = await removeSuppression(store, address, scopeText);
    output.line(`removed ${address} from the suppression list (${removed} record${removed === 1 ? '' : 's'}): sends to it go out again`);
    if (output.json) output.emitJson({ status: 'ok', address, removed });
    return ExitCode.ok;
  } finally {
    await store.close();
  }
}
