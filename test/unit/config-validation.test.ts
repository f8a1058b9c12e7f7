import { describe, expect, it } from 'vitest';
import { configErrorOf, SAMPLE_PROVIDERS } from '../helpers/config-errors.js';
import { configFromObject } from '../../src/config/from-object.js';
import { interpolateEnv } from '../../src/config/interpolate.js';
import { validateConfig } from '../../src/config/validate.js';
import { parseDuration } from '../../src/core/duration.js';
import { parseRetryAfter } from '../../src/core/retry-after.js';
import { redactSecrets } from '../../src/core/secrets.js';

const providers = SAMPLE_PROVIDERS;
const errorOf = configErrorOf;

describe('validateConfig', () => {
  it('fills defaults', () => {
    const config = validateConfig({ providers }, { baseDir: '/srv/app' });
    expect(config.failover).toMatchObject({ enabled: true, order: ['postmark', 'mailgun', 'smtp'], retry: { attempts: 3, delayMs: 30_000, maxRetryAfterMs: 120_000 } });
    expect(config.store).toEqual({ kind: 'sqlite', path: '/srv/app/.penguinmails/outbox.db', label: '/srv/app/.penguinmails/outbox.db', configKey: 'failover.outbox' });
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

describe('webhook settings and events.retention', () => {
  it('are checked like the rest, each problem by its path', () => {
    expect(errorOf({ providers: { pm: { type: 'postmark', serverToken: 't', webhook: { username: 'u' } } } })).toContain('providers.pm.webhook.password');
    expect(errorOf({ providers: { sg: { type: 'sendgrid', apiKey: 'k', webhookPublicKey: 'bm90IGEga2V5' } } })).toContain('providers.sg.webhookPublicKey: not an ECDSA public key');
    expect(errorOf({ providers: { ses: { type: 'ses', region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 's', webhook: { topicArns: [] } } } })).toContain('providers.ses.webhook.topicArns');
    expect(errorOf({ providers: { ses: { type: 'ses', region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 's', webhook: { topicArns: ['my-topic'] } } } })).toContain('providers.ses.webhook.topicArns[0]: not an SNS topic ARN');
    expect(errorOf({ providers: { ses: { type: 'ses', region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 's', webhook: { topicArns: ['arn:aws:sns:us-east-1:123456789012:t'], snsBaseUrl: 'http://sns.example.com' } } } })).toContain('providers.ses.webhook.snsBaseUrl');
    expect(errorOf({ providers, events: { retention: 'forever' } })).toContain('events.retention: not a duration');
    expect(validateConfig({ providers }, { baseDir: '/' }).events).toEqual({ retentionMs: 30 * 86_400_000 });
  });
  it('keeps webhook secrets out of every output', () => {
    validateConfig({ providers: { pm: { type: 'postmark', serverToken: 'tok-1234', webhook: { username: 'hooks', password: 'pm-hook-pw-77' } }, mg: { type: 'mailgun', apiKey: 'key-1', domain: 'd', webhookSigningKey: 'mg-sign-key-88' } } }, { baseDir: '/' });
    expect(redactSecrets('pm-hook-pw-77 mg-sign-key-88 ' + Buffer.from('hooks:pm-hook-pw-77').toString('base64'))).toBe('**** **** ****');
  });
});

describe('store: one machine or many', () => {
  it('takes a SQLite path (store, or the older failover.outbox) or a PostgreSQL URL whose password it never shows', () => {
    expect(validateConfig({ store: 'data/pm.db' }, { baseDir: '/srv/app' }).store).toMatchObject({ kind: 'sqlite', path: '/srv/app/data/pm.db', configKey: 'store' });
    expect(validateConfig({ failover: { outbox: 'old.db' } }, { baseDir: '/srv/app' }).store).toMatchObject({ kind: 'sqlite', path: '/srv/app/old.db', configKey: 'failover.outbox' });
    const pg = validateConfig({ store: 'postgresql://mail:s3cr%40t-pw@db.internal:6432/mail' }, { baseDir: '/' }).store;
    expect(pg).toEqual({ kind: 'postgres', url: 'postgresql://mail:s3cr%40t-pw@db.internal:6432/mail', poolSize: 10, statementTimeoutMs: 30_000, schema: 'penguinmails', label: 'PostgreSQL database "mail" on db.internal:6432 (schema penguinmails)' });
    expect(redactSecrets('password s3cr@t-pw leaked')).toBe('password **** leaked');
    const tuned = validateConfig({ store: { url: 'postgres://db/mail', poolSize: 3, statementTimeout: '5s', schema: 'mail_app' } }, { baseDir: '/' }).store;
    expect(tuned).toMatchObject({ kind: 'postgres', poolSize: 3, statementTimeoutMs: 5000, schema: 'mail_app' });
    expect(validateConfig({ store: '${DATABASE_URL}' }, { baseDir: '/' }).store).toMatchObject({ kind: 'unresolved', variable: 'DATABASE_URL' });
  });
  it.each([
    [{ store: 'a.db', failover: { outbox: 'b.db' } }, 'store: set either store or failover.outbox'],
    [{ store: 'mysql://db/mail' }, 'store: "mysql://" is not a store penguinmails knows'],
    [{ store: '' }, 'store'],
    [{ store: { url: 'postgres://db/mail', poolSize: 0 } }, 'store.poolSize'],
    [{ store: { url: 'postgres://db/mail', schema: 'drop table' } }, 'store.schema'],
    [{ store: { url: 'postgres://db/mail', statementTimeout: 'soon' } }, 'store.statementTimeout'],
    [{ store: { url: 'local.db', poolSize: 5 } }, 'apply to a PostgreSQL store only'],
    [{ store: { url: 'postgres://db/mail', pool: 5 } }, 'store'],
  ])('refuses %j', (raw, expected) => {
    expect(errorOf(raw)).toContain(expected);
  });
});

describe('config problems in plain words', () => {
  it.each([
    [{ providers: { postmark: { type: 'postmark' } } }, 'providers.postmark.serverToken: required (a string)'],
    [{ providers, failover: { retry: { attempts: '3' } } }, 'failover.retry.attempts: must be a number'],
    [{ providers, failover: { retry: { attempts: 1.5 } } }, 'failover.retry.attempts: must be a whole number'],
    [{ providers, failover: { enabled: 'yes' } }, 'failover.enabled: must be true or false'],
    [{ providers, failover: { retry: { delay: true } } }, 'failover.retry.delay: must be a string or a number'],
    // Waits a timer takes: past ~24.8 days Node fires it at once (a 25d timeout failed every send).
    [{ providers, failover: { retry: { delay: '99999999d' } } }, "failover.retry.delay: at most 24d (a longer wait would overflow Node's timers and end at once)"],
    [{ providers: { pm: { type: 'postmark', serverToken: 't', timeout: '25d' } } }, "providers.pm.timeout: at most 24d (a longer wait would overflow Node's timers and end at once)"],
    [{ providers, routing: { rules: [{ when: { type: 'bulk' }, use: ['smtp'] }] } }, 'routing.rules[0].when.type: must be one of: transactional, marketing'],
    [{ providers, routing: { rules: [{ when: { monthlyVolume: { below: -1 } }, use: ['smtp'] }] } }, 'routing.rules[0].when.monthlyVolume.below: must be at least 0'],
    [{ providers, pricing: { smtp: { plans: [{ name: 'x', monthly: 1, included: 1 }] } } }, 'pricing.smtp.plans[0].overagePer1k: required (a number or null)'],
    // Tiered overage: `overage` instead of overagePer1k, tiers rising above `included`, the last open-ended.
    [{ providers, pricing: { mailgun: { plans: [{ name: 'x', monthly: 1, included: 100, overagePer1k: 1, overage: [{ upTo: null, per1k: 1 }] }] } } }, 'pricing.mailgun.plans[0]: give overagePer1k (one rate) or overage (tiers), not both'],
    [{ providers, pricing: { mailgun: { plans: [{ name: 'x', monthly: 1, included: 100, overage: [{ upTo: 100, per1k: 1 }, { upTo: null, per1k: 1 }] }] } } }, "pricing.mailgun.plans[0].overage[0].upTo: must be above the plan's included emails (100)"],
    [{ providers, pricing: { mailgun: { plans: [{ name: 'x', monthly: 1, included: 100, overage: [{ upTo: 250, per1k: 1 }, { upTo: 200, per1k: 1 }, { upTo: null, per1k: 1 }] }] } } }, "pricing.mailgun.plans[0].overage[1].upTo: must be above the previous tier's upTo (250)"],
    [{ providers, pricing: { mailgun: { plans: [{ name: 'x', monthly: 1, included: 100, overage: [{ upTo: 250, per1k: 1 }] }] } } }, 'pricing.mailgun.plans[0].overage[0].upTo: the last tier must be open-ended (upTo: null)'],
    [{ providers, pricing: { mailgun: { plans: [{ name: 'x', monthly: 1, included: 100, overage: [{ upTo: null, per1k: 1 }, { upTo: null, per1k: 1 }] }] } } }, 'pricing.mailgun.plans[0].overage[0].upTo: only the last tier can be open-ended (upTo: null)'],
    [{ providers, pricing: { mailgun: { plans: [{ name: 'x', monthly: 1, included: 100, overage: [{ upTo: null }] }] } } }, 'pricing.mailgun.plans[0].overage[0].per1k: required (a number)'],
    [{ providers: { 'my relay': { type: 'smtp', host: 'h' } } }, 'provider names use letters, digits, - and _'],
  ])('%j → %s', (raw, message) => {
    const error = errorOf(raw);
    expect(error).toContain(message);
    expect(error).not.toMatch(/Invalid input|Invalid option|Too small|received/);
  });

  it('suggests the key an unknown key probably meant, in the file and in provider entries', () => {
    expect(errorOf({ providers, failover: { retry: { atempts: 3 } } })).toContain('failover.retry: unknown key "atempts" — did you mean "attempts"?');
    expect(errorOf({ providers, routing: { rules: [{ when: { tpye: 'marketing' }, use: ['smtp'] }] } })).toContain('routing.rules[0].when: unknown key "tpye" — did you mean "type"?');
    expect(errorOf({ providers: { mg: { type: 'mailgun', apiKey: 'k', domain: 'd', timout: '5s' } } })).toContain('providers.mg: unknown key "timout" — did you mean "timeout"?');
    expect(errorOf({ providers: { relay: { type: 'smtp', host: 'h', auth: { usr: 'a', pass: 'b' } } } })).toContain('providers.relay.auth: unknown key "usr" — did you mean "user"?');
    // Nothing close: the allowed keys instead.
    expect(errorOf({ providers, failover: { retry: { zzz: 1 } } })).toContain('failover.retry: unknown key "zzz" (allowed here: attempts, delay, maxRetryAfter)');
  });
});

describe('environment interpolation', () => {
  it('replaces variables, reports missing ones with their path, and registers secrets', () => {
    const { value, missing } = interpolateEnv({ providers: { pm: { serverToken: '${TOKEN}', note: 'cost $${X}' }, list: ['${NOPE}'] } }, { TOKEN: 'very-secret-token' });
    expect(value).toEqual({ providers: { pm: { serverToken: 'very-secret-token', note: 'cost ${X}' }, list: ['${NOPE}'] } });
    expect(missing).toEqual([{ path: 'providers.list[0]', variable: 'NOPE' }]);
    expect(redactSecrets('token=very-secret-token!')).toBe('token=****!');
  });

  it('masks the environment values of settings named like credentials only: a port, a host or a number of a --json document stays readable', () => {
    interpolateEnv({ server: { listen: '127.0.0.1:${PORT}' }, providers: { relay: { host: '${SMTP_HOST}', auth: { user: '${SMTP_USER}', pass: '${SMTP_PASS}' } } } }, { PORT: '1000', SMTP_HOST: 'relay.internal.example', SMTP_USER: 'robot-user', SMTP_PASS: 'relay-pass-4411' });
    expect(redactSecrets('{"volume": 100000, "at": "relay.internal.example:1000", "user": "robot-user", "pass": "relay-pass-4411"}')).toBe('{"volume": 100000, "at": "relay.internal.example:1000", "user": "****", "pass": "****"}');
    // A url may carry a token in its path (a chat webhook).
    interpolateEnv({ alerts: { webhook: { url: '${ALERT_URL}' } } }, { ALERT_URL: 'https://hooks.example.com/services/T00/B00/tok3nPart' });
    expect(redactSecrets('POST https://hooks.example.com/services/T00/B00/tok3nPart')).toBe('POST ****');
    // A user name (an SES SMTP user is an access key id), and a token built into a longer value.
    interpolateEnv({ providers: { relay: { auth: { user: '${SMTP_USER}' } }, gw: { baseUrl: 'https://gw.example.com/${GW_TOKEN}/' } } }, { SMTP_USER: 'AKIAEXAMPLE7Q', GW_TOKEN: 'gwsecret0123456789' });
    expect(redactSecrets('AKIAEXAMPLE7Q https://gw.example.com/gwsecret0123456789/email')).toBe('**** https://gw.example.com/****/email');
  });

  it('a number or true/false setting that is one variable takes the value as a number or true/false; anything else still fails', () => {
    const raw = { providers: { relay: { type: 'smtp', host: 'h', port: '${SMTP_PORT}', secure: '${SMTP_SECURE}' } }, failover: { retry: { attempts: '${RETRIES}' } } };
    const config = configFromObject(raw, { baseDir: '.', env: { SMTP_PORT: '2525', SMTP_SECURE: 'false', RETRIES: '2' } });
    expect(config.providers.relay.settings).toMatchObject({ port: 2525, secure: false });
    expect(config.failover.retry.attempts).toBe(2);
    expect(() => configFromObject(raw, { baseDir: '.', env: { SMTP_PORT: '25x25', SMTP_SECURE: 'no', RETRIES: '2' } })).toThrow(
      /providers\.relay\.port: must be a number \(the value of \$SMTP_PORT\)\n {2}providers\.relay\.secure: must be true or false \(the value of \$SMTP_SECURE\)/,
    );
    // Settings whose own check words it otherwise: a split's weight, a plan's price.
    const split = configFromObject(
      { providers: { a: { type: 'smtp', host: 'h' }, b: { type: 'smtp', host: 'h' } }, routing: { rules: [{ when: {}, split: { a: '${WEIGHT_A}', b: 1 }, use: ['a', 'b'] }] }, pricing: { a: { plans: [{ name: 'p', monthly: '${PRICE}', included: 10, overagePer1k: '${OVERAGE}' }] } } },
      { baseDir: '.', env: { WEIGHT_A: '3', PRICE: '15', OVERAGE: '1.8' } },
    );
    expect(split.routing.rules[0].split).toEqual({ a: 3, b: 1 });
    expect(split.pricing.a.plans![0]).toMatchObject({ monthly: 15, overagePer1k: 1.8 });
    // A setting that is text stays text, digits or not.
    expect(configFromObject({ providers: { mg: { type: 'mailgun', apiKey: '${KEY}', domain: 'd' } } }, { baseDir: '.', env: { KEY: '12345678' } }).providers.mg.settings.apiKey).toBe('12345678');
  });

  it('a ${ that starts no variable is a config error naming the setting, whatever the command', () => {
    const { malformed } = interpolateEnv({ providers: { pm: { serverToken: '${POSTMARK_SERVER_TOKEN', note: 'cost $${X} and ${1X}' } } }, {});
    expect(malformed).toEqual(['providers.pm.serverToken', 'providers.pm.note']);
    for (const requireEnv of [true, false]) {
      expect(() => configFromObject({ providers: { pm: { type: 'postmark', serverToken: '${POSTMARK_SERVER_TOKEN' } } }, { baseDir: '.', filePath: 'p.yaml', requireEnv, env: {} })).toThrow(
        'invalid config p.yaml:\n  providers.pm.serverToken: holds a ${ that starts no variable: write ${NAME} (letters, digits and _, then }), or $${ for a literal ${',
      );
    }
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
  it.each(['', 'soon', '-1s', '3 days', '1w'])('refuses %j', (input) => expect(parseDuration(input)).toBeUndefined());
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
