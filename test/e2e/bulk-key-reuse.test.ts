import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { eventually } from '../helpers/polling.js';
import { call, createKey, startServer } from '../helpers/serve.js';

// SPEC send → Idempotency: an explicit key is one message. A bulk rerun under it resumes (rows
// added to the list are sent, those delivered skipped); the key reused for another message is
// refused, as a single send's is, rather than skipping everyone the first message reached.
const { postmark } = useFakeEsps();
const CONFLICT = /idempotency key "newsletter-49" was used for a different message \(a bulk run delivered through postmark on 20\d\d-/;

describe('a bulk key reused for another message', () => {
  it('send --recipients: a rerun resumes, rows added included; other content under the key is exit 2 and sends nothing', async () => {
    const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'] });
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, 'email,name\na@example.com,A\nb@example.com,B\n');
    const bulk = (subject: string) => runCli(['send', '--config', configPath, '--recipients', list, '--subject', subject, '--text', 'news', '--idempotency-key', 'newsletter-49', '--json'], { env: TEST_ENV });

    expect((await bulk('Week 49 {{name}}')).json()).toMatchObject({ status: 'delivered', delivered: 2 });
    appendFileSync(list, 'c@example.com,C\n');
    expect((await bulk('Week 49 {{name}}')).json()).toMatchObject({ status: 'delivered', delivered: 1, skippedAlreadyDelivered: 2 });
    const calls = postmark.requests.length;

    const other = await bulk('Week 50 {{name}}');
    expect(other.code, other.stderr).toBe(2);
    expect(other.json()).toMatchObject({ status: 'error', error: expect.stringMatching(CONFLICT), hint: expect.stringContaining('use another key') });
    expect(postmark.requests).toHaveLength(calls);
    // Under a key of its own, the other message goes to everyone.
    const own = await runCli(['send', '--config', configPath, '--recipients', list, '--subject', 'Week 50 {{name}}', '--text', 'news', '--idempotency-key', 'newsletter-50', '--json'], { env: TEST_ENV });
    expect(own.json()).toMatchObject({ status: 'delivered', delivered: 3 });
  });

  it('serve: POST /api/v1/emails/bulk with the key of a bulk that delivered other content is 409, and starts nothing', async () => {
    const { configPath, dir } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'] });
    const key = await createKey(configPath, 'app');
    const server = await startServer(configPath, dir);
    try {
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'newsletter-49' };
      const body = (subject: string) => JSON.stringify({ from: 'news@example.com', subject, text_body: 'news', recipients: [{ email: 'a@example.com' }, { email: 'b@example.com' }] });
      const first = await call(server.url, 'POST', '/api/v1/emails/bulk', headers, body('Week 49'));
      expect(first.status).toBe(202);
      await eventually(() => call(server.url, 'GET', `/api/v1/bulk/${first.body.bulkId}`, headers), (answer) => answer.body.status === 'delivered', 10_000);
      const calls = postmark.requests.length;

      const other = await call(server.url, 'POST', '/api/v1/emails/bulk', headers, body('Week 50'));
      expect(other.status).toBe(409);
      expect(other.body).toMatchObject({ status: 'error', error: expect.stringMatching(CONFLICT), details: [{ path: 'Idempotency-Key (header)', message: 'already used for a different message' }] });
      // The same bulk again is a rerun: accepted, and everyone is skipped.
      const again = await call(server.url, 'POST', '/api/v1/emails/bulk', headers, body('Week 49'));
      expect(again.status).toBe(202);
      const report = await eventually(() => call(server.url, 'GET', `/api/v1/bulk/${again.body.bulkId}`, headers), (answer) => answer.body.status !== 'running', 10_000);
      expect(report.body).toMatchObject({ delivered: 0, skippedAlreadyDelivered: 2 });
      expect(postmark.requests).toHaveLength(calls);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('serve: a key is one message — a single send and a bulk run never share one, and another message\'s derived key is a conflict', async () => {
    const { configPath, dir } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'] });
    const key = await createKey(configPath, 'app');
    const server = await startServer(configPath, dir);
    try {
      const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const single = (subject: string, idempotencyKey?: string) =>
        call(server.url, 'POST', '/api/v1/emails/send', { ...auth, ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) }, JSON.stringify({ from: 'app@example.com', to: 'alice@example.com', subject, text_body: 'hi' }));
      const bulk = (idempotencyKey: string) =>
        call(server.url, 'POST', '/api/v1/emails/bulk', { ...auth, 'idempotency-key': idempotencyKey }, JSON.stringify({ from: 'news@example.com', subject: 'News', text_body: 'news', recipients: [{ email: 'x1@example.com' }, { email: 'x2@example.com' }] }));

      // A single message's key, then a bulk under it: 409, nothing started.
      expect((await single('Receipt', 'order-77')).status).toBe(200);
      let calls = postmark.requests.length;
      const bulkOnSingleKey = await bulk('order-77');
      expect(bulkOnSingleKey.status).toBe(409);
      expect(bulkOnSingleKey.body.error).toMatch(/idempotency key "order-77" was used for a different message \(a single message delivered by postmark as /);
      expect(postmark.requests).toHaveLength(calls);

      // A bulk run's key, then a single message under it: 409, nothing sent.
      const run = await bulk('run-88');
      expect(run.status).toBe(202);
      await eventually(() => call(server.url, 'GET', `/api/v1/bulk/${run.body.bulkId}`, auth), (answer) => answer.body.status === 'delivered', 10_000);
      calls = postmark.requests.length;
      const singleOnBulkKey = await single('Receipt', 'run-88');
      expect(singleOnBulkKey.status).toBe(409);
      expect(singleOnBulkKey.body.error).toMatch(/idempotency key "run-88" was used for a different message \(a bulk run delivered through postmark on 20\d\d-/);
      expect(postmark.requests).toHaveLength(calls);

      // Another message's derived key, given as an explicit one, is a conflict: it would have
      // answered "duplicate" for a message never sent. The message's own is taken (a retry), and
      // a key of that form of the client's own is a key like any other.
      const alice = await single('Your invoice');
      expect(alice.status).toBe(200);
      const derived = alice.body.idempotencyKey as string;
      expect(derived).toMatch(/^pm_[0-9a-f]{32}$/);
      calls = postmark.requests.length;
      const bob = await single('Password reset', derived);
      expect(bob.status).toBe(409);
      expect(bob.body.error).toMatch(new RegExp(`idempotency key "${derived}" was used for a different message`));
      expect(postmark.requests).toHaveLength(calls);
      const aliceAgain = await single('Your invoice', derived);
      expect(aliceAgain.status).toBe(200);
      expect(aliceAgain.body.status).toBe('duplicate');
      expect(postmark.requests).toHaveLength(calls);
      const own = await single('Shipping notice', `pm_${'0123456789abcdef'.repeat(2)}`);
      expect(own.status).toBe(200);
      expect(own.body.status).toBe('delivered');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
