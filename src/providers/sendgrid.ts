import type { KeyObject } from 'node:crypto';
import * as z from 'zod/mini';
import '../config/zod.js';
import { parseAddress } from '../core/address.js';
import { bulkRecipientKey } from '../core/bulk-key.js';
import { ProviderError, type ErrorClass } from '../core/errors.js';
import { escapeHtml, MERGE_FIELD, mergeValue, personaliserFor } from '../core/merge.js';
import type { EmailMessage } from '../core/message.js';
import { baseUrlSchema, commonProviderFields } from './common-config.js';
import { IDEMPOTENCY_HEADER, type BulkRecipient, type Provider, type ProviderDefinition, type ProviderOptions, type RecipientStatus, type SendReceipt } from './provider.js';
import { sendgridCatalog } from './catalog/sendgrid.js';

/**
 * The signed Event Webhook's verification key as SendGrid shows it (base64 of the DER public
 * key), or as a PEM block.
 */
export function sendgridPublicKey(value: string): KeyObject {
  const trimmed = value.trim();
  // node:crypto is fetched here, not imported: every command that reads a config loads this adapter (#21).
  const { createPublicKey } = process.getBuiltinModule('node:crypto');
  return trimmed.includes('-----BEGIN') ? createPublicKey(trimmed) : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
}

const publicKeySchema = z.string().check(
  z.minLength(1, 'missing public key'),
  z.refine((value) => {
    // A ${VAR} not set is reported when a webhook arrives (see the webhook route), not here.
    if (value.includes('${')) return true;
    try {
      return sendgridPublicKey(value).asymmetricKeyType === 'ec';
    } catch {
      return false;
    }
  }, 'not an ECDSA public key: paste the "Verification Key" of the signed Event Webhook (base64)'),
);

const configSchema = z.strictObject({
  type: z.literal('sendgrid'),
  apiKey: z.string().check(z.minLength(1, 'missing API key')),
  baseUrl: z.optional(baseUrlSchema),
  /** Delivery webhooks: the signed Event Webhook's verification key. */
  webhookPublicKey: z.optional(publicKeySchema),
  ...commonProviderFields,
});
export type SendGridConfig = z.infer<typeof configSchema>;

const DEFAULT_BASE_URL = 'https://api.sendgrid.com';
const MAIL_SEND_PATH = '/v3/mail/send';
export const SENDGRID_MAX_CATEGORIES = 10;
/** Personalizations (and recipients in all of them) per Mail Send call. */
export const SENDGRID_MAX_RECIPIENTS = 1000;
/** SendGrid's limit per message: 30 MB, attachments counted in base64. */
export const SENDGRID_MAX_MESSAGE_BYTES = 30_000_000;
/** Per personalization: at most 100 substitutions, 10,000 bytes of them in all. */
const MAX_SUBSTITUTIONS = 100;
const MAX_SUBSTITUTION_BYTES = 10_000;

interface SendGridAddress {
  email: string;
  name?: string;
}

interface Personalization {
  to: SendGridAddress[];
  cc?: SendGridAddress[];
  bcc?: SendGridAddress[];
  subject?: string;
  headers?: Record<string, string>;
  substitutions?: Record<string, string>;
}

/** The JSON body of SendGrid's POST /v3/mail/send. */
export interface SendGridMail {
  personalizations: Personalization[];
  from: SendGridAddress;
  reply_to?: SendGridAddress;
  subject: string;
  /** text/plain first, then text/html: SendGrid refuses the other order. */
  content: { type: 'text/plain' | 'text/html'; value: string }[];
  attachments?: { content: string; filename: string; type: string; disposition: 'attachment' }[];
  categories?: string[];
  custom_args?: Record<string, string>;
  headers?: Record<string, string>;
  tracking_settings?: { open_tracking?: { enable: boolean }; click_tracking?: { enable: boolean; enable_text: boolean } };
}

function toAddress(input: string): SendGridAddress {
  const parsed = parseAddress(input);
  if (!parsed) return { email: input };
  return parsed.name ? { email: parsed.address, name: parsed.name } : { email: parsed.address };
}

