import type { Config, StoreSettings } from '../config/types.js';
import { ConfigError, UserError } from '../core/errors.js';
import type { Store } from './ports.js';

/** Opens the configured store (creating it, or migrating its schema, on first use). */
export function openStore(config: Config): Promise<Store> {
  return openStoreAt(config.store);
}

export async function openStoreAt(settings: StoreSettings): Promise<Store> {
  if (settings.kind === 'unresolved') {
    throw new ConfigError(`store: environment variable ${settings.variable} is not set`, `export ${settings.variable}=postgres://… (or a SQLite file path) before running penguinmails`);
  }
  if (settings.kind === 'postgres') {
    // pg is loaded only for a PostgreSQL store.
    const { PostgresStore } = await import('./postgres/postgres-store.js');
    return PostgresStore.open(settings);
  }
  return openSqlite(settings.path, settings.configKey);
}

/**
 * For commands that only read or tidy the outbox: no SQLite file is created when there is none
 * yet (a PostgreSQL store is always opened: it is shared, and may hold other processes' entries).
 */
export async function openExistingStore(config: Config): Promise<Store | undefined> {
  if (config.store.kind !== 'sqlite') return openStore(config);
  const { existsSync } = await import('node:fs');
  return existsSync(config.store.path) ? openSqlite(config.store.path, config.store.configKey) : undefined;
}

/**
 * For a look that must change nothing (a dry run reading the suppression list): an existing SQLite
 * file, or a PostgreSQL store whose schema is this version's (never migrated here); undefined
 * when there is no SQLite file yet. Throws a UserError when the store cannot be read as it is.
 */
export async function openStoreForReading(config: Config): Promise<Store | undefined> {
  if (config.store.kind === 'postgres') {
    const { PostgresStore } = await import('./postgres/postgres-store.js');
    return PostgresStore.open(config.store, { migrate: false });
  }
  return openExistingStore(config);
}

/** What to do when the outbox file cannot be used, by the error's code (Node's or SQLite's). */
const OUTBOX_HINTS: Record<string, (key: string) => string> = {
  SQLITE_NOTADB: (key) => `that file is not a penguinmails outbox: point ${key} at a new file`,
  SQLITE_CORRUPT: () => 'the outbox file is damaged: move it aside (its messages are lost to penguinmails) and rerun',
  SQLITE_CANTOPEN: (key) => `${key} must name a file in a directory you can write, e.g. .penguinmails/outbox.db`,
  EISDIR: (key) => `${key} must name a file, not a directory, e.g. .penguinmails/outbox.db`,
  EEXIST: (key) => `a file stands where ${key} needs a directory: choose another path`,
  ENOTDIR: (key) => `a file stands where ${key} needs a directory: choose another path`,
  ENOSPC: (key) => `the disk holding ${key} is full: free some room, or move the outbox`,
  SQLITE_FULL: (key) => `the disk holding ${key} is full: free some room, or move the outbox`,
};
const notWritableHint = (key: string) => `make that directory writable for this user, or set ${key} to a path that is`;

/** Opens the SQLite outbox; a path that cannot hold one is the user's to fix (exit 2), not a crash. */
async function openSqlite(outboxPath: string, configKey: string): Promise<Store> {
  try {
    const { statSync } = await import('node:fs');
    // SQLite says only "unable to open database file" for a directory.
    if (statSync(outboxPath, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error('it is a directory'), { code: 'EISDIR' });
    const { SqliteStore } = await import('./sqlite/sqlite-store.js');
    return await SqliteStore.open(outboxPath);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string') throw error;
    // Only what a path explains: a module that fails to load, or a schema error, stays a bug report.
    const hint = OUTBOX_HINTS[code] ?? (/^(EACCES|EPERM|EROFS|SQLITE_READONLY|SQLITE_PERM)/.test(code) ? notWritableHint : undefined);
    if (hint === undefined) throw error;
    throw new UserError(`cannot use the outbox ${outboxPath} (${configKey}): ${(error as Error).message}`, { hint: hint(configKey) });
  }
}
