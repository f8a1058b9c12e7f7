import type { Command } from 'commander';
import { noKeysYet, revokeApiKey } from '../../app/api-keys.js';
import { ExitCode, UserError } from '../../core/errors.js';
import { loadCommandConfig, openExistingStore } from '../context.js';
import type { Output } from '../output.js';
import { suggestCommand } from '../suggest-command.js';

/** `keys revoke <name>`: the key stops working at once (a running server checks every request). */
export async function run(options: Record<string, unknown>, output: Output, _command: Command, args: string[]): Promise<number> {
  const [name] = args;
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openExistingStore(config);
  const suggest = (command: string) => suggestCommand(command, options);
  if (!store) throw new UserError(`no key named "${name}"`, { hint: noKeysYet(suggest) });
  try {
    await revokeApiKey(store, name, Date.now(), suggest);
    output.line(`revoked "${name}": requests with it now get 401`);
    if (output.json) output.emitJson({ status: 'ok', name, revoked: true });
    return ExitCode.ok;
  } finally {
    await store.close();
  }
}
