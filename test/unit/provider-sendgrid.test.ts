import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { finalizeMessage, type EmailMessage } from '../../src/core/message.js';
import { IDEMPOTENCY_HEADER } from '../../src/core/provider-port.js';
import { classifySendGridError, rateLimitResetMs, sendgridDefinition } from '../../src/providers/sendgrid.js';
import { FakeSendGrid, SENDGRID_KEY, sendGridRateLimited } from '../fakes/fake-sendgrid.js';
import { failure, recipients } from '../helpers/adapter-test.js';
import { CLOSED_PORT } from '../helpers/config.js';

const sendgrid = new FakeSendGrid();
beforeAll(() => sendgrid.start());
afterAll(() => sendgrid.stop());
beforeEach(() => {
  sendgrid.reset();
  sendgrid.verifiedSenders = undefined;
  sendgrid.invalidAddresses.clear();
});

function message(overrides: Partial<EmailMessage> = {}): EmailMessage {
  return finalizeMessage({ from: 'Penguin <a@example.com>', to: ['b@example.com'], cc: [], bcc: [], subject: 'S', text: 'T', type: 'transactional', priority: 'normal', tags: [], metadata: {}, headers: [], attachments: [], ...overrides });
}

function provider(settings: Record<string, unknown> = {}, timeoutMs = 3000) {
  const config = sendgridDefinition.configSchema.parse({ type: 'sendgrid', apiKey: SENDGRID_KEY, baseUrl: sendgrid.url, ...settings });
  return sendgridDefinition.create('sg', config, { timeoutMs });
}

