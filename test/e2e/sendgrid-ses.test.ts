import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SENDGRID_KEY, sendGridRateLimited } from '../fakes/fake-sendgrid.js';
import { SES_ACCESS_KEY_ID, SES_SECRET_ACCESS_KEY, sesError } from '../fakes/fake-ses.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { runCli } from '../helpers/cli.js';
import { ALL_ESPS_ENV, writeTestConfig, type TestConfigOptions } from '../helpers/config.js';

const { postmark, mailgun, smtp, sendgrid, ses } = useFakeEsps({}, { sendgridAndSes: true });

const message = ['--to', 'ada@example.com', '--subject', 'Hello', '--text', 'Hi Ada', '--json'];
const live = (options: TestConfigOptions = {}) => writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, sendgridUrl: sendgrid.url, sesUrl: ses.url, ...options });
const send = (order: string[], extra: string[] = [], env: Record<string, string> = ALL_ESPS_ENV) => runCli(['send', '--config', live({ order }).configPath, ...message, ...extra], { env });
const outcomes = (json: any) => json.attempts.map((a: any) => `${a.provider}#${a.try}:${a.outcome}`);

describe('send through SendGrid and SES', () => {
  it('sendgrid: delivered, the id from X-Message-Id, the fields on /v3/mail/send', async () => {
    const result = await send(['sendgrid'], ['--html', '<p>Hi</p>', '--tag', 'welcome', '--campaign', 'c1', '--metadata', 'order=7', '--header', 'X-Customer: 77']);
    expect(result.code, result.stderr).toBe(0);
    const json = result.json();
    expect(json).toMatchObject({ status: 'delivered', provider: 'sendgrid', messageId: expect.stringMatching(/^[\w-]{22}$/) });
    expect(sendgrid.sent[0].body).toMatchObject({
      personalizations: [{ to: [{ email: 'ada@example.com' }] }],
      from: { email: 'noreply@example.com', name: 'Penguin' },
      subject: 'Hello',
      content: [{ type: 'text/plain', value: 'Hi Ada' }, { type: 'text/html', value: '<p>Hi</p>' }],
      categories: ['welcome'],
      custom_args: { order: '7', campaign_id: 'c1' },
      headers: { 'X-Customer': '77', 'X-PenguinMails-Idempotency-Key': json.idempotencyKey },
    });
  });

  it('ses: delivered, the MessageId of SendEmail, signed with the configured key', async () => {
    const result = await send(['ses'], ['--tag', 'welcome']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('NodeVersionSupportWarning');
    const json = result.json();
    expect(json).toMatchObject({ status: 'delivered', provider: 'ses', messageId: expect.stringMatching(/^0100018f/) });
    expect(ses.copies[0]).toMatchObject({ to: ['ada@example.com'], from: 'Penguin <noreply@example.com>', subject: 'Hello', text: 'Hi Ada', tags: [{ Name: 'welcome', Value: 'true' }] });
    expect(ses.requests[0].headers.authorization).toContain(`Credential=${SES_ACCESS_KEY_ID}/`);
  });

  it('sendgrid 5xx three times → retried, then SES delivers; SES 500 three times → SendGrid delivers', async () => {
    sendgrid.failNext(...Array(3).fill({ status: 503, body: '' }));
    const first = await send(['sendgrid', 'ses']);
    expect(first.code, first.stderr).toBe(0);
    expect(outcomes(first.json())).toEqual(['sendgrid#1:transient', 'sendgrid#2:transient', 'sendgrid#3:transient', 'ses#1:delivered']);

    ses.failNext(...Array(3).fill(sesError(500, 'InternalFailure', 'An internal error occurred.')));
    const second = await send(['ses', 'sendgrid']);
    expect(second.code, second.stderr).toBe(0);
    expect(outcomes(second.json())).toEqual(['ses#1:transient', 'ses#2:transient', 'ses#3:transient', 'sendgrid#1:delivered']);
  });

  it('a SendGrid 429 waits until X-RateLimit-Reset, then tries again', async () => {
    const fault = sendGridRateLimited(3);
    const resetAt = Number(fault.headers!['X-RateLimit-Reset']) * 1000;
    sendgrid.failNext(fault);
    const result = await send(['sendgrid', 'ses']);
    expect(result.code, result.stderr).toBe(0);
    expect(outcomes(result.json())).toEqual(['sendgrid#1:transient', 'sendgrid#2:delivered']);
    // The second try waited for the reset (the run cannot have ended before it).
    expect(Date.now()).toBeGreaterThanOrEqual(resetAt - 50);
  });

  it('a SendGrid 400 field error is rejected (exit 3) and SES is never called', async () => {
    sendgrid.invalidAddresses.add('ada@example.com');
    const result = await send(['sendgrid', 'ses']);
    expect(result.code).toBe(3);
    expect(result.json()).toMatchObject({ status: 'rejected' });
    expect(result.json().attempts[0].error).toContain('personalizations.0.to.0.email');
    expect(ses.requests).toHaveLength(0);
  });

  it('an SES MessageRejected for the message is rejected (exit 3) and SendGrid is never called', async () => {
    ses.illegalAddresses.add('ada@example.com');
    const result = await send(['ses', 'sendgrid']);
    expect(result.code).toBe(3);
    expect(result.json().attempts[0].error).toContain('Illegal address');
    expect(sendgrid.requests).toHaveLength(0);
  });

  it('an unverified sender is provider-unusable: SendGrid 403 → SES, SES MessageRejected "not verified" → SendGrid, no retries', async () => {
    sendgrid.verifiedSenders = new Set(['someone@else.example']);
    const first = await send(['sendgrid', 'ses']);
    expect(first.code, first.stderr).toBe(0);
    expect(outcomes(first.json())).toEqual(['sendgrid#1:provider-unusable', 'ses#1:delivered']);
    expect(first.json().attempts[0].error).toContain('verified Sender Identity');

    sendgrid.verifiedSenders = undefined;
    ses.verifiedIdentities = new Set(['else.example']);
    const second = await send(['ses', 'sendgrid']);
    expect(second.code, second.stderr).toBe(0);
    expect(outcomes(second.json())).toEqual(['ses#1:provider-unusable', 'sendgrid#1:delivered']);
  });

  it('fails over through all five providers', async () => {
    // postmark: bad token; mailgun: bad key; smtp: nobody listening; sendgrid: down; ses delivers.
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, sendgridUrl: sendgrid.url, sesUrl: ses.url, order: ['postmark', 'mailgun', 'smtp', 'sendgrid', 'ses'], attempts: 1 });
    sendgrid.failNext({ status: 500, body: { errors: [{ message: 'internal error', field: null }] } });
    const result = await runCli(['send', '--config', configPath, ...message], { env: { ...ALL_ESPS_ENV, POSTMARK_SERVER_TOKEN: 'wrong', MAILGUN_API_KEY: 'wrong' } });
    expect(result.code, result.stderr).toBe(0);
    expect(outcomes(result.json())).toEqual(['postmark#1:provider-unusable', 'mailgun#1:provider-unusable', 'smtp#1:transient', 'sendgrid#1:transient', 'ses#1:delivered']);
  });
});

