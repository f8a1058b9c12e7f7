import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

/**
 * Webhook payloads shaped as the providers document them (field names, nesting, sample values
 * taken from their documentation's examples), with the few values a test varies as parameters.
 */

// Postmark — https://postmarkapp.com/developer/webhooks/bounce-webhook (and …/spam-complaint-webhook,
// …/delivery-webhook, …/open-tracking-webhook, …/click-webhook, …/subscription-change-webhook)
export const postmark = {
  bounce: (email: string, options: { id?: number; type?: string; messageId?: string; inactive?: boolean } = {}) => ({
    RecordType: 'Bounce',
    ID: options.id ?? 4323372036854775807,
    Type: options.type ?? 'HardBounce',
    TypeCode: options.type === 'SoftBounce' ? 4096 : 1,
    Name: options.type === 'SoftBounce' ? 'Soft bounce' : 'Hard bounce',
    Tag: 'Test',
    MessageID: options.messageId ?? '883953f4-6105-42a2-a16a-77a8eac79483',
    ServerID: 23,
    MessageStream: 'outbound',
    Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
    Details: 'Test bounce details',
    Email: email,
    From: 'sender@example.com',
    BouncedAt: '2019-11-05T16:33:54.9070259Z',
    DumpAvailable: true,
    Inactive: options.inactive ?? options.type !== 'SoftBounce',
    CanActivate: true,
    Subject: 'Test subject',
    Content: '<Full dump of bounce>',
    Metadata: { a_key: 'a_value', b_key: 'b_value' },
  }),
  spamComplaint: (email: string, id = 42) => ({
    RecordType: 'SpamComplaint',
    MessageStream: 'outbound',
    ID: id,
    Type: 'SpamComplaint',
    TypeCode: 512,
    Name: 'Spam complaint',
    Tag: 'Test',
    MessageID: '00000000-0000-0000-0000-000000000000',
    Metadata: { a_key: 'a_value', b_key: 'b_value' },
    ServerID: 1234,
    Description: 'The subscriber explicitly marked this message as spam.',
    Details: 'Test spam complaint details',
    Email: email,
    From: 'sender@example.com',
    BouncedAt: '2019-11-05T16:33:54.9070259Z',
    DumpAvailable: true,
    Inactive: true,
    CanActivate: false,
    Subject: 'Test subject',
    Content: '<Abuse report dump>',
  }),
  delivery: (recipient: string, messageId: string) => ({
    RecordType: 'Delivery',
    ServerID: 23,
    MessageStream: 'outbound',
    MessageID: messageId,
    Recipient: recipient,
    Tag: 'welcome-email',
    DeliveredAt: '2021-02-21T16:34:52Z',
    Details: 'Test delivery webhook details',
    Metadata: { a_key: 'a_value', b_key: 'b_value' },
  }),
  open: (recipient: string) => ({
    RecordType: 'Open',
    MessageStream: 'outbound',
    FirstOpen: true,
    Client: { Name: 'Chrome 35.0.1916.153', Company: 'Google', Family: 'Chrome' },
    OS: { Name: 'OS X 10.7 Lion', Company: 'Apple Computer, Inc.', Family: 'OS X 10' },
    Platform: 'WebMail',
    UserAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0.1916.153 Safari/537.36',
    ReadSeconds: 5,
    Geo: { CountryISOCode: 'RS', Country: 'Serbia', RegionISOCode: 'VO', Region: 'Autonomna Pokrajina Vojvodina', City: 'Novi Sad', Zip: '21000', Coords: '45.2517,19.8369', IP: '188.2.95.4' },
    MessageID: '00000000-0000-0000-0000-000000000000',
    Metadata: { a_key: 'a_value', b_key: 'b_value' },
    ReceivedAt: '2019-11-05T16:33:54.9070259Z',
    Tag: 'welcome-email',
    Recipient: recipient,
  }),
  click: (recipient: string) => ({
    RecordType: 'Click',
    MessageStream: 'outbound',
    ClickLocation: 'HTML',
    Client: { Name: 'Chrome 35.0.1916.153', Company: 'Google', Family: 'Chrome' },
    OS: { Name: 'OS X 10.7 Lion', Company: 'Apple Computer, Inc.', Family: 'OS X 10' },
    Platform: 'Desktop',
    UserAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0.1916.153 Safari/537.36',
    OriginalLink: 'https://example.com',
    Geo: { CountryISOCode: 'RS', Country: 'Serbia', RegionISOCode: 'VO', Region: 'Autonomna Pokrajina Vojvodina', City: 'Novi Sad', Zip: '21000', Coords: '45.2517,19.8369', IP: '8.8.8.8' },
    MessageID: '00000000-0000-0000-0000-000000000000',
    Metadata: { a_key: 'a_value', b_key: 'b_value' },
    ReceivedAt: '2017-10-25T15:21:11.0000000Z',
    Tag: 'welcome-email',
    Recipient: recipient,
  }),
  subscriptionChange: (recipient: string) => ({
    RecordType: 'SubscriptionChange',
    MessageID: '00000000-0000-0000-0000-000000000000',
    ServerID: 23,
    MessageStream: 'bulk',
    ChangedAt: '2020-02-01T10:53:34.416071Z',
    Recipient: recipient,
    Origin: 'Recipient',
    SuppressSending: true,
    SuppressionReason: 'ManualSuppression',
    Tag: 'my-tag',
    Metadata: { 'example-key': 'example-value' },
  }),
};

