import * as z from 'zod/mini';
import '../config/zod.js';
import type { ServerClient } from 'postmark';
import { ProviderError, type ErrorClass } from '../core/errors.js';
import type { EmailMessage } from '../core/message.js';
import { parseRetryAfter } from '../core/retry-after.js';
import { baseUrlSchema, commonProviderFields } from './common-config.js';
import { escapeHtml, oneLine } from '../core/merge.js';
import { jsonStringContent } from '../core/json-string.js';
import { constant, JsonBytes, JsonMergePart } from './json-bytes.js';
import { bulkRecipientKey } from '../core/bulk-key.js';
import { CONNECT_TIMEOUT, HttpTransport, type TransportRequest } from './http-transport.js';
import { IDEMPOTENCY_HEADER, type BulkRecipient, type RecipientStatus, type Provider, type ProviderDefinition, type ProviderOptions, type SendReceipt } from './provider.js';
import { postmarkCatalog } from './catalog/postmark.js';
import { PreparedBodies } from './prepared-bodies.js';
import { withNativeAsyncRequests } from './postmark-native-request.js';

const configSchema = z.strictObject({
  type: z.literal('postmark'),
  serverToken: z.string().check(z.minLength(1, 'missing server token')),
  messageStream: z._default(z.string().check(z.minLength(1)), 'outbound'),
  /** Stream used for marketing mail: Postmark requires bulk mail on a broadcast stream. */
  broadcastStream: z._default(z.string().check(z.minLength(1)), 'broadcast'),
  baseUrl: z.optional(baseUrlSchema),
  /** Delivery webhooks: the HTTP Basic credentials written into the webhook URL at Postmark. */
  webhook: z.optional(z.strictObject({ username: z.string().check(z.minLength(1, 'missing user name')), password: z.string().check(z.minLength(1, 'missing password')) })),
  ...commonProviderFields,
});
export type PostmarkConfig = z.infer<typeof configSchema>;

/** The JSON body of Postmark's POST /email. */
export interface PostmarkEmail {
  From: string;
  To: string;
  Cc?: string;
  Bcc?: string;
  ReplyTo?: string;
  Subject: string;
  HtmlBody?: string;
  TextBody?: string;
  Headers?: { Name: string; Value: string }[];
  Tag?: string;
  Metadata?: Record<string, string>;
  TrackOpens?: boolean;
  TrackLinks?: 'None' | 'HtmlAndText';
  Attachments?: { Name: string; Content: string; ContentType: string }[];
  MessageStream: string;
}


/**
 * Postmark carries a single Tag: the first tag is the Tag, the others are kept in Metadata
 * under `tags` (comma-separated) so they are not lost, and a warning says so.
 */
export function toPostmarkEmail(message: EmailMessage, config: Pick<PostmarkConfig, 'messageStream' | 'broadcastStream'>): { body: PostmarkEmail; warnings: string[] } {
  const { shared, warnings } = sharedPostmarkFields(message, config);
  return { body: withAddressing(shared, message), warnings };
}

type SharedFields = Omit<PostmarkEmail, 'To' | 'Cc' | 'Bcc' | 'Subject' | 'HtmlBody' | 'TextBody' | 'Headers'>;
type Addressing = Pick<EmailMessage, 'to' | 'cc' | 'bcc' | 'subject' | 'html' | 'text' | 'headers' | 'idempotencyKey'>;

/** What every personalised copy of a message has in common. */
function sharedPostmarkFields(message: EmailMessage, config: Pick<PostmarkConfig, 'messageStream' | 'broadcastStream'>): { shared: SharedFields; warnings: string[] } {
  const warnings: string[] = [];
  const [tag, ...extraTags] = message.tags;
  const metadata: Record<string, string> = { ...message.metadata };
  if (message.campaignId) metadata.campaign_id = message.campaignId;
  if (extraTags.length > 0) {
    metadata.tags = extraTags.join(',');
    warnings.push(`postmark: one Tag per message; sent Tag "${tag}", kept ${extraTags.map((t) => `"${t}"`).join(', ')} in Metadata.tags`);
  }
  const shared: SharedFields = { From: message.from, MessageStream: message.type === 'marketing' ? config.broadcastStream : config.messageStream };
  if (message.replyTo) shared.ReplyTo = message.replyTo;
  if (tag) shared.Tag = tag;
  if (Object.keys(metadata).length) shared.Metadata = metadata;
  if (message.trackOpens !== undefined) shared.TrackOpens = message.trackOpens;
  if (message.trackLinks !== undefined) shared.TrackLinks = message.trackLinks ? 'HtmlAndText' : 'None';
  if (message.attachments.length) {
    shared.Attachments = message.attachments.map((a) => ({ Name: a.filename, Content: a.contentBase64, ContentType: a.contentType }));
  }
  return { shared, warnings };
}

