import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { UserError } from '../core/errors.js';
import { openExistingStore, openStoreForReading } from '../store/open-store.js';
import type { Store } from '../store/ports.js';
import type { GlobalOptions, Output } from './output.js';
import { parseOutboxId } from './read-input.js';

export { openExistingStore, openStore, openStoreAt } from '../store/open-store.js';

export function loadCommandConfig(globals: GlobalOptions, options: { requireEnv?: boolean; optional?: boolean; warn?: (message: string) => void } = {}): Promise<Config> {
  return loadConfig({ configPath: globals.config, requireEnv: options.requireEnv, optional: options.optional, warn: options.warn });
}

/**
 * For commands about one outbox entry (`queue show`, `queue drop`): parses the id, opens the
 * outbox without creating it, runs `work`, and closes it.
 */
export async function withOutboxEntry<T>(options: GlobalOptions, idText: string | undefined, work: (store: Store, id: number) => T | Promise<T>): Promise<T> {
  const id = parseOutboxId(idText);
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openExistingStore(config);
  if (!store) throw new UserError(`no outbox entry #${id}: the outbox is empty (${config.store.label} does not exist yet)`);
  try {
    return await work(store, id);
  } finally {
    await store.close();
  }
}

/**
 * For a dry run's look at the store (the suppression list): `work` gets the store as it is, or
 * undefined where there is none yet or it cannot be read so (said in a warning; the preview goes
 * on). Nothing is created, migrated or written.
 */
export async function withStoreForReading<T>(config: Config, output: Output, work: (store: Store | undefined) => Promise<T>): Promise<T> {
  const store = await openStoreForReading(config).catch((error: unknown) => {
    output.warn(`the suppression list was not read: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  });
  try {
    return await work(store);
  } finally {
    await store?.close();
  }
}
