import { describe, expect, it } from 'vitest';
import { suppressionReason } from '../../src/app/events.js';
import { mailgunEvent } from '../../src/providers/webhooks/mailgun.js';
import { postmarkEvents } from '../../src/providers/webhooks/postmark.js';
import { sendgridEvent as normaliseSendgrid } from '../../src/providers/webhooks/sendgrid.js';
import { sesEvents } from '../../src/providers/webhooks/ses.js';
import { isSnsUrl, topicRegion } from '../../src/providers/webhooks/sns.js';
import { eventTime } from '../../src/providers/webhooks/webhook.js';
import { mailgunEventData, postmark, sendgridEvent, ses } from '../helpers/webhook-payloads.js';

// How each provider's kinds of event map onto the normalised ones (the e2e tests in
// test/e2e/webhooks.test.ts cover signatures and storage over HTTP).
const NOW = Date.parse('2026-05-01T00:00:00Z');
const kind = (event: { type: string; bounce?: string } | undefined) => (event ? (event.bounce ? `${event.type}:${event.bounce}` : event.type) : 'ignored');

describe('Postmark bounce types', () => {
  it.each([
    ['HardBounce', false, 'bounced:hard'],
    ['BadEmailAddress', false, 'bounced:hard'],
    ['SoftBounce', false, 'bounced:soft'],
    ['DnsError', false, 'bounced:soft'],
    // Postmark deactivated the address: it refuses to send there, so nobody else may either.
    ['SoftBounce', true, 'bounced:hard'],
    ['Transient', false, 'deferred'],
    ['Blocked', false, 'rejected'],
    ['Unsubscribe', false, 'unsubscribed'],
    ['SpamComplaint', true, 'complained'],
    ['AutoResponder', false, 'bounced:soft'],
  ])('%s (Inactive %s) → %s', (type, inactive, expected) => {
    const [event] = postmarkEvents('pm', postmark.bounce('a@example.com', { type, inactive }), NOW);
    expect(kind(event)).toBe(expected);
  });

  it('keys events by the bounce ID; times with seven decimals parse; a resubscription is not kept', () => {
    const [event] = postmarkEvents('pm', postmark.bounce('A@Example.com', { id: 77 }), NOW);
    expect(event).toMatchObject({ eventKey: 'pm:bounce:77', recipient: 'a@example.com', occurredAt: Date.parse('2019-11-05T16:33:54.907Z'), idempotencyKey: null });
    expect(postmarkEvents('pm', { ...postmark.subscriptionChange('a@example.com'), SuppressSending: false }, NOW)).toEqual([]);
    expect(postmarkEvents('pm', { RecordType: 'Inbound' }, NOW)).toEqual([]);
  });
});

describe('Mailgun events', () => {
  it.each([
    [{}, 'bounced:hard'],
    [{ severity: 'temporary' }, 'deferred'],
    [{ reason: 'old' }, 'bounced:soft'],
    [{ reason: 'suppress-bounce' }, 'bounced:hard'],
    [{ reason: 'suppress-complaint' }, 'complained'],
    [{ reason: 'suppress-unsubscribe' }, 'unsubscribed'],
  ])('failed %o → %s', (fields, expected) => {
    expect(kind(mailgunEvent('mg', mailgunEventData('failed', 'a@example.com', fields), NOW))).toBe(expected);
  });

  it('other events; the message id in the API\'s <…> form; accepted ignored', () => {
    for (const name of ['delivered', 'opened', 'clicked', 'complained', 'unsubscribed', 'rejected']) {
      expect(mailgunEvent('mg', mailgunEventData(name, 'a@example.com'), NOW)?.type).toBe(name);
    }
    expect(mailgunEvent('mg', mailgunEventData('delivered', 'a@example.com', { id: 'evt-1' }), NOW)).toMatchObject({ eventKey: 'mg:evt-1', providerMessageId: '<20130503192659.13651.20287@mg.example.com>' });
    expect(mailgunEvent('mg', mailgunEventData('accepted', 'a@example.com'), NOW)).toBeUndefined();
  });
});

describe('SendGrid events', () => {
  it.each([
    ['dropped', { reason: 'Bounced Address' }, 'bounced:hard'],
    ['dropped', { reason: 'Spam Reporting Address' }, 'complained'],
    ['dropped', { reason: 'Unsubscribed Address' }, 'unsubscribed'],
    ['dropped', { reason: 'Invalid SMTPAPI header' }, 'rejected'],
    ['unsubscribe', {}, 'unsubscribed'],
    ['processed', {}, 'ignored'],
    ['group_resubscribe', {}, 'ignored'],
  ])('%s %o → %s', (name, fields, expected) => {
    expect(kind(normaliseSendgrid('sg', sendgridEvent(name, 'a@example.com', fields), 0, NOW))).toBe(expected);
  });
});

