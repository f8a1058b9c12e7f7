import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BulkSender } from '../../src/app/bulk/bulk-sender.js';
import { Dispatcher } from '../../src/app/dispatcher.js';
import { validateConfig } from '../../src/config/validate.js';
import { finalizeMessage } from '../../src/core/message.js';
import type { BulkRecipient } from '../../src/core/provider-port.js';
import type { RecipientRow } from '../../src/lists/recipient-source.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { FakePostmark, POSTMARK_TOKEN } from '../fakes/fake-postmark.js';

// The bulk engine with the real Postmark adapter against its fake and a real SQLite store: each
// batch's request is built while it waits for a slot (prepareBulk), and the call that sends the
// batch gets that very array, so the body built ahead is the one sent (#21).
const postmark = new FakePostmark();
beforeAll(() => postmark.start());
afterAll(() => postmark.stop());
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function* rowsOf(count: number): AsyncGenerator<RecipientRow[]> {
  yield Array.from({ length: count }, (_, i) => ({ line: i + 2, email: `r${i}@example.com`, fields: { name: `R${i}` } }));
}

describe('bulk calls and the requests built ahead for them', () => {
  it('every call sends the array whose request was built while it waited, and all are delivered', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'penguinmails-prepared-'));
    dirs.push(dir);
    const config = validateConfig({ providers: { postmark: { type: 'postmark', serverToken: POSTMARK_TOKEN, baseUrl: postmark.url } }, failover: { order: ['postmark'] } }, { baseDir: dir });
    const store = await SqliteStore.open(path.join(dir, 'outbox.db'));
    const dispatcher = new Dispatcher(config, store);
    // The real adapter, watched: which arrays it was asked to prepare, and which it sent.
    const provider = dispatcher.provider('postmark');
    const prepared: BulkRecipient[][] = [];
    const sent: BulkRecipient[][] = [];
    const prepareBulk = provider.prepareBulk!.bind(provider);
    const sendBulk = provider.sendBulk.bind(provider);
    Object.assign(provider, {
      prepareBulk: (template: never, recipients: BulkRecipient[]) => (prepared.push(recipients), prepareBulk(template, recipients)),
      sendBulk: (template: never, recipients: BulkRecipient[]) => (sent.push(recipients), sendBulk(template, recipients)),
    });
    const template = finalizeMessage({ from: 'news@example.com', to: [], cc: [], bcc: [], subject: 'Hi {{name}}', text: 'Hello {{name}}', type: 'marketing', priority: 'normal', tags: [], metadata: {}, headers: [], attachments: [] });
    const sender = new BulkSender(dispatcher, { chain: ['postmark'], template, concurrency: 2 });
    const stats = await sender.run(rowsOf(1_200));
    await store.close();
    expect(stats.delivered).toBe(1_200);
    expect(sent.map((batch) => batch.length)).toEqual([500, 500, 200]);
    expect(sent.every((batch, i) => batch === prepared[i])).toBe(true);
    expect(postmark.requests).toHaveLength(3);
  });
});
