import type { DeliveryEvent } from '../../store/ports.js';
import type { SesConfig } from '../ses.js';
import { confirmSubscription, isSnsUrl, parseSnsMessage, SnsVerifier, topicRegion } from './sns.js';
import { deliveryEvent, eventKey, eventTime, headerValue, isRecord, malformed, parseJsonBody, text, unauthorized, type CreateWebhookReceiver, type WebhookReceipt, type WebhookRequest } from './webhook.js';

/**
 * Amazon SES events arrive through an SNS topic subscribed to this URL (HTTPS). Two shapes of
 * Message: SES notifications (`notificationType`: Bounce, Complaint, Delivery —
 * https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html) and configuration-set
 * event publishing (`eventType`: Send, Reject, Bounce, Complaint, Delivery, Open, Click,
 * DeliveryDelay, Subscription — https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html).
 * Only topics listed in `providers.<name>.webhook.topicArns` are accepted: anyone can have SNS sign
 * messages of a topic of their own.
 */

type Json = Record<string, unknown>;

const asRecord = (value: unknown): Json => (isRecord(value) ? value : {});
const addresses = (list: unknown, field?: string): string[] =>
  (Array.isArray(list) ? list : []).map((item) => (field ? text(asRecord(item)[field]) : text(item))).filter((a): a is string => a !== undefined);

/** The events of one SES notification; `snsMessageId` (the same on SNS's retries) keys them. */
export function sesEvents(name: string, snsMessageId: string, ses: Json, now: number): DeliveryEvent[] {
  const mail = asRecord(ses.mail);
  const messageId = text(mail.messageId);
  const kind = text(ses.eventType) ?? text(ses.notificationType);
  const each = (recipients: string[], fields: Pick<DeliveryEvent, 'type' | 'bounce'>, time: unknown) =>
    recipients.map((recipient) => deliveryEvent({ key: eventKey(name, snsMessageId, recipient.toLowerCase()), provider: name, messageId, recipient, occurredAt: eventTime(time, eventTime(mail.timestamp, now)), raw: ses, ...fields }));
  switch (kind) {
    case 'Bounce': {
      const bounce = asRecord(ses.bounce);
      // Permanent: the address does not exist or SES suppresses it; Transient and Undetermined may pass later.
      return each(addresses(bounce.bouncedRecipients, 'emailAddress'), { type: 'bounced', bounce: bounce.bounceType === 'Permanent' ? 'hard' : 'soft' }, bounce.timestamp);
    }
    case 'Complaint': {
      const complaint = asRecord(ses.complaint);
      return each(addresses(complaint.complainedRecipients, 'emailAddress'), { type: 'complained' }, complaint.timestamp);
    }
    case 'Delivery': {
      const delivery = asRecord(ses.delivery);
      return each(addresses(delivery.recipients), { type: 'delivered' }, delivery.timestamp);
    }
    case 'DeliveryDelay': {
      const delay = asRecord(ses.deliveryDelay);
      return each(addresses(delay.delayedRecipients, 'emailAddress'), { type: 'deferred' }, delay.timestamp);
    }
    case 'Reject':
      return each(addresses(mail.destination), { type: 'rejected' }, mail.timestamp);
    // SES does not say which recipient opened or clicked: the event is recorded for each.
    case 'Open':
      return each(addresses(mail.destination), { type: 'opened' }, asRecord(ses.open).timestamp);
    case 'Click':
      return each(addresses(mail.destination), { type: 'clicked' }, asRecord(ses.click).timestamp);
    case 'Subscription': {
      const subscription = asRecord(ses.subscription);
      if (asRecord(subscription.newTopicPreferences).unsubscribeAll !== true) return [];
      return each(addresses(mail.destination), { type: 'unsubscribed' }, subscription.timestamp);
    }
    default:
      // Send (the ledger has it already), Rendering Failure: nothing to keep.
      return [];
  }
}

export const createReceiver: CreateWebhookReceiver<SesConfig> = (name, config) => {
  const settings = config.webhook!;
  const verifier = new SnsVerifier(settings.snsBaseUrl);
  return {
    async receive(request: WebhookRequest): Promise<WebhookReceipt> {
      const message = parseSnsMessage(parseJsonBody(request.body), headerValue(request.headers, 'x-amz-sns-message-type'));
      if (!settings.topicArns.includes(message.TopicArn)) {
        throw unauthorized(`topic ${message.TopicArn} is not one of providers.${name}.webhook.topicArns`, 'add the ARN of the SNS topic SES publishes to, if it is yours');
      }
      await verifier.verify(message, request.now);
      if (message.Type === 'UnsubscribeConfirmation') return { events: [], ignored: 0, note: `SNS says topic ${message.TopicArn} no longer sends here` };
      if (message.Type === 'SubscriptionConfirmation') {
        const subscribeUrl = message.SubscribeURL!;
        if (!isSnsUrl(subscribeUrl, topicRegion(message.TopicArn)!, settings.snsBaseUrl)) {
          return { events: [], ignored: 0, note: `SNS subscription to ${message.TopicArn} not confirmed: its SubscribeURL is not on SNS's host; open it once by hand if it is yours: ${subscribeUrl}` };
        }
        await confirmSubscription(message);
        return { events: [], ignored: 0, note: `SNS subscription to ${message.TopicArn} confirmed` };
      }
      let ses: unknown;
      try {
        ses = JSON.parse(message.Message);
      } catch {
        throw malformed('the SNS Message is not JSON: not an SES notification (turn off raw message delivery on the subscription)');
      }
      if (!isRecord(ses) || (!ses.eventType && !ses.notificationType)) throw malformed('the SNS Message is not an SES notification (no eventType or notificationType)');
      const events = sesEvents(name, message.MessageId, ses, request.now);
      return { events, ignored: events.length === 0 ? 1 : 0 };
    },
  };
};
