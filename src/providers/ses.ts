import * as z from 'zod/mini';
import '../config/zod.js';
import type { SESv2Client, SendBulkEmailCommandInput, SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { parseAddress } from '../core/address.js';
import { bulkRecipientKey } from '../core/bulk-key.js';
import { ProviderError, type ErrorClass } from '../core/errors.js';
import { escapeHtml, MERGE_FIELD, mergeValue, oneLine } from '../core/merge.js';
import type { EmailMessage } from '../core/message.js';
import { baseUrlSchema, commonProviderFields } from './common-config.js';
import { IDEMPOTENCY_HEADER, type BulkRecipient, type Provider, type ProviderDefinition, type ProviderOptions, type RecipientStatus, type SendReceipt } from './provider.js';
import { sesCatalog } from './catalog/ses.js';

const configSchema = z.strictObject({
  type: z.literal('ses'),
  region: z.string().check(z.regex(/^[a-z]{2}(?:-[a-z]+)+-\d+$/, 'not an AWS region (e.g. us-east-1, eu-west-1)')),
  accessKeyId: z.string().check(z.minLength(1, 'missing access key id')),
  secretAccessKey: z.string().check(z.minLength(1, 'missing secret access key')),
  /** SES configuration set: event publishing, dedicated IP pools, suppression overrides. */
  configurationSet: z.optional(z.string().check(z.minLength(1))),
  /** Endpoint override (tests, VPC endpoints); http only for loopback. */
  baseUrl: z.optional(baseUrlSchema),
  /** Delivery events through SNS: the topics accepted, and (tests, gateways) where else SNS's certificates may come from. */
  webhook: z.optional(
    z.strictObject({
      topicArns: z
        .array(z.string().check(z.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$/, 'not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)')))
        .check(z.minLength(1, 'give the ARN of at least one SNS topic')),
      snsBaseUrl: z.optional(baseUrlSchema),
    }),
  ),
  ...commonProviderFields,
});
export type SesConfig = z.infer<typeof configSchema>;

/** Destinations per SendBulkEmail call. */
export const SES_MAX_BULK_ENTRIES = 50;
/** SES v2's limit per message, attachments counted in base64. */
export const SES_MAX_MESSAGE_BYTES = 40_000_000;
const SEND_EMAIL_PATH = '/v2/email/outbound-emails';
const SEND_BULK_EMAIL_PATH = '/v2/email/outbound-bulk-emails';

type MessageTag = { Name: string; Value: string };

/** SES tag names and values: letters, digits, `_` and `-`, at most 256 characters. */
function tagText(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256) || '_';
}

/**
 * Tags, campaign and metadata as SES EmailTags (returned in its event publishing): a tag `x`
 * becomes `x=true`, the campaign `campaign_id=…`, metadata `key=value`. Characters SES does not
 * take become `_`, and a warning says which.
 */
export function toEmailTags(message: Pick<EmailMessage, 'tags' | 'campaignId' | 'metadata'>): { tags: MessageTag[]; warnings: string[] } {
  const pairs: [string, string][] = [...message.tags.map((tag): [string, string] => [tag, 'true'])];
  if (message.campaignId) pairs.push(['campaign_id', message.campaignId]);
  pairs.push(...Object.entries(message.metadata));
  const warnings: string[] = [];
  const tags = pairs.map(([name, value]) => {
    const tag = { Name: tagText(name), Value: tagText(value) };
    if (tag.Name !== name || tag.Value !== value) warnings.push(`ses: tag ${name}=${value} sent as ${tag.Name}=${tag.Value} (SES tags take letters, digits, _ and -)`);
    return tag;
  });
  return { tags, warnings };
}

/**
 * SES takes addresses as 7-bit text: a display name with other characters goes as an RFC 2047
 * encoded word (`Pingüino <a@x>` → `=?UTF-8?B?UGluZ8O8aW5v?= <a@x>`).
 */
