import { onlyTheDisplayNameIsWrong, parseAddress } from './address.js';
import { MessageValidationError } from './errors.js';
import type { MessageDraft } from './message.js';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const LINE_BREAK = /[\r\n]/;
/**
 * Headers the adapters set themselves from message fields, or that would change who gets the
 * message or how it is read: setting them by hand would conflict (two idempotency keys, a body
 * declared in another encoding, a Sender or Resent-Bcc the suppression list never saw, SendGrid's
 * X-SMTPAPI, whose "to" adds recipients over its SMTP relay).
 */
const RESERVED_HEADERS = new Set(['from', 'to', 'cc', 'bcc', 'subject', 'reply-to', 'content-type', 'mime-version', 'content-transfer-encoding', 'message-id', 'return-path', 'sender', 'x-smtpapi']);
/** Prefixes of reserved headers: RFC 5322's Resent- block, and penguinmails' own X- headers (idempotency key, tags, campaign). */
const RESERVED_HEADER_PREFIXES = ['resent-', 'x-penguinmails-'];
function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_HEADERS.has(lower) || RESERVED_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix));
}
export const MAX_RECIPIENTS = 50;
/** Characters safe in every header the key is put in (X-PenguinMails-Idempotency-Key, Message-ID). */
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._~:/+=-]{1,200}$/;

/** Checks a message before any provider sees it. Throws MessageValidationError listing every problem. */
export function validateMessage(draft: MessageDraft): void {
  const problems: string[] = [];
  const checkAddress = (field: string, value: string) => {
    if (parseAddress(value)) return;
    // A good address after a name that is not one: say which part, and how to mend it.
    const why = onlyTheDisplayNameIsWrong(value) ? ' (its display name holds ( ) < > [ ] : ; @ \\ , or ": put the name in double quotes)' : '';
    problems.push(`${field}: "${printable(value)}" is not a valid email address${why}`);
  };

  if (!draft.from) problems.push('from: missing sender (use --from or defaults.from in the config)');
  else checkAddress('from', draft.from);
  if (draft.to.length === 0) problems.push('to: at least one recipient is required');
  draft.to.forEach((value, i) => checkAddress(`to[${i}]`, value));
  draft.cc.forEach((value, i) => checkAddress(`cc[${i}]`, value));
  draft.bcc.forEach((value, i) => checkAddress(`bcc[${i}]`, value));
  if (draft.replyTo !== undefined) checkAddress('replyTo', draft.replyTo);
  const total = draft.to.length + draft.cc.length + draft.bcc.length;
  if (total > MAX_RECIPIENTS) {
    problems.push(`to/cc/bcc: ${total} recipients, at most ${MAX_RECIPIENTS} per message (use --recipients for bulk)`);
  }

  if (!draft.subject || draft.subject.trim() === '') problems.push('subject: missing');
  else if (LINE_BREAK.test(draft.subject)) problems.push('subject: contains a line break (CR/LF), which would allow header injection');

  if (!draft.html && !draft.text) problems.push('body: missing (give --html, --html-file, --text or --text-file)');

  for (const header of draft.headers) {
    if (!HEADER_NAME.test(header.name)) problems.push(`header "${printable(header.name)}": not a valid header name`);
    else if (isReservedHeader(header.name)) {
      problems.push(`header "${header.name}": set by penguinmails itself (or with its own option), not by --header`);
    }
    if (LINE_BREAK.test(header.value)) problems.push(`header "${printable(header.name)}": value contains a line break (CR/LF)`);
  }
  draft.tags.forEach((tag, i) => {
    if (tag.trim() === '' || LINE_BREAK.test(tag)) problems.push(`tags[${i}]: empty or contains a line break`);
  });
  if (draft.campaignId !== undefined && (draft.campaignId === '' || LINE_BREAK.test(draft.campaignId))) {
    problems.push('campaign: empty or contains a line break');
  }
  for (const [key, value] of Object.entries(draft.metadata)) {
    if (key === '' || LINE_BREAK.test(key) || LINE_BREAK.test(value)) problems.push(`metadata "${printable(key)}": empty key or line break`);
  }
  if (draft.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(draft.idempotencyKey)) {
    problems.push(`idempotency key "${printable(draft.idempotencyKey.slice(0, 60))}": use 1–200 letters, digits and . _ ~ : / + = - (it goes into message headers)`);
  }

  if (problems.length > 0) throw new MessageValidationError(problems);
}

/** Shows control characters visibly in error messages. */
function printable(value: string): string {
  return value.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}
