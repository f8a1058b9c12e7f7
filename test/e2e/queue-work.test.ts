import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { pause } from '../helpers/polling.js';

// The outbox worker (SPEC serve → Worker), run as `queue work`: what no provider took is retried by itself.
const { postmark } = useFakeEsps();
const DOWN = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };

function setup(worker: Record<string, unknown> = {}) {
  const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], attempts: 1, extra: { worker: { backoff: '1s', interval: '200ms', ...worker } } });
  const send = (to = 'a@example.com') => runCli(['send', '--config', configPath, '--to', to, '--subject', 'S', '--text', 't', '--json'], { env: TEST_ENV });
  const work = () => runCli(['queue', 'work', '--once', '--config', configPath, '--json'], { env: TEST_ENV });
  return { configPath, send, work };
}

describe('queue work', () => {
  it('all down → queued; ESPs back → the worker delivers it once, after its backoff', async () => {
    // A backoff long enough that the first pass falls inside it even on a busy machine.
    const { send, work, configPath } = setup({ backoff: '4s' });
    postmark.persistentFault = DOWN;
    const queued = await send();
    expect(queued.code).toBe(4);
    postmark.persistentFault = undefined;
    const early = await work();
    expect(early.json().results).toEqual([]);
    expect(early.code).toBe(4);
    await pause(4100);
    const due = await work();
    expect(due.code, due.stderr).toBe(0);
    expect(due.json().results).toEqual([expect.objectContaining({ id: queued.json().outboxId, status: 'delivered' })]);
    expect(postmark.requests).toHaveLength(2);
    expect((await work()).json().results).toEqual([]);
    expect((await runCli(['queue', 'list', '--config', configPath, '--json'])).json().entries).toEqual([]);
  });

  it('a failed retry waits twice as long before the next one', async () => {
    const { send, work, configPath } = setup();
    postmark.persistentFault = DOWN;
    const id = (await send()).json().outboxId;
    await pause(1100);
    expect((await work()).json().results).toEqual([expect.objectContaining({ id, status: 'pending' })]);
    const entry = (await runCli(['queue', 'show', String(id), '--config', configPath, '--json'])).json();
    const waitMs = Date.parse(entry.nextAttemptAt) - Date.parse(entry.updatedAt);
    expect(waitMs).toBeGreaterThanOrEqual(1900);
    expect(waitMs).toBeLessThan(2500);
  });

  it('an entry older than worker.maxAge becomes expired: listed, never sent', async () => {
    const { send, work, configPath } = setup({ maxAge: '1s', backoff: '1s' });
    postmark.persistentFault = DOWN;
    const id = (await send()).json().outboxId;
    postmark.persistentFault = undefined;
    await pause(1200);
    const pass = await work();
    expect(pass.json()).toMatchObject({ expired: [id], results: [] });
    expect(postmark.requests).toHaveLength(1);
    const list = (await runCli(['queue', 'list', '--config', configPath, '--json'])).json();
    expect(list.entries).toEqual([expect.objectContaining({ id, status: 'expired', reason: expect.stringContaining('worker.maxAge') })]);
  });

  it('ambiguous entries wait for a person', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], timeout: '300ms', extra: { worker: { backoff: '1s' } } });
    postmark.failNext({ delayMs: 800, status: 200, body: {} });
    const sent = await runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't', '--json'], { env: TEST_ENV });
    expect(sent.json()).toMatchObject({ status: 'queued', ambiguous: true });
    await pause(1200);
    const pass = await runCli(['queue', 'work', '--once', '--config', configPath, '--json'], { env: TEST_ENV });
    expect(pass.json().results).toEqual([]);
    expect(postmark.requests).toHaveLength(1);
  });

  it('two workers at once deliver each message once', async () => {
    const { send, configPath } = setup();
    postmark.persistentFault = DOWN;
    for (const to of ['a@example.com', 'b@example.com', 'c@example.com']) expect((await send(to)).code).toBe(4);
    postmark.persistentFault = undefined;
    postmark.latencyMs = 100;
    await pause(1100);
    const [one, two] = await Promise.all([0, 1].map(() => runCli(['queue', 'work', '--once', '--config', configPath, '--json'], { env: TEST_ENV })));
    const delivered = [...one.json().results, ...two.json().results].filter((r: { status: string }) => r.status === 'delivered');
    expect(delivered).toHaveLength(3);
    expect(postmark.sent.slice(3).map((s) => s.body.To).sort()).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
  });

  it('runs until SIGTERM, delivering what becomes due, and exits 0', async () => {
    const { send, configPath } = setup();
    postmark.persistentFault = DOWN;
    expect((await send()).code).toBe(4);
    postmark.persistentFault = undefined;
    const child = spawn(process.execPath, [BIN, 'queue', 'work', '--config', configPath], { env: { ...process.env, ...TEST_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const giveUp = Date.now() + 10_000;
    while (!stdout.includes('delivered') && Date.now() < giveUp) await pause(50);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/#\d+: delivered — via postmark/);
    expect(postmark.requests).toHaveLength(2);
  });
});
