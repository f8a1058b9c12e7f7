import * as z from 'zod/mini';
import '../config/zod.js';
import { ProviderError, type ErrorClass } from '../core/errors.js';
import type { EmailMessage } from '../core/message.js';
import { parseRetryAfter } from '../core/retry-after.js';
import { baseUrlSchema, commonProviderFields } from './common-config.js';
import { watchAnswersByContentType, watchHttpAnswers, type AnswerWatch, type HttpAnswer } from './http-answers.js';
import { bulkRecipientKey } from '../core/bulk-key.js';
import { escapeHtml, MERGE_FIELD, mergeValue, oneLine } from '../core/merge.js';
import { constant, JsonBytes } from './json-bytes.js';
import { IDEMPOTENCY_HEADER, type BulkRecipient, type RecipientStatus, type Provider, type ProviderDefinition, type ProviderOptions, type SendReceipt } from './provider.js';
import { mailgunCatalog } from './catalog/mailgun.js';
import { requireWithoutFetchGlobals } from './require-without-fetch.js';
import { PreparedBodies } from './prepared-bodies.js';
// A type only: the module itself is imported by the first bulk call (getClient).
import type { FilePartOptions, MultipartBody } from './multipart-body.js';

const configSchema = z.strictObject({
  type: z.literal('mailgun'),
  apiKey: z.string().check(z.minLength(1, 'missing API key')),
  domain: z.string().check(z.minLength(1, 'missing sending domain')),
  region: z._default(z.enum(['us', 'eu']), 'us'),
  baseUrl: z.optional(baseUrlSchema),
  /** Delivery webhooks: Mailgun's HTTP webhook signing key (not the API key). */
  webhookSigningKey: z.optional(z.string().check(z.minLength(1, 'missing webhook signing key'))),
  ...commonProviderFields,
});
export type MailgunConfig = z.infer<typeof configSchema>;

export const MAILGUN_MAX_TAGS = 3;
const REGION_URL = { us: 'https://api.mailgun.net', eu: 'https://api.eu.mailgun.net' } as const;

/** A file of the form (given to Node's FormData as a typed Blob, to MultipartBody as is). */
export interface MailgunFile {
  data: Buffer;
  filename: string;
  contentType: string;
}

/** Form fields of Mailgun's POST /v3/{domain}/messages. Arrays become repeated fields. */
export type MailgunForm = Record<string, string | string[] | MailgunFile[]>;

type MailgunClient = { messages: { create(domain: string, data: never): Promise<{ id?: string; status?: number }> } };
/** Which form a call's client builds (see getClient). */
type CallKind = 'single' | 'bulk';

/**
 * A bulk call's form. Its two large fields, `to` and `recipient-variables` (~120 KB a call), are
 * kept as UTF-8 bytes, and the form holds BYTES_GIVEN_ASIDE in their place: mailgun.js passes the
 * fields' strings on to the form it builds (a MultipartBody, see getClient), which writes these
 * bytes instead. As strings they were decoded and encoded again, and outlived a collection or two
 * while their batch waited for a call slot: ~20 MB of a 100,000-row run promoted to V8's old
 * generation, and one full collection more (#21).
 */
interface BulkForm {
  form: MailgunForm;
  bytes: Map<string, Buffer>;
}
/** A field's value in a BulkForm's form when its bytes are given aside: any non-empty string (mailgun.js drops empty ones). */
const BYTES_GIVEN_ASIDE = '(given as bytes)';
const FIELDS_GIVEN_AS_BYTES = ['to', 'recipient-variables'];

/**
 * Builds the form fields. Every value is a non-empty string: mailgun.js silently drops falsy
 * values (so `false` is sent as "no") and cannot encode objects (so variables are JSON text).
 */
