import { describe, expect, it } from 'vitest';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';

const { postmark, mailgun, smtp } = useFakeEsps({ refuse: new Map([['gone@example.com', 550]]) });

const message = ['--to', 'ada@example.com', '--subject', 'Report', '--text', 'attached'];

function live(options: Parameters<typeof writeTestConfig>[0] = {}) {
  return writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, ...options });
}

describe('SMTP refusals', () => {
  it('name the reply code once', async () => {
    const result = await runCli(['send', '--config', live({ order: ['smtp'] }).configPath, '--to', 'gone@example.com', '--subject', 's', '--text', 't'], { env: TEST_ENV });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('rejected by smtp: refused: 550 Mailbox unavailable');
    expect(result.stderr.match(/550/g)).toHaveLength(1);
  });
});
