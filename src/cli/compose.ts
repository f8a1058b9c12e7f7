import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/validate.js';
import { splitAddressList } from '../core/address.js';
import { checkPlatformBody, draftFromBody, PLATFORM_BODY_FIELDS, type PlatformBody } from '../app/platform-body.js';
import { UserError } from '../core/errors.js';
import type { Attachment, MessageDraft } from '../core/message.js';
import { readTextInput } from './read-input.js';

export type Payload = PlatformBody;

/** Reads the `--payload` text: one JSON object, checked field by field (see checkPlatformBody). */
export function parsePayload(text: string, source: string): Payload {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UserError(`--payload ${source}: not valid JSON (${(error as Error).message})`, { hint: 'give the platform API body as one JSON object (see send --help)' });
  }
  const checked = checkPlatformBody(raw);
  if (checked.ok) return checked.body;
  const problems = checked.problems.map((p) => `${p.path}: ${p.message}`);
  throw new UserError(`--payload ${source}:\n  ${problems.join('\n  ')}`, { hint: `nothing was sent; the fields are ${PLATFORM_BODY_FIELDS.join(', ')}` });
}

function parsePairs(values: string[] | undefined, flag: string, separator: string): [string, string][] {
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

async function readAttachments(paths: string[] | undefined): Promise<Attachment[]> {
  return Promise.all(
    (paths ?? []).map(async (file) => {
      let content: Buffer;
      try {
        content = await readFile(file);
      } catch (error) {
        throw new UserError(`--attach: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`);
      }
      const filename = path.basename(file);
      return { filename, contentType: CONTENT_TYPES[path.extname(filename).toLowerCase()] ?? 'application/octet-stream', contentBase64: content.toString('base64') };
    }),
  );
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
  draft.attachments = await readAttachments(flags.attach);
  return { draft, forceProvider: flags.provider ?? payload?.provider };
}