function contentOf(parts: Pick<EmailMessage, 'text' | 'html'>): SendGridMail['content'] {
  const content: SendGridMail['content'] = [];
  if (parts.text) content.push({ type: 'text/plain', value: parts.text });
  if (parts.html) content.push({ type: 'text/html', value: parts.html });
  return content;
}

/**
 * The message as SendGrid's JSON, one personalization for its recipients. At most ten categories:
 * the others are kept in custom_args.tags (and a warning says so); campaign and metadata travel as
 * custom_args, which SendGrid returns in its events.
 */
export function toSendGridMail(message: EmailMessage): { body: SendGridMail; warnings: string[] } {
  const warnings: string[] = [];
  const personalization: Personalization = { to: message.to.map(toAddress) };
  if (message.cc.length) personalization.cc = message.cc.map(toAddress);
  if (message.bcc.length) personalization.bcc = message.bcc.map(toAddress);
  const body: SendGridMail = { personalizations: [personalization], from: toAddress(message.from), subject: message.subject, content: contentOf(message) };
  if (message.replyTo) body.reply_to = toAddress(message.replyTo);

  const customArgs: Record<string, string> = { ...message.metadata };
  if (message.campaignId) customArgs.campaign_id = message.campaignId;
  const categories = message.tags.slice(0, SENDGRID_MAX_CATEGORIES);
  const extraTags = message.tags.slice(SENDGRID_MAX_CATEGORIES);
  if (categories.length) body.categories = categories;
  if (extraTags.length) {
    customArgs.tags = extraTags.join(',');
    warnings.push(`sendgrid: at most ${SENDGRID_MAX_CATEGORIES} categories per message; ${extraTags.map((t) => `"${t}"`).join(', ')} kept in custom_args.tags`);
  }
  if (Object.keys(customArgs).length) body.custom_args = customArgs;

  const headers: Record<string, string> = {};
  for (const header of message.headers) headers[header.name] = header.value;
  headers[IDEMPOTENCY_HEADER] = message.idempotencyKey;
  body.headers = headers;

  const tracking: NonNullable<SendGridMail['tracking_settings']> = {};
  if (message.trackOpens !== undefined) tracking.open_tracking = { enable: message.trackOpens };
  if (message.trackLinks !== undefined) tracking.click_tracking = { enable: message.trackLinks, enable_text: message.trackLinks };
  if (Object.keys(tracking).length) body.tracking_settings = tracking;

  if (message.attachments.length) {
    body.attachments = message.attachments.map((a) => ({ content: a.contentBase64, filename: a.filename, type: a.contentType, disposition: 'attachment' }));
  }
  return { body, warnings };
}

/**
 * How the merge fields of a bulk template become SendGrid substitutions: the subject is filled in
 * per personalization; in the bodies `{{field}}` becomes `{{h_field}}` (HTML, value escaped) or
 * `{{t_field}}` (text), whose values each personalization carries. Any literal `{{x}}` of the
 * template was itself a merge field and has been replaced, so no other text can match a tag.
 */
const BODY_PARTS = [
  { part: 'html', prefix: 'h_', render: escapeHtml },
  { part: 'text', prefix: 't_', render: (value: string) => value },
] as const;

interface Substitution {
  tag: string;
  field: string;
  render: (value: string) => string;
}

function toSubstitutionTemplate(template: EmailMessage): { parts: Pick<EmailMessage, 'html' | 'text'>; substitutions: Substitution[] } {
  const parts: Pick<EmailMessage, 'html' | 'text'> = {};
  const substitutions = new Map<string, Substitution>();
  for (const { part, prefix, render } of BODY_PARTS) {
    parts[part] = template[part]?.replace(MERGE_FIELD, (_m, field: string) => {
      const tag = `{{${prefix}${field}}}`;
      if (!substitutions.has(tag)) substitutions.set(tag, { tag, field, render });
      return tag;
    });
  }
  return { parts, substitutions: [...substitutions.values()] };
}

