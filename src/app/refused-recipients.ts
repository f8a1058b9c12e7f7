import { splitRefused, type RefusedSplit } from '../core/refused.js';
import type { EmailMessage } from '../core/message.js';
import type { RecipientStatus } from '../core/provider-port.js';
import type { Store } from '../store/ports.js';

/**
 * After a provider accepted a message but refused some recipients: the ones refused only for now
 * get a copy of their own in the outbox (the others must not receive it twice).
 */
export async function queueCopyForRefused(store: Store, message: EmailMessage, refused: RecipientStatus[], chain: string[], provider: string, now: number): Promise<{ split: RefusedSplit; retryCopyId?: number }> {
  const split = splitRefused(message, refused);
  if (!split.retryCopy) return { split };
  const reason = `refused for now by ${provider}: ${split.temporary.map((r) => `${r.address} (${r.reason})`).join(', ')}`;
  return { split, retryCopyId: await store.enqueue(split.retryCopy, chain, 'pending', reason, [], now) };
}
