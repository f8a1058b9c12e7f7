import { randomBytes } from 'node:crypto';
import { HttpFake, type RecordedRequest, type Reply } from './http-fake.js';

export const MAILGUN_KEY = 'key-test-9c1d';
export const MAILGUN_DOMAIN = 'mg.example.com';
const MAX_RECIPIENTS = 1000;

export interface MailgunSent {
  path: string;
  /** Every text field, repeated fields in order. */
  fields: Record<string, string[]>;
  files: { field: string; filename: string; size: number; contentType: string }[];
}

/** Answers like api.mailgun.net: Basic auth, plain-text Forbidden, 400 {message}, one id per call. */
export class FakeMailgun extends HttpFake {
  readonly parsed: MailgunSent[] = [];

  protected async handle(request: RecordedRequest): Promise<Reply> {
    const auth = request.headers.authorization ?? '';
    if (auth !== `Basic ${Buffer.from(`api:${MAILGUN_KEY}`).toString('base64')}`) return { status: 401, body: 'Forbidden' };
    const match = /^\/v3\/([^/]+)\/messages$/.exec(request.path);
    if (request.method !== 'POST' || !match) return { status: 200, body: 'Mailgun Magnificent API' };
    const domain = decodeURIComponent(match[1]);
    if (domain !== MAILGUN_DOMAIN) return { status: 404, body: { message: `Domain not found: ${domain}` } };

    const sent = await parseForm(request);
    if (this.keepBodies) this.parsed.push(sent);
    const one = (name: string) => sent.fields[name]?.[0];
    if (!one('from')) return { status: 400, body: { message: "'from' parameter is missing" } };
    const recipients = ['to', 'cc', 'bcc'].flatMap((f) => sent.fields[f] ?? []);
    if (recipients.length === 0) return { status: 400, body: { message: "'to' parameter is missing" } };
    if (recipients.length > MAX_RECIPIENTS) return { status: 400, body: { message: `Too many recipients; max is ${MAX_RECIPIENTS}` } };
    if (!one('text') && !one('html') && !one('template')) return { status: 400, body: { message: 'Need at least one of \'text\', \'html\' or \'template\' parameters specified' } };
    return { status: 200, body: { id: `<${Date.now()}.${randomBytes(6).toString('hex')}@${domain}>`, message: 'Queued. Thank you.' } };
  }
}

async function parseForm(request: RecordedRequest): Promise<MailgunSent> {
  const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': String(request.headers['content-type']) }, body: request.rawBody }).formData();
  const fields: Record<string, string[]> = {};
  const files: MailgunSent['files'] = [];
  for (const [name, value] of form.entries()) {
    // Like Mailgun, a recipient field may hold several comma-separated addresses.
    const values = typeof value === 'string' && RECIPIENT_FIELDS.has(name) ? splitAddresses(value) : [value];
    for (const one of values) {
      if (typeof one === 'string') (fields[name] ??= []).push(one);
      else files.push({ field: name, filename: one.name, size: one.size, contentType: one.type });
    }
  }
  return { path: request.path, fields, files };
}

const RECIPIENT_FIELDS = new Set(['to', 'cc', 'bcc']);

/** Splits `a@x.com, "Doe, Jane" <j@x.com>` at the commas outside quotes. */
function splitAddresses(value: string): string[] {
  return (value.match(/(?:"(?:[^"\\]|\\.)*"|[^,"])+/g) ?? []).map((a) => a.trim()).filter(Boolean);
}
