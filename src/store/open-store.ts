import type { Config } from '../config/types.js';
import { UserError } from '../core/errors.js';
import type { Store } from './ports.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

export function openStore(config: Config): Promise<Store> {
  return openOutbox(config.failover.outboxPath);
}

/** For commands that only read or tidy the outbox: no file is created when there is none yet. */
export async function openExistingStore(config: Config): Promise<Store | undefined> {
  const { existsSync } = await import('node:fs');
  return existsSync(config.failover.outboxPath) ? openOutbox(config.failover.outboxPath) : undefined;
}

/** What to do when the outbox file cannot be used, by the error's code (Node's or SQLite's). */
const OUTBOX_HINTS: Record<string, string> = {
  SQLITE_NOTADB: 'that file is not a penguinmails outbox: point failover.outbox at a new file',
  SQLITE_CORRUPT: 'the outbox file is damaged: move it aside (its messages are lost to penguinmails) and rerun',
  SQLITE_CANTOPEN: 'failover.outbox must name a file in a directory you can write, e.g. .penguinmails/outbox.db',
  EISDIR: 'failover.outbox must name a file, not a directory, e.g. .penguinmails/outbox.db',
  EEXIST: 'a file stands where failover.outbox needs a directory: choose another path',
  ENOTDIR: 'a file stands where failover.outbox needs a directory: choose another path',
  ENOSPC: 'the disk holding failover.outbox is full: free some room, or move the outbox',
  SQLITE_FULL: 'the disk holding failover.outbox is full: free some room, or move the outbox',
};
const NOT_WRITABLE_HINT = 'make that directory writable for this user, or set failover.outbox to a path that is';

/** Opens the outbox; a path that cannot hold one is the user's to fix (exit 2), not a crash. */
async function openOutbox(outboxPath: string): Promise<Store> {
  try {
    const { statSync } = await import('node:fs');
    // SQLite says only "unable to open database file" for a directory.
    if (statSync(outboxPath, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error('it is a directory'), { code: 'EISDIR' });
    return await SqliteStore.open(outboxPath);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string') throw error;
    // Only what a path explains: a module that fails to load, or a schema error, stays a bug report.
    const hint = OUTBOX_HINTS[code] ?? (/^(EACCES|EPERM|EROFS|SQLITE_READONLY|SQLITE_PERM)/.test(code) ? NOT_WRITABLE_HINT : undefined);
    if (hint === undefined) throw error;
    throw new UserError(`cannot use the outbox ${outboxPath} (failover.outbox): ${(error as Error).message}`, { hint });
  }
}