/** The shared fields with one copy's recipients, texts and idempotency header. */
function withAddressing(shared: SharedFields, message: Addressing): PostmarkEmail {
  // Object.assign, not spread: V8 gives every `{ ...shared, To }` its own hidden class, which made
  // building a batch of bodies fifty times slower.
  const body: PostmarkEmail = Object.assign({}, shared, {
    To: message.to.join(', '),
    Subject: message.subject,
    Headers: [...message.headers.map((h) => ({ Name: h.name, Value: h.value })), { Name: IDEMPOTENCY_HEADER, Value: message.idempotencyKey }],
  });
  if (message.cc.length) body.Cc = message.cc.join(', ');
  if (message.bcc.length) body.Bcc = message.bcc.join(', ');
  if (message.html) body.HtmlBody = message.html;
  if (message.text) body.TextBody = message.text;
  return body;
}

/** "Message OK, but will not deliver to these inactive addresses: a@x.com, b@y.com." → those, refused for good. */
export function inactiveRecipients(message: string, provider: string): RecipientStatus[] {
  const match = /inactive addresses:\s*(.+?)\.?\s*$/i.exec(message);
  if (!match) return [];
  const error = new ProviderError('inactive recipient (hard bounce, spam complaint or manual suppression)', { provider, errorClass: 'permanent', code: INACTIVE_RECIPIENT_CODE });
  return match[1].split(',').map((address) => ({ address: address.trim(), accepted: false, error }));
}

interface PostmarkErrorShape {
  message: string;
  code: number;
  statusCode: number;
  recipients?: string[];
}

/** What the wrapped fetch saw: the SDK's errors do not carry headers or the network cause. */
interface TransportInsight {
  retryAfterMs?: number;
  networkError?: Error & { cause?: { code?: string } };
}

