import { createHmac } from 'node:crypto';
import type { DeliveryEvent } from '../../store/ports.js';
import type { MailgunConfig } from '../mailgun.js';
import { deliveryEvent, eventKey, eventTime, isRecord, malformed, parseJsonBody, sameSecret, text, unauthorized, type CreateWebhookReceiver, type WebhookReceipt, type WebhookRequest } from './webhook.js';

/**
 * Mailgun's webhooks (https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks):
 * `{"signature": {timestamp, token, signature}, "event-data": {…}}`, one event per request. The
 * signature is HMAC-SHA256 of timestamp + token under the account's webhook signing key
 * (`providers.<name>.webhookSigningKey`). A timestamp outside the replay window is refused, and a
 * token is good for the one request it signed (claimed in the store: see WebhookReceipt.useOnce).
 */

/** How far a signature's timestamp may be from our clock. */
export const MAILGUN_REPLAY_WINDOW_MS = 5 * 60_000;

/** `failed` with these reasons: Mailgun refused to send because of its own suppression list. */
const SUPPRESSED_BY_MAILGUN: Record<string, 'bounced' | 'complained' | 'unsubscribed'> = { 'suppress-bounce': 'bounced', 'suppress-complaint': 'complained', 'suppress-unsubscribe': 'unsubscribed' };

/** Our form of Mailgun's message id: the API answers `<id>`, events give `id`; the ledger keeps the API's. */
function messageIdOf(data: Record<string, unknown>): string | undefined {
  const message = isRecord(data.message) ? data.message : {};
  const headers = isRecord(message.headers) ? message.headers : {};
  const id = text(headers['message-id']);
  return id && !id.startsWith('<') ? `<${id}>` : id;
}

export function mailgunEvent(name: string, data: Record<string, unknown>, now: number): DeliveryEvent | undefined {
  const recipient = text(data.recipient);
  const id = text(data.id);
  if (!recipient || !id) throw malformed('the Mailgun event-data has no recipient or id');
  const base = { key: eventKey(name, id), provider: name, messageId: messageIdOf(data), recipient, occurredAt: eventTime(data.timestamp, now), raw: data };
  switch (data.event) {
    case 'delivered':
      return deliveryEvent({ ...base, type: 'delivered' });
    case 'failed': {
      if (data.severity === 'temporary') return deliveryEvent({ ...base, type: 'deferred' });
      const suppressed = SUPPRESSED_BY_MAILGUN[text(data.reason) ?? ''];
      if (suppressed === 'bounced') return deliveryEvent({ ...base, type: 'bounced', bounce: 'hard' });
      if (suppressed) return deliveryEvent({ ...base, type: suppressed });
      // `old`: Mailgun gave up after retrying for hours; the address itself may be fine.
      return deliveryEvent({ ...base, type: 'bounced', bounce: data.reason === 'old' ? 'soft' : 'hard' });
    }
    case 'rejected':
      return deliveryEvent({ ...base, type: 'rejected' });
    case 'complained':
      return deliveryEvent({ ...base, type: 'complained' });
    case 'unsubscribed':
      return deliveryEvent({ ...base, type: 'unsubscribed' });
    case 'opened':
      return deliveryEvent({ ...base, type: 'opened' });
    case 'clicked':
      return deliveryEvent({ ...base, type: 'clicked' });
    default:
      // accepted, stored, list events: nothing to keep.
      return undefined;
  }
}

export const createReceiver: CreateWebhookReceiver<MailgunConfig> = (name, config) => {
  const hint = `sign with the webhook signing key set as providers.${name}.webhookSigningKey (Mailgun: Sending → Webhooks → HTTP webhook signing key)`;
  return {
    async receive(request: WebhookRequest): Promise<WebhookReceipt> {
      const payload = parseJsonBody(request.body);
      if (!isRecord(payload)) throw malformed('not a Mailgun webhook: a JSON object with "signature" and "event-data"');
      const signature = isRecord(payload.signature) ? payload.signature : undefined;
      const [timestamp, token, presented] = [text(signature?.timestamp), text(signature?.token), text(signature?.signature)];
      if (!timestamp || !token || !presented) throw unauthorized('missing signature: the body needs "signature": {timestamp, token, signature}', hint);
      const expected = createHmac('sha256', config.webhookSigningKey!).update(timestamp + token).digest('hex');
      if (!sameSecret(presented.toLowerCase(), expected)) throw unauthorized('wrong signature', hint);
      // Whole seconds, as Mailgun writes them. The signature covers timestamp + token as one text, so
      // a captured one could be split again ("1796679349e0" + "ab…" for "1796679349" + "e0ab…"): the
      // same number, a new token, and the token's one use dodged. Digits alone cannot be moved so.
      if (!/^\d{1,12}$/.test(timestamp)) throw unauthorized('the signature timestamp is not a whole number of seconds', hint);
      if (!(Math.abs(request.now - Number(timestamp) * 1000) <= MAILGUN_REPLAY_WINDOW_MS)) {
        throw unauthorized(`signature timestamp outside the replay window of ${MAILGUN_REPLAY_WINDOW_MS / 60_000} minutes`, "check this server's clock");
      }
      const data = payload['event-data'];
      if (!isRecord(data)) throw malformed('the body has no "event-data" object');
      const event = mailgunEvent(name, data, request.now);
      // The signature covers the timestamp and token only: the server claims each token for the one
      // body it came with, or one signed request could carry any events for 5 minutes.
      return { events: event ? [event] : [], ignored: event ? 0 : 1, useOnce: { token, until: request.now + 2 * MAILGUN_REPLAY_WINDOW_MS } };
    },
  };
};
