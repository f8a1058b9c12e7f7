import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

const { postmark } = useFakeEsps();

describe('queue retry after a retry was killed mid-send', () => {
  it('queue retry --all says the entry still waits (ambiguous) and exits 4, sending nothing', async () => {
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], attempts: 1, timeout: '10s' });
    postmark.persistentFault = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
    const queued = await runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't', '--json'], { env: TEST_ENV });
    expect(queued.code).toBe(4);
    const id = queued.json().outboxId;
    postmark.persistentFault = undefined;
    postmark.latencyMs = 2000;
    const retry = spawn(process.execPath, [BIN, 'queue', 'retry', String(id), '--config', configPath], { env: { ...process.env, ...TEST_ENV }, stdio: 'ignore' });
    const exited = new Promise((resolve) => retry.on('close', resolve));
    const sentBefore = postmark.requests.length;
    while (postmark.requests.length === sentBefore) await new Promise((r) => setTimeout(r, 20));
    retry.kill('SIGKILL');
    await exited;
    postmark.latencyMs = 0;

    const all = await runCli(['queue', 'retry', '--all', '--config', configPath, '--json'], { env: TEST_ENV });
    expect(all.code, all.stdout).toBe(4);
    expect(all.json().results).toEqual([expect.objectContaining({ id, status: 'skipped', reason: expect.stringContaining('ambiguous') })]);
    expect(postmark.requests).toHaveLength(sentBefore + 1);
    const entry = (await runCli(['queue', 'show', String(id), '--config', configPath, '--json'])).json();
    expect(entry).toMatchObject({ status: 'ambiguous' });
  });
});
