import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/core/errors.js';
import { finalizeMessage } from '../../src/core/message.js';
import { mailgunDefinition } from '../../src/providers/mailgun.js';
import { FakeMailgun, MAILGUN_DOMAIN, MAILGUN_KEY } from '../fakes/fake-mailgun.js';
import { CLOSED_PORT } from '../helpers/config.js';

const mailgun = new FakeMailgun();
beforeAll(() => mailgun.start());
afterAll(() => mailgun.stop());
beforeEach(() => mailgun.reset());

const message = finalizeMessage({ from: 'a@example.com', to: ['b@example.com'], cc: [], bcc: [], subject: 'S', text: 'T', type: 'transactional', priority: 'normal', tags: [], metadata: {}, headers: [], attachments: [] });

function provider(settings: Record<string, unknown> = {}, timeoutMs = 3000) {
  const config = mailgunDefinition.configSchema.parse({ type: 'mailgun', apiKey: MAILGUN_KEY, domain: MAILGUN_DOMAIN, baseUrl: mailgun.url, ...settings });
  return mailgunDefinition.create('mg', config, { timeoutMs });
}

async function failure(send: Promise<unknown>): Promise<ProviderError> {
  const error = await send.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe('mailgun adapter against the fake API', () => {
  it('answers with the id Mailgun gives', async () => {
    const receipt = await provider().send(message);
    expect(receipt.messageId).toMatch(new RegExp(`@${MAILGUN_DOMAIN}>$`));
    expect(mailgun.requests[0].headers.authorization).toBe(`Basic ${Buffer.from(`api:${MAILGUN_KEY}`).toString('base64')}`);
  });

  it('a 429 carries its Retry-After in seconds', async () => {
    mailgun.failNext({ status: 429, body: { message: 'Too many requests' }, headers: { 'Retry-After': '7' } });
    const error = await failure(provider().send(message));
    expect(error).toMatchObject({ errorClass: 'transient', httpStatus: 429, retryAfterMs: 7000 });
  });

  it('a 429 carries its Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 30_000);
    mailgun.failNext({ status: 429, body: { message: 'Too many requests' }, headers: { 'Retry-After': at.toUTCString() } });
    const error = await failure(provider().send(message));
    expect(error.retryAfterMs).toBeGreaterThan(25_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('a 429 without Retry-After has none', async () => {
    mailgun.failNext({ status: 429, body: 'Too many requests' });
    expect((await failure(provider().send(message))).retryAfterMs).toBeUndefined();
  });

  it('classifies the answers as before: Forbidden, a 400 message, a 5xx, the root page', async () => {
    expect(await failure(provider({ apiKey: 'wrong' }).send(message))).toMatchObject({ errorClass: 'provider-unusable', httpStatus: 401, message: expect.stringContaining('Forbidden') });
    mailgun.failNext({ status: 400, body: { message: "'to' parameter is not a valid address" } });
    expect(await failure(provider().send(message))).toMatchObject({ errorClass: 'permanent', message: "HTTP 400: 'to' parameter is not a valid address" });
    mailgun.failNext({ status: 503, body: '' });
    expect(await failure(provider().send(message))).toMatchObject({ errorClass: 'transient', message: 'Mailgun HTTP 503: Service Unavailable' });
    expect(await failure(provider({ baseUrl: `${mailgun.url}/not-the-api` }).send(message))).toMatchObject({ errorClass: 'provider-unusable', message: expect.stringContaining('not the Mailgun API') });
  });

  it('connection refused is transient; no answer within the timeout is ambiguous', async () => {
    expect(await failure(provider({ baseUrl: `http://127.0.0.1:${CLOSED_PORT}` }).send(message))).toMatchObject({ errorClass: 'transient', code: 'ECONNREFUSED' });
    mailgun.failNext({ delayMs: 1000 });
    expect(await failure(provider({}, 200).send(message))).toMatchObject({ errorClass: 'ambiguous' });
  });
});

describe('mailgun adapter: the SDK call and the answers seen below it', () => {
  it('the call goes out through mailgun.js (its HTTP client, axios, names itself)', async () => {
    await provider().send(message);
    expect(mailgun.requests[0].headers['user-agent']).toMatch(/^axios\//);
  });

  // A single message's form is Node's FormData; a bulk call's is MultipartBody: the same fields arrive.
  const pdf = Buffer.from('%PDF-1.4 binary \x00\xff');
  const withFiles = finalizeMessage({ from: 'a@example.com', to: ['b@example.com'], cc: [], bcc: [], subject: 'S', text: 'line one\nline two', type: 'transactional', priority: 'normal', tags: [], metadata: {}, headers: [], attachments: [{ filename: 'report "q3".pdf', contentType: 'application/pdf', contentBase64: pdf.toString('base64') }] });
  it.each([
    ['a single message (Node\'s FormData)', () => provider().send(withFiles), /^multipart\/form-data; boundary=axios-/],
    ['a bulk call (MultipartBody)', () => provider().sendBulk(withFiles, [{ email: 'b@example.com', fields: {}, digest: 'f'.repeat(24) }]), /^multipart\/form-data; boundary=penguinmails-[0-9a-f]{24}-[0-9a-z]+$/],
  ])('%s arrives as Mailgun reads it: text with CRLF line breaks, files with their name, type and bytes', async (_, call, contentType) => {
    await call();
    const sent = mailgun.parsed.at(-1)!;
    expect(sent.fields.text).toEqual(['line one\r\nline two']);
    expect(sent.fields.to).toEqual(['b@example.com']);
    expect(sent.files).toEqual([{ field: 'attachment', filename: 'report "q3".pdf', size: pdf.length, contentType: 'application/pdf' }]);
    expect(mailgun.requests.at(-1)!.headers['content-type']).toMatch(contentType);
  });

  it('calls at once each get the Retry-After of their own answer', async () => {
    // The first answer comes late: the answers arrive in the other order than the requests.
    mailgun.failNext({ status: 429, body: { message: 'Too many requests' }, headers: { 'Retry-After': '40' }, delayMs: 300 }, { status: 429, body: { message: 'Too many requests' }, headers: { 'Retry-After': '5' } });
    const adapter = provider();
    const settled: number[] = [];
    await Promise.all([0, 1].map(async () => settled.push((await failure(adapter.send(message))).retryAfterMs!)));
    expect(settled).toEqual([5000, 40_000]);
  });

  it('bulk calls at once each get the Retry-After of their own answer, known by their form', async () => {
    mailgun.failNext({ status: 429, body: { message: 'Too many requests' }, headers: { 'Retry-After': '40' }, delayMs: 300 }, { status: 429, body: { message: 'Too many requests' }, headers: { 'Retry-After': '5' } });
    const adapter = provider();
    const recipients = [{ email: 'b@example.com', fields: {}, digest: 'f'.repeat(24) }];
    const settled: number[] = [];
    await Promise.all([0, 1].map(async () => settled.push((await failure(adapter.sendBulk(message, recipients))).retryAfterMs!)));
    expect(settled).toEqual([5000, 40_000]);
    // A later bulk call's answer is its own, not one left from these.
    mailgun.failNext({ status: 429, body: { message: 'Too many requests' } });
    expect((await failure(adapter.sendBulk(message, recipients))).retryAfterMs).toBeUndefined();
  });

  it('one adapter sending batches of two templates in turn builds each call from its own template', async () => {
    // The adapter keeps the variable template of the last template it was given (one per bulk run).
    const adapter = provider();
    const first = finalizeMessage({ ...message, subject: 'Hi {{name}}', html: '<p>{{name}}</p>', text: undefined });
    const second = finalizeMessage({ ...message, subject: 'Your {{plan}} plan', html: undefined, text: 'Plan: {{plan}}, {{name}}' });
    const recipients = [{ email: 'b@example.com', fields: { name: 'Bea', plan: 'pro' }, digest: 'a'.repeat(24) }];
    for (const template of [first, second, first]) await adapter.sendBulk(template, recipients);
    // The fake's parsed list holds the calls of the earlier tests too: these are its last three.
    const [a, b, c] = mailgun.parsed.slice(-3).map((sent) => ({ subject: sent.fields.subject[0], html: sent.fields.html?.[0], text: sent.fields.text?.[0], variables: JSON.parse(sent.fields['recipient-variables'][0]) }));
    expect(a).toEqual({ subject: 'Hi %recipient.s_name%', html: '<p>%recipient.h_name%</p>', text: undefined, variables: { 'b@example.com': { s_name: 'Bea', h_name: 'Bea', key: 'a'.repeat(24) } } });
    expect(b).toEqual({ subject: 'Your %recipient.s_plan% plan', html: undefined, text: 'Plan: %recipient.t_plan%, %recipient.t_name%', variables: { 'b@example.com': { s_plan: 'pro', t_plan: 'pro', t_name: 'Bea', key: 'a'.repeat(24) } } });
    expect(c).toEqual(a);
  });

  it('a bulk call sends its addresses and recipient variables as written, non-ASCII text included, prepared ahead or not', async () => {
    // The two large fields go to the SDK's form as bytes, beside the strings of the others.
    const adapter = provider();
    // A subject that is the adapter's own stand-in for those bytes is still the user's subject.
    const template = finalizeMessage({ ...message, subject: '(given as bytes)', html: '<p>{{name}}</p>', text: undefined });
    const first = [
      { email: 'zoë@example.com', fields: { name: 'Ünal 🐧' }, digest: 'b'.repeat(24) },
      { email: 'c@example.com', fields: { name: '"Cy" <b>' }, digest: 'c'.repeat(24) },
    ];
    const second = [{ email: 'd@example.com', fields: { name: 'Dee' }, digest: 'd'.repeat(24) }];
    adapter.prepareBulk!(template, first);
    await adapter.sendBulk(template, first);
    await adapter.sendBulk(template, second);
    const [a, b] = mailgun.parsed.slice(-2).map((sent) => ({ to: sent.fields.to, subject: sent.fields.subject[0], variables: JSON.parse(sent.fields['recipient-variables'][0]) }));
    expect(a).toEqual({
      to: ['zoë@example.com', 'c@example.com'],
      subject: '(given as bytes)',
      variables: { 'zoë@example.com': { h_name: 'Ünal 🐧', key: 'b'.repeat(24) }, 'c@example.com': { h_name: '&quot;Cy&quot; &lt;b&gt;', key: 'c'.repeat(24) } },
    });
    expect(b).toEqual({ to: ['d@example.com'], subject: '(given as bytes)', variables: { 'd@example.com': { h_name: 'Dee', key: 'd'.repeat(24) } } });
    // A preview shows the text of those fields, not their stand-in.
    const preview = adapter.previewBulkRequest(template, second) as { form: Record<string, string> };
    expect(preview.form.to).toBe('d@example.com');
    expect(JSON.parse(preview.form['recipient-variables'])).toEqual(b.variables);
  });

  it('a connection closed without an answer is ambiguous and has no HTTP status', async () => {
    mailgun.failNext({ destroy: true });
    const error = await failure(provider().send(message));
    expect(error).toMatchObject({ errorClass: 'ambiguous', httpStatus: undefined, retryAfterMs: undefined });
  });
});