export function sesAddress(input: string): string {
  const parsed = parseAddress(input);
  if (!parsed?.name || /^[\x20-\x7e]*$/.test(parsed.name)) return input;
  return `=?UTF-8?B?${Buffer.from(parsed.name).toString('base64')}?= <${parsed.address}>`;
}

function headersOf(message: Pick<EmailMessage, 'headers'>): { Name: string; Value: string }[] {
  return message.headers.map((h) => ({ Name: h.name, Value: h.value }));
}

function attachmentsOf(message: Pick<EmailMessage, 'attachments'>) {
  return message.attachments.map((a) => ({ FileName: a.filename, ContentType: a.contentType, ContentDisposition: 'ATTACHMENT' as const, RawContent: Buffer.from(a.contentBase64, 'base64') }));
}

/** SendEmail with Simple content: subject, text and HTML, headers (with the idempotency key), attachments. */
export function toSendEmailInput(message: EmailMessage, config: Pick<SesConfig, 'configurationSet'>): { input: SendEmailCommandInput; warnings: string[] } {
  const { tags, warnings } = toEmailTags(message);
  const body: NonNullable<NonNullable<SendEmailCommandInput['Content']>['Simple']>['Body'] = {};
  if (message.text) body.Text = { Data: message.text, Charset: 'UTF-8' };
  if (message.html) body.Html = { Data: message.html, Charset: 'UTF-8' };
  const simple: NonNullable<NonNullable<SendEmailCommandInput['Content']>['Simple']> = {
    Subject: { Data: message.subject, Charset: 'UTF-8' },
    Body: body,
    Headers: [...headersOf(message), { Name: IDEMPOTENCY_HEADER, Value: message.idempotencyKey }],
  };
  if (message.attachments.length) simple.Attachments = attachmentsOf(message);
  const input: SendEmailCommandInput = {
    FromEmailAddress: sesAddress(message.from),
    Destination: {
      ToAddresses: message.to.map(sesAddress),
      ...(message.cc.length ? { CcAddresses: message.cc.map(sesAddress) } : {}),
      ...(message.bcc.length ? { BccAddresses: message.bcc.map(sesAddress) } : {}),
    },
    Content: { Simple: simple },
  };
  if (message.replyTo) input.ReplyToAddresses = [sesAddress(message.replyTo)];
  if (tags.length) input.EmailTags = tags;
  if (config.configurationSet) input.ConfigurationSetName = config.configurationSet;
  if (message.trackOpens !== undefined || message.trackLinks !== undefined) {
    warnings.push('ses: open and click tracking are set by the configuration set, not per message; --track-opens/--track-links not sent');
  }
  return { input, warnings };
}

/**
 * How `{{field}}` merge fields become an SES inline template: each part's fields are renamed
 * `s_N` (subject), `h_N` (HTML) and `t_N` (text), N counting the distinct fields of that part, so
 * that any field name (`first.name` would be a Handlebars path) is a plain variable; each entry's
 * ReplacementTemplateData holds its values, made one-line for the subject and HTML-escaped for
 * the HTML (SES does not escape what it substitutes).
 */
const TEMPLATE_PARTS = [
  { part: 'subject', prefix: 's_', render: oneLine },
  { part: 'html', prefix: 'h_', render: escapeHtml },
  { part: 'text', prefix: 't_', render: (value: string) => value },
] as const;

interface TemplateVariable {
  name: string;
  field: string;
  render: (value: string) => string;
}

