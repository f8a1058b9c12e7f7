import { createHash } from 'node:crypto';
import { bareAddress } from './address.js';
import type { EmailMessage } from './message.js';
import type { RecipientStatus } from './provider-port.js';

export interface RefusedSplit {
  /** A copy for the recipients refused only for now (4xx), with its own idempotency key. */
  retryCopy?: EmailMessage;
  temporary: { address: string; reason: string }[];
  permanent: { address: string; reason: string }[];
}

/**
 * After a provider accepted a message but refused some recipients: the temporarily refused ones
 * get a copy of their own to retry later (the others must not receive it twice), the permanently
 * refused ones are reported.
 */
export function splitRefused(message: EmailMessage, refused: RecipientStatus[]): RefusedSplit {
  const refusals = refused.map(describeRefusal).filter((r) => r !== undefined);
  const temporary = refusals.filter((r) => !r.permanent).map(({ address, reason }) => ({ address, reason }));
  const permanent = refusals.filter((r) => r.permanent).map(({ address, reason }) => ({ address, reason }));
  if (temporary.length === 0) return { temporary, permanent };
  const wanted = new Set(temporary.map((r) => bareAddress(r.address).toLowerCase()));
  const keep = (list: string[]) => list.filter((address) => wanted.has(bareAddress(address).toLowerCase()));
  const suffix = createHash('sha256').update([...wanted].sort().join(',')).digest('hex').slice(0, 8);
  const retryCopy: EmailMessage = { ...structuredClone(message), to: keep(message.to), cc: keep(message.cc), bcc: keep(message.bcc), idempotencyKey: `${message.idempotencyKey}.r${suffix}` };
  if (retryCopy.to.length === 0) {
    // Providers need a To: the first Cc/Bcc recipient moves up.
    retryCopy.to = [...retryCopy.cc, ...retryCopy.bcc].slice(0, 1);
    retryCopy.cc = retryCopy.cc.filter((a) => !retryCopy.to.includes(a));
    retryCopy.bcc = retryCopy.bcc.filter((a) => !retryCopy.to.includes(a));
  }
  return { retryCopy, temporary, permanent };
}

/** A refused recipient as reported: for good (its class is permanent) or only for now. */
export function describeRefusal(status: RecipientStatus): { address: string; permanent: boolean; reason: string } | undefined {
  if (status.accepted) return undefined;
  return { address: status.address, permanent: status.error.errorClass === 'permanent', reason: status.error.message };
}
