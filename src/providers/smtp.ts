import * as z from 'zod/mini';
import '../config/zod.js';
import type { SendMailOptions, Transporter } from 'nodemailer';
import type { Address } from 'nodemailer/lib/mailer/index.js';
import { bareAddress, parseAddress } from '../core/address.js';
import { ProviderError, type ErrorClass } from '../core/errors.js';
import type { EmailMessage } from '../core/message.js';
import { parseByteSize } from '../core/byte-size.js';
import { byteSizeSchema } from '../config/value-schemas.js';
import { commonProviderFields } from './common-config.js';
import { personalise } from '../core/merge.js';
import { IDEMPOTENCY_HEADER, type BulkRecipient, type RecipientStatus, type Provider, type ProviderDefinition, type ProviderOptions, type SendReceipt } from './provider.js';
import { smtpCatalog } from './catalog/smtp.js';

export const SMTP_DEFAULT_MAX_MESSAGE_SIZE = '25MB';

const configSchema = z.strictObject({
  type: z.literal('smtp'),
  host: z.string().check(z.minLength(1, 'missing host')),
  port: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(65535)), 587),
  /** true = TLS from the first byte (port 465); false = STARTTLS when the server offers it. */
  secure: z._default(z.boolean(), false),
  requireTLS: z.optional(z.boolean()),
  /** Never upgrade with STARTTLS (only for local test catchers). */
  ignoreTLS: z.optional(z.boolean()),
  /** Accept self-signed certificates (test servers only). */
  allowSelfSigned: z.optional(z.boolean()),
  auth: z.optional(z.strictObject({ user: z.string().check(z.minLength(1)), pass: z.string() })),
  /** Largest message to hand to this server (SMTP has no fixed limit; servers commonly take 25 MB). */
  maxMessageSize: z._default(byteSizeSchema, SMTP_DEFAULT_MAX_MESSAGE_SIZE),
  ...commonProviderFields,
});
export type SmtpConfig = z.infer<typeof configSchema>;

export const TAGS_HEADER = 'X-PenguinMails-Tags';
export const CAMPAIGN_HEADER = 'X-PenguinMails-Campaign';
export const METADATA_HEADER = 'X-PenguinMails-Metadata';

/**
 * The key as the left part of a Message-ID (RFC 5322 dot-atom-text): characters outside a safe
 * set (dots, colons, `=` itself) become `=XX`, so the result is valid and still one key per id.
 */
