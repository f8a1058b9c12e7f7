import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { freshSchema, testPostgresUrl } from '../helpers/postgres.js';

// The suppression list on a PostgreSQL store: learnt from a Postmark 406, checked before any
// provider for a single send and for bulk rows, and the commands over it.
const url = testPostgresUrl();
const { postmark, mailgun } = useFakeEsps();
const schema = freshSchema('pm_supp');
afterAll(() => (url ? schema.drop() : undefined));

describe.skipIf(!url)('suppressions on a PostgreSQL store', () => {
  it('406 → suppressed; the next send and a bulk row to it stop before any ESP; import, export and remove work', async () => {
    const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, order: ['postmark', 'mailgun'], attempts: 1, store: { url, schema: schema.name } });
    const cli = (args: string[], input?: string) => runCli([...args, '--config', configPath], { env: TEST_ENV, input });
    postmark.inactive.add('gone@example.com');
    const first = await cli(['send', '--to', 'gone@example.com', '--subject', 'S', '--text', 't', '--json']);
    expect(first.code, first.stderr).toBe(3);
    const requests = postmark.requests.length;

    const second = await cli(['send', '--to', 'gone@example.com', '--subject', 'Again', '--text', 't', '--json']);
    expect(second.code, second.stderr).toBe(3);
    expect(second.json().suppressed).toEqual([expect.objectContaining({ address: 'gone@example.com', source: 'postmark' })]);

    writeFileSync(path.join(dir, 'list.csv'), 'email\nada@example.com\ngone@example.com\n');
    const bulk = await cli(['send', '--recipients', path.join(dir, 'list.csv'), '--subject', 'S', '--text', 't', '--type', 'marketing', '--json']);
    expect(bulk.code, bulk.stderr).toBe(5);
    expect(bulk.json()).toMatchObject({ delivered: 1, rejected: 1, suppressed: 1 });
    expect(postmark.requests.length).toBe(requests + 1);
    expect(postmark.sent.at(-1)!.body.map((m: { To: string }) => m.To)).toEqual(['ada@example.com']);
    expect(mailgun.requests).toHaveLength(0);

    const imported = await cli(['suppressions', 'import', '-', '--json'], 'bob@example.com,example.com,unsubscribed\n');
    expect(imported.json()).toMatchObject({ rows: 1, added: 1 });
    const exported = await cli(['suppressions', 'export']);
    expect(exported.stdout).toMatch(/^address,scope,reason,source,created_at\n/);
    expect(exported.stdout).toContain('bob@example.com,example.com,unsubscribed,import,');
    expect(exported.stdout).toContain('gone@example.com,*,');
    expect((await cli(['suppressions', 'remove', 'gone@example.com'])).code).toBe(0);
    const third = await cli(['send', '--to', 'gone@example.com', '--subject', 'Third', '--text', 't', '--json']);
    expect(third.json().status).toBe('rejected');
    expect(third.json().provider).toBe('postmark');
  });
});