describe('SES events', () => {
  const mail = ses.delivery('a@example.com').mail;
  it.each([
    [{ eventType: 'DeliveryDelay', mail, deliveryDelay: { delayType: 'MailboxFull', delayedRecipients: [{ emailAddress: 'a@example.com' }], timestamp: '2020-06-16T00:15:40.641Z' } }, 'deferred'],
    [{ eventType: 'Reject', mail, reject: { reason: 'Bad content' } }, 'rejected'],
    [{ eventType: 'Click', mail, click: { link: 'https://example.com', timestamp: '2017-08-09T23:51:25.570Z' } }, 'clicked'],
    [{ eventType: 'Subscription', mail, subscription: { newTopicPreferences: { unsubscribeAll: true } } }, 'unsubscribed'],
    [{ eventType: 'Send', mail, send: {} }, 'ignored'],
    [ses.bounce('a@example.com', 'Transient'), 'bounced:soft'],
  ])('%#: %s', (notification, expected) => {
    expect(kind(sesEvents('ses', 'sns-1', notification as Record<string, unknown>, NOW)[0])).toBe(expected);
  });

  it('one event per recipient, keyed by the SNS message id', () => {
    const bounce = ses.bounce('a@example.com');
    bounce.bounce.bouncedRecipients.push({ ...bounce.bounce.bouncedRecipients[0], emailAddress: 'B@example.com' });
    expect(sesEvents('ses', 'sns-9', bounce, NOW).map((e) => e.eventKey)).toEqual(['ses:sns-9:a@example.com', 'ses:sns-9:b@example.com']);
  });

  it("trusts SNS's own host for the topic's region, or the configured base URL", () => {
    expect(topicRegion('arn:aws:sns:eu-west-1:123456789012:ses-events')).toBe('eu-west-1');
    expect(isSnsUrl('https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem', 'eu-west-1', undefined)).toBe(true);
    expect(isSnsUrl('https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem', 'eu-west-1', undefined)).toBe(false);
    expect(isSnsUrl('https://sns.eu-west-1.amazonaws.com.attacker.net/x.pem', 'eu-west-1', undefined)).toBe(false);
    expect(isSnsUrl('http://sns.eu-west-1.amazonaws.com/x.pem', 'eu-west-1', undefined)).toBe(false);
    expect(isSnsUrl('http://127.0.0.1:9000/x.pem', 'eu-west-1', 'http://127.0.0.1:9000')).toBe(true);
    expect(isSnsUrl('http://127.0.0.1:90001/x.pem', 'eu-west-1', 'http://127.0.0.1:9000')).toBe(false);
  });
});

describe('suppressions', () => {
  it('hard bounces, complaints and unsubscribes suppress; nothing else does', () => {
    expect(suppressionReason({ type: 'bounced', bounce: 'hard' })).toBe('hard bounce');
    expect(suppressionReason({ type: 'bounced', bounce: 'soft' })).toBeUndefined();
    expect(suppressionReason({ type: 'complained' })).toBe('spam complaint');
    expect(suppressionReason({ type: 'unsubscribed' })).toBe('unsubscribed');
    for (const type of ['delivered', 'deferred', 'opened', 'clicked', 'rejected'] as const) expect(suppressionReason({ type })).toBeUndefined();
  });
});

describe("an event's time", () => {
  const now = Date.now() - 3_600_000;
  it.each([
    ['an ISO time', '2026-12-01T11:00:00Z', Date.UTC(2026, 11, 1, 11)],
    ['epoch seconds', Date.UTC(2026, 11, 1, 10) / 1000, Date.UTC(2026, 11, 1, 10)],
    ['a time no event has (1e300)', 1e300, now],
    ['a year far ahead', '9999-01-01T00:00:00Z', now],
    ['before 2000', '1970-01-01T00:00:00Z', now],
    ['text that is no time', 'yesterday', now],
  ])('%s', (_, value, expected) => {
    expect(eventTime(value, now)).toBe(expected);
  });
  it('a time days after its fallback is kept: SES falls back on the send, and a complaint comes days later', () => {
    const sentThreeDaysAgo = Date.now() - 3 * 86_400_000;
    const aMinuteAgo = new Date(Date.now() - 60_000).toISOString();
    expect(eventTime(aMinuteAgo, sentThreeDaysAgo)).toBe(Date.parse(aMinuteAgo));
  });
});
