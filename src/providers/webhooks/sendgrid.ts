import { verify } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { DeliveryEvent } from '../../store/ports.js';
import { sendgridPublicKey, type SendGridConfig } from '../sendgrid.js';
import { deliveryEvent, eventKey, eventTime, headerValue, isRecord, malformed, parseJsonBody, text, unauthorized, type CreateWebhookReceiver, type WebhookReceipt, type WebhookRequest } from './webhook.js';

/**
 * SendGrid's signed Event Webhook
 * (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features):
 * a JSON array of events per request, signed with ECDSA (P-256, SHA-256) over the timestamp header
 * followed by the raw body. The verification key is `providers.<name>.webhookPublicKey`, as SendGrid
 * shows it (base64 of the DER public key).
 */
export const SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/** `dropped` with these reasons: SendGrid refused to send because of its own suppression lists. */
function droppedType(reason: string): { type: 'bounced' | 'complained' | 'unsubscribed' | 'rejected'; bounce?: 'hard' } {
  if (/bounced address/i.test(reason)) return { type: 'bounced', bounce: 'hard' };
  if (/spam reporting address/i.test(reason)) return { type: 'complained' };
  if (/unsubscribed address/i.test(reason)) return { type: 'unsubscribed' };
  return { type: 'rejected' };
}

/**
 * The X-Message-Id the API answered is the part of `sg_message_id` before its first dot
 * ("14c5d75ce93.dfd.64b469.filter0001…" → "14c5d75ce93"); the ledger keeps the API's form.
 */
function messageIdOf(event: Record<string, unknown>): string | undefined {
  return text(event.sg_message_id)?.split('.')[0];
}

/** One array element as an event; undefined for a kind we do not keep (processed, group_resubscribe) or one without an address. */
export function sendgridEvent(name: string, event: Record<string, unknown>, index: number, now: number): DeliveryEvent | undefined {
  const recipient = text(event.email);
  if (!recipient) return undefined;
  const messageId = messageIdOf(event);
  // sg_event_id is unique per event; without it (older accounts) the event's own fields make the key.
  const key = eventKey(name, text(event.sg_event_id) ?? `${messageId ?? ''}:${text(event.event)}:${recipient}:${text(event.timestamp)}:${index}`);
  const base = { key, provider: name, messageId, recipient, occurredAt: eventTime(event.timestamp, now), raw: event };
  switch (event.event) {
    case 'delivered':
      return deliveryEvent({ ...base, type: 'delivered' });
    case 'deferred':
      return deliveryEvent({ ...base, type: 'deferred' });
    case 'bounce':
      // type "blocked": the receiving server refused this time (IP reputation, content), the address may be fine.
      return deliveryEvent({ ...base, type: 'bounced', bounce: event.type === 'blocked' ? 'soft' : 'hard' });
    case 'dropped':
      return deliveryEvent({ ...base, ...droppedType(text(event.reason) ?? '') });
    case 'spamreport':
      return deliveryEvent({ ...base, type: 'complained' });
    case 'unsubscribe':
    case 'group_unsubscribe':
      return deliveryEvent({ ...base, type: 'unsubscribed' });
    case 'open':
      return deliveryEvent({ ...base, type: 'opened' });
    case 'click':
      return deliveryEvent({ ...base, type: 'clicked' });
    default:
      return undefined;
  }
}

export const createReceiver: CreateWebhookReceiver<SendGridConfig> = (name, config) => {
  const publicKey = sendgridPublicKey(config.webhookPublicKey!);
  const hint = `turn on the signed Event Webhook and set its verification key as providers.${name}.webhookPublicKey`;
  /** The signature is over the body, but a request without one is refused before the body is read. */
  const signatureOf = (headers: IncomingHttpHeaders) => {
    const signature = headerValue(headers, SIGNATURE_HEADER);
    const timestamp = headerValue(headers, TIMESTAMP_HEADER);
    if (!signature || !timestamp) throw unauthorized(`missing signature: the headers ${SIGNATURE_HEADER} and ${TIMESTAMP_HEADER} are needed`, hint);
    return { signature, timestamp };
  };
  return {
    checkHeaders: (headers) => void signatureOf(headers),
    async receive(request: WebhookRequest): Promise<WebhookReceipt> {
      const { signature, timestamp } = signatureOf(request.headers);
      const signed = Buffer.concat([Buffer.from(timestamp, 'utf8'), request.body]);
      let valid = false;
      try {
        valid = verify('sha256', signed, publicKey, Buffer.from(signature, 'base64'));
      } catch {
        valid = false;
      }
      if (!valid) throw unauthorized('wrong signature', hint);
      const payload = parseJsonBody(request.body);
      if (!Array.isArray(payload)) throw malformed('not a SendGrid event batch: a JSON array of events');
      const events: DeliveryEvent[] = [];
      payload.forEach((item, index) => {
        const event = isRecord(item) ? sendgridEvent(name, item, index, request.now) : undefined;
        if (event) events.push(event);
      });
      return { events, ignored: payload.length - events.length };
    },
  };
};
