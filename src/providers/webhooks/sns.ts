import { verify, X509Certificate, type KeyObject } from 'node:crypto';
import { isRecord, malformed, text, unauthorized, WebhookRefused } from './webhook.js';

/**
 * Amazon SNS messages to an HTTPS subscription
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html): each one is
 * signed by SNS (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) over a canonical text of its
 * fields, with the certificate at SigningCertURL. That URL is trusted only on SNS's own host for
 * the topic's region (https://sns.<region>.amazonaws.com/…), or under a configured base URL (tests,
 * gateways). Certificates are fetched once per URL and kept.
 */

export type SnsMessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

export interface SnsMessage {
  Type: SnsMessageType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  Subject?: string;
  Token?: string;
  SubscribeURL?: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
}

/** The fields signed, in order, for each kind of message (Subject only when present). */
const SIGNED_FIELDS: Record<SnsMessageType, (keyof SnsMessage)[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

const ALGORITHM: Record<string, string> = { '1': 'sha1', '2': 'sha256' };
const CERTIFICATE_FETCH_TIMEOUT_MS = 10_000;
/** Certificates kept per process: SNS uses a handful. */
const MAX_CERTIFICATES = 50;

export function parseSnsMessage(payload: unknown, headerType: string | undefined): SnsMessage {
  if (!isRecord(payload)) throw malformed('not an SNS message: a JSON object');
  const type = payload.Type;
  if (type !== 'Notification' && type !== 'SubscriptionConfirmation' && type !== 'UnsubscribeConfirmation') throw malformed('not an SNS message: Type must be Notification, SubscriptionConfirmation or UnsubscribeConfirmation');
  if (headerType !== undefined && headerType !== type) throw malformed(`the header x-amz-sns-message-type (${headerType}) does not match the body's Type (${type})`);
  for (const field of SIGNED_FIELDS[type].filter((f) => f !== 'Subject')) {
    if (typeof payload[field] !== 'string') throw malformed(`the SNS message has no ${field}`);
  }
  for (const field of ['SignatureVersion', 'Signature', 'SigningCertURL']) {
    if (typeof payload[field] !== 'string') throw unauthorized(`the SNS message is not signed: it has no ${field}`);
  }
  return payload as unknown as SnsMessage;
}

/** The region of arn:aws:sns:<region>:<account>:<topic>. */
export function topicRegion(topicArn: string): string | undefined {
  return /^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d+:[A-Za-z0-9_.-]+$/.exec(topicArn)?.[1];
}

/** Whether a URL SNS gave (certificate, subscription) is SNS's own, or under the configured base URL. */
export function isSnsUrl(value: string, region: string, baseUrl: string | undefined): boolean {
  if (baseUrl && value.startsWith(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`)) return true;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return url.protocol === 'https:' && (url.hostname === `sns.${region}.amazonaws.com` || url.hostname === `sns.${region}.amazonaws.com.cn`) && url.port === '' && !url.username;
}

function canonicalText(message: SnsMessage): string {
  return SIGNED_FIELDS[message.Type]
    .filter((field) => message[field] !== undefined)
    .map((field) => `${field}\n${message[field]}\n`)
    .join('');
}

export class SnsVerifier {
  private readonly certificates = new Map<string, Promise<X509Certificate>>();

  constructor(private readonly baseUrl: string | undefined) {}

  /** Throws WebhookRefused 401 unless SNS signed this message; 503 when the certificate cannot be had now. */
  async verify(message: SnsMessage, now: number): Promise<void> {
    const region = topicRegion(message.TopicArn);
    if (!region) throw unauthorized(`TopicArn "${message.TopicArn}" is not an SNS topic ARN`);
    const algorithm = ALGORITHM[message.SignatureVersion];
    if (!algorithm) throw unauthorized(`unknown SignatureVersion "${message.SignatureVersion}" (1 or 2)`);
    if (!isSnsUrl(message.SigningCertURL, region, this.baseUrl) || !/\.pem$/i.test(new URL(message.SigningCertURL).pathname)) {
      throw unauthorized(`SigningCertURL is not an SNS certificate of ${region}: ${message.SigningCertURL}`);
    }
    const key = await this.certificate(message.SigningCertURL, now);
    let valid = false;
    try {
      valid = verify(algorithm, Buffer.from(canonicalText(message), 'utf8'), key, Buffer.from(message.Signature, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) throw unauthorized('wrong SNS signature');
  }

  private certificate(url: string, now: number): Promise<KeyObject> {
    let pending = this.certificates.get(url);
    if (!pending) {
      if (this.certificates.size >= MAX_CERTIFICATES) this.certificates.delete(this.certificates.keys().next().value!);
      const fetching = fetchCertificate(url);
      this.certificates.set(url, fetching);
      // A failed fetch is not kept: the next message tries again.
      fetching.catch(() => this.certificates.delete(url));
      pending = fetching;
    }
    return pending.then((certificate) => {
      if (Date.parse(certificate.validTo) < now || Date.parse(certificate.validFrom) > now) {
        this.certificates.delete(url);
        throw unauthorized(`the SNS signing certificate at ${url} is not valid now (${certificate.validFrom} – ${certificate.validTo})`);
      }
      return certificate.publicKey;
    });
  }
}

async function fetchCertificate(url: string): Promise<X509Certificate> {
  let body: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(CERTIFICATE_FETCH_TIMEOUT_MS), redirect: 'error' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    body = await response.text();
  } catch (error) {
    throw new WebhookRefused(`could not fetch the SNS signing certificate ${url}: ${(error as Error).message}`, 503, { hint: 'nothing was stored; SNS sends the message again later' });
  }
  try {
    return new X509Certificate(body);
  } catch {
    throw unauthorized(`${url} does not hold an X.509 certificate`);
  }
}

/** Confirms a subscription by visiting its SubscribeURL (only SNS's own, checked by the caller). */
export async function confirmSubscription(message: SnsMessage): Promise<void> {
  const url = text(message.SubscribeURL)!;
  let status: number;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(CERTIFICATE_FETCH_TIMEOUT_MS), redirect: 'error' });
    status = response.status;
    await response.arrayBuffer();
  } catch (error) {
    throw new WebhookRefused(`could not confirm the SNS subscription: ${(error as Error).message}`, 502, { hint: 'SNS sends the confirmation again; or open its SubscribeURL (in the server log) once by hand' });
  }
  if (status < 200 || status >= 300) throw new WebhookRefused(`could not confirm the SNS subscription: SNS answered HTTP ${status}`, 502, { hint: 'open its SubscribeURL (in the server log) once by hand' });
}
