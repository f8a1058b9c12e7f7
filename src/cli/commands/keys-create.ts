import type { Command } from 'commander';
import { createApiKey } from '../../app/api-keys.js';
import { ExitCode, UserError } from '../../core/errors.js';
import { loadCommandConfig, openStore } from '../context.js';
import type { Output } from '../output.js';
import { stdout } from '../stdio.js';
import { suggestCommand } from '../suggest-command.js';

/** `keys create --name <n>`: a new API key for `serve`, printed once (only its hash is stored). */
export async function run(options: Record<string, unknown>, output: Output, _command: Command): Promise<number> {
  if (typeof options.name !== 'string') throw new UserError('keys create needs --name <n>', { hint: `for example: ${suggestCommand('keys create --name billing-app', options)}` });
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openStore(config);
  try {
    const created = await createApiKey(store, options.name, Date.now(), (command) => suggestCommand(command, options));
    if (output.json) {
      output.emitJson({ status: 'ok', ...created });
      return ExitCode.ok;
    }
    // The key goes to stdout alone, so `KEY=$(penguinmails keys create --name x)` works.
    stdout.write(`${created.key}\n`);
    output.warn(`this is the only time the key "${created.name}" is shown: keep it now (only its hash is stored); send it as "Authorization: Bearer <key>"`);
    return ExitCode.ok;
  } finally {
    await store.close();
  }
}