export function toMailgunForm(message: EmailMessage): { form: MailgunForm; warnings: string[] } {
  const warnings: string[] = [];
  const form: MailgunForm = { from: message.from, to: [...message.to], subject: message.subject };
  if (message.cc.length) form.cc = [...message.cc];
  if (message.bcc.length) form.bcc = [...message.bcc];
  if (message.html) form.html = message.html;
  if (message.text) form.text = message.text;
  if (message.replyTo) form['h:Reply-To'] = message.replyTo;
  for (const header of message.headers) form[`h:${header.name}`] = header.value;
  form[`h:${IDEMPOTENCY_HEADER}`] = message.idempotencyKey;

  const tags = message.tags.slice(0, MAILGUN_MAX_TAGS);
  const extraTags = message.tags.slice(MAILGUN_MAX_TAGS);
  if (tags.length) form['o:tag'] = tags;
  if (extraTags.length) {
    form['v:extra_tags'] = JSON.stringify(extraTags);
    warnings.push(`mailgun: at most ${MAILGUN_MAX_TAGS} tags per message; ${extraTags.map((t) => `"${t}"`).join(', ')} kept in v:extra_tags`);
  }
  if (message.trackOpens !== undefined) form['o:tracking-opens'] = message.trackOpens ? 'yes' : 'no';
  if (message.trackLinks !== undefined) form['o:tracking-clicks'] = message.trackLinks ? 'yes' : 'no';
  if (message.campaignId) form['v:campaign_id'] = message.campaignId;
  for (const [key, value] of Object.entries(message.metadata)) {
    if (value === '') warnings.push(`mailgun: metadata "${key}" is empty and was not sent`);
    else form[`v:${key}`] = value;
  }
  if (message.attachments.length) {
    form.attachment = message.attachments.map((a): MailgunFile => ({ data: Buffer.from(a.contentBase64, 'base64'), filename: a.filename, contentType: a.contentType }));
  }
  return { form, warnings };
}

interface MailgunErrorShape {
  type?: string;
  status: number;
  message: string;
  details?: unknown;
}

const NETWORK_BEFORE_SEND = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_NETWORK']);
const NETWORK_MAYBE_SENT = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE']);

/**
 * mailgun.js reports network failures as status 400 with the errno as message: look at the message
 * first. Status 0 means no answer came (the adapter sees the answers below the SDK).
 */
export function classifyMailgunError(error: MailgunErrorShape): { errorClass: ErrorClass; detail: string } {
  const details = typeof error.details === 'string' ? error.details : JSON.stringify(error.details ?? '');
  if (NETWORK_BEFORE_SEND.has(error.message)) return { errorClass: 'transient', detail: `network error ${error.message}` };
  if (NETWORK_MAYBE_SENT.has(error.message)) {
    return { errorClass: 'ambiguous', detail: `${error.message}: no answer from Mailgun after sending the request` };
  }
  if (error.message === 'Incorrect url') return { errorClass: 'provider-unusable', detail: 'the base URL is not the Mailgun API (answered "Mailgun Magnificent API")' };
  const { status } = error;
  // No answer, for a reason not known to come before the hand-over: the request may have gone.
  if (status === 0) return { errorClass: 'ambiguous', detail: `connection lost (${error.message}) after the request may have been sent` };
  if (status === 401 || status === 403) return { errorClass: 'provider-unusable', detail: `HTTP ${status} ${details || error.message} (check apiKey and region)` };
  if (status === 404) return { errorClass: 'provider-unusable', detail: `HTTP 404 ${details} (check domain and region)` };
  if (status === 429) return { errorClass: 'transient', detail: 'rate limited (HTTP 429)' };
  if (status >= 500) return { errorClass: 'transient', detail: `Mailgun HTTP ${status}: ${details || error.message}` };
  return { errorClass: 'permanent', detail: `HTTP ${status}: ${details || error.message}` };
}

