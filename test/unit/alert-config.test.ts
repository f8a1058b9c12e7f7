import { describe, expect, it } from 'vitest';
import { configErrorOf } from '../helpers/config-errors.js';
import { validateConfig } from '../../src/config/validate.js';
import { redactSecrets } from '../../src/core/secrets.js';

const providers = { postmark: { type: 'postmark', serverToken: 'tok' } };
const errorOf = configErrorOf;

describe('alerts config', () => {
  it('defaults: folding within 1m, no webhook', () => {
    expect(validateConfig({ providers }, { baseDir: '/tmp' }).alerts).toEqual({ coalesceMs: 60_000 });
  });

  it('a webhook: its defaults, and its secret is masked from then on', () => {
    const secret = 'whsec-0123456789-abcdef';
    const config = validateConfig({ providers, alerts: { coalesce: 0, webhook: { url: 'https://ops.example.com/in', secret } } }, { baseDir: '/tmp' });
    expect(config.alerts).toEqual({ coalesceMs: 0, webhook: { url: 'https://ops.example.com/in', secret, timeoutMs: 5_000, retries: 3, queueLimit: 1000 } });
    expect(redactSecrets(`signed with ${secret}`)).toBe('signed with ****');
  });

  it('names each bad path', () => {
    const message = errorOf({ providers, alerts: { coalesce: 'soon', webhook: { url: 'ftp://x', secret: 'short', timeout: '0s', queueLimit: 0 } } });
    expect(message).toContain('alerts.coalesce: not a duration');
    expect(message).toContain('alerts.webhook.url: unsupported scheme "ftp:" (use https://)');
    expect(message).toContain('alerts.webhook.secret: give a secret of at least 16 characters');
    expect(message).toContain('alerts.webhook.timeout: must be longer than 0');
    expect(message).toContain('alerts.webhook.queueLimit');
    expect(errorOf({ providers, alerts: { webhook: { secret: 'long-enough-secret-1234' } } })).toContain('alerts.webhook.url: required');
    expect(errorOf({ providers, alerts: { webhook: { url: 'http://10.0.0.1/in', secret: 'long-enough-secret-1234' } } })).toContain('alerts.webhook.url: plain http:// is allowed only for loopback hosts');
    const withPassword = errorOf({ providers, alerts: { webhook: { url: 'https://ops:hunter2pw@ops.example.com/in', secret: 'long-enough-secret-1234' } } });
    expect(withPassword).toContain('alerts.webhook.url: a user name or password in the URL is not supported');
    expect(withPassword).not.toContain('hunter2pw');
  });
});
