import { createHash } from 'node:crypto';
import { bareAddress } from './address.js';
import type { EmailMessage } from './message.js';

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
export function splitRefused(message: EmailMessage, refused: { address: string; permanent: boolean; reason: string }[]): RefusedSplit {
  const temporary = refused.filter((r) => !r.permanent);
  const permanent = refused.filter((r) => r.permanent);
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
