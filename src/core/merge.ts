import type { EmailMessage } from './message.js';

/** `{{ name }}` merge fields in subject, HTML and text. */
export const MERGE_FIELD = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]);
}

export function mergeFields(text: string, fields: Record<string, string>, escape?: (v: string) => string): string {
  return text.replace(MERGE_FIELD, (_match, name: string) => {
    const value = fields[name] ?? '';
    return escape ? escape(value) : value;
  });
}

/** Names of the merge fields a template uses. */
export function mergeFieldNames(template: Pick<EmailMessage, 'subject' | 'html' | 'text'>): string[] {
  const names = new Set<string>();
  for (const text of [template.subject, template.html ?? '', template.text ?? '']) {
    for (const match of text.matchAll(MERGE_FIELD)) names.add(match[1]);
  }
  return [...names];
}

/** The copy of a bulk template for one recipient: values are HTML-escaped in the HTML body; line breaks never reach the subject. */
export function personalise(template: EmailMessage, recipient: { email: string; fields: Record<string, string>; idempotencyKey: string }): EmailMessage {
  const fields = { email: recipient.email, ...recipient.fields };
  const message: EmailMessage = {
    ...template,
    to: [recipient.email],
    cc: [],
    bcc: [],
    subject: mergeFields(template.subject, fields, (v) => v.replace(/[\r\n]+/g, ' ')),
    idempotencyKey: recipient.idempotencyKey,
  };
  if (template.html !== undefined) message.html = mergeFields(template.html, fields, escapeHtml);
  if (template.text !== undefined) message.text = mergeFields(template.text, fields);
  return message;
}
