import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { pause } from '../helpers/polling.js';

// SPEC send → Idempotency: a content-derived key only guards a short window; an explicit key holds for `keep`.
const { postmark } = useFakeEsps();

const args = (configPath: string, extra: string[] = []) => ['send', '--config', configPath, '--to', 'ops@example.com', '--subject', 'Disk full', '--text', 'again', '--json', ...extra];
const config = (idempotency: Record<string, string>) => writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], extra: { idempotency } }).configPath;

describe('idempotency window and keep', () => {
  it('an identical alert within the window is a duplicate (exit 0) naming the first delivery and how to send again', async () => {
    const configPath = config({ window: '10m' });
    const first = await runCli(args(configPath), { env: TEST_ENV });
    const second = await runCli(args(configPath), { env: TEST_ENV });
    expect(second.code).toBe(0);
    expect(second.json()).toMatchObject({ status: 'duplicate', attempts: [], duplicateOf: { provider: 'postmark', messageId: first.json().messageId, deliveredAt: expect.any(String) } });
    expect(second.stderr).toContain('idempotency.window');
    expect(second.stderr).toContain('--idempotency-key');
    expect(postmark.requests).toHaveLength(1);
  });

  it('the same alert once the window has passed goes out again (and a repeat right after is a duplicate of the new one)', async () => {
    // Long enough that the repeat right after the second send is inside it even on a busy machine.
    const configPath = config({ window: '4s' });
    expect((await runCli(args(configPath), { env: TEST_ENV })).code).toBe(0);
    await pause(4200);
    const again = await runCli(args(configPath), { env: TEST_ENV });
    expect(again.json()).toMatchObject({ status: 'delivered' });
    const repeat = await runCli(args(configPath), { env: TEST_ENV });
    expect(repeat.json()).toMatchObject({ status: 'duplicate', duplicateOf: { messageId: again.json().messageId } });
    expect(postmark.requests).toHaveLength(2);
  });

  it('window 0 turns the content guard off', async () => {
    const configPath = config({ window: '0' });
    for (let i = 0; i < 2; i++) expect((await runCli(args(configPath), { env: TEST_ENV })).json().status).toBe('delivered');
    expect(postmark.requests).toHaveLength(2);
  });

  it('an explicit key holds past the window, until keep has passed', async () => {
    const configPath = config({ window: '0', keep: '4s' });
    const keyed = args(configPath, ['--idempotency-key', 'weekly-report-49']);
    expect((await runCli(keyed, { env: TEST_ENV })).json().status).toBe('delivered');
    const repeat = await runCli(keyed, { env: TEST_ENV });
    expect(repeat.json().status).toBe('duplicate');
    expect(repeat.stderr).toContain('idempotency.keep');
    await pause(4200);
    expect((await runCli(keyed, { env: TEST_ENV })).json().status).toBe('delivered');
    expect(postmark.requests).toHaveLength(2);
  });

  it('an explicit key reused for a different message is refused (exit 2), delivered or waiting; nothing is sent', async () => {
    const configPath = config({ window: '10m' });
    const keyed = (subject: string) => ['send', '--config', configPath, '--to', 'ops@example.com', '--subject', subject, '--text', 'body', '--idempotency-key', 'order-1042', '--json'];
    expect((await runCli(keyed('Your order'), { env: TEST_ENV })).json().status).toBe('delivered');
    const other = await runCli(keyed('Another order'), { env: TEST_ENV });
    expect(other.code).toBe(2);
    expect(other.json()).toMatchObject({ status: 'error', error: expect.stringMatching(/idempotency key "order-1042" was used for a different message \(delivered by postmark as .* on 20/) });
    expect((await runCli(keyed('Your order'), { env: TEST_ENV })).json().status).toBe('duplicate');
    expect(postmark.requests).toHaveLength(1);

    // Waiting in the outbox (every provider down): the other content is refused, the entry stays as it was.
    postmark.persistentFault = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
    const waitingKey = (subject: string) => keyed(subject).map((arg) => (arg === 'order-1042' ? 'order-1043' : arg));
    const queued = await runCli(waitingKey('Your order'), { env: TEST_ENV });
    expect(queued.code).toBe(4);
    const calls = postmark.requests.length;
    const refused = await runCli(waitingKey('Another order'), { env: TEST_ENV });
    expect(refused.code).toBe(2);
    expect(refused.json().error).toMatch(new RegExp(`waiting in the outbox as #${queued.json().outboxId} since`));
    expect(postmark.requests).toHaveLength(calls);
    const entries = (await runCli(['queue', 'list', '--config', configPath, '--json'])).json().entries;
    expect(entries).toEqual([expect.objectContaining({ id: queued.json().outboxId, status: 'pending' })]);
  });

  it('an identical alert past the window is sent even while the earlier copy waits as ambiguous', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], timeout: '500ms', extra: { idempotency: { window: '1s' } } });
    postmark.failNext({ delayMs: 1200, status: 200, body: {} });
    const first = await runCli(args(configPath), { env: TEST_ENV });
    expect(first.json()).toMatchObject({ status: 'queued', ambiguous: true });
    await pause(1300);
    const later = await runCli(args(configPath), { env: TEST_ENV });
    expect(later.code, later.stderr).toBe(0);
    expect(later.json()).toMatchObject({ status: 'delivered', warnings: [expect.stringContaining(`waits in the outbox as #${first.json().outboxId} (ambiguous)`)] });
    expect(postmark.requests).toHaveLength(2);
  });

  it('a duplicate says in its result why it was not sent and how to send it again', async () => {
    const configPath = config({ window: '10m' });
    await runCli(args(configPath), { env: TEST_ENV });
    const repeat = (await runCli(args(configPath), { env: TEST_ENV })).json();
    expect(repeat.reason).toMatch(/idempotency\.window.*own idempotency key/);
  });

  it('a bad window is a config error naming the key', async () => {
    const result = await runCli(args(config({ window: 'soon' })), { env: TEST_ENV });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('idempotency.window');
    expect(postmark.requests).toHaveLength(0);
  });
});
