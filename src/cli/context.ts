import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { UserError } from '../core/errors.js';
import { openExistingStore } from '../store/open-store.js';
import type { Store } from '../store/ports.js';
import type { GlobalOptions } from './output.js';
import { OUTBOX_ID_HINT, parseCount } from './read-input.js';

export { openExistingStore, openStore, openStoreAt, openStoreForReading } from '../store/open-store.js';

export function loadCommandConfig(globals: GlobalOptions, options: { requireEnv?: boolean; optional?: boolean; warn?: (message: string) => void } = {}): Promise<Config> {
  return loadConfig({ configPath: globals.config, requireEnv: options.requireEnv, optional: options.optional, warn: options.warn });
}

/**
 * For commands about one outbox entry (`queue show`, `queue drop`): parses the id, opens the
 * outbox without creating it, runs `work`, and closes it.
 */
export async function withOutboxEntry<T>(options: GlobalOptions, idText: string | undefined, work: (store: Store, id: number) => T | Promise<T>): Promise<T> {
  const id = parseCount(idText, 'id', { min: 1, hint: OUTBOX_ID_HINT })!;
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openExistingStore(config);
  if (!store) throw new UserError(`no outbox entry #${id}: the outbox is empty (${config.store.label} does not exist yet)`);
  try {
    return await work(store, id);
  } finally {
    await store.close();
  }
}
