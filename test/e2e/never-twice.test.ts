import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig, type TestConfigOptions } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

// Review findings, each pinned by a test: nothing sent twice, nothing lost.
const refuse = new Map<string, number>();
const { postmark, mailgun, smtp } = useFakeEsps({ refuse });

const live = (options: TestConfigOptions = {}) => writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, ...options });
const sendArgs = (configPath: string, to = 'ada@example.com') => ['send', '--config', configPath, '--to', to, '--subject', 'Hello', '--text', 'Hi', '--json'];

describe('a rerun never resends what waits in the outbox', () => {
  it('single send: ambiguous → the identical command does not send again', async () => {
    postmark.failNext({ delayMs: 1500, status: 200, body: {} });
    const { configPath } = live({ timeout: '500ms' });
    const first = await runCli(sendArgs(configPath), { env: TEST_ENV });
    expect(first.json()).toMatchObject({ status: 'queued', ambiguous: true });
    const again = await runCli(sendArgs(configPath), { env: TEST_ENV });
    expect(again.code).toBe(4);
    expect(again.json()).toMatchObject({ status: 'queued', outboxId: first.json().outboxId });
    expect(again.stderr).toContain('already waits in the outbox');
    // queue retry --all leaves it alone too, and says so.
    const all = await runCli(['queue', 'retry', '--all', '--config', configPath, '--json'], { env: TEST_ENV });
    expect(all.code).toBe(4);
    expect(all.json()).toEqual({ status: 'ok', results: [], ambiguousLeft: [first.json().outboxId] });
    expect(all.stderr).toContain(`left alone: 1 ambiguous entry (#${first.json().outboxId})`);
    const text = await runCli(['queue', 'retry', '--all', '--config', configPath], { env: TEST_ENV });
    expect(text.code).toBe(4);
    expect(text.stdout.trim()).toBe('nothing retried: the ambiguous entries above still wait (exit 4)');
    await new Promise((r) => setTimeout(r, 1200));
    expect(postmark.requests).toHaveLength(1);
  });

  it('single send: pending → the identical command retries that entry and closes it', async () => {
    postmark.persistentFault = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
    const { configPath } = live({ order: ['postmark'], attempts: 1 });
    const first = await runCli(sendArgs(configPath), { env: TEST_ENV });
    expect(first.code).toBe(4);
    postmark.persistentFault = undefined;
    const again = await runCli(sendArgs(configPath), { env: TEST_ENV });
    expect(again.code, again.stderr).toBe(0);
    expect(again.json()).toMatchObject({ status: 'delivered', outboxId: first.json().outboxId });
    expect((await runCli(['queue', 'list', '--config', configPath, '--json'])).json().entries).toEqual([]);
  });

  it('bulk: recipients waiting as ambiguous are not resent by a rerun; duplicate rows are sent once', async () => {
    const { dir, configPath } = live({ order: ['postmark'], timeout: '500ms' });
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, 'email,name\na@example.com,A\nb@example.com,B\na@example.com,A\n');
    const args = ['send', '--config', configPath, '--recipients', list, '--subject', 'Hi {{name}}', '--text', 'x', '--json'];
    postmark.failNext({ delayMs: 1500, status: 200, body: [] });
    const first = await runCli(args, { env: TEST_ENV });
    expect(first.json()).toMatchObject({ queued: 2, duplicateRows: 1 });
    const again = await runCli(args, { env: TEST_ENV });
    expect(again.json()).toMatchObject({ delivered: 0, queued: 2 });
    expect(again.json().failures[0].reason).toContain('already waiting in the outbox');
    await new Promise((r) => setTimeout(r, 1200));
    expect(postmark.requests).toHaveLength(1);
    expect(postmark.sent[0].body).toHaveLength(2);
  });
});

