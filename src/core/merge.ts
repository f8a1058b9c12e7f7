import type { EmailMessage } from './message.js';
import { bulkRecipientKey, type BulkRecipient } from './bulk-key.js';
import { closestMatch } from './suggest.js';

/** `{{ name }}` merge fields in subject, HTML and text. */
export const MERGE_FIELD = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;
/** The same, for `split`: the captured names land at the odd indexes. */
const MERGE_FIELD_SPLITTER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/;

/*
 * The expressions these functions use are made once, here: a regular expression literal makes a
 * new RegExp object each time it is evaluated, and a bulk run calls them for every row (three such
 * objects a row were ~8 % of a 100,000-row run's allocations, and so of its young collections).
 */
const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const HTML_SPECIAL = /[&<>"']/;
const HTML_SPECIALS = /[&<>"']/g;
export function escapeHtml(value: string): string {
  return HTML_SPECIAL.test(value) ? value.replace(HTML_SPECIALS, (ch) => HTML_ESCAPES[ch]) : value;
}

const LINE_BREAK = /[\r\n]/;
const LINE_BREAKS = /[\r\n]+/g;
/** A merge value in a header line: line breaks become spaces, so a value cannot add a header. */
export function oneLine(value: string): string {
  return LINE_BREAK.test(value) ? value.replace(LINE_BREAKS, ' ') : value;
}

export interface MergeRecipient {
  email: string;
  fields: Record<string, string>;
}

/** The value of a merge field for one recipient: `{{email}}` is the address, a missing field is empty. */
export function mergeValue(recipient: MergeRecipient, name: string): string {
  // Own fields only: `{{toString}}` must not find Object.prototype's.
  if (Object.hasOwn(recipient.fields, name)) return recipient.fields[name];
  return name === 'email' ? recipient.email : '';
}

/** A text split at its merge fields: literal text at the even indexes, field names at the odd ones. */
export function mergePieces(text: string): string[] {
  return text.split(MERGE_FIELD_SPLITTER);
}

/** A text split at its merge fields once, to be filled in for many recipients. */
export class MergeText {
  /** Literal text at the even indexes, field names at the odd ones. */
  private readonly pieces: string[];

  constructor(
    text: string,
    private readonly render: (value: string) => string = (value) => value,
  ) {
    this.pieces = mergePieces(text);
  }

  fill(recipient: MergeRecipient): string {
    const { pieces } = this;
    let out = pieces[0];
    for (let i = 1; i < pieces.length; i += 2) out += this.render(mergeValue(recipient, pieces[i])) + pieces[i + 1];
    return out;
  }
}

/** Names of the merge fields a template uses. */
export function mergeFieldNames(template: Pick<EmailMessage, 'subject' | 'html' | 'text'>): string[] {
  const names = new Set<string>();
  for (const text of [template.subject, template.html ?? '', template.text ?? '']) {
    for (const match of text.matchAll(MERGE_FIELD)) names.add(match[1]);
  }
  return [...names];
}

/**
 * The personalised parts of a bulk template: values are HTML-escaped in the HTML body, and line
 * breaks never reach the subject.
 */
export class Personaliser {
  private readonly subject: MergeText;
  private readonly html?: MergeText;
  private readonly text?: MergeText;

  constructor(readonly template: EmailMessage) {
    this.subject = new MergeText(template.subject, oneLine);
    if (template.html !== undefined) this.html = new MergeText(template.html, escapeHtml);
    if (template.text !== undefined) this.text = new MergeText(template.text);
  }

  /** The subject and bodies for one recipient. */
  texts(recipient: MergeRecipient): Pick<EmailMessage, 'subject' | 'html' | 'text'> {
    return { subject: this.subject.fill(recipient), html: this.html?.fill(recipient), text: this.text?.fill(recipient) };
  }

  copyFor(recipient: BulkRecipient): EmailMessage {
    const { subject, html, text } = this.texts(recipient);
    const idempotencyKey = bulkRecipientKey(this.template.idempotencyKey, recipient.digest);
    // Object.assign, not spread: a spread copy gets its own hidden class each time (slow in bulk).
    const message: EmailMessage = Object.assign({}, this.template, { to: [recipient.email], cc: [], bcc: [], subject, idempotencyKey });
    if (html !== undefined) message.html = html;
    if (text !== undefined) message.text = text;
    return message;
  }
}

const personalisers = new WeakMap<EmailMessage, Personaliser>();

/** One Personaliser per template object, so a bulk run splits its texts once. */
export function personaliserFor(template: EmailMessage): Personaliser {
  let personaliser = personalisers.get(template);
  if (!personaliser) personalisers.set(template, (personaliser = new Personaliser(template)));
  return personaliser;
}

/** The copy of a bulk template for one recipient. */
export function personalise(template: EmailMessage, recipient: BulkRecipient): EmailMessage {
  return personaliserFor(template).copyFor(recipient);
}

/**
 * Merge fields of a template that no recipient row has ({{email}} always has a value): each copy
 * would get an empty value, which a typo in the template or the list's header usually explains.
 */
export function fieldsInNoRow(templateFields: readonly string[], rowFields: ReadonlySet<string>): string[] {
  return templateFields.filter((field) => field !== 'email' && !rowFields.has(field));
}

/** One warning per field a list does not have, naming a near miss when there is one. */
export function missingFieldWarnings(missing: readonly string[], rowFields: ReadonlySet<string>, where: string): string[] {
  const known = [...rowFields];
  return missing.map((field) => {
    const near = known.find((name) => name.toLowerCase() === field.toLowerCase()) ?? closestMatch(field, known);
    const columns = known.length ? ` (it has ${known.join(', ')})` : '';
    return `{{${field}}} is not a field of ${where}${columns}: every copy gets it empty${near ? ` — did you mean {{${near}}}?` : ''}`;
  });
}
