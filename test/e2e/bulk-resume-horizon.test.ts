import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

// SPEC send → Idempotency: a bulk rerun resumes for at least 7 days; the same list with the same
// content weeks later is a new mailing, not a rerun to skip.
const { postmark } = useFakeEsps();

describe('bulk reruns and time', () => {
  it('a rerun within 7 days skips everyone delivered; once the deliveries are 8 days old, it sends again', async () => {
    const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'] });
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, 'email,name\na@example.com,A\nb@example.com,B\n');
    const args = ['send', '--config', configPath, '--recipients', list, '--subject', 'Weekly {{name}}', '--text', 'news', '--type', 'marketing', '--json'];
    expect((await runCli(args, { env: TEST_ENV })).json()).toMatchObject({ delivered: 2 });
    expect((await runCli(args, { env: TEST_ENV })).json()).toMatchObject({ delivered: 0, skippedAlreadyDelivered: 2 });
    expect(postmark.requests).toHaveLength(1);

    // Eight days pass (the ledger's times are moved back; the database is the real file).
    const db = new Database(path.join(dir, 'outbox.db'));
    db.prepare('UPDATE bulk_deliveries SET delivered_at = delivered_at - ?').run(8 * 86_400_000);
    db.close();
    expect((await runCli(args, { env: TEST_ENV })).json()).toMatchObject({ delivered: 2 });
    expect(postmark.requests).toHaveLength(2);
  });
});