/** A recipient whose copy SendGrid cannot personalise: it goes to the next provider. */
function substitutionProblem(values: Record<string, string>): string | undefined {
  const count = Object.keys(values).length;
  if (count > MAX_SUBSTITUTIONS) return `${count} substitutions (SendGrid takes ${MAX_SUBSTITUTIONS} per recipient)`;
  let bytes = 0;
  for (const [tag, value] of Object.entries(values)) bytes += Buffer.byteLength(tag) + Buffer.byteLength(value);
  if (bytes > MAX_SUBSTITUTION_BYTES) return `merge values of ${bytes} bytes (SendGrid takes ${MAX_SUBSTITUTION_BYTES} per recipient)`;
  return undefined;
}

interface BulkPlan {
  body: SendGridMail;
  /** For each personalization, the index of its recipient in the call's list. */
  sentIndexes: number[];
  /** Recipients left out of the call, by index. */
  leftOut: Map<number, string>;
}

/**
 * One personalization per recipient: each gets its own copy with its own subject, substitutions
 * and idempotency header (personalization headers override the message's).
 */
function toBulkPlan(template: EmailMessage, recipients: BulkRecipient[]): BulkPlan {
  const { parts, substitutions } = toSubstitutionTemplate(template);
  const { body } = toSendGridMail({ ...template, to: [], cc: [], bcc: [], html: parts.html, text: parts.text });
  const personaliser = personaliserFor(template);
  const personalizations: Personalization[] = [];
  const sentIndexes: number[] = [];
  const leftOut = new Map<number, string>();
  recipients.forEach((recipient, index) => {
    const personalization: Personalization = {
      to: [{ email: recipient.email }],
      subject: personaliser.texts(recipient).subject,
      headers: { [IDEMPOTENCY_HEADER]: bulkRecipientKey(template.idempotencyKey, recipient.digest) },
    };
    if (substitutions.length) {
      const values: Record<string, string> = {};
      for (const { tag, field, render } of substitutions) values[tag] = render(mergeValue(recipient, field));
      const problem = substitutionProblem(values);
      if (problem) return void leftOut.set(index, problem);
      personalization.substitutions = values;
    }
    personalizations.push(personalization);
    sentIndexes.push(index);
  });
  body.personalizations = personalizations;
  return { body, sentIndexes, leftOut };
}

/** What the SDK's errors carry: an HTTP answer (ResponseError) or axios's network error. */
export interface SendGridErrorShape {
  /** HTTP status (ResponseError), or the errno / axios code of a network failure. */
  code?: number | string;
  message?: string;
  response?: { headers?: Record<string, unknown>; body?: unknown };
}

interface SendGridFieldError {
  message?: string;
  field?: string | null;
}

const NETWORK_BEFORE_SEND = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const SENDER_IDENTITY = /sender identity/i;

export function fieldErrors(body: unknown): SendGridFieldError[] {
  const errors = (body as { errors?: unknown })?.errors;
  return Array.isArray(errors) ? (errors as SendGridFieldError[]) : [];
}

function describeFieldErrors(errors: SendGridFieldError[], body: unknown): string {
  if (errors.length === 0) return typeof body === 'string' ? body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200) : '';
  return errors.map((e) => (e.field ? `${e.field}: ${e.message}` : String(e.message))).join('; ');
}

/** X-RateLimit-Reset is the epoch second the limit resets at. */
export function rateLimitResetMs(headers: Record<string, unknown> | undefined, now: number = Date.now()): number | undefined {
  const reset = Number(headers?.['x-ratelimit-reset']);
  if (!Number.isFinite(reset) || reset <= 0) return undefined;
  return Math.max(0, reset * 1000 - now);
}

