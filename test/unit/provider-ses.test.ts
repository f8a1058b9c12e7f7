import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { finalizeMessage, type EmailMessage } from '../../src/core/message.js';
import { IDEMPOTENCY_HEADER } from '../../src/core/provider-port.js';
import { classifyBulkEntry, classifySesError, sesAddress, sesDefinition, toSesTemplate } from '../../src/providers/ses.js';
import { FakeSes, SES_ACCESS_KEY_ID, SES_REGION, SES_SECRET_ACCESS_KEY, sesError } from '../fakes/fake-ses.js';
import { failure, recipients } from '../helpers/adapter-test.js';
import { CLOSED_PORT } from '../helpers/config.js';

const ses = new FakeSes();
beforeAll(() => ses.start());
afterAll(() => ses.stop());
beforeEach(() => ses.reset());

function message(overrides: Partial<EmailMessage> = {}): EmailMessage {
  return finalizeMessage({ from: 'a@example.com', to: ['b@example.com'], cc: [], bcc: [], subject: 'S', text: 'T', type: 'transactional', priority: 'normal', tags: [], metadata: {}, headers: [], attachments: [], ...overrides });
}

function provider(settings: Record<string, unknown> = {}, timeoutMs = 3000) {
  const config = sesDefinition.configSchema.parse({ type: 'ses', region: SES_REGION, accessKeyId: SES_ACCESS_KEY_ID, secretAccessKey: SES_SECRET_ACCESS_KEY, baseUrl: ses.url, ...settings });
  return sesDefinition.create('ses', config, { timeoutMs });
}

