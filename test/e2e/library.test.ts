import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';
import { TEST_ENV, testConfig } from '../helpers/config.js';
import { runApp } from '../helpers/run-app.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

// The library as an application uses it: `import { createMailer } from 'penguinmails'` in a
// project of its own (the package linked into its node_modules, as `npm install` would put it).
const { postmark, mailgun } = useFakeEsps();

function appDir(): string {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(ROOT, path.join(dir, 'node_modules', 'penguinmails'), 'dir');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'an-app', type: 'module', private: true }));
  return dir;
}

describe('library: import { createMailer } from "penguinmails"', () => {
  it('a suppressed recipient is a rejected result naming it; send(body, { ignoreSuppressions: true }) sends anyway and says so', async () => {
    const dir = appDir();
    const config = testConfig({ postmarkUrl: postmark.url, order: ['postmark'] });
    writeFileSync(path.join(dir, 'penguinmails.config.yaml'), stringify(config));
    const added = await runCli(['suppressions', 'add', 'ada@example.com', '--config', path.join(dir, 'penguinmails.config.yaml')], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    const app = `
      import { createMailer } from 'penguinmails';
      const mailer = await createMailer({ config: ${JSON.stringify(config)} });
      const body = { from: 'shop@example.com', to: 'ada@example.com', subject: 'Hi', text_body: 'Hello' };
      const refused = await mailer.send(body);
      const forced = await mailer.send(body, { ignoreSuppressions: true });
      await mailer.close();
      console.log(JSON.stringify({ refused, forced }));`;
    const result = await runApp(dir, app);
    expect(result.code, result.stderr).toBe(0);
    const { refused, forced } = JSON.parse(result.stdout);
    expect(refused).toMatchObject({ status: 'rejected', provider: null, suppressed: [expect.objectContaining({ address: 'ada@example.com', source: 'manual' })] });
    expect(forced).toMatchObject({ status: 'delivered', ignoredSuppressions: [expect.objectContaining({ address: 'ada@example.com' })], warnings: [expect.stringContaining('sent despite the suppression list')] });
    expect(postmark.sent).toHaveLength(1);
  });

  it('sends the platform body through the same core as the CLI, and repeats are duplicates', async () => {
    const dir = appDir();
    const config = testConfig({ postmarkUrl: postmark.url, mailgunUrl: mailgun.url, order: ['postmark', 'mailgun'] });
    const app = `
      import { createMailer } from 'penguinmails';
      const mailer = await createMailer({ config: ${JSON.stringify(config)} });
      const body = { from: 'shop@example.com', to: 'ada@example.com', subject: 'Your receipt', html_body: '<p>Thanks</p>', tags: ['receipt'] };
      const first = await mailer.send(body);
      const again = await mailer.send(body);
      await mailer.close();
      console.log(JSON.stringify({ first, again }));`;
    const result = await runApp(dir, app);
    expect(result.code, result.stderr).toBe(0);
    const { first, again } = JSON.parse(result.stdout);
    expect(first).toMatchObject({ status: 'delivered', provider: 'postmark', messageId: expect.any(String), outboxId: null });
    expect(again).toMatchObject({ status: 'duplicate', duplicateOf: { messageId: first.messageId } });
    expect(postmark.sent).toHaveLength(1);
    expect(postmark.sent[0].body).toMatchObject({ From: 'shop@example.com', To: 'ada@example.com', Subject: 'Your receipt', Tag: 'receipt' });
  });

  it('a delivery failure is a result (queued), not an exception; a bad body throws with every problem named', async () => {
    postmark.persistentFault = { status: 503, body: { ErrorCode: 100, Message: 'Maintenance' } };
    const dir = appDir();
    const config = testConfig({ postmarkUrl: postmark.url, order: ['postmark'], attempts: 1 });
    const app = `
      import { createMailer, InvalidBodyError } from 'penguinmails';
      const mailer = await createMailer({ config: ${JSON.stringify(config)} });
      const queued = await mailer.send({ from: 'a@example.com', to: 'b@example.com', subject: 's', text_body: 't' });
      let thrown;
      try { await mailer.send({ to: 'b@example.com', subjct: 's' }); } catch (error) { thrown = { name: error.name, isInvalid: error instanceof InvalidBodyError, details: error.details }; }
      let notAnObject;
      try { await mailer.send([]); } catch (error) { notAnObject = error.details; }
      let poisoned;
      try { await mailer.send(JSON.parse('{"from":"a@example.com","to":"b@example.com","subject":"s","text_body":"t","metadata":{"__proto__":{"x":"1"}}}')); } catch (error) { poisoned = error.details; }
      await mailer.close();
      console.log(JSON.stringify({ queued, thrown, notAnObject, poisoned }));`;
    const result = await runApp(dir, app);
    expect(result.code, result.stderr).toBe(0);
    const { queued, thrown, notAnObject, poisoned } = JSON.parse(result.stdout);
    expect(queued).toMatchObject({ status: 'queued', outboxId: expect.any(Number) });
    expect(thrown).toEqual({
      name: 'InvalidBodyError',
      isInvalid: true,
      details: [
        { path: 'subject', message: 'required (a string)' },
        { path: 'subjct', message: 'unknown field (did you mean "subject"?)' },
        // The message's own problem, found in the fields that were well formed.
        { path: 'html_body', message: 'missing: give html_body or text_body (or both)' },
      ],
    });
    // No fields to say more of: not the problems of an empty message too.
    expect(notAnObject).toEqual([{ path: '(body)', message: 'the body must be one JSON object' }]);
    // A key that could change a prototype is refused by its path, not dropped without a word.
    expect(poisoned).toEqual([{ path: 'metadata.__proto__', message: 'a key named "__proto__", or "constructor" holding "prototype", is refused: rename it' }]);
  });

  it('explains a route and estimates a month like the CLI’s --json documents', async () => {
    const dir = appDir();
    writeFileSync(path.join(dir, 'penguinmails.config.yaml'), readFileSync(path.join(ROOT, 'penguinmails.config.example.yaml')));
    const app = `
      import { createMailer } from 'penguinmails';
      const mailer = await createMailer();
      const route = await mailer.explainRoute({ type: 'marketing', monthlyVolume: 20000 });
      const cost = await mailer.estimateCost({ volume: 100000, transactional: 5000 });
      await mailer.close();
      console.log(JSON.stringify({ route, cost }));`;
    const result = await runApp(dir, app, [], { POSTMARK_SERVER_TOKEN: 'x', MAILGUN_API_KEY: 'y', SMTP_PASSWORD: 'z' });
    expect(result.code, result.stderr).toBe(0);
    const { route, cost } = JSON.parse(result.stdout);
    expect(route).toMatchObject({ status: 'ok', chain: ['mailgun', 'smtp'] });
    expect(cost).toMatchObject({ status: 'ok', currency: 'USD' });
    expect(cost.strategies.map((s: { strategy: string }) => s.strategy)).toEqual(expect.arrayContaining(['postmark', 'mailgun', 'smtp', 'hybrid']));
  });

  it('refuses a bad cost or route query as the CLI does (UserError), not with a nonsense answer', async () => {
    const dir = appDir();
    writeFileSync(path.join(dir, 'penguinmails.config.yaml'), readFileSync(path.join(ROOT, 'penguinmails.config.example.yaml')));
    const app = `
      import { createMailer } from 'penguinmails';
      const mailer = await createMailer();
      const errors = [];
      for (const call of [() => mailer.estimateCost({ volume: -5 }), () => mailer.estimateCost({ volume: 'lots' }), () => mailer.explainRoute({ type: 'bogus' }), () => mailer.explainRoute({ to: 'not-an-address' })]) {
        try { await call(); errors.push('no error'); } catch (error) { errors.push(error.name + ': ' + error.message); }
      }
      await mailer.close();
      console.log(JSON.stringify(errors));`;
    const result = await runApp(dir, app, [], { POSTMARK_SERVER_TOKEN: 'x', MAILGUN_API_KEY: 'y', SMTP_PASSWORD: 'z' });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      'UserError: volume: -5 is not a whole number from 0 to 1000000000000',
      'UserError: volume: "lots" is not a whole number from 0 to 1000000000000',
      'UserError: type: "bogus" is not one of transactional, marketing',
      'UserError: to: "not-an-address" is not an email address',
    ]);
  });

  it('importing it loads no ESP SDK and no SQLite', async () => {
    const dir = appDir();
    const traceFile = path.join(dir, 'imports.txt');
    const result = await runApp(dir, `import { createMailer } from 'penguinmails'; console.log(typeof createMailer);`, ['--import', path.join(ROOT, 'test/helpers/import-tracer.mjs')], { IMPORT_TRACE_FILE: traceFile });
    expect(result.stdout.trim()).toBe('function');
    const imports = readFileSync(traceFile, 'utf8').split('\n').filter(Boolean);
    expect(imports.some((url) => url.includes('dist/bundle/index.js'))).toBe(true);
    expect(imports.filter((url) => /node_modules\/(postmark|mailgun\.js|nodemailer|better-sqlite3|@inquirer)\//.test(url))).toEqual([]);
  });

  it('ships type declarations for the package entry', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const types = readFileSync(path.join(ROOT, pkg.exports['.'].types), 'utf8');
    expect(types).toContain('export declare function createMailer');
  });
});
