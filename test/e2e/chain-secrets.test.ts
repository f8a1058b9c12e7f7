import { describe, expect, it } from 'vitest';
import { POSTMARK_TOKEN } from '../fakes/fake-postmark.js';
import { runCli } from '../helpers/cli.js';
import { call, createKey, startServer } from '../helpers/serve.js';
import { writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

// SPEC send: secrets are resolved only for the providers of this message's chain.
const { postmark, mailgun } = useFakeEsps();
const onlyPostmark = { POSTMARK_SERVER_TOKEN: POSTMARK_TOKEN, MAILGUN_API_KEY: undefined };
const args = (configPath: string, extra: string[]) => ['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't', '--json', ...extra];

describe('secrets of providers the send does not use', () => {
  it('--provider postmark --no-failover sends without MAILGUN_API_KEY', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url });
    const result = await runCli(args(configPath, ['--provider', 'postmark', '--no-failover']), { env: onlyPostmark });
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ status: 'delivered', provider: 'postmark' });
  });

  it('a chain through mailgun without MAILGUN_API_KEY stops before sending anything, naming the variable', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, order: ['postmark', 'mailgun'] });
    const result = await runCli(args(configPath, []), { env: onlyPostmark });
    expect(result.code).toBe(2);
    expect(result.json()).toMatchObject({ status: 'error', exitCode: 2 });
    expect(result.stderr + result.stdout).toContain('providers.mailgun.apiKey: environment variable MAILGUN_API_KEY is not set');
    expect(postmark.requests).toHaveLength(0);
    expect(mailgun.requests).toHaveLength(0);
  });

  it("serve: a message whose chain lacks a secret is answered 503 without the config's path or variables; the start-up log names them", async () => {
    const { configPath, dir } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, order: ['postmark', 'mailgun'] });
    const key = await createKey(configPath, 'app');
    const server = await startServer(configPath, dir, [], { MAILGUN_API_KEY: undefined });
    try {
      const answer = await call(server.url, 'POST', '/api/v1/emails/send', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify({ from: 'a@example.com', to: 'b@example.com', subject: 'S', text_body: 't' }));
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ status: 'error', error: expect.stringContaining('cannot send through "mailgun"') });
      expect(JSON.stringify(answer.body)).not.toMatch(/MAILGUN_API_KEY|penguinmails\.config|\.yaml/);
      expect(server.output()).toContain('provider "mailgun" cannot send until MAILGUN_API_KEY is set');
      expect(postmark.requests).toHaveLength(0);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