describe('runs at the same moment', () => {
  it('three identical sends at once (CI retries, parallel jobs): one delivery; the others wait and report it', async () => {
    postmark.latencyMs = 600;
    try {
      const { configPath } = live({ order: ['postmark'] });
      const args = [...sendArgs(configPath, 'dup@example.com'), '--idempotency-key', 'order-1001'];
      const runs = await Promise.all([1, 2, 3].map(() => runCli(args, { env: TEST_ENV })));
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
      expect(postmark.requests).toHaveLength(1);
      const results = runs.map((r) => r.json());
      expect(new Set(results.map((r) => r.messageId)).size).toBe(1);
      expect(results.filter((r) => r.duplicateOf)).toHaveLength(2);
      expect(runs.filter((r) => r.stderr.includes('is sending this message: waiting for it to finish'))).toHaveLength(2);
    } finally {
      postmark.latencyMs = 0;
    }
  });
});

describe('outcomes after hand-over are ambiguous, not retried', () => {
  it('postmark: connection reset after the request was sent', async () => {
    postmark.failNext({ destroy: true });
    const { configPath } = live();
    const result = await runCli(sendArgs(configPath), { env: TEST_ENV });
    expect(result.code).toBe(4);
    expect(result.json()).toMatchObject({ ambiguous: true, attempts: [expect.objectContaining({ provider: 'postmark', outcome: 'ambiguous' })] });
    expect(mailgun.requests).toHaveLength(0);
  });

  it('smtp: server drops the connection after the message body', async () => {
    let bodies = 0;
    const server = createServer((socket: Socket) => {
      let inData = false;
      let buffer = '';
      socket.write('220 dropper ESMTP\r\n');
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1');
        let end: number;
        while ((end = inData ? buffer.indexOf('\r\n.\r\n') : buffer.indexOf('\r\n')) >= 0) {
          if (inData) {
            bodies++;
            socket.destroy();
            return;
          }
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (/^DATA/i.test(line)) {
            inData = true;
            socket.write('354 go on\r\n');
          } else if (/^EHLO/i.test(line)) socket.write('250-dropper\r\n250 8BITMIME\r\n');
          else socket.write('250 OK\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const { configPath } = writeTestConfig({ smtpPort: port, order: ['smtp'], attempts: 3 });
      const result = await runCli(sendArgs(configPath), { env: TEST_ENV });
      expect(result.code).toBe(4);
      expect(result.json()).toMatchObject({ ambiguous: true });
      expect(bodies).toBe(1);
    } finally {
      server.close();
    }
  });
});

describe('recipients refused while the message was accepted', () => {
  it('smtp 451 for one of two: partial (exit 5), a copy for that one waits in the outbox and goes out later', async () => {
    refuse.set('busy@example.com', 451);
    const { configPath } = live({ order: ['smtp'] });
    const result = await runCli(['send', '--config', configPath, '--to', 'ada@example.com', '--to', 'busy@example.com', '--subject', 'S', '--text', 'T', '--json'], { env: TEST_ENV });
    expect(result.code).toBe(5);
    const json = result.json();
    expect(json).toMatchObject({ status: 'partial', provider: 'smtp', refused: [{ address: 'busy@example.com', permanent: false }] });
    expect(smtp.messages.map((m) => m.envelope.to)).toEqual([['ada@example.com']]);
    refuse.delete('busy@example.com');
    const retried = await runCli(['queue', 'retry', String(json.outboxId), '--config', configPath, '--json'], { env: TEST_ENV });
    expect(retried.json().results[0].status).toBe('delivered');
    expect(smtp.messages.map((m) => m.envelope.to)).toEqual([['ada@example.com'], ['busy@example.com']]);
  });

  it('postmark accepts but will not deliver to an inactive address: partial, nothing queued', async () => {
    postmark.inactive.add('gone@example.com');
    const { configPath } = live();
    const result = await runCli(['send', '--config', configPath, '--to', 'ada@example.com', '--to', 'gone@example.com', '--subject', 'S', '--text', 'T', '--json'], { env: TEST_ENV });
    expect(result.code).toBe(5);
    expect(result.json()).toMatchObject({ status: 'partial', outboxId: null, refused: [{ address: 'gone@example.com', permanent: true }] });
  });
});

describe('bulk interrupted and concurrent retries', () => {
  it('Ctrl-C finishes the calls under way, records them, exits 130; the rerun sends the rest once', async () => {
    const { dir, configPath } = live({ order: ['postmark'] });
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, ['email,name', ...Array.from({ length: 3000 }, (_, i) => `u${i}@example.com,U${i}`)].join('\n'));
    const args = ['send', '--config', configPath, '--recipients', list, '--subject', 'Hi {{name}}', '--text', 'x', '--json', '--concurrency', '1'];
    postmark.latencyMs = 300;
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...TEST_ENV } });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    while (postmark.requests.length < 2) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'interrupted', queued: 0 });
    postmark.latencyMs = 0;
    const rerun = await runCli(args, { env: TEST_ENV, timeoutMs: 60_000 });
    expect(rerun.json()).toMatchObject({ queued: 0 });
    const sentTo = postmark.sent.flatMap((s) => s.body.map((m: any) => m.To));
    expect(sentTo).toHaveLength(3000);
    expect(new Set(sentTo).size).toBe(3000);
  }, 60_000);

  it('Ctrl-C during a rate-limit pause makes no new call and fails over to no one; the report says what was not sent', async () => {
    const { dir, configPath } = live({ order: ['postmark', 'mailgun'] });
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, ['email,name', ...Array.from({ length: 1200 }, (_, i) => `u${i}@example.com,U${i}`)].join('\n'));
    const args = ['send', '--config', configPath, '--recipients', list, '--subject', 'Hi {{name}}', '--text', 'x', '--json'];
    postmark.persistentFault = { status: 429, body: { ErrorCode: 429, Message: 'Rate limit exceeded' }, headers: { 'Retry-After': '1' } };
    try {
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...TEST_ENV } });
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      while (postmark.requests.length < 3) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGINT');
      const callsAtCtrlC = postmark.requests.length;
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(code).toBe(130);
      expect(postmark.requests.length).toBeLessThanOrEqual(callsAtCtrlC + 3);
      expect(mailgun.requests).toHaveLength(0);
      const report = JSON.parse(stdout);
      expect(report).toMatchObject({ status: 'interrupted', delivered: 0, queued: 0 });
      expect(report.notSent).toBe(report.recipients);
    } finally {
      postmark.persistentFault = undefined;
    }
  }, 30_000);

  it('nothing delivered, one rejected for good and one waiting in the outbox: partial (5), not rejected (3)', async () => {
    const { dir, configPath } = live({ order: ['postmark'], timeout: '500ms' });
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, 'email,name\na@example.com,A\nb@example.com,B\n');
    postmark.failNext({ status: 200, body: [{ ErrorCode: 406, Message: 'You tried to send to a recipient that has been marked as inactive.', To: 'a@example.com' }] });
    postmark.persistentFault = { destroy: true };
    try {
      const result = await runCli(['send', '--config', configPath, '--recipients', list, '--subject', 'Hi', '--text', 'x', '--json', '--batch-size', '1', '--concurrency', '1'], { env: TEST_ENV });
      expect(result.json()).toMatchObject({ delivered: 0, rejected: 1, queued: 1, status: 'partial' });
      expect(result.code).toBe(5);
    } finally {
      postmark.persistentFault = undefined;
    }
  });

  it('Ctrl-C also stops a run whose rows wait for batches of their own (one address many times)', async () => {
    const { dir, configPath } = live({ order: ['mailgun'] });
    const list = path.join(dir, 'list.csv');
    // A Mailgun batch takes an address once: these rows leave one by one, long after the list was read.
    writeFileSync(list, ['email,name', ...Array.from({ length: 510 }, (_, i) => `same@example.com,N${i}`)].join('\n'));
    const args = ['send', '--config', configPath, '--recipients', list, '--subject', 'Hi {{name}}', '--text', 'x', '--json', '--concurrency', '1'];
    mailgun.latencyMs = 300;
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...TEST_ENV } });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const closed = new Promise((resolve) => child.on('close', resolve));
    while (mailgun.requests.length < 3) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    // Not left sending when it does not stop (the failure this test is for).
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await closed;
    clearTimeout(killer);
    expect(code).toBe(130);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'interrupted', queued: 0 });
    // The call under way when Ctrl-C came was the third: none started after it.
    expect(mailgun.requests.length).toBe(3);
    mailgun.latencyMs = 0;
    const rerun = await runCli([...args.slice(0, -2), '--concurrency', '4'], { env: TEST_ENV, timeoutMs: 60_000 });
    expect(rerun.json()).toMatchObject({ status: 'delivered', queued: 0 });
    const names = mailgun.parsed.flatMap((sent) => Object.values(JSON.parse(sent.fields['recipient-variables'][0]) as Record<string, { s_name: string }>).map((v) => v.s_name));
    expect(names).toHaveLength(510);
    expect(new Set(names).size).toBe(510);
  }, 60_000);

  it('four queue retry processes at once: no "database is locked", each message delivered once', async () => {
    const { dir, configPath } = live({ order: ['postmark'], attempts: 1 });
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, ['email,name', ...Array.from({ length: 40 }, (_, i) => `q${i}@example.com,Q${i}`)].join('\n'));
    postmark.persistentFault = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
    const down = await runCli(['send', '--config', configPath, '--recipients', list, '--subject', 'Hi', '--text', 'x', '--json', '--batch-size', '1', '--concurrency', '8'], { env: TEST_ENV, timeoutMs: 60_000 });
    expect(down.json().queued).toBe(40);
    postmark.reset();
    postmark.latencyMs = 20;
    const runs = await Promise.all([0, 1, 2, 3].map(() => runCli(['queue', 'retry', '--all', '--config', configPath, '--json'], { env: TEST_ENV, timeoutMs: 60_000 })));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const to = postmark.sent.map((s) => s.body.To);
    expect(to).toHaveLength(40);
    expect(new Set(to).size).toBe(40);
  }, 60_000);
});