describe('bulk through SendGrid and SES', () => {
  const template = ['--subject', 'Hi {{name}}', '--html', '<p>Hello {{name}}</p>', '--text', 'Hello {{name}}', '--type', 'marketing', '--json'];
  function bulk(order: string[], count: number) {
    const { dir, configPath } = live({ order });
    const listPath = path.join(dir, 'list.csv');
    writeFileSync(listPath, ['email,name', ...Array.from({ length: count }, (_, i) => `user${i}@example.com,User ${i}`)].join('\n') + '\n');
    return runCli(['send', '--config', configPath, '--recipients', listPath, ...template], { env: ALL_ESPS_ENV, timeoutMs: 60_000 });
  }

  it('sendgrid: 1001 recipients → calls of 1,000 and 1 personalizations, each its own copy', async () => {
    const result = await bulk(['sendgrid'], 1001);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ status: 'delivered', recipients: 1001, delivered: 1001, calls: { sendgrid: 2 } });
    expect(sendgrid.sent.map((s) => s.body.personalizations.length)).toEqual([1000, 1]);
    expect(sendgrid.sent[0].body.personalizations[3]).toMatchObject({ to: [{ email: 'user3@example.com' }], subject: 'Hi User 3', substitutions: { '{{h_name}}': 'User 3', '{{t_name}}': 'User 3' } });
  });

  it('sendgrid: a 400 naming one recipient rejects that one; the others are sent', async () => {
    sendgrid.invalidAddresses.add('user2@example.com');
    const result = await bulk(['sendgrid', 'ses'], 5);
    expect(result.code).toBe(5);
    const report = result.json();
    expect(report).toMatchObject({ status: 'partial', delivered: 4, rejected: 1 });
    expect(report.failures).toEqual([expect.objectContaining({ email: 'user2@example.com', outcome: 'rejected' })]);
    expect(sendgrid.sent.map((s) => s.body.personalizations.length)).toEqual([5, 4]);
    expect(ses.requests).toHaveLength(0);
  });

  it('ses: 101 recipients → SendBulkEmail calls of 50, 50 and 1, each filled in', async () => {
    const result = await bulk(['ses'], 101);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ status: 'delivered', delivered: 101, calls: { ses: 3 } });
    expect(ses.sent.map((s) => s.body.BulkEmailEntries.length)).toEqual([50, 50, 1]);
    expect(ses.copies.find((c) => c.to[0] === 'user7@example.com')).toMatchObject({ subject: 'Hi User 7', html: '<p>Hello User 7</p>', text: 'Hello User 7' });
  });

  it('ses: per-entry failures: a rejected entry is reported, a throttled one retried, the rest delivered', async () => {
    ses.entryFailures.set('user1@example.com', { Status: 'MESSAGE_REJECTED', Error: 'Illegal address' });
    ses.entryFailures.set('user3@example.com', { Status: 'ACCOUNT_THROTTLED', Error: 'Maximum sending rate exceeded.', times: 1 });
    const result = await bulk(['ses'], 5);
    expect(result.code).toBe(5);
    expect(result.json()).toMatchObject({ status: 'partial', delivered: 4, rejected: 1 });
    expect(result.json().failures).toEqual([expect.objectContaining({ email: 'user1@example.com', outcome: 'rejected', reason: expect.stringContaining('Illegal address') })]);
    // The throttled entry went again, alone, and was delivered the second time.
    expect(ses.sent.map((s) => s.body.BulkEmailEntries.map((e: any) => e.Destination.ToAddresses[0]))).toEqual([
      ['user0@example.com', 'user1@example.com', 'user2@example.com', 'user3@example.com', 'user4@example.com'],
      ['user3@example.com'],
    ]);
  });
});

