import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FakeMailgun } from '../fakes/fake-mailgun.js';
import { FakePostmark } from '../fakes/fake-postmark.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { TEST_ENV, testConfig } from '../helpers/config.js';
import { freshSchema, testPostgresUrl } from '../helpers/postgres.js';

// Send-side rate limits (issue #22) on a PostgreSQL store: two CLI processes sending at once share
// the per-second limit and the daily quota of the provider.

if (!testPostgresUrl()) {
  describe.skip('rate limits on a PostgreSQL store (no server: see the notice above)', () => it('skipped', () => {}));
} else {
  describe('rate limits on a PostgreSQL store', () => {
    const postmark = new FakePostmark();
    const mailgun = new FakeMailgun();
    const schema = freshSchema('pm_rate');

    beforeAll(async () => {
      await Promise.all([postmark.start(), mailgun.start()]);
    });
    afterEach(() => {
      postmark.reset();
      mailgun.reset();
    });
    afterAll(async () => {
      await Promise.all([postmark.stop(), mailgun.stop()]);
      await schema.drop();
    });

    it('two processes sending at once share the per-second limit and the daily quota', async () => {
      const perSecond = new Map<number, number>();
      postmark.beforeAnswer = (request) => {
        const second = Math.floor(Date.now() / 1000);
        perSecond.set(second, (perSecond.get(second) ?? 0) + (JSON.parse(request.rawBody.toString('utf8')) as unknown[]).length);
      };
      const dir = tempDir();
      const config = testConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, order: ['postmark', 'mailgun'], store: { url: testPostgresUrl(), schema: schema.name, poolSize: 2 } }) as {
        providers: Record<string, Record<string, unknown>>;
      };
      config.providers.postmark.rateLimit = ['30/s', '100/d'];
      const configPath = path.join(dir, 'penguinmails.config.yaml');
      writeFileSync(configPath, stringify(config));
      const list = (name: string, prefix: string) => {
        const file = path.join(dir, name);
        writeFileSync(file, ['email,name', ...Array.from({ length: 70 }, (_, i) => `${prefix}${i}@example.com,User ${i}`)].join('\n') + '\n');
        return file;
      };
      const bulk = (file: string, subject: string) =>
        runCli(['send', '--config', configPath, '--recipients', file, '--subject', subject, '--text', 'x', '--type', 'marketing', '--json'], { env: TEST_ENV, timeoutMs: 40_000 });

      const runs = await Promise.all([bulk(list('a.csv', 'a'), 'First {{name}}'), bulk(list('b.csv', 'b'), 'Second {{name}}')]);
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
      const reports = runs.map((run) => run.json());
      expect(reports[0].delivered + reports[1].delivered).toBe(140);
      const viaPostmark = reports.reduce((sum, r) => sum + (r.byProvider.postmark?.delivered ?? 0), 0);
      expect(viaPostmark).toBe(100);
      expect([...perSecond.values()].reduce((a, b) => a + b, 0)).toBe(100);
      expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(30);

      const explained = await runCli(['route', 'explain', '--config', configPath, '--json'], { env: TEST_ENV });
      expect(explained.code, explained.stderr).toBe(0);
      const limits = explained.json().providers.find((p: { name: string }) => p.name === 'postmark').rateLimits;
      expect(limits[1]).toMatchObject({ limit: '100/d', used: 100, left: 0 });
    }, 60_000);
  });
}