describe('sendgrid adapter against the fake API, through @sendgrid/client', () => {
  it('sends the fields where SendGrid reads them and answers with X-Message-Id', async () => {
    const receipt = await provider().send(
      message({
        to: ['Bee <b@example.com>'],
        cc: ['c@example.com'],
        replyTo: 'r@example.com',
        html: '<p>H</p>',
        tags: ['welcome', 'onboarding'],
        campaignId: 'spring',
        metadata: { user: '42' },
        headers: [{ name: 'X-Custom', value: 'v' }],
        trackOpens: true,
        trackLinks: false,
        attachments: [{ filename: 'a.txt', contentType: 'text/plain', contentBase64: Buffer.from('hello').toString('base64') }],
      }),
    );
    expect(receipt.messageId).toMatch(/^[\w-]{22}$/);
    const [request] = sendgrid.requests;
    expect(request.headers.authorization).toBe(`Bearer ${SENDGRID_KEY}`);
    expect(request.headers['user-agent']).toMatch(/^sendgrid\//);
    const body = sendgrid.sent[0].body;
    expect(body.personalizations).toEqual([{ to: [{ email: 'b@example.com', name: 'Bee' }], cc: [{ email: 'c@example.com' }] }]);
    expect(body.from).toEqual({ email: 'a@example.com', name: 'Penguin' });
    expect(body.reply_to).toEqual({ email: 'r@example.com' });
    expect(body.content).toEqual([{ type: 'text/plain', value: 'T' }, { type: 'text/html', value: '<p>H</p>' }]);
    expect(body.categories).toEqual(['welcome', 'onboarding']);
    expect(body.custom_args).toEqual({ user: '42', campaign_id: 'spring' });
    expect(body.headers).toMatchObject({ 'X-Custom': 'v', [IDEMPOTENCY_HEADER]: expect.any(String) });
    expect(body.tracking_settings).toEqual({ open_tracking: { enable: true }, click_tracking: { enable: false, enable_text: false } });
    expect(body.attachments).toEqual([{ content: Buffer.from('hello').toString('base64'), filename: 'a.txt', type: 'text/plain', disposition: 'attachment' }]);
  });

  it('more than ten tags: ten categories, the rest in custom_args.tags with a warning', async () => {
    const tags = Array.from({ length: 12 }, (_, i) => `t${i}`);
    const receipt = await provider().send(message({ tags }));
    expect(sendgrid.sent[0].body.categories).toHaveLength(10);
    expect(sendgrid.sent[0].body.custom_args.tags).toBe('t10,t11');
    expect(receipt.warnings?.[0]).toContain('at most 10 categories');
  });

  it('a bad key is provider-unusable (401)', async () => {
    expect(await failure(provider({ apiKey: 'SG.wrong' }).send(message()))).toMatchObject({ errorClass: 'provider-unusable', httpStatus: 401 });
  });

  it('an unverified Sender Identity is provider-unusable (403), not the message’s fault', async () => {
    sendgrid.verifiedSenders = new Set(['other@example.com']);
    const error = await failure(provider().send(message()));
    expect(error).toMatchObject({ errorClass: 'provider-unusable', httpStatus: 403 });
    expect(error.message).toContain('not a verified Sender Identity');
  });

  it('a 400 with field errors is permanent and lists them', async () => {
    sendgrid.invalidAddresses.add('b@example.com');
    const error = await failure(provider().send(message()));
    expect(error).toMatchObject({ errorClass: 'permanent', httpStatus: 400 });
    expect(error.message).toContain('personalizations.0.to.0.email: Does not contain a valid address.');
  });

  it('a 413 (an HTML page) is permanent', async () => {
    sendgrid.failNext({ status: 413, body: '<html><body><h1>413 Request Entity Too Large</h1></body></html>' });
    expect(await failure(provider().send(message()))).toMatchObject({ errorClass: 'permanent', httpStatus: 413, message: expect.stringContaining('413 Request Entity Too Large') });
  });

  it('a 429 waits until X-RateLimit-Reset', async () => {
    sendgrid.failNext(sendGridRateLimited(20));
    const error = await failure(provider().send(message()));
    expect(error).toMatchObject({ errorClass: 'transient', httpStatus: 429 });
    expect(error.retryAfterMs).toBeGreaterThan(15_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(21_000);
  });

  it('5xx is transient; connection refused is transient; no answer in time is ambiguous', async () => {
    sendgrid.failNext({ status: 503, body: '' });
    expect(await failure(provider().send(message()))).toMatchObject({ errorClass: 'transient', httpStatus: 503 });
    expect(await failure(provider({ baseUrl: `http://127.0.0.1:${CLOSED_PORT}` }).send(message()))).toMatchObject({ errorClass: 'transient', code: 'ECONNREFUSED' });
    sendgrid.failNext({ delayMs: 1000 });
    expect(await failure(provider({}, 200).send(message()))).toMatchObject({ errorClass: 'ambiguous', httpStatus: undefined });
    sendgrid.failNext({ destroy: true });
    expect(await failure(provider().send(message()))).toMatchObject({ errorClass: 'ambiguous' });
  });

  it('a wrong base URL (404) is provider-unusable', async () => {
    expect(await failure(provider({ baseUrl: `${sendgrid.url}/nope` }).send(message()))).toMatchObject({ errorClass: 'provider-unusable', httpStatus: 404 });
  });
});

describe('sendgrid bulk: one personalization per recipient', () => {
  const template = message({ to: [], subject: 'Hi {{name}}', html: '<p>{{name}} & {{ city }}</p>', text: 'Hello {{name}}' });

  it('each recipient gets its own subject, substitutions and idempotency header', async () => {
    const list = recipients(2, (i) => ({ name: i ? 'Bo <b>' : 'Al', city: 'X' }));
    const statuses = await provider().sendBulk(template, list);
    expect(statuses.every((s) => s.accepted)).toBe(true);
    const body = sendgrid.sent[0].body;
    expect(body.content).toEqual([{ type: 'text/plain', value: 'Hello {{t_name}}' }, { type: 'text/html', value: '<p>{{h_name}} & {{h_city}}</p>' }]);
    expect(body.personalizations[1]).toEqual({
      to: [{ email: 'r1@example.com' }],
      subject: 'Hi Bo <b>',
      headers: { [IDEMPOTENCY_HEADER]: `${template.idempotencyKey}/${list[1].digest}` },
      substitutions: { '{{h_name}}': 'Bo &lt;b&gt;', '{{h_city}}': 'X', '{{t_name}}': 'Bo <b>' },
    });
  });

  it('a thousand recipients go in one call', async () => {
    const statuses = await provider().sendBulk(template, recipients(1000, () => ({ name: 'n', city: 'c' })));
    expect(sendgrid.requests).toHaveLength(1);
    expect(sendgrid.sent[0].body.personalizations).toHaveLength(1000);
    expect(statuses.filter((s) => s.accepted)).toHaveLength(1000);
  });

  it('a 400 naming one personalization refuses that recipient; the others are not sent and retried', async () => {
    sendgrid.invalidAddresses.add('r1@example.com');
    const statuses = await provider().sendBulk(template, recipients(3, () => ({ name: 'n', city: 'c' })));
    expect(statuses.map((s) => (s.accepted ? 'sent' : s.error.errorClass))).toEqual(['transient', 'permanent', 'transient']);
  });

  it('a recipient whose merge values exceed SendGrid’s substitution limit is left to the next provider', async () => {
    const list = recipients(2, (i) => ({ name: i ? 'x'.repeat(6000) : 'short', city: 'c' }));
    const statuses = await provider().sendBulk(template, list);
    expect(statuses[0].accepted).toBe(true);
    expect(statuses[1]).toMatchObject({ accepted: false, error: { errorClass: 'provider-unusable' } });
    expect(sendgrid.sent[0].body.personalizations).toHaveLength(1);
  });

  it('a failure of the whole call is thrown', async () => {
    sendgrid.failNext({ status: 500, body: { errors: [{ message: 'internal error', field: null }] } });
    expect(await failure(provider().sendBulk(template, recipients(2)))).toMatchObject({ errorClass: 'transient', httpStatus: 500 });
  });
});

describe('sendgrid classification', () => {
  it('reads status, errors and codes', () => {
    expect(classifySendGridError({ code: 'ECONNABORTED', message: 'timeout of 200ms exceeded' }).errorClass).toBe('ambiguous');
    expect(classifySendGridError({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND' }).errorClass).toBe('transient');
    expect(classifySendGridError({ code: 403, response: { body: { errors: [{ message: 'access forbidden' }] } } })).toMatchObject({ errorClass: 'provider-unusable', detail: expect.stringContaining('may not send') });
    expect(classifySendGridError({ code: 502, response: { body: '' } }).errorClass).toBe('transient');
  });

  it('X-RateLimit-Reset is an epoch second', () => {
    expect(rateLimitResetMs({ 'x-ratelimit-reset': '1000' }, 990_500)).toBe(9_500);
    expect(rateLimitResetMs({ 'x-ratelimit-reset': '1000' }, 2_000_000)).toBe(0);
    expect(rateLimitResetMs({})).toBeUndefined();
  });
});