describe('reading the outbox creates nothing', () => {
  it('queue list in a directory without an outbox', async () => {
    const { dir, configPath } = writeTestConfig({ failover: { outbox: 'sub/dir/outbox.db' } });
    const result = await runCli(['queue', 'list', '--config', configPath, '--json']);
    expect(result.json().entries).toEqual([]);
    expect(existsSync(path.join(dir, 'sub'))).toBe(false);
  });
});

describe('second review: bulk reruns and the outbox', () => {
  const bulkArgs = (configPath: string, list: string) => ['send', '--config', configPath, '--recipients', list, '--subject', 'Hi {{name}}', '--text', 'x', '--json'];

  it('recipients whose outbox entries were dropped are not sent by a rerun', async () => {
    const { dir, configPath } = live({ order: ['postmark'] });
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, 'email,name\na@example.com,A\nb@example.com,B\n');
    postmark.failNext({ destroy: true });
    const first = await runCli(bulkArgs(configPath, list), { env: TEST_ENV });
    expect(first.json()).toMatchObject({ queued: 2 });
    for (const failure of first.json().failures) await runCli(['queue', 'drop', String(failure.outboxId), '--config', configPath]);
    const again = await runCli(bulkArgs(configPath, list), { env: TEST_ENV });
    expect(again.code).toBe(0);
    expect(again.json()).toMatchObject({ delivered: 0, skippedAlreadyDelivered: 2 });
    expect(postmark.requests).toHaveLength(1);
  });

  it('a killed run\'s in-doubt recipients are queued once, and its in-flight record is cleared', async () => {
    const { dir, configPath } = live({ order: ['postmark'] });
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, 'email,name\na@example.com,A\nb@example.com,B\n');
    postmark.failNext({ delayMs: 5000, status: 200, body: [] });
    const child = spawn(process.execPath, [BIN, ...bulkArgs(configPath, list)], { env: { ...process.env, ...TEST_ENV } });
    while (postmark.requests.length < 1) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    const first = await runCli(bulkArgs(configPath, list), { env: TEST_ENV });
    expect(first.json()).toMatchObject({ queued: 2, delivered: 0 });
    expect(first.json().failures[0].reason).toContain('killed');
    const second = await runCli(bulkArgs(configPath, list), { env: TEST_ENV });
    expect(second.json()).toMatchObject({ queued: 2, delivered: 0 });
    expect(second.json().failures[0].reason).toContain('already waiting');
    const list2 = (await runCli(['queue', 'list', '--config', configPath, '--json'])).json();
    expect(list2.entries).toHaveLength(2);
    expect(postmark.requests).toHaveLength(1);
  });

  it('a stale run lock (holder on another host, no heartbeat for long) is taken over', async () => {
    const { dir, configPath } = live({ order: ['postmark'] });
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, 'email,name\na@example.com,A\n');
    const dry = (await runCli([...bulkArgs(configPath, list), '--dry-run'], { env: TEST_ENV })).json();
    expect(dry.status).toBe('dry-run');
    const { SqliteStore } = await import('../../src/store/sqlite/sqlite-store.js');
    const store = await SqliteStore.open(path.join(dir, 'outbox.db'));
    const key = dry.idempotencyKey as string;
    await store.claimRunLock(key, 'other-container:4242:dead', Date.now() - 60 * 60_000, 1, () => true);
    await store.close();
    const result = await runCli(bulkArgs(configPath, list), { env: TEST_ENV });
    expect(result.code, result.stderr).toBe(0);
  });

  it('the same address twice with different fields (or in another case) goes out in separate Mailgun calls, each with its own fields', async () => {
    const { dir, configPath } = live({ order: ['mailgun'] });
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, 'email,name\nsame@example.com,First\nsame@example.com,Second\nSAME@Example.com,Third\nother@example.com,Other\n');
    const result = await runCli(bulkArgs(configPath, list), { env: TEST_ENV });
    expect(result.json()).toMatchObject({ delivered: 4 });
    const variables = mailgun.parsed.map((p) => JSON.parse(p.fields['recipient-variables'][0]) as Record<string, { s_name: string }>);
    expect(variables).toHaveLength(3);
    const names = variables.map((v) => (v['same@example.com'] ?? v['SAME@Example.com'])?.s_name).filter(Boolean);
    expect(names.sort()).toEqual(['First', 'Second', 'Third']);
  });

  it('Postmark takes the same address twice in one batch call (each copy is its own message); a chain with Mailgun in it keeps them apart', async () => {
    const rows = 'email,name\nsame@example.com,First\nsame@example.com,Second\nother@example.com,Other\n';
    const alone = live({ order: ['postmark'] });
    writeFileSync(path.join(alone.dir, 'list.csv'), rows);
    expect((await runCli(bulkArgs(alone.configPath, path.join(alone.dir, 'list.csv')), { env: TEST_ENV })).json()).toMatchObject({ delivered: 3 });
    expect(postmark.requests).toHaveLength(1);
    const copies = JSON.parse(postmark.requests[0].rawBody.toString()) as { To: string; Subject: string }[];
    expect(copies.map((c) => c.To)).toEqual(['same@example.com', 'same@example.com', 'other@example.com']);
    postmark.reset();
    const withMailgun = live({ order: ['postmark', 'mailgun'] });
    writeFileSync(path.join(withMailgun.dir, 'list.csv'), rows);
    expect((await runCli(bulkArgs(withMailgun.configPath, path.join(withMailgun.dir, 'list.csv')), { env: TEST_ENV })).json()).toMatchObject({ delivered: 3 });
    expect(postmark.requests).toHaveLength(2);
  });

  it('rerunning send when the waiting retry ends partly refused reports partial (exit 5)', async () => {
    postmark.failNext({ status: 500, body: { ErrorCode: 0, Message: 'down' } });
    const { configPath } = live({ order: ['postmark'], attempts: 1 });
    const args = ['send', '--config', configPath, '--to', 'ada@example.com', '--to', 'gone@example.com', '--subject', 'S', '--text', 'T', '--json'];
    expect((await runCli(args, { env: TEST_ENV })).code).toBe(4);
    postmark.inactive.add('gone@example.com');
    const again = await runCli(args, { env: TEST_ENV });
    expect(again.code).toBe(5);
    expect(again.json()).toMatchObject({ status: 'partial', refused: [expect.objectContaining({ address: 'gone@example.com', permanent: true })] });
  });
});