export function classifySendGridError(error: SendGridErrorShape): { errorClass: ErrorClass; detail: string; httpStatus?: number } {
  if (typeof error.code !== 'number') {
    const code = error.code ?? 'unknown';
    if (NETWORK_BEFORE_SEND.has(code)) return { errorClass: 'transient', detail: `network error ${code}: ${error.message}` };
    // ECONNABORTED (the request timeout), ECONNRESET, socket hang up: SendGrid may have the message.
    return { errorClass: 'ambiguous', detail: `${code}: no answer from SendGrid after sending the request (${error.message})` };
  }
  const status = error.code;
  const errors = fieldErrors(error.response?.body);
  const detail = describeFieldErrors(errors, error.response?.body);
  const answered = (errorClass: ErrorClass, text: string) => ({ errorClass, detail: text, httpStatus: status });
  if (status === 401) return answered('provider-unusable', `HTTP 401 bad API key${detail ? `: ${detail}` : ''}`);
  if (status === 403) {
    const why = errors.some((e) => SENDER_IDENTITY.test(e.message ?? '')) ? 'the From address is not a verified Sender Identity' : 'the API key may not send mail';
    return answered('provider-unusable', `HTTP 403 ${why}${detail ? `: ${detail}` : ''}`);
  }
  if (status === 429) return answered('transient', 'rate limited (HTTP 429)');
  if (status >= 500) return answered('transient', `SendGrid HTTP ${status}${detail ? `: ${detail}` : ''}`);
  if (status === 400 || status === 413) return answered('permanent', `HTTP ${status}${status === 413 ? ' message too large' : ''}${detail ? `: ${detail}` : ''}`);
  // 404 and the like: a base URL that is not SendGrid's API.
  return answered('provider-unusable', `unexpected HTTP ${status}${detail ? `: ${detail}` : ''}`);
}

/** "personalizations.3.to.0.email" → 3: the 400 is about that recipient only. */
function personalizationIndex(field: string | null | undefined): number | undefined {
  const match = /^personalizations\.(\d+)\./.exec(field ?? '');
  return match ? Number(match[1]) : undefined;
}

/** The SDK's Client class (its types declare only the default instance). */
type SendGridClient = typeof import('@sendgrid/client');

class SendGridProvider implements Provider {
  readonly type = 'sendgrid';
  readonly maxBulkRecipients = SENDGRID_MAX_RECIPIENTS;
  private client?: Promise<SendGridClient>;

  constructor(
    readonly name: string,
    private readonly config: SendGridConfig,
    private readonly options: ProviderOptions,
  ) {}

