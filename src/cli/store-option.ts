import type { StoreSettings } from '../config/types.js';
import type { GlobalOptions } from './output.js';

/**
 * The store a `store` command works on: a value given on the command line (a SQLite path or a
 * postgres:// URL, `--store`/`--to`/`--from`), else the config's `store:` (no config is needed
 * when the value is given). Read through the config loader, so it is checked the same way.
 */
export async function loadStoreSettings(globals: GlobalOptions, given: unknown): Promise<StoreSettings> {
  if (typeof given === 'string') {
    const { configFromObject } = await import('../config/from-object.js');
    const schema = (globals as { schema?: unknown }).schema;
    const store = typeof schema === 'string' && /^postgres(ql)?:\/\//i.test(given) ? { url: given, schema } : given;
    return configFromObject({ store }, { baseDir: process.cwd(), filePath: 'given on the command line' }).store;
  }
  const { loadConfig } = await import('../config/load.js');
  return (await loadConfig({ configPath: globals.config, requireEnv: true })).store;
}
