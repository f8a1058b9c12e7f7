import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

const { postmark } = useFakeEsps();

describe('many processes on one new outbox', () => {
  it('eight identical sends started together on a fresh outbox: one delivery, no "database is locked", no exit 1', async () => {
    postmark.latencyMs = 200;
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'] });
    const args = ['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't', '--json', '--idempotency-key', 'contended-1'];
    const runs = await Promise.all(Array.from({ length: 8 }, () => runCli(args, { env: TEST_ENV, timeoutMs: 30_000 })));
    for (const run of runs) {
      expect(run.stderr).not.toContain('database is locked');
      expect(run.code, run.stderr).toBe(0);
    }
    expect(runs.map((r) => r.json().status).sort()).toEqual(['delivered', ...Array(7).fill('duplicate')]);
    expect(postmark.requests).toHaveLength(1);
  });
});
