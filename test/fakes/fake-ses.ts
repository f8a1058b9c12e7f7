import { createHash, createHmac, randomBytes } from 'node:crypto';
import { HttpFake, type Fault, type RecordedRequest, type Reply } from './http-fake.js';

export const SES_ACCESS_KEY_ID = 'AKIAFAKESES0TEST';
export const SES_SECRET_ACCESS_KEY = 'fake-ses-secret/9Qz+test';
export const SES_REGION = 'us-east-1';
const MAX_DESTINATIONS = 50;

/** One copy as SES would send it: a SendEmail message, or a bulk entry with its template filled in. */
export interface SesCopy {
  to: string[];
  from: string;
  subject: string;
  html?: string;
  text?: string;
  headers: { Name: string; Value: string }[];
  tags: { Name: string; Value: string }[];
  configurationSet?: string;
}

/** An SES error as the API sends it: x-amzn-ErrorType names it, the JSON body says why. */
export function sesError(status: number, type: string, message: string): Fault {
  return { status, body: { message }, headers: { 'x-amzn-ErrorType': `${type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/`, 'x-amzn-RequestId': randomBytes(16).toString('hex') } };
}

function errorReply(status: number, type: string, message: string): Reply {
  const { body, headers } = sesError(status, type, message);
  return { status, body, headers };
}

/**
 * Answers like email.<region>.amazonaws.com (SES v2, restJson1): SendEmail and SendBulkEmail, errors
 * named by x-amzn-ErrorType. A request is accepted only when SigV4-signed with the test key pair for
 * the region and the `ses` service.
 */
export class FakeSes extends HttpFake {
  /** When set, only these identities may be the From address (others: MessageRejected). */
  verifiedIdentities?: Set<string>;
  /** In the sandbox, recipients must be verified identities too. */
  sandbox = false;
  /** Addresses a SendEmail refuses as MessageRejected "Illegal address". */
  readonly illegalAddresses = new Set<string>();
  /** Per recipient, a bulk entry status other than SUCCESS (for `times` calls, else every call). */
  readonly entryFailures = new Map<string, { Status: string; Error: string; times?: number }>();
  /** Every copy accepted, personalised. */
  readonly copies: SesCopy[] = [];

  get sent(): { path: string; body: any }[] {
    return this.requests.map((r) => ({ path: r.path, body: safeJson(r.rawBody) }));
  }

  override reset(): void {
    super.reset();
    this.copies.length = 0;
    this.entryFailures.clear();
    this.illegalAddresses.clear();
    this.verifiedIdentities = undefined;
    this.sandbox = false;
  }

