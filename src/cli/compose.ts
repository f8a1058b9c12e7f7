import { createReadStream, type Stats } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/types.js';
import { splitAddressList } from '../core/address.js';
import { draftFromBody, type PlatformBody } from '../app/platform-body.js';
import { base64Length, formatByteSize } from '../core/byte-size.js';
import { UserError } from '../core/errors.js';
import type { Attachment, MessageDraft } from '../core/message.js';
import { largestSizeLimit, type SizeLimit } from '../providers/message-size.js';
import { readTextInput } from './read-input.js';

/** A payload's fields that are well formed (see payload-check.ts). */
export type Payload = Partial<PlatformBody>;

export function parsePairs(values: string[] | undefined, flag: string, separator: string): [string, string][] {
  return (values ?? []).map((value) => {
    const at = value.indexOf(separator);
    if (at <= 0) throw new UserError(`${flag} "${value}": expected ${separator === '=' ? 'key=value' : '"Name: value"'}`, { hint: separator === '=' ? `for example ${flag} plan=pro` : `for example ${flag} "X-Campaign: spring"` });
    return [value.slice(0, at).trim(), value.slice(at + 1).trim()];
  });
}

const CONTENT_TYPES: Record<string, string> = {
  '.pdf': 'application/pdf', '.txt': 'text/plain', '.csv': 'text/csv', '.html': 'text/html', '.json': 'application/json',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.zip': 'application/zip',
};

/**
 * Reads the --attach files. Each is measured (stat) before it is read: a file, or files together,
 * larger than the largest message a configured provider takes is refused unread (a 60 MB file
 * used to be read whole, and sent). What has no size beforehand (a pipe) is read up to that limit.
 */
async function readAttachments(paths: string[] | undefined, limit: SizeLimit): Promise<Attachment[]> {
  const files = paths ?? [];
  const sizes = await Promise.all(files.map((file) => measureAttachment(file, limit)));
  const total = sizes.reduce((sum, size) => sum + base64Length(size), 0);
  if (files.length > 1 && total > limit.bytes) {
    throw new UserError(`--attach: the files together are ${formatByteSize(total)} in base64, more than ${describeLimit(limit)}`, { hint: 'drop some of the attachments, or send links to them instead; nothing was sent' });
  }
  return Promise.all(
    files.map(async (file) => {
      const content = await readAttachment(file, limit);
      const filename = path.basename(file);
      return { filename, contentType: CONTENT_TYPES[path.extname(filename).toLowerCase()] ?? 'application/octet-stream', contentBase64: content.toString('base64') };
    }),
  );
}

const ATTACHMENT_TOO_LARGE_HINT = 'drop the attachment, or send a link to it instead; nothing was sent';

function describeLimit(limit: SizeLimit): string {
  return `the largest message a configured provider takes (${limit.provider}: ${formatByteSize(limit.bytes)}, attachments counted in base64)`;
}

function cannotRead(file: string, error: unknown): UserError {
  return new UserError(`--attach: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`, { hint: 'check the path; nothing was sent' });
}

function tooLarge(file: string, bytes: number, limit: SizeLimit): UserError {
  return new UserError(`--attach ${file}: ${formatByteSize(bytes)} (${formatByteSize(base64Length(bytes))} in base64) is more than ${describeLimit(limit)}`, { hint: ATTACHMENT_TOO_LARGE_HINT });
}

/** The file's size in bytes; 0 for what has none beforehand (a pipe, a device). */
async function measureAttachment(file: string, limit: SizeLimit): Promise<number> {
  let info: Stats;
  try {
    // Fetched here, not imported: node:fs/promises (and the readline and watcher modules it loads)
    // cost ~1.7 ms of start-up, which only a message with attachments needs to pay (#21).
    info = await process.getBuiltinModule('node:fs/promises').stat(file);
  } catch (error) {
    throw cannotRead(file, error);
  }
  if (info.isDirectory()) throw cannotRead(file, { code: 'EISDIR' });
  if (!info.isFile()) return 0;
  if (base64Length(info.size) > limit.bytes) throw tooLarge(file, info.size, limit);
  return info.size;
}

/** Reads the file, stopping as soon as it proves larger than the limit (a file that grew, a pipe). */
async function readAttachment(file: string, limit: SizeLimit): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let read = 0;
  try {
    for await (const chunk of createReadStream(file)) {
      chunks.push(chunk as Buffer);
      read += (chunk as Buffer).length;
      if (base64Length(read) > limit.bytes) throw tooLarge(file, read, limit);
    }
  } catch (error) {
    throw error instanceof UserError ? error : cannotRead(file, error);
  }
  return Buffer.concat(chunks, read);
}

export interface SendFlags {
  to?: string[];
  from?: string;
  cc?: string[];
  bcc?: string[];
  replyTo?: string;
  subject?: string;
  html?: string;
  htmlFile?: string;
  text?: string;
  textFile?: string;
  type?: 'transactional' | 'marketing';
  priority?: 'normal' | 'critical';
  provider?: string;
  tag?: string[];
  campaign?: string;
  metadata?: string[];
  header?: string[];
  attach?: string[];
  trackOpens?: boolean;
  trackLinks?: boolean;
  idempotencyKey?: string;
}

const splitAddresses = (values: string[] | undefined) => values?.flatMap(splitAddressList);

/** Builds the message from flags, over the payload body when one is given, over config defaults. */
export async function composeDraft(flags: SendFlags, payload: Payload | undefined, config: Config): Promise<{ draft: MessageDraft; forceProvider?: string }> {
  for (const [inline, file] of [['html', 'htmlFile'], ['text', 'textFile']] as const) {
    if (flags[inline] !== undefined && flags[file] !== undefined) {
      throw new UserError(`--${inline} and --${inline}-file both give the ${inline === 'html' ? 'HTML' : 'text'} body`, { hint: `use one of them` });
    }
  }
  const html = flags.htmlFile ? await readTextInput(flags.htmlFile, '--html-file') : flags.html;
  const text = flags.textFile ? await readTextInput(flags.textFile, '--text-file') : flags.text;
  const draft = draftFromBody(payload ?? {}, config.defaults);
  // Flags win over the body's fields; headers and metadata are added to the body's.
  const overrides: Partial<MessageDraft> = {
    from: flags.from,
    to: splitAddresses(flags.to),
    cc: splitAddresses(flags.cc),
    bcc: splitAddresses(flags.bcc),
    replyTo: flags.replyTo,
    subject: flags.subject,
    html,
    text,
    type: flags.type,
    priority: flags.priority,
    tags: flags.tag,
    campaignId: flags.campaign,
    trackOpens: flags.trackOpens,
    trackLinks: flags.trackLinks,
    idempotencyKey: flags.idempotencyKey,
  };
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) Object.assign(draft, { [key]: value });
  draft.headers.push(...parsePairs(flags.header, '--header', ':').map(([name, value]) => ({ name, value })));
  Object.assign(draft.metadata, Object.fromEntries(parsePairs(flags.metadata, '--metadata', '=')));
  draft.attachments = await readAttachments(flags.attach, largestSizeLimit(config.providers));
  return { draft, forceProvider: flags.provider ?? payload?.provider };
}
