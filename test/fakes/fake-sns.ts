import { randomUUID, sign } from 'node:crypto';
import { selfSignedCertificate, type TestCertificate } from '../helpers/self-signed-cert.js';
import { HttpFake, type RecordedRequest, type Reply } from './http-fake.js';

export const SNS_REGION = 'us-east-1';
export const SNS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-events';

type SnsType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

/**
 * Amazon SNS as an HTTPS subscriber sees it: messages signed with a key whose certificate this
 * server publishes at /SimpleNotificationService-test.pem, and SubscribeURLs it records visits to
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html).
 */
export class FakeSns extends HttpFake {
  readonly certificate: TestCertificate = selfSignedCertificate('sns.amazonaws.com');
  /** Tokens of the subscriptions confirmed (GET /?Action=ConfirmSubscription&Token=…). */
  readonly confirmed: string[] = [];

  protected handle(request: RecordedRequest): Reply {
    const url = new URL(request.path, 'http://sns.local');
    if (url.pathname === '/SimpleNotificationService-test.pem') return { status: 200, body: this.certificate.pem, headers: { 'content-type': 'application/x-x509-ca-cert' } };
    if (url.searchParams.get('Action') === 'ConfirmSubscription') {
      this.confirmed.push(url.searchParams.get('Token') ?? '');
      return { status: 200, body: '<ConfirmSubscriptionResponse/>', headers: { 'content-type': 'text/xml' } };
    }
    return { status: 404, body: 'not found' };
  }

  get certificateUrl(): string {
    return `${this.url}/SimpleNotificationService-test.pem`;
  }

  /** An SNS message of this topic, signed (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA). */
  message(type: SnsType, body: { Message: string; Subject?: string; Token?: string }, options: { version?: '1' | '2'; topicArn?: string; certificateUrl?: string; messageId?: string } = {}): Record<string, string> {
    const message: Record<string, string> = {
      Type: type,
      MessageId: options.messageId ?? randomUUID(),
      TopicArn: options.topicArn ?? SNS_TOPIC,
      ...(body.Subject ? { Subject: body.Subject } : {}),
      Message: body.Message,
      Timestamp: new Date().toISOString(),
      SignatureVersion: options.version ?? '1',
      SigningCertURL: options.certificateUrl ?? this.certificateUrl,
    };
    if (type !== 'Notification') {
      message.Token = body.Token ?? randomUUID().replace(/-/g, '');
      message.SubscribeURL = `${this.url}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(message.TopicArn)}&Token=${message.Token}`;
    } else {
      message.UnsubscribeURL = `${this.url}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(message.TopicArn)}:sub`;
    }
    const fields = type === 'Notification' ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
    const canonical = fields.filter((f) => message[f] !== undefined).map((f) => `${f}\n${message[f]}\n`).join('');
    message.Signature = sign(message.SignatureVersion === '2' ? 'sha256' : 'sha1', Buffer.from(canonical), this.certificate.privateKey).toString('base64');
    return message;
  }
}