export function messageIdLocalPart(key: string): string {
  return key.replace(/[^A-Za-z0-9_~/+-]/g, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/**
 * An address as nodemailer's {name, address}: it then writes the header and the envelope from
 * those two parts, and never parses the text again (validateMessage checked it already).
 */
function mailAddress(input: string): Address | string {
  const parsed = parseAddress(input);
  if (!parsed) return input;
  return parsed.name ? { name: parsed.name, address: parsed.address } : parsed.address;
}

/** SMTP has no tags or tracking: tags, campaign and metadata travel as X- headers. */
export function toNodemailerMail(message: EmailMessage): SendMailOptions {
  const headers: Record<string, string> = {};
  for (const header of message.headers) headers[header.name] = header.value;
  headers[IDEMPOTENCY_HEADER] = message.idempotencyKey;
  if (message.tags.length) headers[TAGS_HEADER] = message.tags.join(', ');
  if (message.campaignId) headers[CAMPAIGN_HEADER] = message.campaignId;
  if (Object.keys(message.metadata).length) {
    headers[METADATA_HEADER] = Object.entries(message.metadata).map(([key, value]) => `${key}=${value}`).join('; ');
  }
  const senderDomain = bareAddress(message.from).split('@')[1] ?? 'penguinmails.local';
  const mail: SendMailOptions = {
    from: mailAddress(message.from),
    to: message.to.map(mailAddress),
    subject: message.subject,
    headers,
    // A Message-ID derived from the idempotency key lets receivers recognise a repeat.
    messageId: `<${messageIdLocalPart(message.idempotencyKey)}@${senderDomain}>`,
  };
  if (message.cc.length) mail.cc = message.cc.map(mailAddress);
  if (message.bcc.length) mail.bcc = message.bcc.map(mailAddress);
  if (message.replyTo) mail.replyTo = mailAddress(message.replyTo);
  if (message.html) mail.html = message.html;
  if (message.text) mail.text = message.text;
  if (message.attachments.length) {
    mail.attachments = message.attachments.map((a) => ({ filename: a.filename, content: a.contentBase64, encoding: 'base64', contentType: a.contentType }));
  }
  return mail;
}

interface SmtpErrorShape extends Error {
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
  rejected?: string[];
  /** EENVELOPE: the refusal of each recipient. */
  rejectedErrors?: SmtpErrorShape[];
  timeoutType?: string;
}

/**
 * The server's reply with its code named once: nodemailer's `response` starts with the code
 * already ("550 5.1.1 user unknown"), and its messages often end with the response.
 */
export function smtpReply(error: Pick<SmtpErrorShape, 'response' | 'message' | 'responseCode'>): string {
  const text = (error.response ?? error.message).trim();
  const code = error.responseCode;
  if (code === undefined || new RegExp(`(^|\\D)${code}(\\D|$)`).test(text)) return text;
  return `${code} ${text}`;
}

export function classifySmtpError(error: SmtpErrorShape): { errorClass: ErrorClass; detail: string } {
  // Every recipient refused: nodemailer's response is the last refusal only; each one is named.
  const refusals = error.rejectedErrors && error.rejectedErrors.length > 1 ? error.rejectedErrors.map(smtpReply).join('; ') : undefined;
  const response = `: ${refusals ?? smtpReply(error)}`;
  const code = error.responseCode;
  switch (error.code) {
    case 'EAUTH':
    case 'ENOAUTH':
      return { errorClass: 'provider-unusable', detail: `authentication failed${response}` };
    case 'ETIMEDOUT':
      // A timeout while connecting or waiting for the greeting happened before hand-over;
      // a timeout later on may be after the server took the message.
      return error.timeoutType === 'SOCKET_TIMEOUT'
        ? { errorClass: 'ambiguous', detail: 'connection went silent mid-transaction; the server may have taken the message' }
        : { errorClass: 'transient', detail: `timed out connecting (${error.timeoutType ?? 'timeout'})` };
    case 'EDNS':
      return { errorClass: 'transient', detail: `cannot resolve the host${response}` };
    case 'ESOCKET':
    case 'ECONNECTION': {
      // nodemailer reports every drop as command CONN, before or after DATA: only a connection
      // that never opened is known not to carry the message.
      const neverConnected = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/.test(error.message) || error.command === 'CONN' && /^connect /.test(error.message);
      return neverConnected
        ? { errorClass: 'transient', detail: `cannot connect: ${error.message}` }
        : { errorClass: 'ambiguous', detail: `connection lost mid-transaction (${error.message}); the server may have taken the message` };
    }
    case 'EREQUIRETLS':
    case 'EQUIRETLS':
    case 'ETLS':
      return { errorClass: 'provider-unusable', detail: `TLS problem${response}` };
  }
  if (code !== undefined) {
    const temporary = code >= 400 && code < 500;
    if (temporary) return { errorClass: 'transient', detail: `temporary failure${response}` };
    if (code === 530 || code === 535) return { errorClass: 'provider-unusable', detail: `authentication required${response}` };
    if (error.command === 'MAIL FROM') return { errorClass: 'provider-unusable', detail: `sender refused${response}` };
    return { errorClass: 'permanent', detail: `refused${response}` };
  }
  if (error.code === 'EENVELOPE' || error.code === 'EMESSAGE') return { errorClass: 'permanent', detail: smtpReply(error) };
  return { errorClass: 'transient', detail: error.message };
}

/**
 * A permanent reply saying the mailbox does not exist: the enhanced status 5.1.1 (bad destination
 * mailbox) or 5.1.10 (null MX), or the usual words for it. Other 5xx replies (policy blocks 5.7.x,
 * a generic "mailbox unavailable") are refusals of this message, not proof the address is dead.
 */
const DEAD_MAILBOX = /\b5\.1\.(?:1|10)\b|user unknown|unknown user|no such (?:user|mailbox|recipient)|(?:mailbox|address|recipient|user) (?:does not exist|not found)/i;

export function smtpDeadAddressReason({ code, message }: { code?: string | number; message: string }): string | undefined {
  if (typeof code !== 'number' || code < 500 || code > 599 || !DEAD_MAILBOX.test(message)) return undefined;
  const enhanced = /\b5\.\d{1,3}\.\d{1,3}\b/.exec(message)?.[0];
  return `user unknown (SMTP ${code}${enhanced ? ` ${enhanced}` : ''})`;
}

class SmtpProvider implements Provider {
  readonly type = 'smtp';
  /** SMTP has no batch API: a "bulk call" is this many messages over the connection pool. */
  readonly maxBulkRecipients = 50;
  private transporter?: Transporter;

  constructor(
    readonly name: string,
    private readonly config: SmtpConfig,
    private readonly options: ProviderOptions,
  ) {}

  previewRequest(message: EmailMessage) {
    const { host, port, secure, auth } = this.config;
    const mail = toNodemailerMail(message);
    if (Array.isArray(mail.attachments)) mail.attachments = mail.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: '(base64)' }));
    return { transport: `smtp://${host}:${port}`, secure, auth: auth ? { user: auth.user, pass: '****' } : undefined, mail };
  }

  /** SMTP has no batch call: one message per recipient over the pooled connections. */
  previewBulkRequest(template: EmailMessage, recipients: BulkRecipient[]) {
    return recipients.map((recipient) => this.previewRequest(personalise(template, recipient)));
  }

  async send(message: EmailMessage): Promise<SendReceipt> {
    const transporter = await this.getTransporter();
    let info: { messageId: string; rejected?: unknown[]; rejectedErrors?: (SmtpErrorShape & { recipient?: string })[] };
    try {
      info = await transporter.sendMail(toNodemailerMail(message));
    } catch (error) {
      throw this.toProviderError(error as SmtpErrorShape);
    }
    const refused: RecipientStatus[] = (info.rejectedErrors ?? []).map((error) => ({
      address: String(error.recipient ?? ''),
      accepted: false,
      error: new ProviderError(error.response ?? error.message, { provider: this.name, errorClass: (error.responseCode ?? 550) >= 500 ? 'permanent' : 'transient', code: error.responseCode }),
    }));
    return { messageId: info.messageId, refused };
  }

  async sendBulk(template: EmailMessage, recipients: BulkRecipient[]): Promise<RecipientStatus[]> {
    const results = await Promise.all(
      recipients.map(async (recipient): Promise<RecipientStatus> => {
        try {
          const receipt = await this.send(personalise(template, recipient));
          return { address: recipient.email, accepted: true, messageId: receipt.messageId };
        } catch (error) {
          return { address: recipient.email, accepted: false, error: error as ProviderError };
        }
      }),
    );
    // Nothing accepted and no recipient-specific verdict: the server itself failed — report it as such.
    const failures = results.filter((r) => !r.accepted);
    if (failures.length === results.length && failures.every((r) => !r.accepted && (r.error.errorClass === 'transient' || r.error.errorClass === 'provider-unusable'))) {
      throw (failures[0] as { error: ProviderError }).error;
    }
    return results;
  }

  private toProviderError(shaped: SmtpErrorShape): ProviderError {
    const { errorClass, detail } = classifySmtpError(shaped);
    return new ProviderError(detail, { provider: this.name, errorClass, code: shaped.responseCode ?? shaped.code });
  }

  async prepare(): Promise<void> {
    await this.getTransporter();
  }

  async close(): Promise<void> {
    this.transporter?.close();
  }

  private async getTransporter(): Promise<Transporter> {
    if (this.transporter) return this.transporter;
    const nodemailer = await import('nodemailer');
    const { host, port, secure, requireTLS, ignoreTLS, allowSelfSigned, auth } = this.config;
    const timeout = this.options.timeoutMs;
    this.transporter = nodemailer.createTransport({
      pool: true,
      maxConnections: 5,
      host,
      port,
      secure,
      requireTLS,
      ignoreTLS,
      auth,
      tls: allowSelfSigned ? { rejectUnauthorized: false } : undefined,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
    return this.transporter;
  }
}

export const smtpDefinition: ProviderDefinition<SmtpConfig> = {
  type: 'smtp',
  label: 'SMTP',
  configSchema,
  secretKeys: ['pass', 'password'],
  maxMessageBytes: (config) => parseByteSize(config.maxMessageSize)!,
  // AUTH LOGIN sends the password in base64, AUTH PLAIN "\0user\0password": a server echoing either must not show it.
  derivedSecrets: (config) => (config.auth ? [Buffer.from(config.auth.pass).toString('base64'), Buffer.from(`\0${config.auth.user}\0${config.auth.pass}`).toString('base64')] : []),
  catalog: smtpCatalog,
  sdkPackages: ['nodemailer'],
  deadAddressReason: smtpDeadAddressReason,
  create: (name, config, options) => new SmtpProvider(name, config, options),
};