  private get baseUrl(): string {
    return (this.config.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  }

  previewRequest(message: EmailMessage) {
    return this.preview(toSendGridMail(message).body);
  }

  previewBulkRequest(template: EmailMessage, recipients: BulkRecipient[]) {
    return this.preview(toBulkPlan(template, recipients).body);
  }

  private preview(body: SendGridMail) {
    const shown = body.attachments ? { ...body, attachments: body.attachments.map((a) => ({ ...a, content: `(base64, ${Buffer.byteLength(a.content, 'base64')} bytes)` })) } : body;
    return { method: 'POST', url: `${this.baseUrl}${MAIL_SEND_PATH}`, headers: { Authorization: 'Bearer ****', 'Content-Type': 'application/json' }, body: shown };
  }

  async send(message: EmailMessage): Promise<SendReceipt> {
    const { body, warnings } = toSendGridMail(message);
    return { messageId: await this.post(body), warnings };
  }

  /**
   * One call with a personalization per recipient. SendGrid takes or refuses the call as a whole:
   * a 400 whose every error names a personalization refuses those recipients only, and the others
   * (not sent) are retried without them.
   */
  async sendBulk(template: EmailMessage, recipients: BulkRecipient[]): Promise<RecipientStatus[]> {
    const { body, sentIndexes, leftOut } = toBulkPlan(template, recipients);
    const statuses: RecipientStatus[] = new Array(recipients.length);
    for (const [index, problem] of leftOut) {
      const error = new ProviderError(`SendGrid cannot personalise this copy: ${problem}`, { provider: this.name, errorClass: 'provider-unusable' });
      statuses[index] = { address: recipients[index].email, accepted: false, error };
    }
    if (sentIndexes.length) {
      try {
        const messageId = await this.post(body);
        for (const index of sentIndexes) statuses[index] = { address: recipients[index].email, accepted: true, messageId };
      } catch (error) {
        const refused = error instanceof ProviderError ? this.refusedRecipients(error, sentIndexes) : undefined;
        if (!refused) throw error;
        for (const index of sentIndexes) {
          const own = refused.get(index);
          const notSent = new ProviderError('not sent: SendGrid refused the call for other recipients in it', { provider: this.name, errorClass: 'transient', httpStatus: 400 });
          statuses[index] = { address: recipients[index].email, accepted: false, error: own ?? notSent };
        }
      }
    }
    return statuses;
  }

  /** A 400 that names only personalizations: the refusal of each of those recipients, by list index. */
  private refusedRecipients(error: ProviderError & { fieldErrors?: SendGridFieldError[] }, sentIndexes: number[]): Map<number, ProviderError> | undefined {
    if (error.httpStatus !== 400 || !error.fieldErrors?.length) return undefined;
    const refused = new Map<number, ProviderError>();
    for (const fieldError of error.fieldErrors) {
      const personalization = personalizationIndex(fieldError.field);
      if (personalization === undefined || personalization >= sentIndexes.length) return undefined;
      const text = `HTTP 400: ${fieldError.field}: ${fieldError.message}`;
      refused.set(sentIndexes[personalization], new ProviderError(text, { provider: this.name, errorClass: 'permanent', httpStatus: 400 }));
    }
    return refused;
  }

  async prepare(): Promise<void> {
    await this.getClient();
  }

  /** The SDK's Client, one per provider (the package's default export is a shared singleton). */
  private getClient(): Promise<SendGridClient> {
    this.client ??= import('@sendgrid/client').then((sdk) => {
      const { Client } = (sdk as unknown as { default: { Client: new () => SendGridClient } }).default;
      const client = new Client();
      client.setApiKey(this.config.apiKey);
      // setApiKey resets the base URL to SendGrid's: ours goes after it. The SDK has no timeout
      // of its own; axios takes this one, and a call with no answer ends as ECONNABORTED.
      const defaults = { baseUrl: this.baseUrl, timeout: this.options.timeoutMs };
      client.setDefaultRequest(defaults as never);
      return client;
    });
    return this.client;
  }

  /** POST /v3/mail/send: 202 with an empty body, the id in X-Message-Id. */
  private async post(body: SendGridMail): Promise<string> {
    const client = await this.getClient();
    let headers: Record<string, unknown>;
    try {
      const [response] = await client.request({ method: 'POST', url: MAIL_SEND_PATH, body });
      headers = response.headers as Record<string, unknown>;
    } catch (error) {
      throw this.toProviderError(error as SendGridErrorShape);
    }
    const messageId = headers['x-message-id'];
    if (typeof messageId !== 'string' || !messageId) throw new ProviderError('SendGrid accepted the message without an X-Message-Id', { provider: this.name, errorClass: 'ambiguous' });
    return messageId;
  }

  private toProviderError(error: SendGridErrorShape): ProviderError {
    const { errorClass, detail, httpStatus } = classifySendGridError(error);
    const retryAfterMs = httpStatus === 429 ? rateLimitResetMs(error.response?.headers) : undefined;
    const code = typeof error.code === 'string' ? error.code : undefined;
    const providerError = new ProviderError(detail, { provider: this.name, errorClass, httpStatus, code, retryAfterMs });
    // Kept for sendBulk, which reads which personalizations a 400 names.
    return Object.assign(providerError, { fieldErrors: fieldErrors(error.response?.body) });
  }
}

export const sendgridDefinition: ProviderDefinition<SendGridConfig> = {
  type: 'sendgrid',
  label: 'SendGrid',
  configSchema,
  secretKeys: ['apiKey'],
  maxMessageBytes: () => SENDGRID_MAX_MESSAGE_BYTES,
  catalog: sendgridCatalog,
  sdkPackages: ['@sendgrid/client'],
  create: (name, config, options) => new SendGridProvider(name, config, options),
  webhook: { configKeys: ['webhookPublicKey'], setup: 'webhookPublicKey (the signed Event Webhook\'s verification key)', load: () => import('./webhooks/sendgrid.js').then((m) => m.createReceiver) },
};