/**
 * How a merge field of each part of the message becomes a Mailgun recipient variable: each part
 * has its own copy of the value, one line in the subject, HTML-escaped in the HTML body. The
 * prefixes keep the names apart: any name is a valid merge field, so a suffix scheme (`name`,
 * `name__html`) could collide with another field, and an unprefixed one with RECIPIENT_KEY_VARIABLE.
 */
const PART_VARIABLES = [
  { part: 'subject', prefix: 's_', render: oneLine },
  { part: 'html', prefix: 'h_', render: escapeHtml },
  { part: 'text', prefix: 't_', render: (value: string) => value },
] as const;
/** The recipient's part of its idempotency key (see recipientKeyHeader). */
const RECIPIENT_KEY_VARIABLE = 'key';

/**
 * The idempotency header of a batch and what each recipient's `key` variable holds: the message
 * key is written once, in the header, and each recipient adds its digest — unless the message key
 * has a '%', which Mailgun could read as part of a placeholder: then each carries its whole key.
 */
function recipientKeyHeader(messageKey: string): { header: string; keyOf: (recipient: BulkRecipient) => string } {
  const placeholder = `%recipient.${RECIPIENT_KEY_VARIABLE}%`;
  if (messageKey.includes('%')) return { header: placeholder, keyOf: (recipient) => bulkRecipientKey(messageKey, recipient.digest) };
  return { header: bulkRecipientKey(messageKey, placeholder), keyOf: (recipient) => recipient.digest };
}

interface BatchVariable {
  name: string;
  field: string;
  render: (value: string) => string;
}

/** A template's parts with `%recipient.x%` placeholders, the variables they use, and their names as JSON. */
interface RecipientVariableTemplate {
  parts: Partial<Record<'subject' | 'html' | 'text', string>>;
  variables: BatchVariable[];
  /** Each variable's `"name":"`, encoded once. */
  names: Buffer[];
}

/** The template's parts with `%recipient.x%` placeholders, and the variables they use. */
function toRecipientVariableTemplate(template: EmailMessage): RecipientVariableTemplate {
  const parts: Partial<Record<'subject' | 'html' | 'text', string>> = {};
  const variables = new Map<string, BatchVariable>();
  for (const { part, prefix, render } of PART_VARIABLES) {
    parts[part] = template[part]?.replace(MERGE_FIELD, (_m, field: string) => {
      const name = prefix + field;
      if (!variables.has(name)) variables.set(name, { name, field, render });
      return `%recipient.${name}%`;
    });
  }
  const batchVariables = [...variables.values()];
  return { parts, variables: batchVariables, names: batchVariables.map(({ name }) => constant(`${JSON.stringify(name)}:"`)) };
}

/**
 * `recipient-variables` as JSON text in UTF-8, written out directly: building an object keyed by
 * a thousand addresses and then serialising it took longer than the call it was for. Written as
 * bytes (see JsonBytes), and sent as bytes (see BulkForm): a string built piece by piece is a
 * rope V8 must walk to flatten before it can be encoded.
 */
function recipientVariablesJson(recipients: BulkRecipient[], { variables, names }: RecipientVariableTemplate, keyOf: (recipient: BulkRecipient) => string): Buffer {
  // One buffer to write every batch in, copied out below: ~100 KB a batch, sized once.
  const out = (variablesScratch ??= new JsonBytes(0));
  out.reset(recipients.length * (60 + 40 * variables.length));
  out.raw(OPEN_OBJECT);
  for (let i = 0; i < recipients.length; i++) {
    const recipient = recipients[i];
    out.raw(i ? NEXT_RECIPIENT : FIRST_RECIPIENT);
    out.string(recipient.email);
    out.raw(OPEN_VARIABLES);
    for (let j = 0; j < variables.length; j++) {
      out.raw(names[j]);
      out.string(variables[j].render(mergeValue(recipient, variables[j].field)));
      out.raw(END_VARIABLE);
    }
    out.raw(KEY_VARIABLE);
    out.string(keyOf(recipient));
    out.raw(CLOSE_VARIABLES);
  }
  out.raw(CLOSE_OBJECT);
  return Buffer.from(out.bytes());
}

