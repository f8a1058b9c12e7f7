import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * This process's part of every lease owner, made once: `hostname()` and random bytes cost ~20 µs
 * each, and a server makes two owners per message. (A host renamed while the process runs keeps
 * the old name in its leases; it only makes them look like another host's, checked by staleness.)
 */
let processPart: string | undefined;
let sequence = 0;

/**
 * Identifies one holder of outbox leases and run locks: host:pid:nonce, the nonce (hex) a random
 * part fixed for the process followed by a sequence number, so no two holders share it.
 */
export function newLeaseOwner(): string {
  processPart ??= `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  return `${processPart}${(++sequence).toString(16)}`;
}

/** A lease held by a process on this host that no longer exists can be taken over at once. */
export function isLeaseOwnerAlive(owner: string): boolean {
  const [host, pidText] = owner.split(':');
  if (host !== hostname()) return true;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