  protected handle(request: RecordedRequest): Reply {
    const auth = String(request.headers.authorization ?? '');
    const signed = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
    const amzDate = String(request.headers['x-amz-date'] ?? '');
    if (!signed || !amzDate) return errorReply(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    const [, accessKeyId, day, region, service, signedHeaders, signature] = signed;
    if (accessKeyId !== SES_ACCESS_KEY_ID) return errorReply(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (region !== SES_REGION || service !== 'ses') return errorReply(403, 'InvalidSignatureException', `Credential should be scoped to a valid region and service 'ses'.`);
    if (signature !== sigV4Signature(request, { day, amzDate, region, service, signedHeaders })) {
      return errorReply(403, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
    }
    const body = safeJson(request.rawBody);
    if (request.method === 'POST' && request.path === '/v2/email/outbound-emails') return this.sendEmail(body);
    if (request.method === 'POST' && request.path === '/v2/email/outbound-bulk-emails') return this.sendBulkEmail(body);
    return errorReply(404, 'UnknownOperationException', 'Unknown operation');
  }

  private sendEmail(body: any): Reply {
    const simple = body?.Content?.Simple;
    if (!simple) return errorReply(400, 'BadRequestException', 'Content is required: Simple, Raw or Template');
    const destination = body.Destination ?? {};
    const to: string[] = [...(destination.ToAddresses ?? []), ...(destination.CcAddresses ?? []), ...(destination.BccAddresses ?? [])];
    const refused = this.refusal(body.FromEmailAddress, to);
    if (refused) return refused;
    if (!simple.Subject?.Data) return errorReply(400, 'BadRequestException', 'Subject is required');
    if (!simple.Body?.Text && !simple.Body?.Html) return errorReply(400, 'BadRequestException', 'Body must have Text or Html');
    this.copies.push({
      to,
      from: body.FromEmailAddress,
      subject: simple.Subject.Data,
      html: simple.Body.Html?.Data,
      text: simple.Body.Text?.Data,
      headers: simple.Headers ?? [],
      tags: body.EmailTags ?? [],
      configurationSet: body.ConfigurationSetName,
    });
    return { status: 200, body: { MessageId: messageId() } };
  }

  /** Answers 200 even when entries fail: each BulkEmailEntryResult says how its entry went. */
  private sendBulkEmail(body: any): Reply {
    const template = body?.DefaultContent?.Template;
    if (!template?.TemplateContent && !template?.TemplateName) return errorReply(400, 'BadRequestException', 'DefaultContent.Template is required');
    const entries: any[] = Array.isArray(body.BulkEmailEntries) ? body.BulkEmailEntries : [];
    if (entries.length === 0) return errorReply(400, 'BadRequestException', 'BulkEmailEntries is required');
    if (entries.length > MAX_DESTINATIONS) return errorReply(400, 'BadRequestException', `You can send to at most ${MAX_DESTINATIONS} destinations per call`);
    const content = template.TemplateContent ?? {};
    if (/\{\{[#/>]/.test(`${content.Subject}${content.Html}${content.Text}`)) return errorReply(400, 'BadRequestException', 'Inline templates support only simple substitutions');
    const refused = this.refusal(body.FromEmailAddress, []);
    if (refused) return refused;
    const defaults = safeJsonText(template.TemplateData) ?? {};
    const results = entries.map((entry) => {
      const to: string[] = entry?.Destination?.ToAddresses ?? [];
      const failed = to.map((address) => address.toLowerCase()).find((address) => this.entryFailures.has(address));
      if (failed) return this.entryFailure(failed);
      const sandboxRefused = this.sandbox && to.find((address) => !this.verifiedIdentities?.has(address.toLowerCase()));
      if (sandboxRefused) return { Status: 'MESSAGE_REJECTED', Error: `Email address is not verified. The following identities failed the check in region ${SES_REGION.toUpperCase()}: ${sandboxRefused}` };
      const data = { ...defaults, ...(safeJsonText(entry?.ReplacementEmailContent?.ReplacementTemplate?.ReplacementTemplateData) ?? {}) };
      const headers = new Map<string, { Name: string; Value: string }>();
      for (const header of [...(template.Headers ?? []), ...(entry.ReplacementHeaders ?? [])]) headers.set(header.Name.toLowerCase(), header);
      this.copies.push({
        to,
        from: body.FromEmailAddress,
        subject: render(content.Subject ?? '', data),
        html: content.Html === undefined ? undefined : render(content.Html, data),
        text: content.Text === undefined ? undefined : render(content.Text, data),
        headers: [...headers.values()],
        tags: [...(body.DefaultEmailTags ?? []), ...(entry.ReplacementTags ?? [])],
        configurationSet: body.ConfigurationSetName,
      });
      return { Status: 'SUCCESS', MessageId: messageId() };
    });
    return { status: 200, body: { BulkEmailEntryResults: results } };
  }

  private entryFailure(address: string): { Status: string; Error: string } {
    const { Status, Error, times } = this.entryFailures.get(address)!;
    if (times !== undefined) {
      if (times <= 1) this.entryFailures.delete(address);
      else this.entryFailures.set(address, { Status, Error, times: times - 1 });
    }
    return { Status, Error };
  }

  /** MessageRejected for an unverified From, a sandbox recipient not verified, or an illegal address. */
  private refusal(from: unknown, recipients: string[]): Reply | undefined {
    if (typeof from !== 'string' || !from) return errorReply(400, 'BadRequestException', 'FromEmailAddress is required');
    const bare = (address: string) => (/<([^>]+)>/.exec(address)?.[1] ?? address).trim().toLowerCase();
    const unverified = (address: string) => this.verifiedIdentities !== undefined && !this.verifiedIdentities.has(bare(address)) && !this.verifiedIdentities.has(bare(address).split('@')[1]);
    const notVerified = [from, ...(this.sandbox ? recipients : [])].filter(unverified).map(bare);
    if (notVerified.length) return errorReply(400, 'MessageRejected', `Email address is not verified. The following identities failed the check in region ${SES_REGION.toUpperCase()}: ${notVerified.join(', ')}`);
    if (recipients.length > MAX_DESTINATIONS) return errorReply(400, 'BadRequestException', `Recipient count exceeds ${MAX_DESTINATIONS}`);
    const illegal = recipients.find((address) => this.illegalAddresses.has(bare(address)));
    if (illegal) return errorReply(400, 'MessageRejected', `Illegal address`);
    return undefined;
  }
}

/**
 * The SigV4 signature of a request made with the test secret: canonical request (method, path,
 * query, the signed headers, the payload's SHA-256), string to sign, key derived by date, region
 * and service. Enough for the SDK's requests (no query strings, single-valued headers).
 */
function sigV4Signature(request: RecordedRequest, scope: { day: string; amzDate: string; region: string; service: string; signedHeaders: string }): string {
  const names = scope.signedHeaders.split(';');
  const headerLines = names.map((name) => `${name}:${String(request.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const [path, query = ''] = request.path.split('?');
  const payloadHash = createHash('sha256').update(request.rawBody).digest('hex');
  const canonical = [request.method, path, query, headerLines, scope.signedHeaders, payloadHash].join('\n');
  const credentialScope = `${scope.day}/${scope.region}/${scope.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', scope.amzDate, credentialScope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${SES_SECRET_ACCESS_KEY}`, scope.day), scope.region), scope.service), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex');
}

function render(text: string, data: Record<string, unknown>): string {
  return text.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_m, name: string) => String(data[name] ?? ''));
}

function messageId(): string {
  return `0100018f${randomBytes(12).toString('hex')}-${randomBytes(4).toString('hex')}-000000`;
}

function safeJsonText(text: unknown): Record<string, unknown> | undefined {
  try {
    return typeof text === 'string' ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function safeJson(raw: Buffer): any {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}