let variablesScratch: JsonBytes | undefined;
const [OPEN_OBJECT, FIRST_RECIPIENT, NEXT_RECIPIENT, OPEN_VARIABLES, END_VARIABLE, CLOSE_VARIABLES, CLOSE_OBJECT] = ['{', '"', ',"', '":{', '",', '"}', '}'].map(constant);
const KEY_VARIABLE = constant(`"${RECIPIENT_KEY_VARIABLE}":"`);

export const MAILGUN_MAX_RECIPIENTS = 1000;
/** Mailgun's limit per message, attachments counted in base64. */
export const MAILGUN_MAX_MESSAGE_BYTES = 25_000_000;

class MailgunProvider implements Provider {
  readonly type = 'mailgun';
  readonly maxBulkRecipients = MAILGUN_MAX_RECIPIENTS;
  constructor(
    readonly name: string,
    private readonly config: MailgunConfig,
    private readonly options: ProviderOptions,
  ) {}

  private get baseUrl(): string {
    return (this.config.baseUrl ?? REGION_URL[this.config.region]).replace(/\/+$/, '');
  }

  previewRequest(message: EmailMessage) {
    return this.preview(toMailgunForm(message).form);
  }

  previewBulkRequest(template: EmailMessage, recipients: BulkRecipient[]) {
    const { form, bytes } = this.bulkForm(template, recipients);
    const shown = { ...form };
    for (const [name, utf8] of bytes) shown[name] = utf8.toString();
    return this.preview(shown);
  }

  private preview(form: MailgunForm) {
    const shownForm = { ...form };
    if (Array.isArray(form.attachment)) {
      shownForm.attachment = (form.attachment as MailgunFile[]).map((a) => `${a.filename} (${a.contentType}, ${a.data.length} bytes)`);
    }
    return {
      method: 'POST',
      url: `${this.baseUrl}/v3/${this.config.domain}/messages`,
      headers: { Authorization: 'Basic ****', 'Content-Type': 'multipart/form-data' },
      form: shownForm,
    };
  }

  async send(message: EmailMessage): Promise<SendReceipt> {
    const { form, warnings } = toMailgunForm(message);
    return { messageId: await this.post(form, 'single'), warnings };
  }

  /**
   * One call with `recipient-variables`: Mailgun sends each To its own copy. It answers with one id
   * for the whole call; per-recipient rejections only show up later in events.
   */
  async sendBulk(template: EmailMessage, recipients: BulkRecipient[]): Promise<RecipientStatus[]> {
    const { form, bytes } = this.preparedForms.take(template, recipients) ?? this.bulkForm(template, recipients);
    const id = await this.post(form, 'bulk', bytes);
    return recipients.map((r) => ({ address: r.email, accepted: true, messageId: id }));
  }

  prepareBulk(template: EmailMessage, recipients: BulkRecipient[]): void {
    this.preparedForms.keep(template, recipients, this.bulkForm(template, recipients));
  }

  private readonly preparedForms = new PreparedBodies<BulkForm>();

  /**
   * The variable template of the last template, made once for all the batches of a run (a run's
   * batches share its template object). Made again for each batch, its list of variables was a
   * new array each time, and one came in a shape (map) V8's optimised recipientVariablesJson had
   * not seen ("wrong map" in --trace-deopt): it was compiled again, ~12 ms of compiling (#21).
   */
  private variableTemplate?: { template: EmailMessage; made: RecipientVariableTemplate };

  private variableTemplateOf(template: EmailMessage): RecipientVariableTemplate {
    if (this.variableTemplate?.template !== template) this.variableTemplate = { template, made: toRecipientVariableTemplate(template) };
    return this.variableTemplate.made;
  }

