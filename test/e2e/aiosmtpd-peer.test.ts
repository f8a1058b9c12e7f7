import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli, tempDir } from '../helpers/cli.js';
import { CLOSED_PORT } from '../helpers/config.js';

// A second opinion next to smtp-server: Debian's python3-aiosmtpd, a different SMTP implementation.
// Skipped where it is not installed (apt install python3-aiosmtpd; it needs /usr/bin/python3).
const available = spawnSync('/usr/bin/python3', ['-c', 'import aiosmtpd'], { stdio: 'ignore' }).status === 0;
const port = CLOSED_PORT;
let server: ChildProcess;
let received = '';

describe.skipIf(!available)('delivery to aiosmtpd', () => {
  beforeAll(async () => {
    server = spawn('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Debugging'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d) => (received += d));
    // wait until it accepts connections
    for (let i = 0; i < 100; i++) {
      const probe = await runCli(['send', '--config', configFile(), '--to', 'probe@example.com', '--subject', 'probe', '--text', 'p', '--json', '--no-failover']);
      if (probe.code === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(() => {
    server?.kill();
  });

  function configFile(): string {
    const file = path.join(tempDir(), 'penguinmails.config.yaml');
    writeFileSync(
      file,
      stringify({
        defaults: { from: 'noreply@example.com' },
        providers: { smtp: { type: 'smtp', host: '127.0.0.1', port, ignoreTLS: true, timeout: '2s' } },
        failover: { retry: { attempts: 1, delay: '10ms' }, outbox: 'outbox.db' },
      }),
    );
    return file;
  }

  it('carries subject, tags and campaign headers to a different SMTP server', async () => {
    const result = await runCli(['send', '--config', configFile(), '--to', 'ada@example.com', '--subject', 'Second opinion', '--html', '<b>hi</b>', '--tag', 'peer', '--campaign', 'aio', '--json']);
    expect(result.code, result.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    // header names are case-insensitive (nodemailer writes X-Penguinmails-Tags)
    expect(received).toMatch(/^Subject: Second opinion$/m);
    expect(received).toMatch(/^X-PenguinMails-Tags: peer$/im);
    expect(received).toMatch(/^X-PenguinMails-Campaign: aio$/im);
  });
});
