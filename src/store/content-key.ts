import { contentKeyOf, type EmailMessage } from '../core/message.js';

/**
 * The content key a delivery keeps (Delivery.contentKey): only under an explicit key, where the
 * same key could come back with other content; a derived key is the content key already.
 */
export function explicitContentKey(message: EmailMessage): string | null {
  return message.idempotencyKeySource === 'derived' ? null : contentKeyOf(message);
}