export function toSesTemplate(template: Pick<EmailMessage, 'subject' | 'html' | 'text'>): { content: { Subject: string; Html?: string; Text?: string }; variables: TemplateVariable[] } {
  const variables: TemplateVariable[] = [];
  const translate = (text: string, prefix: string, render: (value: string) => string) => {
    const names = new Map<string, string>();
    return text.replace(MERGE_FIELD, (_m, field: string) => {
      let name = names.get(field);
      if (!name) {
        name = `${prefix}${names.size}`;
        names.set(field, name);
        variables.push({ name, field, render });
      }
      return `{{${name}}}`;
    });
  };
  const content: { Subject: string; Html?: string; Text?: string } = { Subject: '' };
  for (const { part, prefix, render } of TEMPLATE_PARTS) {
    const text = template[part];
    if (text === undefined) continue;
    const translated = translate(text, prefix, render);
    if (part === 'subject') content.Subject = translated;
    else if (part === 'html') content.Html = translated;
    else content.Text = translated;
  }
  return { content, variables };
}

/** SendBulkEmail: one inline template, one entry per recipient with its values and idempotency key. */
export function toSendBulkEmailInput(template: EmailMessage, recipients: BulkRecipient[], config: Pick<SesConfig, 'configurationSet'>): SendBulkEmailCommandInput {
  const { content, variables } = toSesTemplate(template);
  const { tags } = toEmailTags(template);
  const defaults = Object.fromEntries(variables.map((v) => [v.name, '']));
  const defaultTemplate: NonNullable<NonNullable<SendBulkEmailCommandInput['DefaultContent']>['Template']> = { TemplateContent: content, TemplateData: JSON.stringify(defaults) };
  if (template.headers.length) defaultTemplate.Headers = headersOf(template);
  if (template.attachments.length) defaultTemplate.Attachments = attachmentsOf(template);
  const input: SendBulkEmailCommandInput = {
    FromEmailAddress: sesAddress(template.from),
    DefaultContent: { Template: defaultTemplate },
    BulkEmailEntries: recipients.map((recipient) => ({
      Destination: { ToAddresses: [recipient.email] },
      ReplacementEmailContent: { ReplacementTemplate: { ReplacementTemplateData: JSON.stringify(Object.fromEntries(variables.map((v) => [v.name, v.render(mergeValue(recipient, v.field))]))) } },
      ReplacementHeaders: [{ Name: IDEMPOTENCY_HEADER, Value: bulkRecipientKey(template.idempotencyKey, recipient.digest) }],
    })),
  };
  if (template.replyTo) input.ReplyToAddresses = [sesAddress(template.replyTo)];
  if (tags.length) input.DefaultEmailTags = tags;
  if (config.configurationSet) input.ConfigurationSetName = config.configurationSet;
  return input;
}

/** What the SDK throws: a service exception named by x-amzn-ErrorType, or a network error. */
export interface SesErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

/** MessageRejected is the provider's problem when SES refuses an identity it has not verified (From, or a sandbox recipient). */
const UNVERIFIED_IDENTITY = /not verified|failed the check|unverified/i;
const UNUSABLE = new Set([
  'MailFromDomainNotVerifiedException',
  'SendingPausedException',
  'AccountSuspendedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredTokenException',
  'AccessDeniedException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'NotFoundException',
]);
const THROTTLED = new Set(['TooManyRequestsException', 'LimitExceededException', 'ThrottlingException', 'Throttling']);
const NETWORK_BEFORE_SEND = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export function classifySesError(error: SesErrorShape): { errorClass: ErrorClass; detail: string } {
  const status = error.$metadata?.httpStatusCode;
  const name = error.name ?? 'Error';
  const text = `${name}${error.message ? `: ${error.message}` : ''}`;
  if (status === undefined || status === 0) {
    if (error.code && NETWORK_BEFORE_SEND.has(error.code)) return { errorClass: 'transient', detail: `network error ${error.code}: ${error.message}` };
    // node-http-handler's connection timeout: the request never left.
    if (name === 'TimeoutError' && /did not establish a connection/i.test(error.message ?? '')) return { errorClass: 'transient', detail: 'no connection to SES within the time allowed' };
    return { errorClass: 'ambiguous', detail: `no answer from SES after sending the request (${error.code ?? name}: ${error.message})` };
  }
  if (name === 'MessageRejected') {
    return UNVERIFIED_IDENTITY.test(error.message ?? '') ? { errorClass: 'provider-unusable', detail: `identity not verified: ${text}` } : { errorClass: 'permanent', detail: text };
  }
  if (UNUSABLE.has(name)) return { errorClass: 'provider-unusable', detail: text };
  if (THROTTLED.has(name) || status === 429) return { errorClass: 'transient', detail: text };
  if (status >= 500 || error.$fault === 'server') return { errorClass: 'transient', detail: `SES HTTP ${status}: ${text}` };
  if (status === 401 || status === 403 || status === 404) return { errorClass: 'provider-unusable', detail: `HTTP ${status} ${text} (check region, credentials and endpoint)` };
  return { errorClass: 'permanent', detail: `HTTP ${status} ${text}` };
}

