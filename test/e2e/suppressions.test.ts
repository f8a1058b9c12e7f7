import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { CLOSED_PORT, TEST_ENV, writeTestConfig, type TestConfigOptions } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { createKey, startServer } from '../helpers/serve.js';

// SPEC "Events and suppressions", the send side: every send path asks the suppression list
// before any provider; Postmark 406 and SMTP 5.1.1 answers put addresses on it; the commands.
const USER_UNKNOWN = { code: 550, text: '5.1.1 <nobody@example.com>: Recipient address rejected: User unknown' };
const SPAM_BLOCK = { code: 550, text: '5.7.1 Message rejected as spam' };
const { postmark, mailgun, smtp } = useFakeEsps({ refuse: new Map([['nobody@example.com', USER_UNKNOWN], ['blocked@example.com', SPAM_BLOCK]]) });
const DOWN = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };

/** Requests that reached any fake ESP (HTTP requests, SMTP connections). */
function espRequests(): number {
  return postmark.requests.length + mailgun.requests.length + smtp.connections;
}

function setup(options: TestConfigOptions = {}) {
  return writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, attempts: 1, ...options });
}

function send(configPath: string, args: string[]) {
  return runCli(['send', '--config', configPath, '--subject', 'Hello', '--text', 'Hi', '--json', ...args], { env: TEST_ENV });
}

function cli(configPath: string, args: string[], input?: string) {
  return runCli([...args, '--config', configPath], { env: TEST_ENV, input });
}

async function listed(configPath: string): Promise<{ address: string; scope: string; reason: string; source: string; since: string }[]> {
  const list = await cli(configPath, ['suppressions', 'list', '--json']);
  expect(list.code, list.stderr).toBe(0);
  return list.json().suppressions;
}

