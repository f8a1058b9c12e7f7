import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakePostmark } from '../fakes/fake-postmark.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';

const postmark = new FakePostmark();
beforeAll(async () => {
  await postmark.start();
});
afterAll(() => postmark.stop());
beforeEach(() => postmark.reset());

const good = { to: 'ada@example.com', subject: 'Hello', text: 'Hi' };
function args(overrides: Partial<Record<keyof typeof good, string>> = {}, extra: string[] = []): string[] {
  const fields = { ...good, ...overrides };
  return [
    ...Object.entries(fields).filter(([, v]) => v !== '').flatMap(([k, v]) => [`--${k}`, v]),
    ...extra,
  ];
}

async function expectUsageError(cliArgs: string[], message: RegExp, env: Record<string, string | undefined> = TEST_ENV) {
  const result = await runCli(cliArgs, { env });
  expect(result.code, result.stdout + result.stderr).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(postmark.requests).toHaveLength(0);
  return result;
}

describe('bad input is refused with exit 2 and nothing is sent', () => {
  const config = () => writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'] }).configPath;

  it.each([
    ['malformed recipient', { to: 'not-an-address' }, /to\[0\]: "not-an-address" is not a valid email address/],
    ['recipient without domain dot', { to: 'ada@localhost' }, /not a valid email address/],
    ['CR/LF in the subject', { subject: 'Hi\r\nBcc: victim@example.com' }, /subject: contains a line break/],
    ['missing body', { text: '' }, /body: missing/],
    ['missing subject', { subject: '' }, /subject: missing/],
    // A group (RFC 5322) would mail victim@ past the suppression list: only ok@ would be checked.
    ['a group in the display name', { to: 'g:victim@suppressed.example; <ok@example.com>' }, /to\[0\]: "g:victim@suppressed.example; <ok@example.com>" is not a valid email address \(its display name holds .*put the name in double quotes\)/],
    ['an address as the display name', { to: 'victim@suppressed.example <ok@example.com>' }, /is not a valid email address/],
  ])('%s', async (_name, overrides, message) => {
    await expectUsageError(['send', '--config', config(), ...args(overrides)], message);
  });

  it('CR/LF in a header value, a bad header name, and a reserved header', async () => {
    await expectUsageError(['send', '--config', config(), ...args({}, ['--header', 'X-Evil: a\r\nBcc: x@example.com'])], /value contains a line break/);
    await expectUsageError(['send', '--config', config(), ...args({}, ['--header', 'Bad Name: x'])], /not a valid header name/);
    await expectUsageError(['send', '--config', config(), ...args({}, ['--header', 'Subject: x'])], /header "Subject": set by penguinmails itself \(or with its own option\)/);
    for (const reserved of ['X-PenguinMails-Idempotency-Key: other', 'Content-Transfer-Encoding: 7bit', 'Resent-Bcc: victim@example.com', 'Sender: boss@example.com', 'Message-ID: <x@example.com>', 'X-SMTPAPI: {"to":["victim@example.com"]}']) {
      await expectUsageError(['send', '--config', config(), ...args({}, ['--header', reserved])], /set by penguinmails itself/);
    }
    await expectUsageError(['send', '--config', config(), ...args({}, ['--header', 'no-colon'])], /expected "Name: value"/);
  });

  it('a body given both inline and from a file', async () => {
    const dir = tempDir({ 'body.html': '<b>file</b>', 'body.txt': 'file' });
    await expectUsageError(['send', '--config', config(), ...args({ text: '' }, ['--html', '<b>inline</b>', '--html-file', path.join(dir, 'body.html')])], /--html and --html-file both give the HTML body[\s\S]*hint: use one of them/);
    await expectUsageError(['send', '--config', config(), ...args({}, ['--text-file', path.join(dir, 'body.txt')])], /--text and --text-file both give the text body/);
  });

  it('every problem is listed at once', async () => {
    const result = await expectUsageError(['send', '--config', config(), '--to', 'bad', '--subject', 'x\ny'], /to\[0\]/);
    expect(result.stderr).toMatch(/subject: contains a line break/);
    expect(result.stderr).toMatch(/body: missing/);
  });

  it('unknown provider in --provider, with a suggestion', async () => {
    await expectUsageError(['send', '--config', config(), ...args(), '--provider', 'postmak'], /unknown provider "postmak" \(known: postmark, mailgun, smtp\)[\s\S]*did you mean "postmark"/);
  });

  it('unknown provider in failover.order names the path and the known ones', async () => {
    const { dir } = writeTestConfig();
    const file = path.join(dir, 'penguinmails.config.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('- mailgun', '- mailgn'));
    await expectUsageError(['send', '--config', file, ...args()], /failover\.order\[1\]: unknown provider "mailgn" \(known: postmark, mailgun, smtp\) — did you mean "mailgun"\?/);
  });

  it('unknown provider type and unknown keys', async () => {
    const dir = tempDir({ 'c.yaml': 'providers:\n  sp: { type: sparkpost }\n  pm: { type: postmark, serverToken: x, sever: y }\n' });
    const result = await expectUsageError(['send', '--config', path.join(dir, 'c.yaml'), ...args()], /providers\.sp\.type: unknown provider type "sparkpost" \(known: postmark, mailgun, smtp, sendgrid, ses\)/);
    expect(result.stderr).toMatch(/providers\.pm: unknown key "sever"/);
  });

  it('plain http base URL outside loopback is refused', async () => {
    const dir = tempDir({ 'c.yaml': 'providers:\n  pm: { type: postmark, serverToken: x, baseUrl: "http://api.example.com" }\n' });
    await expectUsageError(['send', '--config', path.join(dir, 'c.yaml'), ...args()], /providers\.pm\.baseUrl: plain http:\/\/ is allowed only for loopback hosts/);
  });

  it('broken YAML says where', async () => {
    const dir = tempDir({ 'c.yaml': 'providers:\n  pm: { type: postmark\n   serverToken: [\n' });
    await expectUsageError(['send', '--config', path.join(dir, 'c.yaml'), ...args()], /broken YAML: .*\(line \d+, column \d+\)/);
  });

  it('a missing environment variable names the variable and the config path', async () => {
    const result = await expectUsageError(['send', '--config', config(), ...args()], /providers\.postmark\.serverToken: environment variable POSTMARK_SERVER_TOKEN is not set/, { POSTMARK_SERVER_TOKEN: undefined });
    expect(result.stderr).toMatch(/hint: export POSTMARK_SERVER_TOKEN/);
  });

  it('a missing config file', async () => {
    await expectUsageError(['send', '--config', '/nonexistent/penguin.yaml', ...args()], /cannot read config .*no such file/);
    await expectUsageError(['send', ...args()], /no penguinmails config found/, { ...TEST_ENV, PENGUINMAILS_CONFIG: undefined });
  });

  it('bad --payload: not JSON, unknown field, wrong type', async () => {
    await expectUsageError(['send', '--config', config(), '--payload', '-'], /not valid JSON/);
    const dir = tempDir({ 'p.json': JSON.stringify({ to: 'a@example.com', subject: 's', html_body: 'h', trak_opens: true }), 'q.json': JSON.stringify({ to: 5, subject: 's' }) });
    await expectUsageError(['send', '--config', config(), '--payload', path.join(dir, 'p.json')], /trak_opens: unknown field \(did you mean "track_opens"\?\)/);
    await expectUsageError(['send', '--config', config(), '--payload', path.join(dir, 'q.json')], /to: must be an address string/);
  });

  it('a misspelt payload field gets a "did you mean", and no validator jargon leaks', async () => {
    const dir = tempDir({ 'p.json': JSON.stringify({ to: 'a@example.com', subjct: 's', text_body: 't', track_opens: 'yes' }) });
    const result = await runCli(['send', '--config', config(), '--payload', path.join(dir, 'p.json'), '--json'], { env: TEST_ENV });
    expect(result.code).toBe(2);
    const { error } = result.json();
    expect(error).toContain('subjct: unknown field (did you mean "subject"?)');
    expect(error).toContain('subject: required (a string)');
    expect(error).toContain('track_opens: must be true or false');
    expect(error).not.toMatch(/Invalid input|received undefined/);
  });

  it("a payload's problems come in one error, each named by its path in the body (as the API answers); a flag's by the flag", async () => {
    const dir = tempDir({
      'p.json': JSON.stringify({ to: ['a@example.com', 'not-one'], subject: 's', reply_to: 'nope', html: '<p>x</p>', headers: { 'Bad Name': 'v' } }),
      'ok.json': JSON.stringify({ to: 'a@example.com', subject: 's', text_body: 't', reply_to: 'r@example.com' }),
      'headers.json': JSON.stringify({ to: 'a@example.com', subject: 's', text_body: 't', headers: { From: 'x' } }),
      'metadata.json': JSON.stringify({ to: 'a@example.com', subject: 's', text_body: 't', metadata: { k: 'ok' } }),
      'number-body.json': JSON.stringify({ to: 'a@example.com', subject: 's', text_body: 5 }),
      'dotted.json': JSON.stringify({ to: 'bad', 'to.cc': 1, subject: 's', text_body: 't' }),
      'no-subject.json': JSON.stringify({ to: 'a@example.com', text_body: 't' }),
      'number-reply-to.json': JSON.stringify({ to: 'a@example.com', subject: 's', text_body: 't', reply_to: 5 }),
    });
    const result = await runCli(['send', '--config', config(), '--payload', path.join(dir, 'p.json'), '--json'], { env: TEST_ENV });
    expect(result.code).toBe(2);
    const { error, hint } = result.json();
    const lines = error.split('\n').slice(1).map((line: string) => line.trim());
    expect(lines).toEqual([
      'html: unknown field',
      'to[1]: "not-one" is not a valid email address',
      'reply_to: "nope" is not a valid email address',
      'html_body: missing: give html_body or text_body (or --html, --text)',
      'headers.Bad Name: not a valid header name',
    ]);
    expect(error).not.toMatch(/replyTo|^\s*body: missing/m);
    expect(hint).toMatch(/^nothing was sent; correct each field listed/);
    const linesOf = async (file: string, extra: string[] = []) => {
      const run = await runCli(['send', '--config', config(), '--payload', path.join(dir, file), ...extra, '--dry-run', '--json'], { env: TEST_ENV });
      expect(run.code).toBe(2);
      const lines: string[] = run.json().error.split('\n');
      // One problem is said on the error's own line.
      return lines.length === 1 ? [lines[0].replace(/^the message is not valid: /, '')] : lines.slice(1).map((line) => line.trim().replace(/^- /, ''));
    };
    // A flag wins over the payload's field, and is named as the flag; --header adds to the payload's headers.
    expect(await linesOf('ok.json', ['--reply-to', 'bad', '--header', 'Also Bad: x'])).toEqual(['--reply-to: "bad" is not a valid email address', '--header "Also Bad": not a valid header name']);
    expect(await linesOf('headers.json', ['--header', 'From: y'])).toEqual(['headers.From: set by penguinmails itself (or with its own option), not by --header', '--header "From": set by penguinmails itself (or with its own option), not by --header']);
    // --metadata replaces the payload's value of its key: the flag's is at fault.
    expect(await linesOf('metadata.json', ['--metadata', 'k=a\nb'])).toEqual(['--metadata "k": empty key or line break']);
    // A field the schema refused is told once: a body field that is not text is not also "no body".
    expect(await linesOf('number-body.json')).toEqual(['text_body: must be a string']);
    // An unknown field named like a known one does not hide that one's problem.
    expect(await linesOf('dotted.json')).toEqual(['to.cc: unknown field', 'to[0]: "bad" is not a valid email address']);
    // A flag gives what the payload lacks or has wrong.
    for (const [file, extra] of [['no-subject.json', ['--subject', 'Hi']], ['number-reply-to.json', ['--reply-to', 'r@example.com']]] as const) {
      const run = await runCli(['send', '--config', config(), '--payload', path.join(dir, file), ...extra, '--dry-run', '--json'], { env: TEST_ENV });
      expect(run.code, run.stderr).toBe(0);
    }
  });

  it('unknown flags and bad choices are usage errors', async () => {
    await expectUsageError(['send', '--config', config(), ...args(), '--type', 'newsletter'], /Allowed choices are transactional, marketing/);
    await expectUsageError(['send', '--config', config(), ...args(), '--frobnicate'], /unknown option '--frobnicate'/);
    await expectUsageError(['sned'], /unknown command 'sned'/);
  });

  it('--json errors are one JSON document on stdout', async () => {
    const result = await runCli(['send', '--config', config(), '--to', 'bad', '--subject', 's', '--text', 't', '--json'], { env: TEST_ENV });
    expect(result.code).toBe(2);
    expect(result.json()).toMatchObject({ status: 'error', exitCode: 2, error: expect.stringContaining('not a valid email address') });
  });

  it.each([
    ['a directory', (dir: string) => dir, /it is a directory/, /must name a file, not a directory/],
    ['a file that is not an outbox', (dir: string) => path.join(dir, 'notes.txt'), /file is not a database/, /not a penguinmails outbox/],
    ['a path under a file', (dir: string) => path.join(dir, 'notes.txt', 'outbox.db'), /cannot use the outbox/, /a file stands where failover.outbox needs a directory/],
  ])('an outbox path that cannot hold an outbox (%s) is a config error naming failover.outbox, for send and queue list', async (_case, outboxIn, message, hint) => {
    const dir = tempDir({ 'notes.txt': 'shopping list: eggs, milk, and a great deal more text than a database header' });
    const { configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], failover: { outbox: outboxIn(dir) } }, dir);
    const sent = await expectUsageError(['send', '--config', configPath, ...args()], message);
    expect(sent.stderr).toMatch(/\(failover\.outbox\)/);
    expect(sent.stderr).toMatch(hint);
    expect(sent.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    if (_case !== 'a path under a file') await expectUsageError(['queue', 'list', '--config', configPath], message);
    // The user's file is left as it was: its content, and who may read it.
    if (_case === 'a file that is not an outbox') {
      expect(readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toMatch(/^shopping list/);
      expect(statSync(path.join(dir, 'notes.txt')).mode & 0o777).toBe(0o644);
    }
  });

  it('store copy --from a file that is no penguinmails store (text, another program\'s database, a directory): exit 2, the file unchanged', async () => {
    const dir = tempDir({ 'notes.txt': 'shopping list: eggs, milk, and a great deal more text than a database header' });
    const otherDb = path.join(dir, 'other.db');
    const { default: Database } = await import('better-sqlite3');
    const other = new Database(otherDb);
    other.exec('CREATE TABLE things (x)');
    other.close();
    const before = readFileSync(otherDb);
    const copy = (from: string) => runCli(['store', 'copy', '--from', from, '--to', 'postgres://postgres@127.0.0.1:1/none'], { cwd: dir });
    const text = await copy(path.join(dir, 'notes.txt'));
    expect([text.code, text.stderr]).toEqual([2, expect.stringMatching(/--from .*notes\.txt: file is not a database/)]);
    expect(statSync(path.join(dir, 'notes.txt')).mode & 0o777).toBe(0o644);
    const foreign = await copy(otherDb);
    expect([foreign.code, foreign.stderr]).toEqual([2, expect.stringMatching(/is not a penguinmails store \(it has no outbox\)[\s\S]*nothing was copied or changed/)]);
    expect(readFileSync(otherDb).equals(before)).toBe(true);
    const directory = await copy(dir);
    expect([directory.code, directory.stderr]).toEqual([2, expect.stringMatching(/is a directory/)]);
  });

  it('a comma inside a quoted display name does not split the address (--to and a payload string)', async () => {
    const dir = tempDir({ 'p.json': JSON.stringify({ to: '"Doe, J" <j@example.com>, a@example.com', subject: 's', text_body: 't' }) });
    for (const input of [['--to', '"Doe, J" <j@example.com>, a@example.com', '--subject', 's', '--text', 't'], ['--payload', path.join(dir, 'p.json')]]) {
      const result = await runCli(['send', '--config', config(), ...input, '--dry-run', '--json'], { env: TEST_ENV });
      expect(result.code, result.stderr).toBe(0);
      expect(result.json().requests[0].request.body.To).toBe('"Doe, J" <j@example.com>, a@example.com');
    }
  });

  it('bulk-only flags on a single send, and payload recipients with --recipients, are usage errors instead of being ignored', async () => {
    for (const flag of [['--concurrency', '2'], ['--batch-size', '5'], ['--resume']]) {
      await expectUsageError(['send', '--config', config(), ...args(), ...flag], new RegExp(`${flag[0]} applies to a bulk send only`));
    }
    const dir = tempDir({ 'p.json': JSON.stringify({ to: 'someone@example.com', subject: 's', text_body: 't' }), 'list.csv': 'email\na@example.com\n' });
    await expectUsageError(['send', '--config', config(), '--payload', path.join(dir, 'p.json'), '--recipients', path.join(dir, 'list.csv')], /the payload's "to", "cc" and "bcc" cannot be used with it/);
    // As the hint says: a payload without them is the bulk template.
    writeFileSync(path.join(dir, 'template.json'), JSON.stringify({ subject: 's', text_body: 't' }));
    const bulk = await runCli(['send', '--config', config(), '--payload', path.join(dir, 'template.json'), '--recipients', path.join(dir, 'list.csv'), '--dry-run'], { env: TEST_ENV });
    expect(bulk.code, bulk.stderr).toBe(0);
    // A single send still needs a recipient.
    await expectUsageError(['send', '--config', config(), '--payload', path.join(dir, 'template.json')], /to/);
  });

  it('a directory given as --recipients is a usage error, not a crash', async () => {
    const dir = tempDir();
    const result = await expectUsageError(['send', '--config', config(), '--recipients', dir, '--subject', 's', '--text', 't'], /--recipients: cannot read .* \(EISDIR\)/);
    expect(result.stderr).toMatch(/not a directory/);
  });

  it('secrets never appear in errors, even when an SDK echoes them', async () => {
    const dir = tempDir({ 'c.yaml': 'providers:\n  pm: { type: postmark, serverToken: "${POSTMARK_SERVER_TOKEN}", baseUrl: "https://${POSTMARK_SERVER_TOKEN}.invalid" }\n' });
    const result = await runCli(['send', '--config', path.join(dir, 'c.yaml'), '--dry-run', ...args(), '--from', 'a@example.com', '--json'], { env: TEST_ENV });
    expect(result.stdout + result.stderr).not.toContain(TEST_ENV.POSTMARK_SERVER_TOKEN);
    expect(result.stdout).toContain('****');
  });
});