/** BulkEmailEntryResults' Status, read in the same taxonomy as the errors of a whole call. */
const ENTRY_STATUS_CLASS: Record<string, ErrorClass> = {
  MAIL_FROM_DOMAIN_NOT_VERIFIED: 'provider-unusable',
  CONFIGURATION_SET_NOT_FOUND: 'provider-unusable',
  TEMPLATE_NOT_FOUND: 'provider-unusable',
  ACCOUNT_SUSPENDED: 'provider-unusable',
  INVALID_SENDING_POOL_NAME: 'provider-unusable',
  ACCOUNT_SENDING_PAUSED: 'provider-unusable',
  CONFIGURATION_SET_SENDING_PAUSED: 'provider-unusable',
  ACCOUNT_THROTTLED: 'transient',
  ACCOUNT_DAILY_QUOTA_EXCEEDED: 'transient',
  TRANSIENT_FAILURE: 'transient',
  // "SES was unable to process the request": not sent, so another try is safe.
  FAILED: 'transient',
  INVALID_PARAMETER: 'permanent',
};

export function classifyBulkEntry(status: string, error: string | undefined): { errorClass: ErrorClass; detail: string } {
  const detail = `${status}${error ? `: ${error}` : ''}`;
  if (status === 'MESSAGE_REJECTED') {
    return UNVERIFIED_IDENTITY.test(error ?? '') ? { errorClass: 'provider-unusable', detail: `identity not verified: ${detail}` } : { errorClass: 'permanent', detail };
  }
  return { errorClass: ENTRY_STATUS_CLASS[status] ?? 'ambiguous', detail };
}

class SesProvider implements Provider {
  readonly type = 'ses';
  readonly maxBulkRecipients = SES_MAX_BULK_ENTRIES;
  private sdk?: Promise<{ client: SESv2Client; module: typeof import('@aws-sdk/client-sesv2') }>;

  constructor(
    readonly name: string,
    private readonly config: SesConfig,
    private readonly options: ProviderOptions,
  ) {}

  private get endpoint(): string {
    return (this.config.baseUrl ?? `https://email.${this.config.region}.amazonaws.com`).replace(/\/+$/, '');
  }

  previewRequest(message: EmailMessage) {
    return this.preview(SEND_EMAIL_PATH, toSendEmailInput(message, this.config).input);
  }

  previewBulkRequest(template: EmailMessage, recipients: BulkRecipient[]) {
    return this.preview(SEND_BULK_EMAIL_PATH, toSendBulkEmailInput(template, recipients, this.config));
  }

  private preview(path: string, input: SendEmailCommandInput | SendBulkEmailCommandInput) {
    return {
      method: 'POST',
      url: `${this.endpoint}${path}`,
      headers: { Authorization: 'AWS4-HMAC-SHA256 Credential=****', 'Content-Type': 'application/json' },
      body: JSON.parse(JSON.stringify(input, (key, value) => (key === 'RawContent' ? `(base64, ${(value as { data?: number[] }).data?.length ?? 0} bytes)` : value))),
    };
  }

