import { closeSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { TEST_ENV, testConfig, writeTestConfig } from '../helpers/config.js';

const { postmark, mailgun, smtp } = useFakeEsps({ refuse: new Map([['gone@example.com', 550]]) });

const message = ['--to', 'ada@example.com', '--subject', 'Report', '--text', 'attached'];

function live(options: Parameters<typeof writeTestConfig>[0] = {}) {
  return writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, ...options });
}

function sentAnything(): boolean {
  return postmark.requests.length + mailgun.requests.length + smtp.messages.length > 0;
}

describe('attachments are checked against each provider\'s message size limit', () => {
  it('11 MB with Postmark first → exit 2 naming the file, the limit and who takes it; nothing sent. With --provider mailgun it goes through', async () => {
    const { dir, configPath } = live();
    const file = path.join(dir, 'report.pdf');
    writeFileSync(file, Buffer.alloc(11_000_000, 7));

    const refused = await runCli(['send', '--config', configPath, ...message, '--attach', file], { env: TEST_ENV });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('report.pdf (11 MB, 14.7 MB in base64) makes the message 14.7 MB: more than postmark takes (10 MB per message)');
    expect(refused.stderr).toContain('--provider mailgun takes up to 25 MB');
    expect(sentAnything()).toBe(false);

    const forced = await runCli(['send', '--config', configPath, ...message, '--attach', file, '--provider', 'mailgun', '--json'], { env: TEST_ENV });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.json()).toMatchObject({ status: 'delivered', provider: 'mailgun' });
    expect(mailgun.parsed[0].files).toEqual([{ field: 'attachment', filename: 'report.pdf', size: 11_000_000, contentType: 'application/pdf' }]);
    expect(postmark.requests).toHaveLength(0);

    // Postmark would only reject it on failover: it is left out of the chain.
    const plan = (await runCli(['send', '--config', configPath, ...message, '--attach', file, '--provider', 'mailgun', '--dry-run', '--json'], { env: TEST_ENV })).json();
    expect(plan.route.chain).toEqual(['mailgun', 'smtp']);
    expect(plan.route.notes).toContain('postmark left out of the chain: the message (14.7 MB) is over its 10 MB limit');
  });

  it('a 60 MB file is refused at once, unread, as larger than any configured provider takes', async () => {
    const { dir, configPath } = live();
    const file = path.join(dir, 'video.mp4');
    closeSync(openSync(file, 'w'));
    truncateSync(file, 60_000_000);
    const started = Date.now();
    const result = await runCli(['send', '--config', configPath, ...message, '--attach', file], { env: TEST_ENV });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--attach ${file}: 60 MB (80 MB in base64) is more than the largest message a configured provider takes (mailgun: 25 MB`);
    expect(result.stderr).toContain('hint: drop the attachment, or send a link to it instead');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(sentAnything()).toBe(false);
  });

  it('files that fit one by one but not together are refused before any is read', async () => {
    const { dir, configPath } = live();
    const files = ['a.zip', 'b.zip'].map((name) => path.join(dir, name));
    for (const file of files) {
      closeSync(openSync(file, 'w'));
      truncateSync(file, 10_000_000);
    }
    const result = await runCli(['send', '--config', configPath, ...message, ...files.flatMap((file) => ['--attach', file])], { env: TEST_ENV });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--attach: the files together are 26.7 MB in base64, more than the largest message a configured provider takes (mailgun: 25 MB');
    expect(sentAnything()).toBe(false);
  });

  it('an SMTP provider\'s maxMessageSize is its limit', async () => {
    const dir = tempDir();
    const config = testConfig({ smtpPort: smtp.port, order: ['smtp'] }) as { providers: Record<string, Record<string, unknown>> };
    config.providers.smtp.maxMessageSize = '1MB';
    const configPath = path.join(dir, 'penguinmails.config.yaml');
    writeFileSync(configPath, stringify(config));
    const file = path.join(dir, 'scan.png');
    writeFileSync(file, Buffer.alloc(900_000, 1));
    const result = await runCli(['send', '--config', configPath, ...message, '--attach', file], { env: TEST_ENV });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('scan.png (900 KB, 1.2 MB in base64)');
    expect(result.stderr).toContain('more than smtp takes (1 MB per message)');
    expect(sentAnything()).toBe(false);
  });
});

describe('Mailgun Retry-After', () => {
  const mailgunFirst = () => live({ order: ['mailgun', 'smtp'], failover: { retry: { attempts: 3, delay: '10ms', maxRetryAfter: '2m' } } }).configPath;

  it('429 with Retry-After: 1 → the next try waits 1 s', async () => {
    mailgun.failNext({ status: 429, body: { message: 'Too many requests' }, headers: { 'Retry-After': '1' } });
    const result = await runCli(['send', '--config', mailgunFirst(), ...message, '--json'], { env: TEST_ENV });
    expect(result.code, result.stderr).toBe(0);
    const { attempts } = result.json();
    expect(attempts.map((a: any) => `${a.provider}#${a.try}:${a.outcome}`)).toEqual(['mailgun#1:transient', 'mailgun#2:delivered']);
    expect(attempts[0].waitMs).toBeGreaterThanOrEqual(1000);
    expect(attempts[0].note).toContain('honouring Retry-After 1s');
  });

  it('429 with Retry-After: 300 over a 2m cap → the next provider at once', async () => {
    mailgun.failNext({ status: 429, body: { message: 'Too many requests' }, headers: { 'Retry-After': '300' } });
    const result = await runCli(['send', '--config', mailgunFirst(), ...message, '--json'], { env: TEST_ENV });
    expect(result.code, result.stderr).toBe(0);
    const { attempts } = result.json();
    expect(attempts.map((a: any) => `${a.provider}#${a.try}:${a.outcome}`)).toEqual(['mailgun#1:transient', 'smtp#1:delivered']);
    expect(attempts[0].waitMs).toBeUndefined();
    expect(attempts[0].note).toContain('Retry-After 300s exceeds the 120s cap: moving on');
    expect(mailgun.requests).toHaveLength(1);
  });
});

describe('SMTP refusals', () => {
  it('name the reply code once', async () => {
    const result = await runCli(['send', '--config', live({ order: ['smtp'] }).configPath, '--to', 'gone@example.com', '--subject', 's', '--text', 't'], { env: TEST_ENV });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('rejected by smtp: refused: 550 Mailbox unavailable');
    const errorLine = result.stderr.split('\n').find((line) => line.includes('rejected by smtp'))!;
    expect(errorLine.match(/550/g)).toHaveLength(1);
    // The attempt itself is progress, on stderr too: stdout holds no narrative of a failed send.
    expect(result.stderr).toMatch(/smtp try 1: permanent/);
    expect(result.stdout).toBe('');
  });
});
