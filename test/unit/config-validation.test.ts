import { describe, expect, it } from 'vitest';
import { interpolateEnv } from '../../src/config/interpolate.js';
import { validateConfig } from '../../src/config/validate.js';
import { parseDuration } from '../../src/core/duration.js';
import { parseRetryAfter } from '../../src/core/retry-after.js';
import { redactSecrets } from '../../src/core/secrets.js';

const providers = {
  postmark: { type: 'postmark', serverToken: 'tok' },
  mailgun: { type: 'mailgun', apiKey: 'key', domain: 'mg.example.com' },
  smtp: { type: 'smtp', host: 'smtp.example.com' },
};
const errorOf = (raw: unknown) => {
  try {
    validateConfig(raw, { baseDir: '/tmp' });
    return '';
  } catch (error) {
    return (error as Error).message;
  }
};

describe('validateConfig', () => {
  it('fills defaults', () => {
    const config = validateConfig({ providers }, { baseDir: '/srv/app' });
    expect(config.failover).toMatchObject({ enabled: true, order: ['postmark', 'mailgun', 'smtp'], retry: { attempts: 3, delayMs: 30_000, maxRetryAfterMs: 120_000 }, outboxPath: '/srv/app/.penguinmails/outbox.db' });
    expect(config.providers.smtp.settings).toMatchObject({ port: 587, secure: false });
    expect(config.providers.mailgun.settings).toMatchObject({ region: 'us' });
  });
  it('names the path and the fix', () => {
    expect(errorOf({ providers, failover: { order: ['postmark', 'mailgn'] } })).toContain('failover.order[1]: unknown provider "mailgn" (known: postmark, mailgun, smtp) — did you mean "mailgun"?');
    expect(errorOf({ providers, failover: { order: ['smtp', 'smtp'] } })).toContain('failover.order[1]: "smtp" appears twice');
    expect(errorOf({ providers, routing: { rules: [{ when: { type: 'marketing' }, use: ['sendgrid'] }] } })).toContain('routing.rules[0].use[0]: unknown provider "sendgrid"');
    expect(errorOf({ providers, failover: { retry: { attempts: -1 } } })).toContain('failover.retry.attempts');
    expect(errorOf({ providers, failover: { retry: { delay: 'soon' } } })).toContain('failover.retry.delay: not a duration');
    expect(errorOf({ providers: { mg: { type: 'mailgun', apiKey: 'k', domain: 'd', region: 'asia' } } })).toContain('providers.mg.region');
    expect(errorOf({ providers, defualts: {} })).toContain('unknown key "defualts"');
    expect(errorOf({ providers: { smtp: { type: 'smtp', host: 'h', port: 70000 } } })).toContain('providers.smtp.port');
  });
});

describe('environment interpolation', () => {
  it('replaces variables, reports missing ones with their path, and registers secrets', () => {
    const { value, missing } = interpolateEnv({ providers: { pm: { serverToken: '${TOKEN}', note: 'cost $${X}' }, list: ['${NOPE}'] } }, { TOKEN: 'very-secret-token' });
    expect(value).toEqual({ providers: { pm: { serverToken: 'very-secret-token', note: 'cost ${X}' }, list: ['${NOPE}'] } });
    expect(missing).toEqual([{ path: 'providers.list[0]', variable: 'NOPE' }]);
    expect(redactSecrets('token=very-secret-token!')).toBe('token=****!');
  });
});

describe('secrets in the forms they travel in', () => {
  it('masks the Mailgun key as its HTTP Basic credential, and the SMTP password as base64 AUTH', () => {
    validateConfig(
      { providers: { mg: { type: 'mailgun', apiKey: 'key-mgSECRET456', domain: 'mg.example.com' }, relay: { type: 'smtp', host: 'smtp.example.com', auth: { user: 'robot', pass: 'smtp-pass-789' } } } },
      { baseDir: '/tmp' },
    );
    const basic = Buffer.from('api:key-mgSECRET456').toString('base64');
    expect(redactSecrets(`echoed: Authorization: Basic ${basic}`)).toBe('echoed: Authorization: Basic ****');
    expect(redactSecrets(`334 ${Buffer.from('smtp-pass-789').toString('base64')}`)).toBe('334 ****');
    expect(redactSecrets(`AUTH PLAIN ${Buffer.from('\0robot\0smtp-pass-789').toString('base64')}`)).toBe('AUTH PLAIN ****');
  });
});

describe('durations and Retry-After', () => {
  it.each([['30s', 30_000], ['2m', 120_000], ['250ms', 250], ['1h', 3_600_000], ['5', 5000], [0, 0], ['1.5s', 1500]])('%s → %d ms', (input, ms) => {
    expect(parseDuration(input as string)).toBe(ms);
  });
  it.each(['', 'soon', '-1s', '3 days', '1d'])('refuses %j', (input) => expect(parseDuration(input)).toBeUndefined());
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
