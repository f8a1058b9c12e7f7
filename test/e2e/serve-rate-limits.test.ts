import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { tempDir } from '../helpers/cli.js';
import { testConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { call, createKey, startServer, type ServerProcess } from '../helpers/serve.js';

// Send-side rate limits (issue #22) through `serve`: concurrent API sends wait for the next second
// rather than exceed Postmark's limit, and once its daily quota is spent the rest go to Mailgun.
const { postmark, mailgun } = useFakeEsps();
let server: ServerProcess | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('rate limits through the HTTP API', () => {
  it('concurrent sends stay under the per-second limit and move on once the daily quota is spent', async () => {
    const perSecond = new Map<number, number>();
    postmark.beforeAnswer = () => {
      const second = Math.floor(Date.now() / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    };
    const dir = tempDir();
    const configPath = path.join(dir, 'penguinmails.config.yaml');
    const config = testConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, order: ['postmark', 'mailgun'] }) as { providers: Record<string, Record<string, unknown>> };
    config.providers.postmark.rateLimit = ['2/s', '5/d'];
    writeFileSync(configPath, stringify(config));
    const key = await createKey(configPath, 'ci');
    server = await startServer(configPath, dir);

    const sends = Array.from({ length: 8 }, (_, i) =>
      call(server!.url, 'POST', '/api/v1/emails/send', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify({ from: 'Penguin <noreply@example.com>', to: `user${i}@example.com`, subject: `Hello ${i}`, text_body: 'Hi' })),
    );
    const answers = await Promise.all(sends);
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const byProvider = answers.reduce<Record<string, number>>((counts, a) => ({ ...counts, [a.body.provider]: (counts[a.body.provider] ?? 0) + 1 }), {});
    expect(byProvider).toEqual({ postmark: 5, mailgun: 3 });
    expect(postmark.requests).toHaveLength(5);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2);
    const movedOn = answers.find((a) => a.body.provider === 'mailgun')!.body;
    expect(movedOn.attempts[0]).toMatchObject({ provider: 'postmark', outcome: 'provider-unusable', code: 'rate-limit' });
  }, 60_000);
});
