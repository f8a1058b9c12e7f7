import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickFromSplit } from '../../src/core/split.js';
import { writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { call, createKey, startServer, type Answer, type ServerProcess } from '../helpers/serve.js';
import { eventually, pause } from '../helpers/polling.js';

// Issue #22's routing controls through `serve` (the HTTP API and its worker): weighted split,
// recipient-domain rules (single sends and bulk) and a budget cap that holds messages in the outbox.
const { postmark, mailgun, smtp } = useFakeEsps();
const BODY = { from: 'Penguin <noreply@example.com>', subject: 'Hello', text_body: 'Hi' };
const FIFTY_FIFTY = { postmark: 50, mailgun: 50 };

function serverWith(options: Parameters<typeof writeTestConfig>[0]) {
  const state = { server: undefined as unknown as ServerProcess, key: '' };
  beforeAll(async () => {
    const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, attempts: 1, ...options });
    state.key = await createKey(configPath, 'app');
    state.server = await startServer(configPath, dir);
  });
  afterAll(async () => {
    expect(await state.server?.stop()).toBe(0);
  });
  const headers = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${state.key}`, 'content-type': 'application/json', ...extra });
  return {
    send: (body: unknown, extra: Record<string, string> = {}): Promise<Answer> => call(state.server.url, 'POST', '/api/v1/emails/send', headers(extra), JSON.stringify(body)),
    bulk: (body: unknown): Promise<Answer> => call(state.server.url, 'POST', '/api/v1/emails/bulk', headers(), JSON.stringify(body)),
    get: (pathname: string): Promise<Answer> => call(state.server.url, 'GET', pathname, { authorization: `Bearer ${state.key}` }),
  };
}

describe('serve: split and recipient-domain rules', { timeout: 60_000 }, () => {
  const api = serverWith({ order: ['postmark'], rules: [{ when: { recipientDomain: ['hotmail.com', 'outlook.com'] }, use: ['smtp'] }, { split: FIFTY_FIFTY }] });

  it('each message goes to its key’s pick; a hotmail recipient to the domain rule’s provider', async () => {
    for (let i = 0; i < 6; i++) {
      const key = `api-${i}`;
      const answer = await api.send({ ...BODY, to: 'ada@example.com' }, { 'idempotency-key': key });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.provider).toBe(pickFromSplit(FIFTY_FIFTY, key));
    }
    const hotmail = await api.send({ ...BODY, to: 'bo@Hotmail.com' });
    expect(hotmail.body.provider).toBe('smtp');
    expect(smtp.messages).toHaveLength(1);
  });

  it('bulk: rows routed one by one, batched per chain', async () => {
    const recipients = ['a@hotmail.com', 'b@outlook.com', ...Array.from({ length: 20 }, (_, i) => `u${i}@example.com`)].map((email) => ({ email, name: email }));
    const started = await api.bulk({ ...BODY, subject: 'Hi {{name}}', recipients });
    expect(started.status).toBe(202);
    const report = await eventually(
      () => api.get(`/api/v1/bulk/${started.body.bulkId}`),
      (a) => a.body.status !== 'running',
    );
    expect(report.body).toMatchObject({ status: 'delivered', delivered: 22 });
    const { byProvider } = report.body;
    expect(byProvider.smtp.delivered).toBe(2);
    expect(byProvider.postmark.delivered + byProvider.mailgun.delivered).toBe(20);
    expect(byProvider.postmark.delivered).toBeGreaterThan(0);
    expect(byProvider.mailgun.delivered).toBeGreaterThan(0);
  });
});

describe('serve: a budget cap with action queue', { timeout: 60_000 }, () => {
  const api = serverWith({
    order: ['mailgun', 'postmark'],
    extra: {
      pricing: { mailgun: { plans: [{ name: 'payg', monthly: 0, included: 0, overagePer1k: 1000 }], budget: { monthly: 2.5, action: 'queue' } } },
      worker: { interval: '200ms', backoff: '1s' },
    },
  });

  it('past the cap the API answers 202 queued, and the worker keeps it waiting', async () => {
    for (const i of [1, 2]) expect((await api.send({ ...BODY, to: `u${i}@example.com` })).status).toBe(200);
    const held = await api.send({ ...BODY, to: 'u3@example.com' }, { 'idempotency-key': 'over-budget' });
    expect(held.status).toBe(202);
    expect(held.body).toMatchObject({ status: 'queued', outboxId: expect.any(Number), reason: expect.stringContaining('pricing.mailgun.budget') });
    await pause(1_500);
    const status = await api.get('/api/v1/emails/over-budget');
    expect(status.body.status).toBe('queued');
    expect(mailgun.requests).toHaveLength(2);
    expect(postmark.requests).toHaveLength(0);
  });
});