// Mailgun — https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/webhook-payload
// and …/securing-webhooks (signature = HMAC-SHA256(signing key, timestamp + token), hex)
export function mailgunSignature(signingKey: string, timestamp = Math.floor(Date.now() / 1000), token = randomBytes(25).toString('hex')) {
  return { timestamp: String(timestamp), token, signature: createHmac('sha256', signingKey).update(`${timestamp}${token}`).digest('hex') };
}

export function mailgunEventData(event: string, recipient: string, fields: Record<string, unknown> = {}) {
  return {
    event,
    id: fields.id ?? randomBytes(16).toString('base64url'),
    timestamp: Date.now() / 1000,
    'log-level': event === 'failed' ? 'error' : 'info',
    ...(event === 'failed'
      ? { severity: 'permanent', reason: 'bounce', 'delivery-status': { 'attempt-no': 1, message: '', code: 550, description: '5.1.1 The email account that you tried to reach does not exist.', 'session-seconds': 0 } }
      : {}),
    envelope: { sender: 'bob@mg.example.com', transport: 'smtp', targets: recipient },
    flags: { 'is-routed': false, 'is-authenticated': true, 'is-system-test': false, 'is-test-mode': false },
    message: { headers: { to: `Alice <${recipient}>`, 'message-id': '20130503192659.13651.20287@mg.example.com', from: 'Bob <bob@mg.example.com>', subject: 'Test permanent_fail webhook' }, attachments: [], size: 111 },
    recipient,
    'recipient-domain': recipient.split('@')[1],
    storage: { url: 'https://se.api.mailgun.net/v3/domains/mg.example.com/messages/message_key', key: 'message_key' },
    campaigns: [],
    tags: ['my_tag_1', 'my_tag_2'],
    'user-variables': { 'my_var_1': 'Mailgun Variable #1', 'my-var-2': 'awesome' },
    ...fields,
  };
}

// SendGrid — https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event (event
// fields) and …/getting-started-event-webhook-security-features (ECDSA over timestamp + body)
export function sendgridKeys() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { publicKeyBase64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), privateKey };
}

export function signSendgrid(privateKey: ReturnType<typeof sendgridKeys>['privateKey'], body: string, timestamp = String(Math.floor(Date.now() / 1000))): Record<string, string> {
  const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), privateKey).toString('base64');
  return { 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp };
}

export function sendgridEvent(event: string, email: string, fields: Record<string, unknown> = {}) {
  return {
    email,
    timestamp: 1513299569,
    'smtp-id': '<14c5d75ce93.dfd.64b469@ismtpd-555>',
    event,
    category: 'cat facts',
    sg_event_id: randomBytes(16).toString('base64'),
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
    ...fields,
  };
}

// Amazon SES through SNS — https://docs.aws.amazon.com/ses/latest/dg/notification-examples.html
export const ses = {
  bounce: (recipient: string, bounceType: 'Permanent' | 'Transient' = 'Permanent') => ({
    notificationType: 'Bounce',
    bounce: {
      bounceType,
      bounceSubType: 'General',
      bouncedRecipients: [{ emailAddress: recipient, action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
      timestamp: '2016-01-27T14:59:38.237Z',
      feedbackId: '00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000',
      remoteMtaIp: '127.0.2.0',
      reportingMTA: 'dsn; a27-23.smtp-out.us-west-2.amazonses.com',
    },
    mail: sesMail(recipient),
  }),
  complaint: (recipient: string) => ({
    notificationType: 'Complaint',
    complaint: {
      userAgent: 'AnyCompany Feedback Loop (V0.01)',
      complainedRecipients: [{ emailAddress: recipient }],
      complaintFeedbackType: 'abuse',
      arrivalDate: '2016-01-27T14:59:38.237Z',
      timestamp: '2016-01-27T14:59:38.237Z',
      feedbackId: '000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000',
    },
    mail: sesMail(recipient),
  }),
  delivery: (recipient: string) => ({
    notificationType: 'Delivery',
    mail: sesMail(recipient),
    delivery: { timestamp: '2016-01-27T14:59:38.237Z', recipients: [recipient], processingTimeMillis: 546, reportingMTA: 'a8-70.smtp-out.amazonses.com', smtpResponse: '250 ok:  Message 64111812 accepted', remoteMtaIp: '127.0.2.0' },
  }),
  /** Configuration-set event publishing (https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-examples.html). */
  open: (recipient: string) => ({
    eventType: 'Open',
    mail: sesMail(recipient),
    open: { ipAddress: '192.0.2.1', timestamp: '2017-08-09T22:00:19.652Z', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X)' },
  }),
};

function sesMail(recipient: string) {
  return {
    timestamp: '2016-01-27T14:59:38.237Z',
    source: 'john@example.com',
    sourceArn: 'arn:aws:ses:us-east-1:888888888888:identity/example.com',
    sourceIp: '127.0.3.0',
    sendingAccountId: '123456789012',
    messageId: '00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000',
    destination: [recipient],
    headersTruncated: false,
    headers: [{ name: 'From', value: 'John Doe <john@example.com>' }, { name: 'To', value: recipient }, { name: 'Subject', value: 'Hello' }],
    commonHeaders: { from: ['John Doe <john@example.com>'], date: 'Wed, 27 Jan 2016 14:05:45 +0000', to: [recipient], messageId: 'custom-message-ID', subject: 'Hello' },
  };
}