describe('ses adapter against the fake API, through @aws-sdk/client-sesv2', () => {
  it('SendEmail: simple content, headers, tags, configuration set; answers with the MessageId', async () => {
    const sent = message({
      cc: ['c@example.com'],
      replyTo: 'r@example.com',
      html: '<p>H</p>',
      tags: ['welcome', 'a b'],
      campaignId: 'spring',
      metadata: { user: '42' },
      headers: [{ name: 'X-Custom', value: 'v' }],
      attachments: [{ filename: 'a.txt', contentType: 'text/plain', contentBase64: Buffer.from('hello').toString('base64') }],
    });
    const receipt = await provider({ configurationSet: 'tracking' }).send(sent);
    expect(receipt.messageId).toMatch(/^0100018f/);
    expect(receipt.warnings).toEqual(['ses: tag a b=true sent as a_b=true (SES tags take letters, digits, _ and -)']);
    const [request] = ses.requests;
    expect(request.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${SES_ACCESS_KEY_ID}/\\d{8}/${SES_REGION}/ses/aws4_request`));
    expect(request.headers['user-agent']).toMatch(/aws-sdk-js/);
    const body = ses.sent[0].body;
    expect(body.FromEmailAddress).toBe('a@example.com');
    expect(body.Destination).toEqual({ ToAddresses: ['b@example.com'], CcAddresses: ['c@example.com'] });
    expect(body.ReplyToAddresses).toEqual(['r@example.com']);
    expect(body.ConfigurationSetName).toBe('tracking');
    expect(body.EmailTags).toEqual([
      { Name: 'welcome', Value: 'true' },
      { Name: 'a_b', Value: 'true' },
      { Name: 'campaign_id', Value: 'spring' },
      { Name: 'user', Value: '42' },
    ]);
    expect(body.Content.Simple.Subject).toEqual({ Data: 'S', Charset: 'UTF-8' });
    expect(body.Content.Simple.Body).toEqual({ Text: { Data: 'T', Charset: 'UTF-8' }, Html: { Data: '<p>H</p>', Charset: 'UTF-8' } });
    expect(body.Content.Simple.Headers).toEqual([{ Name: 'X-Custom', Value: 'v' }, { Name: IDEMPOTENCY_HEADER, Value: sent.idempotencyKey }]);
    expect(body.Content.Simple.Attachments).toEqual([{ FileName: 'a.txt', ContentType: 'text/plain', ContentDisposition: 'ATTACHMENT', RawContent: Buffer.from('hello').toString('base64') }]);
  });

  it('tracking is the configuration set’s: asked per message, it is not sent and a warning says so', async () => {
    const receipt = await provider().send(message({ trackOpens: true }));
    expect(receipt.warnings).toEqual([expect.stringContaining('set by the configuration set')]);
    expect(JSON.stringify(ses.sent[0].body)).not.toMatch(/track/i);
  });

  it('MessageRejected for an unverified From is provider-unusable; for an illegal address permanent', async () => {
    ses.verifiedIdentities = new Set(['other.example.com']);
    expect(await failure(provider().send(message()))).toMatchObject({ errorClass: 'provider-unusable', httpStatus: 400, code: 'MessageRejected' });
    ses.verifiedIdentities = undefined;
    ses.illegalAddresses.add('b@example.com');
    expect(await failure(provider().send(message()))).toMatchObject({ errorClass: 'permanent', httpStatus: 400, code: 'MessageRejected', message: 'MessageRejected: Illegal address' });
  });

  it('a sandbox recipient not verified is provider-unusable', async () => {
    ses.sandbox = true;
    ses.verifiedIdentities = new Set(['a@example.com']);
    expect(await failure(provider().send(message()))).toMatchObject({ errorClass: 'provider-unusable', message: expect.stringContaining('b@example.com') });
  });

  it('wrong credentials are provider-unusable; the SDK’s retries are off', async () => {
    expect(await failure(provider({ accessKeyId: 'AKIAWRONG' }).send(message()))).toMatchObject({ errorClass: 'provider-unusable', httpStatus: 403, code: 'UnrecognizedClientException' });
    expect(await failure(provider({ secretAccessKey: 'not-the-secret' }).send(message()))).toMatchObject({ errorClass: 'provider-unusable', httpStatus: 403, code: 'InvalidSignatureException' });
    ses.failNext(sesError(429, 'TooManyRequestsException', 'Too Many Requests'));
    expect(await failure(provider().send(message()))).toMatchObject({ errorClass: 'transient', httpStatus: 429, code: 'TooManyRequestsException' });
    ses.failNext(sesError(500, 'InternalFailure', 'internal'));
    expect(await failure(provider().send(message()))).toMatchObject({ errorClass: 'transient', httpStatus: 500 });
    // One request each: the SDK did not retry the 429 or the 500.
    expect(ses.requests).toHaveLength(4);
  });

  it('each named error in its class', async () => {
    const cases: [number, string, string][] = [
      [400, 'MailFromDomainNotVerifiedException', 'provider-unusable'],
      [400, 'SendingPausedException', 'provider-unusable'],
      [400, 'AccountSuspendedException', 'provider-unusable'],
      [403, 'InvalidSignatureException', 'provider-unusable'],
      [400, 'LimitExceededException', 'transient'],
      [400, 'BadRequestException', 'permanent'],
    ];
    for (const [status, type, errorClass] of cases) {
      ses.failNext(sesError(status, type, 'because'));
      expect(await failure(provider().send(message()))).toMatchObject({ errorClass, code: type });
    }
  });

  it('connection refused is transient; no answer within the timeout is ambiguous', async () => {
    expect(await failure(provider({ baseUrl: `http://127.0.0.1:${CLOSED_PORT}` }).send(message()))).toMatchObject({ errorClass: 'transient', code: 'ECONNREFUSED' });
    ses.failNext({ delayMs: 1500 });
    expect(await failure(provider({}, 300).send(message()))).toMatchObject({ errorClass: 'ambiguous', httpStatus: undefined });
    ses.failNext({ destroy: true });
    expect(await failure(provider().send(message()))).toMatchObject({ errorClass: 'ambiguous' });
  });
});

describe('ses bulk: SendBulkEmail with an inline template', () => {
  const template = message({ to: [], subject: 'Hi {{name}}', html: '<p>{{name}} in {{first.city}}</p>', text: 'Hello {{name}}', tags: ['news'] });

  it('translates merge fields to simple variables and fills them per entry', async () => {
    const list = recipients(2, (i) => ({ name: i ? 'Bo <b>' : 'Al', 'first.city': 'Oslo' }));
    const statuses = await provider().sendBulk(template, list);
    expect(statuses.every((s) => s.accepted)).toBe(true);
    const body = ses.sent[0].body;
    expect(body.DefaultContent.Template.TemplateContent).toEqual({ Subject: 'Hi {{s_0}}', Html: '<p>{{h_0}} in {{h_1}}</p>', Text: 'Hello {{t_0}}' });
    expect(body.DefaultEmailTags).toEqual([{ Name: 'news', Value: 'true' }]);
    expect(ses.copies[1]).toMatchObject({ to: ['r1@example.com'], subject: 'Hi Bo <b>', html: '<p>Bo &lt;b&gt; in Oslo</p>', text: 'Hello Bo <b>' });
    expect(ses.copies[1].headers).toContainEqual({ Name: IDEMPOTENCY_HEADER, Value: `${template.idempotencyKey}/${list[1].digest}` });
  });

  it('fifty entries go in one call', async () => {
    const statuses = await provider().sendBulk(template, recipients(50));
    expect(ses.requests).toHaveLength(1);
    expect(statuses.filter((s) => s.accepted)).toHaveLength(50);
    expect(provider().maxBulkRecipients).toBe(50);
  });

  it('each entry’s result is read: failures in their class, the others delivered', async () => {
    ses.entryFailures.set('r1@example.com', { Status: 'MESSAGE_REJECTED', Error: 'Illegal address' });
    ses.entryFailures.set('r2@example.com', { Status: 'ACCOUNT_THROTTLED', Error: 'Maximum sending rate exceeded.' });
    ses.entryFailures.set('r3@example.com', { Status: 'CONFIGURATION_SET_SENDING_PAUSED', Error: 'paused' });
    const statuses = await provider().sendBulk(template, recipients(4));
    expect(statuses.map((s) => (s.accepted ? 'sent' : s.error.errorClass))).toEqual(['sent', 'permanent', 'transient', 'provider-unusable']);
  });

  it('a sandbox recipient in a bulk call is provider-unusable for that entry', async () => {
    ses.sandbox = true;
    ses.verifiedIdentities = new Set(['a@example.com', 'r0@example.com']);
    const statuses = await provider().sendBulk(template, recipients(2));
    expect(statuses.map((s) => (s.accepted ? 'sent' : s.error.errorClass))).toEqual(['sent', 'provider-unusable']);
  });
});

describe('ses classification', () => {
  it('MessageRejected is read by its message', () => {
    expect(classifySesError({ name: 'MessageRejected', message: 'Email address is not verified. The following identities failed the check in region US-EAST-1: a@x.com', $metadata: { httpStatusCode: 400 } }).errorClass).toBe('provider-unusable');
    expect(classifySesError({ name: 'MessageRejected', message: 'Message length exceeds limit', $metadata: { httpStatusCode: 400 } }).errorClass).toBe('permanent');
  });

  it('a connection timeout never sent the request; a request timeout may have', () => {
    expect(classifySesError({ name: 'TimeoutError', message: '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 300 ms.', $metadata: {} }).errorClass).toBe('transient');
    expect(classifySesError({ name: 'TimeoutError', code: 'ETIMEDOUT', message: 'a request has exceeded the configured 300 ms requestTimeout', $metadata: {} }).errorClass).toBe('ambiguous');
  });

  it('every bulk entry status has a class', () => {
    expect(classifyBulkEntry('ACCOUNT_DAILY_QUOTA_EXCEEDED', undefined).errorClass).toBe('transient');
    expect(classifyBulkEntry('INVALID_PARAMETER', 'bad').errorClass).toBe('permanent');
    expect(classifyBulkEntry('MAIL_FROM_DOMAIN_NOT_VERIFIED', undefined).errorClass).toBe('provider-unusable');
    expect(classifyBulkEntry('SOMETHING_NEW', undefined).errorClass).toBe('ambiguous');
  });

  it('a display name SES cannot take as is becomes an RFC 2047 encoded word', () => {
    expect(sesAddress('Pingüino <a@example.com>')).toBe(`=?UTF-8?B?${Buffer.from('Pingüino').toString('base64')}?= <a@example.com>`);
    expect(sesAddress('Penguin <a@example.com>')).toBe('Penguin <a@example.com>');
    expect(sesAddress('a@example.com')).toBe('a@example.com');
  });

  it('merge field names become plain variables, once per part', () => {
    expect(toSesTemplate({ subject: '{{a.b}} {{ a.b }} {{c}}', text: '{{c}}' }).content).toEqual({ Subject: '{{s_0}} {{s_0}} {{s_1}}', Text: '{{t_0}}' });
  });
});
