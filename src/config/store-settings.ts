import path from 'node:path';
import { parseDuration } from '../core/duration.js';
import { registerSecret } from '../core/secrets.js';
import type { ConfigFile } from './schema.js';
import type { StoreSettings } from './types.js';

const POSTGRES_URL = /^postgres(ql)?:\/\//i;
const ANY_URL = /^[a-z][a-z0-9+.-]*:\/\//i;
const UNRESOLVED = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/;

/**
 * Reads `store:` (or the older `failover.outbox`) into StoreSettings, pushing a problem for each
 * value that cannot be used. A PostgreSQL URL's password is registered as a secret; the label
 * (what messages show) never contains it.
 */
export function storeSettings(file: ConfigFile, raw: unknown, baseDir: string, problems: string[]): StoreSettings {
  const rawOutbox = (raw as { failover?: { outbox?: unknown } } | undefined)?.failover?.outbox;
  if (file.store !== undefined && rawOutbox !== undefined) {
    problems.push('store: set either store or failover.outbox (its older name), not both');
  }
  const options = typeof file.store === 'object' ? file.store : { url: file.store ?? file.failover.outbox, poolSize: 10, statementTimeout: '30s', schema: 'penguinmails' };
  const where = file.store === undefined ? 'failover.outbox' : typeof file.store === 'object' ? 'store.url' : 'store';
  const value = options.url;

  const unresolved = UNRESOLVED.exec(value);
  if (unresolved) return { kind: 'unresolved', variable: unresolved[1], label: value };

  if (POSTGRES_URL.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      problems.push(`${where}: not a valid PostgreSQL URL (postgres://user:password@host:5432/database)`);
      return { kind: 'sqlite', path: '', label: '', configKey: where };
    }
    if (url.password) registerSecret(decodeURIComponent(url.password));
    registerSecret(value);
    const database = decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username) || 'postgres';
    return {
      kind: 'postgres',
      url: value,
      poolSize: options.poolSize,
      statementTimeoutMs: parseDuration(options.statementTimeout)!,
      schema: options.schema,
      label: `PostgreSQL database "${database}" on ${url.host || 'localhost'} (schema ${options.schema})`,
    };
  }
  if (ANY_URL.test(value)) {
    problems.push(`${where}: "${value.split('://')[0]}://" is not a store penguinmails knows: give a SQLite file path or a postgres:// URL`);
    return { kind: 'sqlite', path: '', label: '', configKey: where };
  }
  if (typeof file.store === 'object' && (file.store.poolSize !== 10 || file.store.statementTimeout !== '30s' || file.store.schema !== 'penguinmails')) {
    problems.push('store: poolSize, statementTimeout and schema apply to a PostgreSQL store only (store.url is a SQLite file)');
  }
  const filePath = path.resolve(baseDir, value);
  return { kind: 'sqlite', path: filePath, label: filePath, configKey: where };
}