describe('a suppressed address is rejected before any provider', () => {
  it('send exits 3 naming the address, reason and source; no request reaches any ESP; nothing waits in the outbox', async () => {
    const { configPath } = setup();
    const added = await cli(configPath, ['suppressions', 'add', 'Ada@Example.com', '--reason', 'asked by phone']);
    expect(added.code, added.stderr).toBe(0);
    const result = await send(configPath, ['--to', 'Ada Lovelace <ada@example.com>']);
    expect(result.code, result.stderr).toBe(3);
    expect(result.json()).toMatchObject({
      status: 'rejected',
      provider: null,
      attempts: [],
      outboxId: null,
      reason: expect.stringContaining('ada@example.com (asked by phone; manual'),
      suppressed: [{ address: 'ada@example.com', scope: '*', reason: 'asked by phone', source: 'manual', since: expect.any(String) }],
    });
    expect(result.stderr).toMatch(/rejected before any provider was called: on the suppression list/);
    expect(result.stderr).toContain('suppressions remove ada@example.com');
    expect(espRequests()).toBe(0);
    expect((await cli(configPath, ['queue', 'list', '--all', '--json'])).json().entries).toEqual([]);
  });

  it('--dry-run says a real send would be rejected, naming the suppressed recipient; --ignore-suppressions does not', async () => {
    const { configPath } = setup();
    await cli(configPath, ['suppressions', 'add', 'eve@example.com', '--reason', 'hard bounce']);
    const dry = await send(configPath, ['--to', 'eve@example.com', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json()).toMatchObject({
      status: 'dry-run',
      wouldBe: 'rejected',
      reason: expect.stringContaining('a real send would be rejected before any provider: on the suppression list: eve@example.com (hard bounce; manual'),
      suppressed: [expect.objectContaining({ address: 'eve@example.com', reason: 'hard bounce' })],
    });
    const human = await runCli(['send', '--config', configPath, '--subject', 'Hello', '--text', 'Hi', '--to', 'eve@example.com', '--dry-run'], { env: TEST_ENV });
    expect(human.stdout).toContain('a real send would be rejected before any provider');
    // Part of the result: --quiet keeps it.
    const quiet = await runCli(['send', '--config', configPath, '--subject', 'Hello', '--text', 'Hi', '--to', 'eve@example.com', '--dry-run', '-q'], { env: TEST_ENV });
    expect(quiet.stdout).toContain('a real send would be rejected before any provider');
    const overridden = await send(configPath, ['--to', 'eve@example.com', '--dry-run', '--ignore-suppressions']);
    expect(overridden.json().wouldBe).toBeUndefined();
    expect(espRequests()).toBe(0);
  });

  it('--dry-run on a store it cannot read as it is (PostgreSQL down) previews anyway, saying the list was not read', async () => {
    const { configPath } = setup({ store: `postgres://postgres@127.0.0.1:${CLOSED_PORT}/test` });
    const dry = await send(configPath, ['--to', 'eve@example.com', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json()).toMatchObject({ status: 'dry-run' });
    expect(dry.stderr).toMatch(/warning: the suppression list was not read: .*ECONNREFUSED/);
  });

  it('one suppressed Cc among several recipients: the whole message is rejected, the others named as not sent either', async () => {
    const { configPath } = setup();
    await cli(configPath, ['suppressions', 'add', 'eve@example.com']);
    const result = await send(configPath, ['--to', 'ada@example.com', '--cc', 'eve@example.com']);
    expect(result.code, result.stderr).toBe(3);
    expect(result.json().reason).toMatch(/eve@example\.com .*not sent to the other recipients either/);
    expect(result.json().suppressed.map((s: { address: string }) => s.address)).toEqual(['eve@example.com']);
    expect(espRequests()).toBe(0);
  });

  it("a scoped suppression applies only to mail from that domain; '*' to every domain", async () => {
    const { configPath } = setup({ order: ['postmark'] });
    await cli(configPath, ['suppressions', 'add', 'ada@example.com', '--scope', 'news.example.org']);
    const otherDomain = await send(configPath, ['--to', 'ada@example.com']);
    expect(otherDomain.code, otherDomain.stderr).toBe(0);
    const sameDomain = await send(configPath, ['--to', 'ada@example.com', '--from', 'News <hello@News.Example.org>']);
    expect(sameDomain.code, sameDomain.stderr).toBe(3);
    expect(sameDomain.json().suppressed).toEqual([expect.objectContaining({ scope: 'news.example.org' })]);
    expect(postmark.requests).toHaveLength(1);
  });

  it('--ignore-suppressions sends anyway and says so (JSON field and a line on stderr)', async () => {
    const { configPath } = setup({ order: ['postmark'] });
    await cli(configPath, ['suppressions', 'add', 'ada@example.com', '--reason', 'hard bounce']);
    const result = await send(configPath, ['--to', 'ada@example.com', '--ignore-suppressions']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ status: 'delivered', provider: 'postmark', ignoredSuppressions: [expect.objectContaining({ address: 'ada@example.com', reason: 'hard bounce' })] });
    expect(result.stderr).toMatch(/warning: sent despite the suppression list .*ada@example\.com \(hard bounce; manual/);
    expect(postmark.requests).toHaveLength(1);
  });

  it('the HTTP API answers 422 with the suppressed recipient, and no ESP is called', async () => {
    const { dir, configPath } = setup({ order: ['postmark'] });
    await cli(configPath, ['suppressions', 'add', 'ada@example.com']);
    const key = await createKey(configPath, 'app');
    const server = await startServer(configPath, dir);
    try {
      const answer = await fetch(`${server.url}/api/v1/emails/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to: 'ada@example.com', subject: 'Hello', text_body: 'Hi' }),
      });
      expect(answer.status).toBe(422);
      expect(await answer.json()).toMatchObject({ status: 'rejected', suppressed: [expect.objectContaining({ address: 'ada@example.com' })] });
      expect(espRequests()).toBe(0);
    } finally {
      await server.stop();
    }
  });
});

describe('bulk: suppressed rows are rejected rows, the others go out', () => {
  const LIST = 'email,name\nada@example.com,Ada\nbob@example.com,Bob\ncy@example.com,Cy\ndee@example.com,Dee\n';

  it('two of four rows suppressed (one globally, one for the From domain) → those rejected by line, two delivered in one call', async () => {
    const { dir, configPath } = setup({ order: ['postmark'] });
    writeFileSync(path.join(dir, 'list.csv'), LIST);
    await cli(configPath, ['suppressions', 'add', 'bob@example.com', '--reason', 'hard bounce']);
    await cli(configPath, ['suppressions', 'add', 'dee@example.com', '--scope', 'example.com', '--reason', 'unsubscribed']);
    await cli(configPath, ['suppressions', 'add', 'cy@example.com', '--scope', 'elsewhere.org']);
    const bulkArgs = ['send', '--config', configPath, '--recipients', path.join(dir, 'list.csv'), '--subject', 'Hi {{name}}', '--text', 'Hello', '--type', 'marketing', '--json'];
    // A dry run counts them as the real run will, and leaves them out of the request it shows.
    const dry = await runCli([...bulkArgs, '--dry-run'], { env: TEST_ENV });
    expect(dry.json()).toMatchObject({ status: 'dry-run', recipients: 4, withAddress: 2, suppressedRows: 2, suppressed: [expect.objectContaining({ address: 'bob@example.com' }), expect.objectContaining({ address: 'dee@example.com' })] });
    expect(dry.json().requests[0].request.body.map((m: { To: string }) => m.To)).toEqual(['ada@example.com', 'cy@example.com']);
    expect(espRequests()).toBe(0);
    const result = await runCli(bulkArgs, { env: TEST_ENV });
    expect(result.code, result.stderr).toBe(5);
    const report = result.json();
    expect(report).toMatchObject({ status: 'partial', recipients: 4, delivered: 2, rejected: 2, suppressed: 2 });
    expect(report.failures).toEqual([
      { line: 3, email: 'bob@example.com', outcome: 'rejected', reason: expect.stringMatching(/^on the suppression list: bob@example\.com \(hard bounce; manual/) },
      { line: 5, email: 'dee@example.com', outcome: 'rejected', reason: expect.stringMatching(/unsubscribed; manual, .*; for mail from example\.com/) },
    ]);
    expect(postmark.sent).toHaveLength(1);
    expect(postmark.sent[0].body.map((m: { To: string }) => m.To)).toEqual(['ada@example.com', 'cy@example.com']);
  });

  it('--ignore-suppressions sends every row and counts the suppressed ones it sent', async () => {
    const { dir, configPath } = setup({ order: ['postmark'] });
    writeFileSync(path.join(dir, 'list.csv'), LIST);
    await cli(configPath, ['suppressions', 'add', 'bob@example.com']);
    const result = await runCli(['send', '--config', configPath, '--recipients', path.join(dir, 'list.csv'), '--subject', 'Hi', '--text', 'Hello', '--type', 'marketing', '--ignore-suppressions', '--json'], { env: TEST_ENV });
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ status: 'delivered', delivered: 4, rejected: 0, suppressed: 0, suppressionsIgnored: 1 });
    expect(result.stderr).toMatch(/sent to 1 address\(es\) on the suppression list/);
  });

  it('a row Postmark refuses with 406 puts its address on the list', async () => {
    const { dir, configPath } = setup({ order: ['postmark'] });
    writeFileSync(path.join(dir, 'list.csv'), LIST);
    postmark.inactive.add('cy@example.com');
    const result = await runCli(['send', '--config', configPath, '--recipients', path.join(dir, 'list.csv'), '--subject', 'Hi', '--text', 'Hello', '--type', 'marketing', '--json'], { env: TEST_ENV });
    expect(result.code, result.stderr).toBe(5);
    expect(result.json()).toMatchObject({ delivered: 3, rejected: 1, suppressed: 0, newlySuppressed: 1 });
    expect(await listed(configPath)).toEqual([expect.objectContaining({ address: 'cy@example.com', source: 'postmark', reason: expect.stringContaining('406') })]);
  });
});

describe('outbox retries check the list again', () => {
  it('queued while every ESP was down, suppressed meanwhile → queue retry and the worker reject it without an ESP call', async () => {
    const { configPath } = setup({ order: ['postmark'], extra: { worker: { backoff: '1ms' } } });
    postmark.persistentFault = DOWN;
    const first = await send(configPath, ['--to', 'ada@example.com', '--idempotency-key', 'k-ada']);
    const second = await send(configPath, ['--to', 'bob@example.com', '--idempotency-key', 'k-bob']);
    const queuedAt = Date.now();
    expect([first.code, second.code]).toEqual([4, 4]);
    postmark.persistentFault = undefined;
    await cli(configPath, ['suppressions', 'add', 'ada@example.com', '--reason', 'hard bounce']);
    await cli(configPath, ['suppressions', 'add', 'bob@example.com', '--reason', 'spam complaint']);
    const before = espRequests();

    const retried = await cli(configPath, ['queue', 'retry', String(first.json().outboxId), '--json']);
    expect(retried.code, retried.stderr).toBe(3);
    expect(retried.json().results).toEqual([expect.objectContaining({ status: 'rejected', attempts: [], reason: expect.stringContaining('ada@example.com (hard bounce'), suppressed: [expect.objectContaining({ address: 'ada@example.com' })] })]);

    // The worker's first retry comes one backoff after the send, and a backoff is at least 1 s.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, queuedAt + 1_100 - Date.now())));
    const worked = await cli(configPath, ['queue', 'work', '--once', '--json']);
    expect(worked.code, worked.stderr).toBe(0);
    expect(worked.json().results).toEqual([expect.objectContaining({ id: second.json().outboxId, status: 'rejected', reason: expect.stringContaining('spam complaint') })]);
    expect(espRequests()).toBe(before);
    const entries = (await cli(configPath, ['queue', 'list', '--all', '--json'])).json().entries;
    expect(entries.map((e: { status: string }) => e.status)).toEqual(['rejected', 'rejected']);
  });

  it('an entry queued with --ignore-suppressions keeps the override when retried', async () => {
    const { configPath } = setup({ order: ['postmark'] });
    await cli(configPath, ['suppressions', 'add', 'ada@example.com']);
    postmark.persistentFault = DOWN;
    const queued = await send(configPath, ['--to', 'ada@example.com', '--ignore-suppressions']);
    expect(queued.code, queued.stderr).toBe(4);
    postmark.persistentFault = undefined;
    const retried = await cli(configPath, ['queue', 'retry', String(queued.json().outboxId), '--json']);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.json().results).toEqual([expect.objectContaining({ status: 'delivered' })]);
  });
});

describe('suppressions learnt from sending', () => {
  it('Postmark 406 → the address is suppressed (source postmark); the next send exits 3 with no ESP call, not even the fallback', async () => {
    const { configPath } = setup({ order: ['postmark', 'mailgun', 'smtp'] });
    postmark.inactive.add('gone@example.com');
    const first = await send(configPath, ['--to', 'gone@example.com']);
    expect(first.code, first.stderr).toBe(3);
    expect(first.json()).toMatchObject({ status: 'rejected', provider: 'postmark', warnings: [expect.stringContaining('now on the suppression list')] });
    expect(first.stderr).toContain('now on the suppression list');
    expect(mailgun.requests).toHaveLength(0);
    expect(await listed(configPath)).toEqual([expect.objectContaining({ address: 'gone@example.com', scope: '*', source: 'postmark', reason: expect.stringContaining('inactive recipient') })]);

    const before = espRequests();
    const second = await send(configPath, ['--to', 'gone@example.com', '--subject', 'Another']);
    expect(second.code, second.stderr).toBe(3);
    expect(second.json()).toMatchObject({ status: 'rejected', provider: null, attempts: [], suppressed: [expect.objectContaining({ address: 'gone@example.com', source: 'postmark' })] });
    expect(espRequests()).toBe(before);
  });

  it('Postmark takes the message but not an inactive Cc ("Message OK, but…") → partial, and that Cc is suppressed', async () => {
    const { configPath } = setup({ order: ['postmark'] });
    postmark.inactive.add('gone@example.com');
    const result = await send(configPath, ['--to', 'ada@example.com', '--cc', 'gone@example.com']);
    expect(result.code, result.stderr).toBe(5);
    expect(result.json().status).toBe('partial');
    expect((await listed(configPath)).map((s) => s.address)).toEqual(['gone@example.com']);
  });

  it('SMTP 550 5.1.1 user unknown → suppressed (source smtp); a 550 5.7.1 spam block is not', async () => {
    const { configPath } = setup({ order: ['smtp'] });
    const unknown = await send(configPath, ['--to', 'nobody@example.com']);
    expect(unknown.code, unknown.stderr).toBe(3);
    const blocked = await send(configPath, ['--to', 'blocked@example.com']);
    expect(blocked.code, blocked.stderr).toBe(3);
    expect(await listed(configPath)).toEqual([{ address: 'nobody@example.com', scope: '*', reason: 'user unknown (SMTP 550 5.1.1)', source: 'smtp', since: expect.any(String) }]);
    const connections = smtp.connections;
    const again = await send(configPath, ['--to', 'nobody@example.com', '--subject', 'Again']);
    expect(again.code, again.stderr).toBe(3);
    expect(smtp.connections).toBe(connections);
  });

  it('SMTP refuses one of two recipients with 5.1.1 → delivered to the other (partial), the refused one suppressed', async () => {
    const { configPath } = setup({ order: ['smtp'] });
    const result = await send(configPath, ['--to', 'ada@example.com', '--cc', 'nobody@example.com']);
    expect(result.code, result.stderr).toBe(5);
    expect((await listed(configPath)).map((s) => `${s.address} ${s.source}`)).toEqual(['nobody@example.com smtp']);
  });
});

describe('suppressions commands', () => {
  it('add, list, export, remove, and import the export elsewhere: the same list', async () => {
    const { configPath } = setup();
    expect((await cli(configPath, ['suppressions', 'add', 'ada@example.com', '--reason', 'hard bounce, twice'])).code).toBe(0);
    expect((await cli(configPath, ['suppressions', 'add', 'bob@example.com', '--scope', 'news.example.org'])).code).toBe(0);
    const again = await cli(configPath, ['suppressions', 'add', 'ADA@example.com', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json()).toMatchObject({ added: false, suppression: { address: 'ada@example.com' } });

    const human = await cli(configPath, ['suppressions', 'list']);
    expect(human.stdout).toMatch(/ada@example\.com\s+\*\s+.*manual\s+hard bounce, twice/);
    expect(human.stdout).toMatch(/bob@example\.com\s+news\.example\.org/);

    const exported = await cli(configPath, ['suppressions', 'export']);
    expect(exported.code, exported.stderr).toBe(0);
    const lines = exported.stdout.trim().split('\n');
    expect(lines[0]).toBe('address,scope,reason,source,created_at');
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^ada@example\.com,\*,"hard bounce, twice",manual,\d{4}-/), expect.stringMatching(/^bob@example\.com,news\.example\.org,added by hand,manual,/)]);

    const other = setup();
    const imported = await cli(other.configPath, ['suppressions', 'import', '-', '--json'], exported.stdout);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json()).toMatchObject({ rows: 2, added: 2, alreadyListed: 0 });
    const strip = (list: { address: string; scope: string; reason: string; source: string }[]) => list.map(({ address, scope, reason, source }) => ({ address, scope, reason, source }));
    expect(strip(await listed(other.configPath))).toEqual(strip(await listed(configPath)));

    const removed = await cli(configPath, ['suppressions', 'remove', 'bob@example.com', '--json']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.json()).toMatchObject({ address: 'bob@example.com', removed: 1 });
    expect((await listed(configPath)).map((s) => s.address)).toEqual(['ada@example.com']);
    const notThere = await cli(configPath, ['suppressions', 'remove', 'bob@example.com']);
    expect(notThere.code).toBe(2);
    expect(notThere.stderr).toContain('bob@example.com is not on the suppression list');
    const wrongScope = await cli(configPath, ['suppressions', 'remove', 'ada@example.com', '--scope', 'example.com']);
    expect(wrongScope.code).toBe(2);
    expect(wrongScope.stderr).toContain('it is listed for: *');
  });

  it('bad addresses and scopes are usage errors (exit 2) that change nothing', async () => {
    const { configPath } = setup();
    for (const args of [['add', 'not-an-address'], ['add', 'ada@'], ['add', 'ada@example.com', '--scope', 'not a domain'], ['remove', 'nobody']]) {
      const result = await cli(configPath, ['suppressions', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/is not an email address|is not a domain/);
    }
    expect(await listed(configPath)).toEqual([]);
  });

  it('import: rows without a header, blank lines skipped; a file with bad rows names each by line and imports nothing', async () => {
    const { dir, configPath } = setup();
    writeFileSync(path.join(dir, 'good.csv'), 'ada@example.com\n\nbob@example.com,news.example.org,unsubscribed\ncy@example.com,*,\n');
    const good = await cli(configPath, ['suppressions', 'import', path.join(dir, 'good.csv')]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain('3 rows, 3 new');
    expect((await listed(configPath)).map((s) => `${s.address} ${s.scope} ${s.reason} ${s.source}`).sort()).toEqual([
      'ada@example.com * imported import',
      'bob@example.com news.example.org unsubscribed import',
      'cy@example.com * imported import',
    ]);

    writeFileSync(path.join(dir, 'bad.csv'), 'address,scope,reason\ndee@example.com,,bounced\nnot-an-address,,x\neve@example.com,bad scope!,x\n"unclosed@example.com,*,x\n');
    const bad = await cli(configPath, ['suppressions', 'import', path.join(dir, 'bad.csv'), '--json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('3 bad rows; nothing was imported');
    expect(bad.stderr).toContain('line 3: "not-an-address" is not an email address');
    expect(bad.stderr).toContain('line 4: scope "bad scope!" is not a domain');
    expect(bad.stderr).toContain('line 5: a quoted field is not closed');
    expect(bad.json()).toMatchObject({ status: 'error', exitCode: 2 });
    expect((await listed(configPath)).map((s) => s.address)).not.toContain('dee@example.com');
  });
});

describe('events list', () => {
  const HOUR = 3_600_000;

  async function withEvents(): Promise<string> {
    const { dir, configPath } = setup();
    const { SqliteStore } = await import('../../src/store/sqlite/sqlite-store.js');
    const store = await SqliteStore.open(path.join(dir, 'outbox.db'));
    const now = Date.now();
    const event = (n: number, type: 'delivered' | 'bounced' | 'opened', recipient: string, hoursAgo: number) => ({
      eventKey: `postmark:${type}:${n}`,
      type,
      ...(type === 'bounced' ? { bounce: 'hard' as const } : {}),
      provider: 'postmark',
      providerMessageId: `msg-${n}`,
      idempotencyKey: null,
      recipient,
      occurredAt: now - hoursAgo * HOUR,
      raw: JSON.stringify({ RecordType: type, ID: n }),
    });
    await store.recordEvents([event(1, 'delivered', 'ada@example.com', 50), event(2, 'bounced', 'Bob@Example.com', 30), event(3, 'opened', 'ada@example.com', 2), event(4, 'delivered', 'bob@example.com', 1)], now);
    await store.close();
    return configPath;
  }

  it('lists newest first, filtered by --type, --to, --since (duration or time) and --limit', async () => {
    const configPath = await withEvents();
    const ids = async (...args: string[]) => {
      const result = await cli(configPath, ['events', 'list', '--json', ...args]);
      expect(result.code, result.stderr).toBe(0);
      return result.json().events.map((e: { messageId: string }) => e.messageId);
    };
    expect(await ids()).toEqual(['msg-4', 'msg-3', 'msg-2', 'msg-1']);
    expect(await ids('--type', 'bounced')).toEqual(['msg-2']);
    expect(await ids('--to', 'BOB@example.com')).toEqual(['msg-4', 'msg-2']);
    expect(await ids('--since', '24h')).toEqual(['msg-4', 'msg-3']);
    expect(await ids('--since', new Date(Date.now() - 40 * HOUR).toISOString())).toEqual(['msg-4', 'msg-3', 'msg-2']);
    expect(await ids('--limit', '1')).toEqual(['msg-4']);
    const full = (await cli(configPath, ['events', 'list', '--type', 'bounced', '--json'])).json().events[0];
    expect(full).toMatchObject({ type: 'bounced', bounce: 'hard', recipient: 'bob@example.com', provider: 'postmark', raw: { RecordType: 'bounced', ID: 2 } });
    const human = await cli(configPath, ['events', 'list', '--type', 'bounced']);
    expect(human.stdout).toMatch(/bounced \(hard\)\s+bob@example\.com\s+postmark\s+msg-2/);
  });

  it('bad filters are usage errors (exit 2)', async () => {
    const { configPath } = setup();
    for (const [args, message] of [
      [['--type', 'exploded'], /argument 'exploded' is invalid/],
      [['--since', 'yesterday'], /--since: "yesterday" is neither a time nor a duration/],
      [['--since', '3600'], /neither a time nor a duration/],
      [['--to', 'nobody'], /--to: "nobody" is not an email address/],
      [['--limit', '0'], /--limit: "0" is not a whole number/],
    ] as [string[], RegExp][]) {
      const result = await cli(configPath, ['events', 'list', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    const empty = await cli(configPath, ['events', 'list']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain('no events match');
  });
});
