import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAILGUN_DOMAIN } from '../fakes/fake-mailgun.js';
import { POSTMARK_TOKEN } from '../fakes/fake-postmark.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';

const { postmark, mailgun, smtp } = useFakeEsps();

const fullMessage = [
  '--to', 'ada@example.com', '--cc', 'bob@example.com', '--bcc', 'eve@example.com', '--reply-to', 'support@example.com',
  '--subject', 'Your receipt', '--html', '<p>Thanks</p>', '--text', 'Thanks',
  '--tag', 'receipt', '--tag', 'billing', '--tag', 'q4', '--tag', 'extra', '--campaign', 'camp-42',
  '--metadata', 'order=1001', '--header', 'X-Customer: 77', '--track-opens', '--track-links', '--json',
];

function sendVia(provider: string, extra: string[] = []) {
  const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, order: [provider] });
  return runCli(['send', '--config', configPath, ...fullMessage, ...extra], { env: TEST_ENV });
}

describe('send through each provider with the real SDKs', () => {
  it('postmark: maps every field of the message onto POST /email', async () => {
    const result = await sendVia('postmark');
    expect(result.code, result.stderr).toBe(0);
    const json = result.json();
    expect(json).toMatchObject({ status: 'delivered', provider: 'postmark', outboxId: null });
    expect(json.attempts).toEqual([expect.objectContaining({ provider: 'postmark', try: 1, outcome: 'delivered' })]);
    // What a provider could not carry is in the result, not only on stderr (the library has no stderr).
    expect(json.warnings).toEqual([expect.stringContaining('one Tag per message')]);
    expect(postmark.sent).toHaveLength(1);
    const { path: url, token, body } = postmark.sent[0];
    expect(url).toBe('/email');
    expect(token).toBe(POSTMARK_TOKEN);
    expect(body).toMatchObject({
      From: 'Penguin <noreply@example.com>', To: 'ada@example.com', Cc: 'bob@example.com', Bcc: 'eve@example.com', ReplyTo: 'support@example.com',
      Subject: 'Your receipt', HtmlBody: '<p>Thanks</p>', TextBody: 'Thanks', Tag: 'receipt', TrackOpens: true, TrackLinks: 'HtmlAndText', MessageStream: 'outbound',
      Metadata: { order: '1001', campaign_id: 'camp-42', tags: 'billing,q4,extra' },
    });
    expect(body.Headers).toEqual(expect.arrayContaining([{ Name: 'X-Customer', Value: '77' }, { Name: 'X-PenguinMails-Idempotency-Key', Value: json.idempotencyKey }]));
    expect(json.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.stderr).toContain('one Tag per message');
  });

  it('postmark: marketing goes to the broadcast stream and --no-track-links sends None', async () => {
    const result = await sendVia('postmark', ['--type', 'marketing', '--no-track-links']);
    expect(result.code, result.stderr).toBe(0);
    expect(postmark.sent[0].body).toMatchObject({ MessageStream: 'broadcast', TrackLinks: 'None' });
  });

  it('mailgun: sends form fields o:tag (max 3), o:tracking-*, v: variables, h: headers', async () => {
    const result = await sendVia('mailgun', ['--no-track-links']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ status: 'delivered', provider: 'mailgun' });
    expect(result.json().messageId).toMatch(new RegExp(`@${MAILGUN_DOMAIN.replace(/\./g, '\\.')}>$`));
    const { fields, path: url } = mailgun.parsed[0];
    expect(url).toBe(`/v3/${MAILGUN_DOMAIN}/messages`);
    expect(fields).toMatchObject({
      from: ['Penguin <noreply@example.com>'], to: ['ada@example.com'], cc: ['bob@example.com'], bcc: ['eve@example.com'],
      subject: ['Your receipt'], html: ['<p>Thanks</p>'], text: ['Thanks'], 'h:Reply-To': ['support@example.com'], 'h:X-Customer': ['77'],
      'o:tag': ['receipt', 'billing', 'q4'], 'o:tracking-opens': ['yes'], 'o:tracking-clicks': ['no'],
      'v:campaign_id': ['camp-42'], 'v:order': ['1001'], 'v:extra_tags': ['["extra"]'],
    });
    expect(result.stderr).toContain('at most 3 tags');
  });

  it('mailgun: attachments arrive as files', async () => {
    const { dir, configPath } = writeTestConfig({ mailgunUrl: mailgun.url, order: ['mailgun'] });
    const file = path.join(dir, 'invoice.pdf');
    writeFileSync(file, Buffer.alloc(1234, 7));
    const result = await runCli(['send', '--config', configPath, '--to', 'ada@example.com', '--subject', 'Invoice', '--text', 'attached', '--attach', file], { env: TEST_ENV });
    expect(result.code, result.stderr).toBe(0);
    expect(mailgun.parsed[0].files).toEqual([{ field: 'attachment', filename: 'invoice.pdf', size: 1234, contentType: 'application/pdf' }]);
  });

  it('smtp: delivers to a real SMTP server with tags and campaign as X- headers', async () => {
    const result = await sendVia('smtp');
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ status: 'delivered', provider: 'smtp' });
    expect(smtp.messages).toHaveLength(1);
    const { envelope, parsed } = smtp.messages[0];
    expect(envelope.to.sort()).toEqual(['ada@example.com', 'bob@example.com', 'eve@example.com']);
    expect(parsed.subject).toBe('Your receipt');
    expect(parsed.html).toContain('<p>Thanks</p>');
    expect(parsed.text?.trim()).toBe('Thanks');
    expect(parsed.headers.get('x-penguinmails-tags')).toBe('receipt, billing, q4, extra');
    expect(parsed.headers.get('x-penguinmails-campaign')).toBe('camp-42');
    expect(parsed.headers.get('x-customer')).toBe('77');
    expect(parsed.headers.get('x-penguinmails-metadata')).toBe('order=1001');
    expect(parsed.replyTo?.text).toBe('support@example.com');
    expect(parsed.messageId).toBe(`<${result.json().idempotencyKey}@example.com>`);
  });

  it('accepts the platform API JSON body with --payload (stdin)', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port });
    const payload = { provider: 'mailgun', from: 'news@example.com', to: ['a@example.com', 'b@example.com'], subject: 'News', html_body: '<h1>Hi</h1>', track_opens: true, track_links: false, tags: ['news'], campaign_id: 'nov' };
    const result = await runCli(['send', '--config', configPath, '--payload', '-', '--json'], { env: TEST_ENV, input: JSON.stringify(payload) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.json().provider).toBe('mailgun');
    expect(postmark.requests).toHaveLength(0);
    expect(mailgun.parsed[0].fields).toMatchObject({ from: ['news@example.com'], to: ['a@example.com', 'b@example.com'], 'o:tracking-opens': ['yes'], 'o:tracking-clicks': ['no'], 'v:campaign_id': ['nov'], 'o:tag': ['news'] });
  });

  it('--dry-run prints each provider request with secrets masked and sends nothing', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port });
    const payloadFile = path.join(path.dirname(configPath), 'x.json');
    writeFileSync(payloadFile, JSON.stringify({ from: 'a@example.com', to: 'b@example.com', subject: 'S', text_body: 'T', tags: ['t1'] }));
    const human = await runCli(['send', '--config', configPath, '--dry-run', '--payload', payloadFile], { env: TEST_ENV });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('postmark (postmark) would receive');
    expect(human.stdout).toContain('mailgun (mailgun) would receive');
    expect(human.stdout).toContain('smtp (smtp) would receive');
    expect(human.stdout).not.toContain(POSTMARK_TOKEN);
    expect(human.stdout).not.toContain(TEST_ENV.MAILGUN_API_KEY);
    const json = (await runCli(['send', '--config', configPath, '--dry-run', '--payload', payloadFile, '--json'], { env: TEST_ENV })).json();
    expect(json).toMatchObject({ status: 'dry-run', provider: 'postmark', messageId: null, attempts: [], outboxId: null });
    expect(json.requests.map((r: any) => r.provider)).toEqual(['postmark', 'mailgun', 'smtp']);
    expect(json.requests[0].request.body).toMatchObject({ From: 'a@example.com', To: 'b@example.com', Tag: 't1' });
    expect(json.requests[1].request.form).toMatchObject({ 'o:tag': ['t1'] });
    expect(postmark.requests.length + mailgun.requests.length + smtp.messages.length).toBe(0);
  });

  it('--dry-run shows an attachment by its size, not its content', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port });
    const file = path.join(path.dirname(configPath), 'invoice.pdf');
    writeFileSync(file, Buffer.alloc(3000, 7));
    const json = (await runCli(['send', '--config', configPath, '--dry-run', '--from', 'a@example.com', '--to', 'b@example.com', '--subject', 'S', '--text', 'T', '--attach', file, '--json'], { env: TEST_ENV })).json();
    expect(json.requests[0].request.body.Attachments).toEqual([{ Name: 'invoice.pdf', Content: '(base64, 3000 bytes)', ContentType: 'application/pdf' }]);
    expect(json.requests[1].request.form.attachment).toEqual(['invoice.pdf (application/pdf, 3000 bytes)']);
  });

  it('--dry-run works without the secrets in the environment', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url });
    const result = await runCli(['send', '--config', configPath, '--dry-run', '--to', 'a@example.com', '--subject', 's', '--text', 't'], { env: { POSTMARK_SERVER_TOKEN: undefined, MAILGUN_API_KEY: undefined } });
    expect(result.code, result.stderr).toBe(0);
    // …but says what a real send would stop at, naming the variable and where the config uses it.
    expect(result.stderr).toMatch(/warning: config .*: providers\.postmark\.serverToken: environment variable POSTMARK_SERVER_TOKEN is not set \(a real send through postmark would stop here\)/);
    expect(result.stderr).toMatch(/providers\.mailgun\.apiKey: environment variable MAILGUN_API_KEY is not set/);
    const real = await runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', 's', '--text', 't'], { env: { POSTMARK_SERVER_TOKEN: undefined, MAILGUN_API_KEY: undefined } });
    expect(real.code).toBe(2);
    // A provider the message would not go through is not named: its secret does not matter to it.
    const onePath = await runCli(['send', '--config', configPath, '--dry-run', '--provider', 'postmark', '--no-failover', '--to', 'a@example.com', '--subject', 's', '--text', 't'], { env: { POSTMARK_SERVER_TOKEN: undefined, MAILGUN_API_KEY: undefined } });
    expect(onePath.code, onePath.stderr).toBe(0);
    expect(onePath.stderr).toContain('POSTMARK_SERVER_TOKEN is not set');
    expect(onePath.stderr).not.toContain('MAILGUN_API_KEY');
    const withoutPostmark = await runCli(['send', '--config', configPath, '--dry-run', '--provider', 'smtp', '--no-failover', '--to', 'a@example.com', '--subject', 's', '--text', 't'], { env: { POSTMARK_SERVER_TOKEN: undefined, MAILGUN_API_KEY: undefined } });
    expect(withoutPostmark.code, withoutPostmark.stderr).toBe(0);
    expect(withoutPostmark.stderr).not.toMatch(/is not set/);
  });

  it('--dry-run with defaults.from from an unset variable: no sender unless --from gives one, and never "${FROM}" as an address', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url });
    const withVariables = path.join(path.dirname(configPath), 'from-variable.yaml');
    writeFileSync(withVariables, `defaults: { from: "\${FROM}" }\nproviders:\n  postmark: { type: postmark, serverToken: x, baseUrl: "${postmark.url}" }\nfailover: { order: [postmark] }\n`);
    const message = ['--to', 'a@example.com', '--subject', 's', '--text', 't'];
    const noSender = await runCli(['send', '--config', withVariables, '--dry-run', ...message], { env: { FROM: undefined } });
    expect(noSender.code).toBe(2);
    expect(noSender.stderr).toContain('defaults.from: environment variable FROM is not set');
    expect(noSender.stderr).toContain('from: missing sender');
    expect(noSender.stderr).not.toContain('"${FROM}"');
    const payload = path.join(path.dirname(configPath), 'no-from.json');
    writeFileSync(payload, JSON.stringify({ to: 'a@example.com', subject: 's', text_body: 't' }));
    const payloadRun = await runCli(['send', '--config', withVariables, '--dry-run', '--payload', payload], { env: { FROM: undefined } });
    expect(payloadRun.code).toBe(2);
    expect(payloadRun.stderr).toContain('from: missing: give from (or --from), or set defaults.from in the config');
    const withSender = await runCli(['send', '--config', withVariables, '--dry-run', '--from', 'shop@example.com', ...message, '--json'], { env: { FROM: undefined } });
    expect(withSender.code, withSender.stderr).toBe(0);
    expect(withSender.json().requests[0].request.body.From).toBe('shop@example.com');
  });

  it('--dry-run with an unset variable in a setting that is not free text names the variable, as a real send does', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url });
    const withVariables = path.join(path.dirname(configPath), 'variables.yaml');
    writeFileSync(withVariables, `providers:\n  postmark: { type: postmark, serverToken: x, baseUrl: "${postmark.url}" }\nfailover: { order: [postmark], retry: { delay: "\${RETRY_DELAY}" } }\n`);
    const message = ['--to', 'a@example.com', '--from', 'b@example.com', '--subject', 's', '--text', 't'];
    for (const args of [['--dry-run'], []]) {
      const result = await runCli(['send', '--config', withVariables, ...args, ...message], { env: { RETRY_DELAY: undefined } });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('failover.retry.delay: environment variable RETRY_DELAY is not set');
      expect(result.stderr).toContain('hint: export RETRY_DELAY=');
      expect(result.stderr).not.toContain('not a duration');
    }
    // Another problem of the file is still told as it is.
    writeFileSync(withVariables, `providers:\n  postmark: { type: postmark, serverToken: x, baseUrl: "${postmark.url}" }\nfailover: { order: [postmark], retry: { delay: "\${RETRY_DELAY}", attempts: 0 } }\n`);
    const both = await runCli(['send', '--config', withVariables, '--dry-run', ...message], { env: { RETRY_DELAY: undefined } });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('failover.retry.delay: environment variable RETRY_DELAY is not set');
    expect(both.stderr).toMatch(/failover\.retry\.attempts: .*at least 1/);
    expect(postmark.requests).toHaveLength(0);
  });
});
