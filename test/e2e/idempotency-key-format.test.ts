import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

const { smtp } = useFakeEsps();
const args = (configPath: string, key: string) => ['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't', '--json', '--idempotency-key', key];

describe('the idempotency key in headers', () => {
  it("a key with header-breaking characters ('a>,<b') is refused before anything is sent", async () => {
    const { configPath } = writeTestConfig({ smtpPort: smtp.port, order: ['smtp'] });
    const result = await runCli(args(configPath, 'a>,<b'), { env: TEST_ENV });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('idempotency key "a>,<b"');
    expect(smtp.messages).toHaveLength(0);
  });

  it('an allowed key with a colon and dots gives a well-formed Message-ID', async () => {
    const { configPath } = writeTestConfig({ smtpPort: smtp.port, order: ['smtp'] });
    const result = await runCli(args(configPath, 'order:1001..receipt'), { env: TEST_ENV });
    expect(result.code, result.stderr).toBe(0);
    const { parsed } = smtp.messages[0];
    expect(parsed.messageId).toMatch(/^<[A-Za-z0-9_~/+=-]+@example\.com>$/);
    expect(parsed.headers.get('x-penguinmails-idempotency-key')).toBe('order:1001..receipt');
  });
});