  private bulkForm(template: EmailMessage, recipients: BulkRecipient[]): BulkForm {
    const variableTemplate = this.variableTemplateOf(template);
    const { parts } = variableTemplate;
    const { form } = toMailgunForm({ ...template, to: [], cc: [], bcc: [], subject: parts.subject!, html: parts.html, text: parts.text });
    const { header, keyOf } = recipientKeyHeader(template.idempotencyKey);
    form[`h:${IDEMPOTENCY_HEADER}`] = header;
    for (const name of FIELDS_GIVEN_AS_BYTES) form[name] = BYTES_GIVEN_ASIDE;
    const bytes = new Map<string, Buffer>([
      // One comma-separated field, as Mailgun accepts: a thousand repeated fields cost the SDK a
      // multipart part each.
      ['to', Buffer.from(recipients.map((r) => r.email).join(', '))],
      ['recipient-variables', recipientVariablesJson(recipients, variableTemplate, keyOf)],
    ]);
    return { form, bytes };
  }

  /** A bulk run's set-up: its calls are all bulk calls. */
  async prepare(): Promise<void> {
    await this.getClient('bulk');
  }

  /** Built once each: a mailgun.js client sets up some forty API wrappers. */
  private readonly clients = new Map<CallKind, Promise<MailgunClient>>();

  /**
   * Without `useFetch`, the SDK's HTTP client goes over node:http(s), where post watches the
   * answers. A single message's form is Node's built-in FormData; a bulk call's is MultipartBody,
   * which writes its bytes once (see multipart-body.ts: ~1 ms of CPU less per bulk call, #21).
   */
  private getClient(kind: CallKind): Promise<MailgunClient> {
    let client = this.clients.get(kind);
    if (!client) {
      const form = kind === 'bulk' ? import('./multipart-body.js').then((module) => this.bodyNoted(module.MultipartBody)) : Promise.resolve(FormData);
      client = form.then((Form) => {
        const Mailgun = requireWithoutFetchGlobals('mailgun.js') as typeof import('mailgun.js').default;
        return new Mailgun(Form as never).client({ username: 'api', key: this.config.apiKey, url: this.baseUrl, timeout: this.options.timeoutMs });
      });
      this.clients.set(kind, client);
    }
    return client;
  }

  /** The bulk client's last form, noted as mailgun.js makes it (see callWatched). */
  private lastBody?: MultipartBody;
  /** The bytes of the bulk call being made (see BulkForm), set only while the SDK builds its form. */
  private bytesOfCall?: Map<string, Buffer>;

  /**
   * MultipartBody, each of whose forms this adapter notes as the SDK makes it, and which writes the
   * fields given aside as bytes (see BulkForm).
   */
  private bodyNoted(Body: typeof MultipartBody) {
    const adapter = this; // the SDK calls the constructor, where `this` is the form
    return class NotedBody extends Body {
      constructor() {
        super();
        adapter.lastBody = this;
      }

      override append(name: string, value: unknown, file?: FilePartOptions): void {
        if (value !== BYTES_GIVEN_ASIDE || file !== undefined || !FIELDS_GIVEN_AS_BYTES.includes(name)) return super.append(name, value, file);
        const utf8 = adapter.bytesOfCall?.get(name);
        // Only an SDK that built its form after the call had begun (see callWatched) gets here
        // without them: the call fails before anything is sent, rather than send the stand-in.
        if (!utf8) throw new Error(`mailgun.js built its form later than this adapter expects: the field "${name}" has no bytes`);
        this.appendText(name, utf8);
      }
    };
  }