describe('dry run, route explain and cost estimate', () => {
  it('send --dry-run shows each request with the secrets masked', async () => {
    const result = await send(['sendgrid', 'ses'], ['--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    const preview = result.json();
    expect(preview.requests.map((r: any) => [r.provider, r.type])).toEqual([
      ['sendgrid', 'sendgrid'],
      ['ses', 'ses'],
    ]);
    expect(preview.requests[0].request).toMatchObject({ url: `${sendgrid.url}/v3/mail/send`, headers: { Authorization: 'Bearer ****' }, body: { subject: 'Hello' } });
    expect(preview.requests[1].request).toMatchObject({ url: `${ses.url}/v2/email/outbound-emails`, body: { FromEmailAddress: 'Penguin <noreply@example.com>', Destination: { ToAddresses: ['ada@example.com'] } } });
    for (const secret of [SENDGRID_KEY, SES_ACCESS_KEY_ID, SES_SECRET_ACCESS_KEY]) expect(result.stdout + result.stderr).not.toContain(secret);
    expect(sendgrid.requests).toHaveLength(0);
    expect(ses.requests).toHaveLength(0);
  });

  it('route explain shows both with their plans', async () => {
    const result = await runCli(['route', 'explain', '--config', live({ order: ['ses', 'sendgrid'] }).configPath, '--json'], { env: ALL_ESPS_ENV });
    expect(result.code, result.stderr).toBe(0);
    const doc = result.json();
    expect(doc.chain).toEqual(['ses', 'sendgrid']);
    expect(doc.providers.map((p: any) => p.name)).toEqual(['ses', 'sendgrid']);
    expect(doc.providers[1]).toMatchObject({ name: 'sendgrid', role: expect.any(String), plan: expect.any(String) });
    expect(result.stdout).not.toContain(SES_SECRET_ACCESS_KEY);
  });

  it('cost estimate --strategy sendgrid|ses prices them from the catalog', async () => {
    const sg = await runCli(['cost', 'estimate', '--volume', '80000', '--strategy', 'sendgrid', '--json']);
    expect(sg.code, sg.stderr).toBe(0);
    // pro: $89.95 for 100,000 (essentials is capped at 50,000)
    expect(sg.json().strategies[0]).toMatchObject({ strategy: 'sendgrid', total: 89.95 });
    const aws = await runCli(['cost', 'estimate', '--volume', '1000000', '--strategy', 'ses', '--json']);
    expect(aws.code, aws.stderr).toBe(0);
    // 1,000 × $0.10
    expect(aws.json().strategies[0]).toMatchObject({ strategy: 'ses', total: 100 });
  });
});