  async send(message: EmailMessage): Promise<SendReceipt> {
    const { input, warnings } = toSendEmailInput(message, this.config);
    const { client, module } = await this.getSdk();
    let messageId: string | undefined;
    try {
      messageId = (await client.send(new module.SendEmailCommand(input))).MessageId;
    } catch (error) {
      throw this.toProviderError(error as SesErrorShape);
    }
    if (!messageId) throw new ProviderError('SES answered without a MessageId', { provider: this.name, errorClass: 'ambiguous' });
    return { messageId, warnings };
  }

  /** SendBulkEmail answers 200 even when entries fail: every BulkEmailEntryResult is checked, in order. */
  async sendBulk(template: EmailMessage, recipients: BulkRecipient[]): Promise<RecipientStatus[]> {
    const { client, module } = await this.getSdk();
    let results: { Status?: string; Error?: string; MessageId?: string }[];
    try {
      results = (await client.send(new module.SendBulkEmailCommand(toSendBulkEmailInput(template, recipients, this.config)))).BulkEmailEntryResults ?? [];
    } catch (error) {
      throw this.toProviderError(error as SesErrorShape);
    }
    return recipients.map((recipient, i): RecipientStatus => {
      const result = results[i];
      if (result?.Status === 'SUCCESS' && result.MessageId) return { address: recipient.email, accepted: true, messageId: result.MessageId };
      const { errorClass, detail } = result ? classifyBulkEntry(result.Status ?? 'unknown', result.Error) : { errorClass: 'ambiguous' as const, detail: 'no result for this entry in the bulk answer' };
      return { address: recipient.email, accepted: false, error: new ProviderError(detail, { provider: this.name, errorClass, code: result?.Status }) };
    });
  }

  async prepare(): Promise<void> {
    await this.getSdk();
  }

  /**
   * One client per provider. The SDK's own retries are off (`maxAttempts: 1`): the failover policy
   * decides. `throwOnRequestTimeout` makes a request with no answer fail (without it this SDK
   * version only logs a warning and keeps waiting).
   */
  private getSdk() {
    // The SDK warns on stderr, once per process, that its releases from 2027 need Node 22: news
    // for whoever upgrades the dependency, not for someone sending mail. Set to "false" to see it.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.sdk ??= import('@aws-sdk/client-sesv2').then((module) => ({
      module,
      client: new module.SESv2Client({
        region: this.config.region,
        credentials: { accessKeyId: this.config.accessKeyId, secretAccessKey: this.config.secretAccessKey },
        ...(this.config.baseUrl ? { endpoint: this.endpoint } : {}),
        maxAttempts: 1,
        requestHandler: { requestTimeout: this.options.timeoutMs, connectionTimeout: this.options.timeoutMs, throwOnRequestTimeout: true },
      }),
    }));
    return this.sdk;
  }

  private toProviderError(error: SesErrorShape): ProviderError {
    if (!error || typeof error !== 'object') throw error;
    const { errorClass, detail } = classifySesError(error);
    return new ProviderError(detail, { provider: this.name, errorClass, code: error.$metadata?.httpStatusCode ? error.name : error.code ?? error.name, httpStatus: error.$metadata?.httpStatusCode || undefined });
  }
}

export const sesDefinition: ProviderDefinition<SesConfig> = {
  type: 'ses',
  label: 'Amazon SES',
  configSchema,
  secretKeys: ['accessKeyId', 'secretAccessKey'],
  maxMessageBytes: () => SES_MAX_MESSAGE_BYTES,
  catalog: sesCatalog,
  sdkPackages: ['@aws-sdk/client-sesv2'],
  create: (name, config, options) => new SesProvider(name, config, options),
  webhook: { configKeys: ['webhook'], setup: 'webhook: { topicArns: [<SNS topic ARN>] }', load: () => import('./webhooks/ses.js').then((m) => m.createReceiver) },
};