  /**
   * The SDK's call, its answer watched below the SDK: mailgun.js keeps the status and body of a
   * failed call but drops the headers, and a 429's Retry-After says when to try again.
   *
   * A bulk call's request is known by its form's boundary, which mailgun.js makes as the call
   * starts (before its first await): that keeps async_hooks off for a bulk run (see
   * watchAnswersByContentType). Node's FormData, a single message's, has no boundary until axios
   * sends it, so that call runs in an AsyncLocalStorage context.
   */
  private callWatched(client: MailgunClient, form: MailgunForm, kind: CallKind, watch: AnswerWatch, bytes?: Map<string, Buffer>): Promise<{ id?: string }> {
    // The SDK's message type is a union keyed on template/html/text; our form has the same fields.
    const create = () => client.messages.create(this.config.domain, form as never);
    if (kind === 'single') return watchHttpAnswers(watch, create);
    this.lastBody = undefined;
    this.bytesOfCall = bytes;
    let call: Promise<{ id?: string }>;
    try {
      call = create();
    } finally {
      this.bytesOfCall = undefined;
    }
    const body = this.lastBody as MultipartBody | undefined;
    this.lastBody = undefined;
    // Without it (an SDK that makes its form later), the answer's status still comes in its error.
    if (!body) return call;
    const unwatch = watchAnswersByContentType(watch, body.getHeaders()['content-type']);
    return call.finally(unwatch);
  }

  private async post(form: MailgunForm, kind: CallKind, bytes?: Map<string, Buffer>): Promise<string> {
    const client = await this.getClient(kind);
    // Node's FormData takes files as Blobs: typed ones, as mailgun.js builds untyped Blobs from Buffers.
    if (kind === 'single' && Array.isArray(form.attachment)) {
      form = { ...form, attachment: (form.attachment as MailgunFile[]).map((file) => ({ data: new Blob([file.data], { type: file.contentType }), filename: file.filename })) as never };
    }
    const watch: AnswerWatch = {};
    let result: { id?: string };
    try {
      result = await this.callWatched(client, form, kind, watch, bytes);
    } catch (error) {
      const shaped = error as MailgunErrorShape;
      if (shaped?.type !== 'MailgunAPIError') throw error;
      throw this.toProviderError(shaped, watch.answer);
    }
    if (!result.id) throw new ProviderError('Mailgun answered without a message id', { provider: this.name, errorClass: 'ambiguous' });
    return result.id;
  }

  private toProviderError(error: MailgunErrorShape, answer: HttpAnswer | undefined): ProviderError {
    const { errorClass, detail } = classifyMailgunError(asAnswered(error, answer));
    const retryAfterMs = answer?.status === 429 ? parseRetryAfter(answer.headers['retry-after']) : undefined;
    return new ProviderError(detail, { provider: this.name, errorClass, httpStatus: answer?.status, code: error.message || undefined, retryAfterMs });
  }
}

/**
 * The SDK's error, told with what was seen below it: a call that got no answer has status 0 (the
 * SDK says 400, as if Mailgun had refused it), and an empty body no details (the SDK puts its HTTP
 * client's "Request failed with status code 503" there).
 */
function asAnswered(error: MailgunErrorShape, answer: HttpAnswer | undefined): MailgunErrorShape {
  if (!answer) return { ...error, status: 0 };
  const filler = error.details === `Request failed with status code ${error.status}`;
  return filler ? { ...error, details: '' } : error;
}

export const mailgunDefinition: ProviderDefinition<MailgunConfig> = {
  type: 'mailgun',
  label: 'Mailgun',
  configSchema,
  secretKeys: ['apiKey', 'webhookSigningKey'],
  // mailgun.js sends the key as HTTP Basic `api:<key>`: a proxy that echoes the header must not show it.
  derivedSecrets: (config) => [Buffer.from(`api:${config.apiKey}`).toString('base64')],
  maxMessageBytes: () => MAILGUN_MAX_MESSAGE_BYTES,
  catalog: mailgunCatalog,
  sdkPackages: ['mailgun.js'],
  create: (name, config, options) => new MailgunProvider(name, config, options),
  webhook: { configKeys: ['webhookSigningKey'], setup: 'webhookSigningKey (Sending → Webhooks → HTTP webhook signing key)', load: () => import('./webhooks/mailgun.js').then((m) => m.createReceiver) },
};
