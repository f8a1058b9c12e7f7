import { loadConfig } from '../config/load.js';
import type { Config } from '../config/validate.js';
import { UserError } from '../core/errors.js';
import { closestMatch } from '../core/suggest.js';
import { Store } from '../store/store.js';
import type { GlobalOptions } from './output.js';
import { parseCount } from './read-input.js';

export function loadCommandConfig(globals: GlobalOptions, options: { requireEnv?: boolean; optional?: boolean; warn?: (message: string) => void } = {}): Promise<Config> {
  return loadConfig({ configPath: globals.config, requireEnv: options.requireEnv, optional: options.optional, warn: options.warn });
}

export function openStore(config: Config): Promise<Store> {
  return Store.open(config.failover.outboxPath);
}

/** For commands that only read or tidy the outbox: no file is created when there is none yet. */
export async function openExistingStore(config: Config): Promise<Store | undefined> {
  const { existsSync } = await import('node:fs');
  return existsSync(config.failover.outboxPath) ? Store.open(config.failover.outboxPath) : undefined;
}

export function assertKnownProvider(config: Config, name: string, flag: string): void {
  const known = Object.keys(config.providers);
  if (known.includes(name)) return;
  const suggestion = closestMatch(name, known);
  throw new UserError(`${flag}: unknown provider "${name}" (known: ${known.join(', ') || 'none configured'})`, { hint: suggestion ? `did you mean "${suggestion}"?` : 'add it under providers: in the config' });
}

/**
 * For commands about one outbox entry (`queue show`, `queue drop`): parses the id, opens the
 * outbox without creating it, runs `work`, and closes it.
 */
export async function withOutboxEntry<T>(options: GlobalOptions, idText: string | undefined, work: (store: Store, id: number) => T | Promise<T>): Promise<T> {
  const id = parseCount(idText, 'id', { min: 1 })!;
  const config = await loadCommandConfig(options, { requireEnv: false });
  const store = await openExistingStore(config);
  if (!store) throw new UserError(`no outbox entry #${id}: the outbox is empty (${config.failover.outboxPath} does not exist yet)`);
  try {
    return await work(store, id);
  } finally {
    store.close();
  }
}
