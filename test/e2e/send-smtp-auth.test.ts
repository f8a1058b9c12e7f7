import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FakeSmtp } from '../fakes/fake-smtp.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const server = new FakeSmtp({ auth: { user: 'penguin', pass: 'right-password' } });
const fallback = new FakeSmtp();
beforeAll(async () => {
  await Promise.all([server.start(), fallback.start()]);
});
afterAll(async () => {
  await Promise.all([server.stop(), fallback.stop()]);
});

function config(): string {
  const dir = tempDir();
  const file = path.join(dir, 'penguinmails.config.yaml');
  writeFileSync(
    file,
    stringify({
      defaults: { from: 'noreply@example.com' },
      providers: {
        relay: { type: 'smtp', host: '127.0.0.1', port: server.port, ignoreTLS: true, auth: { user: 'penguin', pass: '${SMTP_PASSWORD}' } },
        backup: { type: 'smtp', host: '127.0.0.1', port: fallback.port, ignoreTLS: true },
      },
      failover: { order: ['relay', 'backup'], retry: { attempts: 3, delay: '10ms' }, outbox: 'outbox.db' },
    }),
  );
  return file;
}

describe('SMTP authentication', () => {
  it('logs in with the password from the environment', async () => {
    const result = await runCli(['send', '--config', config(), '--to', 'ada@example.com', '--subject', 's', '--text', 't', '--json'], { env: { SMTP_PASSWORD: 'right-password' } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.json().provider).toBe('relay');
    expect(server.messages).toHaveLength(1);
  });

  it('a refused login (535) is provider-unusable: no retry, straight to the next provider, password never printed', async () => {
    const result = await runCli(['send', '--config', config(), '--to', 'ada@example.com', '--subject', 's', '--text', 't', '--json', '--verbose'], { env: { SMTP_PASSWORD: 'wrong-password' } });
    expect(result.code, result.stderr).toBe(0);
    const json = result.json();
    expect(json.attempts.map((a: any) => `${a.provider}:${a.outcome}`)).toEqual(['relay:provider-unusable', 'backup:delivered']);
    expect(json.attempts[0].code).toBe(535);
    expect(result.stdout + result.stderr).not.toContain('wrong-password');
  });
});
