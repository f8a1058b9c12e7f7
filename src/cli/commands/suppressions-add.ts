import type { Command } from 'commander';
import { addSuppression, checkedAddress, checkedScope } from '../../app/suppressions.js';
import { describeSuppression } from '../../app/suppression-check.js';
import { ExitCode } from '../../core/errors.js';
import { loadCommandConfig, openStore } from '../context.js';
import type { Output } from '../output.js';

/** `suppressions add <address>`: no message goes to it from then on (for one From domain with --scope). */
export async function run(options: Record<string, unknown>, output: Output, _command: Command, args: string[]): Promise<number> {
  const [addressText] = args;
  const scopeText = options.scope as string | undefined;
  // Checked before anything is opened: a bad value changes nothing.
  checkedAddress(addressText);
  checkedScope(scopeText);
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openStore(config);
  try {
    const { suppression, added } = await addSuppression(store, { address: addressText, scope: scopeText, reason: options.reason as string | undefined });
    const where = suppression.scope === '*' ? 'every sending domain' : `mail from ${suppression.scope}`;
    if (added) output.line(`suppressed ${suppression.address} for ${where}: sends to it are rejected before any provider`);
    else output.line(`${suppression.address} was on the suppression list for ${where} already (its first record is kept)`);
    if (output.json) output.emitJson({ status: 'ok', added, suppression: describeSuppression(suppression) });
    return ExitCode.ok;
  } finally {
    await store.close();
  }
}
