import { describe, expect, it } from 'vitest';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';

const { postmark, mailgun, smtp } = useFakeEsps({ refuse: new Map([['gone@example.com', 550]]) });

const message = ['--to', 'ada@example.com', '--subject', 'Report', '--text', 'attached'];

function live(options: Parameters<typeof writeTestConfig>[0] = {}) {
  return writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, ...options });
}

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
    expect(result.stderr.match(/550/g)).toHaveLength(1);
  });
});
