import type { Command } from 'commander';
import { ExitCode } from '../../core/errors.js';
import { loadCommandConfig, openExistingStore } from '../context.js';
import type { Output } from '../output.js';
import { suggestCommand } from '../suggest-command.js';

/**
 * `keys list`: the API keys by name, with when they were made, last used (by `serve`, to within a
 * minute) and revoked (the keys themselves are not kept).
 */
export async function run(options: Record<string, unknown>, output: Output, _command: Command): Promise<number> {
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openExistingStore(config);
  try {
    const keys = (await store?.listKeys()) ?? [];
    if (output.json) {
      output.emitJson({ status: 'ok', keys });
      return ExitCode.ok;
    }
    if (keys.length === 0) {
      output.line(`no API keys yet: \`${suggestCommand('keys create --name <n>', options)}\` makes one`);
      return ExitCode.ok;
    }
    const when = (iso: string) => iso.slice(0, 19).replace('T', ' ');
    output.line(output.c.bold(`${'NAME'.padEnd(24)}${'CREATED'.padEnd(22)}${'LAST USED'.padEnd(22)}STATUS`));
    for (const key of keys) {
      const status = key.revokedAt ? `revoked ${when(key.revokedAt)}` : 'active';
      output.line(`${key.name.padEnd(24)}${when(key.createdAt).padEnd(22)}${(key.lastUsedAt ? when(key.lastUsedAt) : 'never').padEnd(22)}${status}`);
    }
    return ExitCode.ok;
  } finally {
    await store?.close();
  }
}
