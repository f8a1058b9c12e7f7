import { chmodSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAILGUN_KEY } from '../fakes/fake-mailgun.js';
import { POSTMARK_TOKEN } from '../fakes/fake-postmark.js';
import { runCli } from '../helpers/cli.js';
import { call, createKey, startServer } from '../helpers/serve.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

// An ESP error body that echoes the credential must not put it into the outbox file.
const { postmark, mailgun } = useFakeEsps();

const mailgunBasic = Buffer.from(`api:${MAILGUN_KEY}`).toString('base64');

function outboxBytes(dir: string): string {
  return ['outbox.db', 'outbox.db-wal']
    .map((name) => path.join(dir, name))
    .filter(existsSync)
    .map((file) => readFileSync(file).toString('latin1'))
    .join('');
}

describe('secrets at rest', () => {
  it('provider errors echoing the token, api:KEY or its base64 form are masked before they are stored', async () => {
    postmark.persistentFault = { status: 500, body: { ErrorCode: 0, Message: `Internal error for token ${POSTMARK_TOKEN}` } };
    mailgun.persistentFault = { status: 503, body: { message: `upstream rejected Authorization: Basic ${mailgunBasic} (api:${MAILGUN_KEY})` } };
    const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, order: ['postmark', 'mailgun'], attempts: 1 });
    const result = await runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't', '--json'], { env: TEST_ENV });
    expect(result.code, result.stderr).toBe(4);
    const stored = outboxBytes(dir);
    expect(stored).toContain('Internal error for token ****');
    for (const secret of [POSTMARK_TOKEN, MAILGUN_KEY, mailgunBasic]) expect(stored).not.toContain(secret);
    // and the health records (last_error) too: a second provider state is written per failure
    const shown = await runCli(['queue', 'show', String(result.json().outboxId), '--config', configPath, '--json']);
    expect(shown.stdout).not.toContain(POSTMARK_TOKEN);
  });

  it('the outbox file is readable by its owner only', async () => {
    const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url });
    const result = await runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't'], { env: TEST_ENV });
    expect(result.code, result.stderr).toBe(0);
    expect(statSync(path.join(dir, 'outbox.db')).mode & 0o777).toBe(0o600);
    if (existsSync(path.join(dir, 'outbox.db-wal'))) expect(statSync(path.join(dir, 'outbox.db-wal')).mode & 0o077).toBe(0);
  });

  it('an existing outbox others could read is made the owner\'s before SQLite opens it, so its -wal and -shm files (message bodies) are too', async () => {
    const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url });
    expect((await runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't'], { env: TEST_ENV })).code).toBe(0);
    const outbox = path.join(dir, 'outbox.db');
    for (const suffix of ['-wal', '-shm']) rmSync(outbox + suffix, { force: true });
    chmodSync(outbox, 0o644);
    // A server keeps the store open: its -wal and -shm files stay while it runs.
    const key = await createKey(configPath, 'app');
    const server = await startServer(configPath, dir);
    try {
      const sent = await call(server.url, 'POST', '/api/v1/emails/send', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify({ from: 'a@example.com', to: 'b@example.com', subject: 'S2', text_body: 't' }));
      expect(sent.status).toBe(200);
      for (const file of [outbox, `${outbox}-wal`, `${outbox}-shm`]) expect([file, statSync(file).mode & 0o077]).toEqual([file, 0]);
    } finally {
      await server.stop();
    }
  });
});
