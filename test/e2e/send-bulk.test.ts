import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { BIN, runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig, type TestConfigOptions } from '../helpers/config.js';

const { postmark, mailgun, smtp } = useFakeEsps();

function csv(count: number, extraRows: string[] = []): string {
  const rows = Array.from({ length: count }, (_, i) => `user${i}@example.com,User ${i},plan-${i % 3}`);
  return ['email,name,plan', ...rows, ...extraRows].join('\n') + '\n';
}

function setup(list: string, options: TestConfigOptions = {}, file = 'list.csv') {
  const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, smtpPort: smtp.port, ...options });
  const listPath = path.join(dir, file);
  writeFileSync(listPath, list);
  return { dir, configPath, listPath };
}

const template = ['--subject', 'Hi {{name}}', '--html', '<p>Hello {{name}}, your plan: {{plan}}</p>', '--text', 'Hello {{name}}', '--type', 'marketing', '--json'];
const bulk = (configPath: string, listPath: string, extra: string[] = []) => runCli(['send', '--config', configPath, '--recipients', listPath, ...template, ...extra], { env: TEST_ENV, timeoutMs: 60_000 });
const postmarkBatchSizes = () => postmark.sent.filter((s) => s.path === '/email/batch').map((s) => s.body.length);

describe('bulk send', () => {
  it('postmark: 1001 recipients → batches of 500, 500, 1, each personalised', async () => {
    const { configPath, listPath } = setup(csv(1001), { order: ['postmark'] });
    const result = await bulk(configPath, listPath);
    expect(result.code, result.stderr).toBe(0);
    const report = result.json();
    expect(report).toMatchObject({ status: 'delivered', recipients: 1001, delivered: 1001, calls: { postmark: 3 } });
    // The calls go out together (concurrency 4): the one-recipient batch may arrive before a full one.
    expect(postmarkBatchSizes().sort((a, b) => b - a)).toEqual([500, 500, 1]);
    const first = postmark.sent.find((s) => s.body[0]?.To === 'user0@example.com')!.body[0];
    expect(first).toMatchObject({ To: 'user0@example.com', Subject: 'Hi User 0', HtmlBody: '<p>Hello User 0, your plan: plan-0</p>', TextBody: 'Hello User 0', MessageStream: 'broadcast' });
    expect(report.peakRssMb).toBeGreaterThan(0);
  });

  it('mailgun: 2001 recipients → calls of 1000, 1000, 1 with recipient-variables', async () => {
    const { configPath, listPath } = setup(csv(2001), { order: ['mailgun'] });
    const result = await bulk(configPath, listPath);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ delivered: 2001, calls: { mailgun: 3 } });
    expect(mailgun.parsed.map((p) => p.fields.to.length).sort((a, b) => b - a)).toEqual([1000, 1000, 1]);
    const { fields } = mailgun.parsed.find((p) => p.fields.to.length === 1000 && p.fields.to[0] === 'user0@example.com')!;
    expect(fields.subject).toEqual(['Hi %recipient.s_name%']);
    expect(fields.html).toEqual(['<p>Hello %recipient.h_name%, your plan: %recipient.h_plan%</p>']);
    const variables = JSON.parse(fields['recipient-variables'][0]);
    expect(fields.text).toEqual(['Hello %recipient.t_name%']);
    // Only the variables the parts use, each in the form its part needs.
    expect(variables['user1@example.com']).toEqual({ s_name: 'User 1', h_name: 'User 1', h_plan: 'plan-1', t_name: 'User 1', key: expect.stringMatching(/^[0-9a-f]{24}$/) });
    // The message key is written once, in the header; each recipient adds its digest.
    expect(fields['h:X-PenguinMails-Idempotency-Key']).toEqual([expect.stringMatching(/^pm_[0-9a-f]{32}\/%recipient\.key%$/)]);
  });

  it('mailgun: each part gets its own form of a value (one line in the subject, escaped in HTML)', async () => {
    const { configPath, listPath } = setup(`${JSON.stringify({ email: 'eve@example.com', name: 'Eve <b>\nX', plan: 'pro' })}\n`, { order: ['mailgun'] }, 'list.jsonl');
    expect((await bulk(configPath, listPath)).code).toBe(0);
    const variables = JSON.parse(mailgun.parsed[0].fields['recipient-variables'][0]);
    expect(variables['eve@example.com']).toMatchObject({ s_name: 'Eve <b> X', h_name: 'Eve &lt;b&gt;\nX', t_name: 'Eve <b>\nX' });
  });

  it('mailgun: a merge field named like a JS object property is empty, and the variables stay valid JSON', async () => {
    const { configPath, listPath } = setup(csv(2), { order: ['mailgun'] });
    expect((await bulk(configPath, listPath, ['--subject', 'Hi {{name}} {{toString}}'])).code).toBe(0);
    const variables = JSON.parse(mailgun.parsed[0].fields['recipient-variables'][0]);
    expect(variables['user0@example.com']).toMatchObject({ s_name: 'User 0', s_toString: '' });
  });

  it('mailgun: merge fields named like another part\'s variable or the key variable keep their own values', async () => {
    const { configPath, listPath } = setup('email,name,name__html,key\nann@example.com,Ann,ANN-HTML,ann-key\n', { order: ['mailgun'] });
    const result = await bulk(configPath, listPath, ['--subject', 'Hi {{name__html}} {{key}}', '--html', '<p>{{name}}</p>', '--text', '{{key}}']);
    expect(result.code, result.stderr).toBe(0);
    const { fields } = mailgun.parsed[0];
    const variables = JSON.parse(fields['recipient-variables'][0]);
    expect(variables['ann@example.com']).toEqual({ s_name__html: 'ANN-HTML', s_key: 'ann-key', h_name: 'Ann', t_key: 'ann-key', key: expect.stringMatching(/^[0-9a-f]{24}$/) });
    expect(fields.subject).toEqual(['Hi %recipient.s_name__html% %recipient.s_key%']);
  });

  it('a message key with a % (which Mailgun could read as a placeholder) is refused before anything is sent', async () => {
    const { configPath, listPath } = setup(csv(2), { order: ['mailgun'] });
    const result = await bulk(configPath, listPath, ['--idempotency-key', 'run%recipient.s_name%']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('idempotency key "run%recipient.s_name%": use 1–200 letters, digits');
    expect(mailgun.requests).toHaveLength(0);
  });

  it('merge values are HTML-escaped in the HTML body only', async () => {
    const { configPath, listPath } = setup('email,name,plan\n"eve@example.com","<script>x</script> & Co",pro\n', { order: ['postmark'] });
    expect((await bulk(configPath, listPath)).code).toBe(0);
    expect(postmark.sent[0].body[0]).toMatchObject({ Subject: 'Hi <script>x</script> & Co', HtmlBody: '<p>Hello &lt;script&gt;x&lt;/script&gt; &amp; Co, your plan: pro</p>' });
  });

  it('a quoted field over two lines (CRLF) is one recipient: one line in the subject, the break kept in the bodies', async () => {
    const { configPath, listPath } = setup('email,name,plan\r\nann@example.com,"Ann\r\nLee",pro\r\nbob@example.com,Bob,basic\r\n', { order: ['postmark'] });
    const result = await bulk(configPath, listPath);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ recipients: 2, delivered: 2, invalid: 0 });
    expect(postmark.sent[0].body[0]).toMatchObject({ To: 'ann@example.com', Subject: 'Hi Ann Lee', HtmlBody: '<p>Hello Ann\nLee, your plan: pro</p>', TextBody: 'Hello Ann\nLee' });
  });

  it('a failed message inside a Postmark batch (200 answer) is reported; the others are delivered once', async () => {
    postmark.inactive.add('user3@example.com');
    const { configPath, listPath } = setup(csv(10), { order: ['postmark', 'mailgun'] });
    const result = await bulk(configPath, listPath);
    expect(result.code).toBe(5);
    const report = result.json();
    expect(report).toMatchObject({ status: 'partial', delivered: 9, rejected: 1, calls: { postmark: 1 } });
    expect(report.failures).toEqual([expect.objectContaining({ line: 5, email: 'user3@example.com', outcome: 'rejected', reason: expect.stringContaining('ErrorCode 406') })]);
    expect(mailgun.requests).toHaveLength(0);
  });

  it('a Postmark batch element with ErrorCode 100 (maintenance) is retried, not rejected', async () => {
    const { configPath, listPath } = setup(csv(2), { order: ['postmark'] });
    postmark.failNext({ status: 200, body: [{ ErrorCode: 100, Message: 'Maintenance' }, { ErrorCode: 0, Message: 'OK', MessageID: 'm-1', To: 'user1@example.com' }] });
    const result = await bulk(configPath, listPath);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ delivered: 2, rejected: 0 });
  });

  it('a Mailgun 400 for the whole call → each recipient is tried on its own', async () => {
    mailgun.failNext({ status: 400, body: { message: "'to' parameter is not a valid address. please check documentation" } });
    const { configPath, listPath } = setup(csv(5), { order: ['mailgun'] });
    const result = await bulk(configPath, listPath);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ delivered: 5, calls: { mailgun: 6 } });
    // the failed call is answered before the form is read; then five single calls
    expect(mailgun.requests).toHaveLength(6);
    expect(mailgun.parsed.map((p) => p.fields.to.length)).toEqual([1, 1, 1, 1, 1]);
  });

  it('recipients sent on their own after a batch failed keep to --concurrency (not one call per recipient at once)', async () => {
    mailgun.failNext({ status: 400, body: { message: "'to' parameter is not a valid address. please check documentation" } });
    mailgun.latencyMs = 40;
    let inFlight = 0;
    let mostAtOnce = 0;
    const server = (mailgun as unknown as { server: import('node:http').Server }).server;
    const track = (_req: unknown, res: import('node:http').ServerResponse) => {
      mostAtOnce = Math.max(mostAtOnce, ++inFlight);
      res.on('close', () => inFlight--);
    };
    server.on('request', track);
    try {
      const { configPath, listPath } = setup(csv(40), { order: ['mailgun'] });
      const result = await bulk(configPath, listPath, ['--concurrency', '3']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.json()).toMatchObject({ delivered: 40, calls: { mailgun: 41 } });
      expect(mostAtOnce).toBeLessThanOrEqual(3);
    } finally {
      server.off('request', track);
      mailgun.latencyMs = 0;
    }
  });

  it('recipients a provider cannot take at all go to the next provider as a batch, not one by one', async () => {
    const { configPath, listPath } = setup(csv(30), { order: ['postmark', 'mailgun'] });
    postmark.failNext({ status: 200, body: Array.from({ length: 30 }, () => ({ ErrorCode: 300, Message: 'The from address does not match a verified Sender Signature' })) });
    const result = await bulk(configPath, listPath);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ delivered: 30, calls: { postmark: 1, mailgun: 1 }, byProvider: { mailgun: { delivered: 30 } } });
  });

  it('a whole-call 500 is retried, then the batch fails over to the next provider', async () => {
    postmark.persistentFault = { status: 500, body: { ErrorCode: 0, Message: 'down' } };
    const { configPath, listPath } = setup(csv(20), { order: ['postmark', 'mailgun'], attempts: 2 });
    const result = await bulk(configPath, listPath);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ delivered: 20, calls: { postmark: 2, mailgun: 1 }, byProvider: { mailgun: { delivered: 20 } } });
  });

  it('429 slows the run down instead of failing it', async () => {
    postmark.failNext({ status: 429, body: { ErrorCode: 0, Message: 'Rate limit exceeded' }, headers: { 'Retry-After': '1' } });
    const { configPath, listPath } = setup(csv(1200), { order: ['postmark'], attempts: 2 });
    const result = await bulk(configPath, listPath, ['--concurrency', '2']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ delivered: 1200, rateLimitPauses: 1 });
  });

  it('malformed rows are reported with their line numbers and the rest is sent', async () => {
    const list = 'email,name,plan\nok1@example.com,A,x\nnot-an-email,B,x\nok2@example.com,"unclosed,x\nok3@example.com,C\nok4@example.com,D,y\n';
    const { configPath, listPath } = setup(list, { order: ['postmark'] });
    const result = await bulk(configPath, listPath);
    expect(result.code).toBe(5);
    const report = result.json();
    expect(report).toMatchObject({ delivered: 2, invalid: 3 });
    expect(report.failures.map((f: any) => [f.line, f.outcome])).toEqual([[3, 'invalid'], [4, 'invalid'], [5, 'invalid']]);
    expect(report.failures[0].reason).toContain('not a valid email address');
    expect(report.failures[2].reason).toContain('2 columns, the header has 3');
  });

  it('a list with a header and no rows sends nothing, exits 0 and says so on stderr', async () => {
    const { configPath, listPath } = setup('email,name,plan\n', { order: ['postmark'] });
    const result = await bulk(configPath, listPath);
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({ status: 'delivered', recipients: 0, delivered: 0 });
    expect(result.stderr).toMatch(/list\.csv has no recipient rows: nothing was sent/);
    expect(postmark.sent).toEqual([]);
  });

  it('a merge field the list does not have is warned about (dry run and real run); the copies still go out', async () => {
    const { configPath, listPath } = setup(csv(2), { order: ['postmark'] });
    const args = ['send', '--config', configPath, '--recipients', listPath, '--subject', 'Hi {{nmae}}', '--text', 'x', '--json'];
    const warning = /\{\{nmae\}\} is not a field of .*list\.csv \(it has name, plan\): every copy gets it empty — did you mean \{\{name\}\}\?/;
    const dry = await runCli([...args, '--dry-run'], { env: TEST_ENV });
    expect(dry.code).toBe(0);
    expect(dry.stderr).toMatch(warning);
    const real = await runCli(args, { env: TEST_ENV });
    expect(real.code).toBe(0);
    expect(real.stderr).toMatch(warning);
    expect(postmark.sent[0].body.map((m: any) => m.Subject)).toEqual(['Hi ', 'Hi ']);
  });

  it('a list without an email column is a usage error', async () => {
    const { configPath, listPath } = setup('name,plan\nA,x\n', { order: ['postmark'] });
    const result = await bulk(configPath, listPath);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"email" column');
  });

  it('JSONL from stdin, through a pooled SMTP transport', async () => {
    const { configPath } = setup('', { order: ['smtp'] });
    const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ email: `s${i}@example.com`, name: `S${i}`, plan: 'free' })).join('\n');
    const result = await runCli(['send', '--config', configPath, '--recipients', '-', ...template], { env: TEST_ENV, input: lines });
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ delivered: 30 });
    expect(smtp.messages).toHaveLength(30);
    expect(smtp.messages.map((m) => m.parsed.subject).sort()).toContain('Hi S7');
  });

  it('everything down → all queued in the outbox, exit 4; a rerun skips nothing twice', async () => {
    const { configPath, listPath } = setup(csv(3), { order: ['postmark'], attempts: 1 });
    postmark.persistentFault = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
    const down = await bulk(configPath, listPath);
    expect(down.code).toBe(4);
    expect(down.json()).toMatchObject({ status: 'queued', queued: 3 });
    postmark.persistentFault = undefined;
    const retried = await runCli(['queue', 'retry', '--all', '--config', configPath, '--json'], { env: TEST_ENV });
    expect(retried.json().results.map((r: any) => r.status)).toEqual(['delivered', 'delivered', 'delivered']);
    const again = await bulk(configPath, listPath);
    expect(again.json()).toMatchObject({ delivered: 0, skippedAlreadyDelivered: 3 });
  });

  it('repeats next to each other and bad rows between them: each recipient once, the first of its rows, and every batch full but the last', async () => {
    const rows: string[] = [];
    for (let i = 0; i < 2_400; i++) {
      rows.push(`user${i}@example.com,User ${i},plan-${i % 3}`);
      // Every eighth row again at once, in another case (the same recipient); every hundredth, a bad row after it.
      if (i % 8 === 0) rows.push(`USER${i}@Example.com,User ${i},plan-${i % 3}`);
      if (i % 100 === 0) rows.push(`not-an-address-${i},Nobody,plan-0`);
    }
    const { configPath, listPath } = setup(['email,name,plan', ...rows].join('\n') + '\n', { order: ['mailgun'] });
    const result = await bulk(configPath, listPath);
    // Bad rows make the run partial (exit 5); the rest is sent.
    expect(result.code, result.stderr).toBe(5);
    expect(result.json()).toMatchObject({ status: 'partial', recipients: 2_400 + 300 + 24, delivered: 2_400, duplicateRows: 300, invalid: 24 });
    expect(mailgun.parsed.map((p) => p.fields.to.length)).toEqual([1_000, 1_000, 400]);
    const sentTo = mailgun.parsed.flatMap((p) => p.fields.to);
    // The first of a recipient's rows is the one sent: its address as it was written there.
    expect(sentTo).toEqual(Array.from({ length: 2_400 }, (_, i) => `user${i}@example.com`));
  });

  it('a list longer than the recipients kept in memory: repeats far apart are still sent once, a rerun skips them all', async () => {
    const distinct = csv(25_000).trimEnd().split('\n');
    const list = [...distinct, ...distinct.slice(1, 5_001)].join('\n') + '\n';
    const { dir, configPath, listPath } = setup(list, { order: ['mailgun'] });
    const scratch = path.join(dir, 'tmp');
    mkdirSync(scratch);
    const env = { ...TEST_ENV, PENGUINMAILS_BULK_MEMORY_RECIPIENTS: '10000', TMPDIR: scratch };
    const first = await runCli(['send', '--config', configPath, '--recipients', listPath, ...template], { env, timeoutMs: 60_000 });
    expect(first.code, first.stderr).toBe(0);
    expect(first.json()).toMatchObject({ status: 'delivered', recipients: 30_000, delivered: 25_000, duplicateRows: 5_000, calls: { mailgun: 25 } });
    const sentTo = mailgun.parsed.flatMap((p) => p.fields.to);
    expect(new Set(sentTo).size).toBe(25_000);

    const again = await runCli(['send', '--config', configPath, '--recipients', listPath, ...template], { env, timeoutMs: 60_000 });
    expect(again.json()).toMatchObject({ status: 'delivered', delivered: 0, skippedAlreadyDelivered: 25_000, duplicateRows: 5_000 });
    expect(mailgun.requests).toHaveLength(25);
    // The on-disk part of the recipient sets leaves nothing behind.
    expect(readdirSync(scratch)).toEqual([]);
  }, 60_000);

  it('no usable temporary directory: a warning, the recipients stay in memory, the run still delivers', async () => {
    const { configPath, listPath } = setup(csv(12_000, ['user0@example.com,User 0,plan-0']), { order: ['mailgun'] });
    const env = { ...TEST_ENV, PENGUINMAILS_BULK_MEMORY_RECIPIENTS: '10000', TMPDIR: '/nonexistent/penguinmails-test' };
    const result = await runCli(['send', '--config', configPath, '--recipients', listPath, ...template], { env, timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ status: 'delivered', delivered: 12_000, duplicateRows: 1 });
    expect(result.stderr.match(/could not move recipients to a temporary file/g)).toHaveLength(1);
    expect(result.stderr).toMatch(/keeping them in memory instead \(set TMPDIR/);
  }, 60_000);

  it('a bad PENGUINMAILS_BULK_MEMORY_RECIPIENTS is a usage error, before anything is sent', async () => {
    const { configPath, listPath } = setup(csv(3), { order: ['mailgun'] });
    for (const bad of ['0', '9999', '5000001', 'lots', '1e6']) {
      const result = await runCli(['send', '--config', configPath, '--recipients', listPath, ...template], { env: { ...TEST_ENV, PENGUINMAILS_BULK_MEMORY_RECIPIENTS: bad } });
      expect(result.code, bad).toBe(2);
      expect(result.stderr).toContain(`PENGUINMAILS_BULK_MEMORY_RECIPIENTS: "${bad}" is not a whole number from 10000 to 5000000`);
    }
    expect(mailgun.requests).toHaveLength(0);
  });

  it('--dry-run reads the whole list (bad rows by line), shows each provider its first batch call, sends nothing', async () => {
    const { configPath, listPath } = setup(csv(1200, ['not-an-address,Nobody,plan-0', 'USER0@example.com,User 0,plan-0']), { order: ['postmark', 'mailgun', 'smtp'] });
    const result = await bulk(configPath, listPath, ['--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    const dry = result.json();
    expect(dry).toMatchObject({ status: 'dry-run', recipients: 1202, withAddress: 1200, duplicateRows: 1, invalid: 1, invalidRows: [{ line: 1202 }], mergeFields: ['name', 'plan'], requestsShownFor: 3 });
    const [pm, mg] = dry.requests;
    expect(pm).toMatchObject({ provider: 'postmark', recipientsPerCall: 500, callsIfAllGoHere: 3 });
    expect(pm.request.url).toMatch(/\/email\/batch$/);
    expect(pm.request.headers['X-Postmark-Server-Token']).toBe('****');
    expect(pm.request.body.map((m: any) => [m.To, m.Subject])).toEqual([['user0@example.com', 'Hi User 0'], ['user1@example.com', 'Hi User 1'], ['user2@example.com', 'Hi User 2']]);
    expect(mg).toMatchObject({ provider: 'mailgun', recipientsPerCall: 1000, callsIfAllGoHere: 2 });
    expect(mg.request.form.to).toBe('user0@example.com, user1@example.com, user2@example.com');
    expect(Object.keys(JSON.parse(mg.request.form['recipient-variables']))).toEqual(['user0@example.com', 'user1@example.com', 'user2@example.com']);
    // SMTP has no batch call: a message per recipient.
    expect(dry.requests[2].request.map((r: any) => [r.mail.to[0], r.mail.subject])).toEqual([['user0@example.com', 'Hi User 0'], ['user1@example.com', 'Hi User 1'], ['user2@example.com', 'Hi User 2']]);
    // The keys shown are the ones a real run uses.
    const key = pm.request.body[0].Headers.find((h: any) => h.Name === 'X-PenguinMails-Idempotency-Key').Value;
    expect(key.startsWith(`${dry.idempotencyKey}/`)).toBe(true);
    expect(postmark.requests.length + mailgun.requests.length + smtp.messages.length).toBe(0);

    const human = await runCli(['send', '--config', configPath, '--recipients', listPath, ...template.filter((a) => a !== '--json'), '--dry-run', '--batch-size', '100'], { env: TEST_ENV });
    expect(human.stdout).toMatch(/1,202 row\(s\): 1,200 to send, 1 repeating an earlier row \(sent once\), 1 invalid/);
    expect(human.stdout).toMatch(/line 1202: "not-an-address" is not a valid email address/);
    expect(human.stdout).toMatch(/postmark \(postmark\): up to 100 recipients a call, 12 call\(s\) if all go here/);
  });

  it('a message body and the list cannot both come from stdin', async () => {
    const { configPath } = setup(csv(2));
    for (const flag of ['--html-file', '--text-file', '--payload']) {
      const result = await runCli(['send', '--config', configPath, '--recipients', '-', flag, '-', '--subject', 's', '--json'], { env: TEST_ENV, input: csv(2) });
      expect(result.code, flag).toBe(2);
      expect(result.stderr).toContain(`${flag} and --recipients cannot both read stdin`);
    }
  });

  it('a run killed half-way resumes without sending anyone twice', async () => {
    const { configPath, listPath } = setup(csv(3000), { order: ['postmark'] });
    postmark.latencyMs = 300;
    const child = spawn(process.execPath, [BIN, 'send', '--config', configPath, '--recipients', listPath, ...template, '--concurrency', '1'], { env: { ...process.env, ...TEST_ENV } });
    const started = Date.now();
    while (postmark.requests.length < 3 && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    postmark.latencyMs = 0;

    const resumed = await bulk(configPath, listPath, ['--resume']);
    const report = resumed.json();
    const sentTo = postmark.sent.flatMap((s) => (Array.isArray(s.body) ? s.body.map((m: any) => m.To) : []));
    expect(new Set(sentTo).size).toBe(sentTo.length);
    expect(report.skippedAlreadyDelivered).toBeGreaterThanOrEqual(500);
    // the batch that was in flight when killed is not resent blindly: it waits in the outbox as ambiguous
    expect(report.delivered + report.skippedAlreadyDelivered + report.queued).toBe(3000);
    expect(report.failures.every((f: any) => f.outcome === 'queued' && f.ambiguous === true && /killed/.test(f.reason))).toBe(true);
    // Said, with what to do: the worker does not retry an ambiguous entry by itself.
    expect(resumed.stderr).toContain('some recipients wait in the outbox as ambiguous');
    expect(resumed.stderr).toContain(`penguinmails queue retry ${report.failures[0].outboxId} --force --config ${configPath}`);
  }, 60_000);
});
