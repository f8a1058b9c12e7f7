import type { IncomingHttpHeaders } from 'node:http';
import type { DeliveryEvent } from '../../store/ports.js';
import type { PostmarkConfig } from '../postmark.js';
import { deliveryEvent, eventKey, eventTime, headerValue, isRecord, malformed, parseJsonBody, sameSecret, text, WebhookRefused, type CreateWebhookReceiver, type WebhookReceipt, type WebhookRequest } from './webhook.js';

/**
 * Postmark's webhooks (https://postmarkapp.com/developer/webhooks/webhooks-overview): one JSON
 * record per request, its kind in `RecordType`. Postmark authenticates with HTTP Basic credentials
 * written into the webhook URL (https://user:pass@host/api/v1/webhooks/<name>), checked against
 * `providers.<name>.webhook.username/password`.
 */

/**
 * Bounce `Type`s (https://postmarkapp.com/developer/api/bounce-api#bounce-types) that are not a
 * plain soft bounce. Postmark deactivates the address itself after a hard bounce or a complaint
 * (`Inactive: true`); anything it deactivated is a hard bounce here too, so that no other
 * provider mails an address Postmark refuses.
 */
const HARD_BOUNCES = new Set(['HardBounce', 'BadEmailAddress', 'ManuallyDeactivated']);
const DEFERRALS = new Set(['Transient']);
const REFUSALS = new Set(['Blocked', 'DMARCPolicy', 'SMTPApiError', 'TemplateRenderingFailed', 'Unconfirmed']);

function bounceEvent(name: string, record: Record<string, unknown>, now: number): DeliveryEvent {
  const type = text(record.Type) ?? 'Unknown';
  const base = { key: eventKey(name, 'bounce', text(record.ID) ?? `${text(record.MessageID)}:${text(record.Email)}:${text(record.BouncedAt)}`), provider: name, messageId: text(record.MessageID), recipient: requiredText(record.Email, 'Email'), occurredAt: eventTime(record.BouncedAt, now), raw: record };
  if (record.RecordType === 'SpamComplaint' || type === 'SpamComplaint') return deliveryEvent({ ...base, type: 'complained' });
  if (type === 'Unsubscribe') return deliveryEvent({ ...base, type: 'unsubscribed' });
  if (HARD_BOUNCES.has(type) || record.Inactive === true) return deliveryEvent({ ...base, type: 'bounced', bounce: 'hard' });
  if (DEFERRALS.has(type)) return deliveryEvent({ ...base, type: 'deferred' });
  if (REFUSALS.has(type)) return deliveryEvent({ ...base, type: 'rejected' });
  // SoftBounce, DnsError, AutoResponder, Unknown, …: the address is not known to be bad.
  return deliveryEvent({ ...base, type: 'bounced', bounce: 'soft' });
}

function requiredText(value: unknown, field: string): string {
  const found = text(value);
  if (!found) throw malformed(`the Postmark record has no ${field}`);
  return found;
}

/** A record as events (none for a kind we do not keep, such as a resubscription). */
export function postmarkEvents(name: string, record: Record<string, unknown>, now: number): DeliveryEvent[] {
  const messageId = text(record.MessageID);
  const recipient = () => requiredText(record.Recipient, 'Recipient');
  switch (record.RecordType) {
    case 'Bounce':
    case 'SpamComplaint':
      return [bounceEvent(name, record, now)];
    case 'Delivery':
      return [deliveryEvent({ key: eventKey(name, 'delivery', messageId ?? '', recipient()), type: 'delivered', provider: name, messageId, recipient: recipient(), occurredAt: eventTime(record.DeliveredAt, now), raw: record })];
    case 'Open':
      // Every open is its own record (FirstOpen tells the first); the time tells retries apart from opens.
      return [deliveryEvent({ key: eventKey(name, 'open', messageId ?? '', recipient(), text(record.ReceivedAt) ?? ''), type: 'opened', provider: name, messageId, recipient: recipient(), occurredAt: eventTime(record.ReceivedAt, now), raw: record })];
    case 'Click':
      return [
        deliveryEvent({ key: eventKey(name, 'click', messageId ?? '', recipient(), text(record.ReceivedAt) ?? '', text(record.OriginalLink) ?? ''), type: 'clicked', provider: name, messageId, recipient: recipient(), occurredAt: eventTime(record.ReceivedAt, now), raw: record }),
      ];
    case 'SubscriptionChange':
      // SuppressSending false is a reactivation: our own list is changed by hand (`suppressions remove`).
      if (record.SuppressSending !== true) return [];
      return [deliveryEvent({ key: eventKey(name, 'subscription', messageId ?? '', recipient(), text(record.ChangedAt) ?? ''), type: 'unsubscribed', provider: name, messageId, recipient: recipient(), occurredAt: eventTime(record.ChangedAt, now), raw: record })];
    default:
      return [];
  }
}

/** The user and password of an `Authorization: Basic …` header. */
function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  const encoded = header ? /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header)?.[1] : undefined;
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export const createReceiver: CreateWebhookReceiver<PostmarkConfig> = (name, config) => {
  /** Postmark's proof is all in its headers (HTTP Basic): checked before the body is read. */
  const checkHeaders = (headers: IncomingHttpHeaders): void => {
    const expected = config.webhook!;
    const presented = basicCredentials(headerValue(headers, 'authorization'));
    // Both compared, always: the time taken says nothing about which one was wrong.
    const userMatches = sameSecret(presented?.username ?? '', expected.username);
    const passwordMatches = sameSecret(presented?.password ?? '', expected.password);
    if (!presented || !userMatches || !passwordMatches) {
      throw new WebhookRefused(presented ? 'wrong webhook credentials' : 'missing webhook credentials (HTTP Basic)', 401, {
        hint: `put the credentials of providers.${name}.webhook in the webhook URL: https://USER:PASSWORD@<host>/api/v1/webhooks/${name}`,
        wwwAuthenticate: 'Basic realm="penguinmails webhooks"',
      });
    }
  };
  return {
    checkHeaders,
    async receive(request: WebhookRequest): Promise<WebhookReceipt> {
      checkHeaders(request.headers);
      const record = parseJsonBody(request.body);
      if (!isRecord(record) || typeof record.RecordType !== 'string') throw malformed('not a Postmark webhook record: a JSON object with a RecordType');
      const events = postmarkEvents(name, record, request.now);
      return { events, ignored: events.length === 0 ? 1 : 0 };
    },
  };
};