/** The SDK passed its fetch some other body than a batch's stand-in (see WRITTEN_BATCH): nothing was sent. */
const BODY_NOT_SENT = 'PENGUINMAILS_BODY_NOT_SENT';
const NEVER_CONNECTED = new Set([BODY_NOT_SENT, 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', CONNECT_TIMEOUT, 'UND_ERR_CONNECT_TIMEOUT']);
const MAINTENANCE_ERROR_CODE = 100;
/** An inactive (suppressed) recipient: refused for good, never routed round. */
const INACTIVE_RECIPIENT_CODE = 406;
const SENDER_PROBLEM = /sender signature|from address|'from'|from field|signature/i;
/** ErrorCode 400 "Sender signature not found", 401 "Sender signature not confirmed": this account cannot send as this sender. */
const SENDER_SIGNATURE_CODES = [400, 401];

export function classifyPostmarkError(error: PostmarkErrorShape, insight: TransportInsight = {}): { errorClass: ErrorClass; detail: string } {
  const { statusCode, code } = error;
  if (statusCode === 0) {
    const cause = insight.networkError;
    if (cause?.name === 'TimeoutError' || /aborted due to timeout/i.test(error.message)) {
      return { errorClass: 'ambiguous', detail: 'timed out waiting for Postmark after sending the request' };
    }
    const reason = cause?.cause?.code ?? (cause?.cause as Error | undefined)?.message;
    // Only failures that happen before a connection carries the request are safe to resend.
    if (reason && NEVER_CONNECTED.has(reason)) return { errorClass: 'transient', detail: `network error ${reason}: ${error.message}` };
    return { errorClass: 'ambiguous', detail: `connection lost${reason ? ` (${reason})` : ''} after the request may have been sent: ${error.message}` };
  }
  if (statusCode === 401) return { errorClass: 'provider-unusable', detail: `bad server token (ErrorCode ${code})` };
  if (statusCode === 422) {
    if (code === INACTIVE_RECIPIENT_CODE) return { errorClass: 'permanent', detail: `inactive recipient (ErrorCode 406): ${error.message}` };
    if (code === 300) {
      return SENDER_PROBLEM.test(error.message)
        ? { errorClass: 'provider-unusable', detail: `sender not usable (ErrorCode 300): ${error.message}` }
        : { errorClass: 'permanent', detail: `invalid email request (ErrorCode 300): ${error.message}` };
    }
    if (SENDER_SIGNATURE_CODES.includes(code)) return { errorClass: 'provider-unusable', detail: `sender not usable (ErrorCode ${code}): ${error.message}` };
    if ([405, 412, 413].includes(code)) return { errorClass: 'provider-unusable', detail: `account cannot send (ErrorCode ${code}): ${error.message}` };
    return { errorClass: 'permanent', detail: `rejected (ErrorCode ${code}): ${error.message}` };
  }
  if (statusCode === 429) return { errorClass: 'transient', detail: 'rate limited (HTTP 429)' };
  if (statusCode >= 500) return { errorClass: 'transient', detail: `Postmark HTTP ${statusCode}${code ? ` (ErrorCode ${code})` : ''}: ${error.message}` };
  // 403 with an HTML body is a network block, 404 a wrong base URL: retrying will not help.
  return { errorClass: 'provider-unusable', detail: `unexpected HTTP ${statusCode}: ${error.message.slice(0, 200)}` };
}

function clientOptions(config: PostmarkConfig, options: ProviderOptions) {
  const url = new URL(config.baseUrl ?? 'https://api.postmarkapp.com');
  const path = url.pathname.replace(/\/+$/, '');
  return { useHttps: url.protocol === 'https:', requestHost: url.host + path, timeout: options.timeoutMs / 1000 };
}

export const POSTMARK_MAX_BATCH = 500;
/** Postmark's limit for a whole /email/batch request. */
export const POSTMARK_MAX_BATCH_BYTES = 50_000_000;

/**
 * The JSON body of a batch: each recipient's personalised copy, with the fields toPostmarkEmail
 * gives a single message, in the same order — byte for byte what JSON.stringify would write. Written
 * straight into bytes (see JsonBytes), not built as five hundred objects for JSON.stringify to walk:
 * those objects were a bulk run's largest allocation, and the SDK held them until Postmark answered.
 */
export function postmarkBatchBody(template: EmailMessage, config: Pick<PostmarkConfig, 'messageStream' | 'broadcastStream'>, recipients: BulkRecipient[]): Buffer {
  const parts = batchParts(template, config);
  const out = new JsonBytes(recipients.length * parts.estimatedBytes);
  out.raw(OPEN_ARRAY);
  for (let i = 0; i < recipients.length; i++) {
    const recipient = recipients[i];
    if (i) out.raw(COMMA);
    out.raw(parts.opening);
    out.string(recipient.email);
    out.raw(SUBJECT_KEY);
    parts.subject.write(out, recipient);
    out.raw(parts.headers);
    // A digest is hex digits: nothing in it to escape.
    out.string(recipient.digest);
    out.raw(CLOSE_HEADERS);
    // An empty body is left out, as for a single message.
    for (const [key, part] of parts.bodies) {
      const start = out.size;
      out.raw(key);
      const before = out.size;
      part.write(out, recipient);
      if (out.size === before) out.truncate(start);
      else out.raw(QUOTE);
    }
    out.raw(CLOSE_OBJECT);
  }
  out.raw(CLOSE_ARRAY);
  return out.bytes();
}

const [OPEN_ARRAY, CLOSE_ARRAY, COMMA, QUOTE, CLOSE_OBJECT] = ['[', ']', ',', '"', '}'].map(constant);
const SUBJECT_KEY = constant('","Subject":"');
const CLOSE_HEADERS = constant('"}]');

/** What a batch's copies have in common, encoded once per batch. */
function batchParts(template: EmailMessage, config: Pick<PostmarkConfig, 'messageStream' | 'broadcastStream'>) {
  const { shared } = sharedPostmarkFields(template, config);
  // The shared fields have From at least, so the object's text is `{…}` with something in it.
  const opening = `${JSON.stringify(shared).slice(0, -1)},"To":"`;
  const headers = `","Headers":[${template.headers.map((h) => `${JSON.stringify({ Name: h.name, Value: h.value })},`).join('')}{"Name":"${IDEMPOTENCY_HEADER}","Value":"${jsonStringContent(bulkRecipientKey(template.idempotencyKey, ''))}`;
  const bodies: [Buffer, JsonMergePart][] = [];
  if (template.html !== undefined) bodies.push([constant(',"HtmlBody":"'), new JsonMergePart(template.html, escapeHtml)]);
  if (template.text !== undefined) bodies.push([constant(',"TextBody":"'), new JsonMergePart(template.text, (value) => value)]);
  const texts = [template.subject, template.html ?? '', template.text ?? ''].reduce((sum, text) => sum + text.length, 0);
  return {
    opening: constant(opening),
    subject: new JsonMergePart(template.subject, oneLine),
    headers: constant(headers),
    bodies,
    // Per copy: the shared text, the texts with some room for their values, an address and a key.
    estimatedBytes: opening.length + headers.length + Math.ceil(texts * 1.2) + 150,
  };
}

/**
 * What the SDK is given as a batch: its JSON (a short string) is what the SDK hands its fetch, which
 * sends the batch's text instead (see createClient). The SDK does not look into a batch: it only
 * serialises it, and a batch serialised twice — by us for its size, by the SDK to send it — cost
 * as much again.
 */
const WRITTEN_BATCH = { toJSON: () => 'penguinmails: the batch body is written by the adapter' };
const WRITTEN_BATCH_JSON = JSON.stringify(WRITTEN_BATCH);

class PostmarkProvider implements Provider {
  readonly type = 'postmark';
  readonly maxBulkRecipients = POSTMARK_MAX_BATCH;
  readonly maxBulkBytes = POSTMARK_MAX_BATCH_BYTES;
  // Each element of /email/batch is a message of its own.
  readonly bulkAddressesMayRepeat = true;
  constructor(
    readonly name: string,
    private readonly config: PostmarkConfig,
    private readonly options: ProviderOptions,
  ) {}

  previewRequest(message: EmailMessage) {
    return this.preview('/email', toPostmarkEmail(message, this.config).body);
  }

  previewBulkRequest(template: EmailMessage, recipients: BulkRecipient[]) {
    // Shown as the JSON sent.
    return this.preview('/email/batch', JSON.parse(postmarkBatchBody(template, this.config, recipients).toString()));
  }

  private preview(path: string, body: unknown) {
    const { useHttps, requestHost } = this.sdkOptions();
    return {
      method: 'POST',
      url: `${useHttps ? 'https' : 'http'}://${requestHost}${path}`,
      headers: { 'X-Postmark-Server-Token': '****', 'Content-Type': 'application/json' },
      body: Array.isArray(body) ? body.map(withAttachmentsSummarised) : withAttachmentsSummarised(body),
    };
  }

  async send(message: EmailMessage): Promise<SendReceipt> {
    const { body, warnings } = toPostmarkEmail(message, this.config);
    const insight: TransportInsight = {};
    const client = this.createClient((this.sdk ??= await importPostmark()), insight);
    try {
      const response = await client.sendEmail(body as unknown as Parameters<ServerClient["sendEmail"]>[0]);
      return { messageId: response.MessageID, warnings, refused: inactiveRecipients(response.Message ?? '', this.name) };
    } catch (error) {
      throw this.toProviderError(error as PostmarkErrorShape, insight);
    }
  }

  prepareBulk(template: EmailMessage, recipients: BulkRecipient[]): void {
    this.preparedBodies.keep(template, recipients, postmarkBatchBody(template, this.config, recipients));
  }

  private readonly preparedBodies = new PreparedBodies<Buffer>();

  /** POST /email/batch: answers 200 even when single messages fail, so every element is checked. */
  async sendBulk(template: EmailMessage, recipients: BulkRecipient[]): Promise<RecipientStatus[]> {
    const body = this.preparedBodies.take(template, recipients) ?? postmarkBatchBody(template, this.config, recipients);
    const insight: TransportInsight = {};
    const client = this.createClient((this.sdk ??= await importPostmark()), insight, body);
    let responses: { ErrorCode?: number; Message?: string; MessageID?: string }[];
    try {
      responses = await client.sendEmailBatch(WRITTEN_BATCH as unknown as Parameters<ServerClient['sendEmailBatch']>[0]);
    } catch (error) {
      throw this.toProviderError(error as PostmarkErrorShape, insight);
    }
    return recipients.map((recipient, i): RecipientStatus => {
      const response = responses[i];
      if (!response) {
        const error = new ProviderError('no result for this message in the batch answer', { provider: this.name, errorClass: 'ambiguous' });
        return { address: recipient.email, accepted: false, error };
      }
      if (!response.ErrorCode) return { address: recipient.email, accepted: true, messageId: response.MessageID ?? '' };
      // An element carries only its ErrorCode; 100 is Postmark's maintenance (a 503 for a whole call).
      const shaped = { statusCode: response.ErrorCode === MAINTENANCE_ERROR_CODE ? 503 : 422, code: response.ErrorCode, message: response.Message ?? '' };
      return { address: recipient.email, accepted: false, error: this.toProviderError(shaped, {}) };
    });
  }

  async prepare(): Promise<void> {
    this.sdk ??= await importPostmark();
    await this.transport.prepare(this.sdkOptions().useHttps ? 'https:' : 'http:');
  }

  private toProviderError(error: PostmarkErrorShape, insight: TransportInsight): ProviderError {
    const { errorClass, detail } = classifyPostmarkError(error, insight);
    return new ProviderError(detail, {
      provider: this.name,
      errorClass,
      code: error.code || undefined,
      httpStatus: error.statusCode || undefined,
      retryAfterMs: insight.retryAfterMs,
    });
  }

  /** Imported on first use; later calls get it without an await, so a batch goes to fetch at once. */
  private sdk?: typeof import('postmark');
  /** Keep-alive connections shared by this provider's calls. */
  private readonly transport = new HttpTransport();
  /** The SDK's options from the config, worked out once (a bulk run makes a client per call). */
  private sdkOptionsMemo?: ReturnType<typeof clientOptions>;

  private sdkOptions(): ReturnType<typeof clientOptions> {
    return (this.sdkOptionsMemo ??= clientOptions(this.config, this.options));
  }

  /**
   * A client per call, so what its fetch sees belongs to that call. With `writtenBody`, the call
   * is a batch given to the SDK as WRITTEN_BATCH, and that body is sent in its place.
   */
  private createClient({ ServerClient }: typeof import('postmark'), insight: TransportInsight, writtenBody?: Uint8Array): ServerClient {
    const observingFetch = async (input: string | URL, init?: TransportRequest) => {
      try {
        // The stand-in itself is never sent: without its body to send in its place, nothing is.
        if (init?.body === WRITTEN_BATCH_JSON || writtenBody) {
          if (init?.body !== WRITTEN_BATCH_JSON || !writtenBody) throw new TypeError('fetch failed', { cause: Object.assign(new Error('the postmark SDK did not pass the batch on as expected'), { code: BODY_NOT_SENT }) });
          init = { ...init, body: writtenBody };
          writtenBody = undefined;
        }
        const answer = this.transport.fetch(input, init);
        // Not kept while waiting for the answer: a batch's JSON text is large, and one that lives
        // that long is promoted to the old generation, which only a full collection frees.
        init = undefined;
        const response = await answer;
        insight.retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
        return response;
      } catch (error) {
        insight.networkError = error as TransportInsight['networkError'];
        throw error;
      }
    };
    // The SDK reads only the status and the text of what its fetch answers (see TransportResponse).
    const client = new ServerClient(this.config.serverToken, { ...this.sdkOptions(), fetch: observingFetch as unknown as typeof fetch });
    withNativeAsyncRequests(client);
    return client;
  }
}

/**
 * The SDK is CommonJS: Node's import() gives its exports as names and as `default`, the bundle's
 * (scripts/bundle.mjs bundles it into a chunk of its own) only as `default`.
 */
async function importPostmark(): Promise<typeof import('postmark')> {
  const module = await import('postmark');
  return (module as { default?: typeof import('postmark') }).default ?? module;
}

/** Postmark's limit per message, attachments counted in base64. */
export const POSTMARK_MAX_MESSAGE_BYTES = 10_000_000;

export const postmarkDefinition: ProviderDefinition<PostmarkConfig> = {
  type: 'postmark',
  label: 'Postmark',
  configSchema,
  secretKeys: ['serverToken', 'password'],
  // The webhook credentials travel as an Authorization: Basic header.
  derivedSecrets: (config) => (config.webhook ? [Buffer.from(`${config.webhook.username}:${config.webhook.password}`).toString('base64')] : []),
  maxMessageBytes: () => POSTMARK_MAX_MESSAGE_BYTES,
  catalog: postmarkCatalog,
  sdkPackages: ['postmark'],
  // Postmark keeps its own list of inactive addresses (hard bounce, spam complaint, manual): ours follows it.
  deadAddressReason: ({ code }) => (code === INACTIVE_RECIPIENT_CODE ? 'inactive recipient at Postmark (406: hard bounce, spam complaint or manual suppression)' : undefined),
  create: (name, config, options) => new PostmarkProvider(name, config, options),
  webhook: { configKeys: ['webhook'], setup: 'webhook: { username, password } (the credentials in the webhook URL)', load: () => import('./webhooks/postmark.js').then((m) => m.createReceiver) },
};

/** An attachment's content is shown as its size: a preview of a 300 KB file would be 400 KB of base64. */
function withAttachmentsSummarised(body: unknown): unknown {
  const message = body as { Attachments?: { Content: string }[] };
  if (!Array.isArray(message?.Attachments)) return body;
  return { ...message, Attachments: message.Attachments.map((a) => ({ ...a, Content: `(base64, ${Buffer.byteLength(a.Content, 'base64')} bytes)` })) };
}
