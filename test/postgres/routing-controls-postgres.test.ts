import { afterAll, describe, expect, it } from 'vitest';
import { pickFromSplit } from '../../src/core/split.js';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { freshSchema, testPostgresUrl } from '../helpers/postgres.js';

// Budget caps and a weighted split on a PostgreSQL store: spend is priced from its (sharded) usage
// ledger, and a held message waits in its outbox, as on SQLite.
const url = testPostgresUrl();
const { postmark, mailgun } = useFakeEsps();
const schema = freshSchema('pm_routing');
afterAll(() => (url ? schema.drop() : undefined));

describe.skipIf(!url)('routing controls on a PostgreSQL store', { timeout: 60_000 }, () => {
  it('a failover cap moves the third send on; a queue cap holds it in the outbox; a split picks by key', async () => {
    const pricing = (action: string) => ({ mailgun: { plans: [{ name: 'payg', monthly: 0, included: 0, overagePer1k: 1000 }], budget: { monthly: 2.5, action } } });
    const config = (action: string) =>
      writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, order: ['mailgun', 'postmark'], attempts: 1, store: { url, schema: schema.name }, extra: { pricing: pricing(action) } }).configPath;
    const send = (configPath: string, i: number, extra: string[] = []) => runCli(['send', '--config', configPath, '--to', `u${i}@example.com`, '--subject', 'S', '--text', 't', '--json', ...extra], { env: TEST_ENV });

    const failover = config('failover');
    for (const i of [1, 2]) expect((await send(failover, i)).json().provider).toBe('mailgun');
    expect((await send(failover, 3)).json()).toMatchObject({ provider: 'postmark', attempts: [{ provider: 'mailgun', outcome: 'skipped' }, { provider: 'postmark' }] });

    // Same schema, same ledger: mailgun has spent $2 of $2.50 this month.
    const queue = config('queue');
    const held = await send(queue, 4);
    expect(held.code).toBe(4);
    expect(held.json()).toMatchObject({ status: 'queued', outboxId: expect.any(Number) });
    const entries = (await runCli(['queue', 'list', '--config', queue, '--json'])).json().entries;
    expect(entries).toEqual([expect.objectContaining({ status: 'pending' })]);

    const split = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, attempts: 1, store: { url, schema: schema.name }, rules: [{ split: { postmark: 50, mailgun: 50 } }] }).configPath;
    for (const key of ['pg-1', 'pg-2', 'pg-3', 'pg-4']) {
      expect((await send(split, 9, ['--idempotency-key', key])).json().provider).toBe(pickFromSplit({ postmark: 50, mailgun: 50 }, key));
    }
  });
});
