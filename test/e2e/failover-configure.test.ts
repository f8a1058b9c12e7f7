import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';

const EXAMPLE = readFileSync(path.join(ROOT, 'penguinmails.config.example.yaml'), 'utf8');
const CONFIG_NAME = 'penguinmails.config.yaml';
// Secrets unset on purpose: editing the failover section must not need them.
const NO_SECRETS = { POSTMARK_SERVER_TOKEN: undefined, MAILGUN_API_KEY: undefined, SMTP_PASSWORD: undefined };

function project(config = EXAMPLE) {
  const dir = tempDir({ [CONFIG_NAME]: config });
  const file = path.join(dir, CONFIG_NAME);
  return { dir, file, read: () => readFileSync(file, 'utf8') };
}

function configure(dir: string, args: string[]) {
  return runCli(['failover', 'configure', ...args], { cwd: dir, env: NO_SECRETS });
}

/** The lines of `after` that differ from `before` (same line count expected). */
function changedLines(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b.length).toBe(a.length);
  return b.filter((line, i) => line !== a[i]);
}

describe('failover configure (flags)', () => {
  it('writes the chain and retry policy with --yes, byte-for-byte elsewhere', async () => {
    const p = project();
    const result = await configure(p.dir, ['--primary', 'smtp', '--fallback', 'postmark', '--final', 'mailgun', '--retry-attempts', '5', '--retry-delay', '1m', '--disable', '--yes']);
    // The example's rules route every message, so the only thing on stderr is that warning.
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^warning: failover\.order \(smtp → postmark → mailgun\) is used by no message/)]);
    expect(result.code).toBe(0);
    // The example's routing rules give chains of their own: each message's first provider, not smtp alone.
    expect(result.stdout).toContain(`Updated ${p.file}: failover off: only the first provider of each message's chain is tried (smtp where no routing rule matches); 5 tries per provider, 1m apart.`);
    expect(changedLines(EXAMPLE, p.read())).toEqual([
      '  enabled: false',
      '  order: [smtp, postmark, mailgun]   # primary, fallback, final fallback',
      '    attempts: 5                      # tries per provider before switching',
      '    delay: 1m                       # delay between tries',
    ]);
    const show = await runCli(['failover', 'show', '--json'], { cwd: p.dir, env: NO_SECRETS });
    expect(show.code).toBe(0);
    expect(show.json()).toMatchObject({ enabled: false, order: ['smtp', 'postmark', 'mailgun'], retry: { attempts: 5, delay: '1m' } });
    const shown = await runCli(['failover', 'show'], { cwd: p.dir, env: { ...NO_SECRETS, NO_COLOR: '1' } });
    expect(shown.stdout).toMatch(/failover\s+disabled — only the first provider of each message's chain is tried \(smtp where no routing rule matches\)/);
  });

  it('changes only the keys given and shows the diff', async () => {
    const p = project();
    const result = await configure(p.dir, ['--retry-attempts', '2', '--yes']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('-     attempts: 3 ');
    expect(result.stdout).toContain('+     attempts: 2 ');
    expect(p.read()).toBe(EXAMPLE.replace('attempts: 3 ', 'attempts: 2 '));
  });

  it('without --yes and without a terminal: prints the diff, writes nothing, exits 2', async () => {
    const p = project();
    const result = await configure(p.dir, ['--primary', 'mailgun', '--fallback', 'smtp']);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('+   order: [mailgun, smtp]');
    expect(result.stderr).toContain('not written');
    expect(result.stderr).toContain('--yes');
    expect(p.read()).toBe(EXAMPLE);
  });

  it('reports an unchanged configuration without touching the file', async () => {
    const p = project();
    const result = await configure(p.dir, ['--primary', 'postmark', '--fallback', 'mailgun', '--final', 'smtp', '--retry-delay', '30', '--yes']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Nothing to change');
    expect(p.read()).toBe(EXAMPLE);
  });

  it.each([
    [['--primary', 'mailgn', '--fallback', 'smtp'], '--primary: unknown provider "mailgn" (known: postmark, mailgun, smtp, sendgrid, ses) — did you mean "mailgun"?'],
    [['--primary', 'smtp', '--fallback', 'smtp'], '--fallback: "smtp" is already the primary'],
    [['--retry-attempts=-1'], '--retry-attempts -1: must be a whole number from 1 to 10'],
    [['--retry-attempts', '11'], '--retry-attempts 11: must be a whole number from 1 to 10'],
    [['--retry-delay', 'soon'], '--retry-delay soon: not a duration'],
  ])('rejects %j with exit 2 and leaves the file unchanged', async (args, message) => {
    const p = project();
    const result = await configure(p.dir, [...args, '--yes']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(p.read()).toBe(EXAMPLE);
    expect(readdirSync(p.dir)).toEqual([CONFIG_NAME]);
  });

  it.each([
    [[], '--primary'],
    [['--fallback', 'smtp'], '--primary'],
    [['--primary', 'smtp'], '--fallback'],
    [['--primary', 'smtp', '--final', 'mailgun'], '--fallback'],
  ])('in CI, %j fails at once naming the missing %s', async (args, flag) => {
    const p = project();
    const started = Date.now();
    const result = await configure(p.dir, [...args, '--yes']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`missing ${flag}`);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(p.read()).toBe(EXAMPLE);
  });

  it('warns about problems the file already had, but still edits it', async () => {
    const p = project(EXAMPLE.replace('use: [mailgun, smtp] }', 'use: [mailgun, sparkpost] }'));
    const result = await configure(p.dir, ['--retry-attempts', '4', '--yes']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('routing.rules[3].use[1]: unknown provider "sparkpost"');
  });

  it('creates the config from the example when none exists, and says where', async () => {
    const dir = tempDir();
    const file = path.join(dir, CONFIG_NAME);
    const result = await configure(dir, ['--primary', 'mailgun', '--fallback', 'postmark', '--yes']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${file} will be created from penguinmails.config.example.yaml`);
    expect(result.stdout).toContain(`Created ${file}`);
    expect(readFileSync(file, 'utf8')).toBe(EXAMPLE.replace('order: [postmark, mailgun, smtp]', 'order: [mailgun, postmark]'));
  });

  it('does not create a file when the run fails', async () => {
    const dir = tempDir();
    const result = await configure(dir, ['--primary', 'nope', '--fallback', 'postmark', '--yes']);
    expect(result.code).toBe(2);
    expect(existsSync(path.join(dir, CONFIG_NAME))).toBe(false);
  });

  it.skipIf(!existsSync('/sys'))('a config it may not write is a usage error that says it was not created, not a crash', async () => {
    // /sys refuses new files even to root, where file modes would not.
    const result = await runCli(['--config', '/sys/penguinmails.config.yaml', 'failover', 'configure', '--primary', 'postmark', '--fallback', 'mailgun', '--final', 'smtp', '--yes'], { cwd: tempDir(), env: NO_SECRETS });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/cannot write \/sys\/penguinmails\.config\.yaml \(EACCES\): it was not created/);
    expect(result.stderr).not.toMatch(/internal error/);
  });

  it('edits the file given by --config', async () => {
    const dir = tempDir({ 'custom.yaml': EXAMPLE });
    const result = await runCli(['--config', 'custom.yaml', 'failover', 'configure', '--retry-delay', '10s', '--yes'], { cwd: dir, env: NO_SECRETS });
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(dir, 'custom.yaml'), 'utf8')).toBe(EXAMPLE.replace('delay: 30s ', 'delay: 10s '));
  });

  it('--json prints one document', async () => {
    const p = project();
    const result = await configure(p.dir, ['--primary', 'smtp', '--fallback', 'mailgun', '--yes', '--json']);
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({ status: 'written', config: p.file, created: false, changed: ['failover.order'], failover: { enabled: true, order: ['smtp', 'mailgun'] } });

    const refused = await configure(p.dir, ['--primary', 'smtp', '--fallback', 'smtp', '--json']);
    expect(refused.code).toBe(2);
    expect(refused.json()).toMatchObject({ status: 'error', exitCode: 2 });
  });
});

describe('failover configure and the routing rules that come before failover.order', () => {
  const NEW_ORDER = ['--primary', 'mailgun', '--fallback', 'postmark', '--final', 'smtp'];
  const APPLIED = EXAMPLE.replace('order: [postmark, mailgun, smtp]', 'order: [mailgun, postmark, smtp]')
    .replace('{ priority: critical }, use: [postmark, mailgun, smtp]', '{ priority: critical }, use: [mailgun, postmark, smtp]')
    .replace('{ type: transactional }, use: [postmark, mailgun, smtp]', '{ type: transactional }, use: [mailgun, postmark, smtp]')
    .replace('{ below: 1000 } }, use: [smtp, mailgun]', '{ below: 1000 } }, use: [mailgun, postmark, smtp]')
    .replace('{ type: marketing }, use: [mailgun, smtp]', '{ type: marketing }, use: [mailgun, postmark, smtp]');

  it('says that the example rules shadow the new order for every type and priority', async () => {
    const p = project();
    const result = await configure(p.dir, [...NEW_ORDER, '--yes']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('4 routing rules are checked before failover.order; with these answers each message gets:');
    expect(result.stdout).toContain('  transactional/normal    postmark → mailgun → smtp  rule 2 (type: transactional)');
    expect(result.stdout).toContain('  marketing/normal        smtp → mailgun             rule 3: monthly volume below 1,000');
    expect(result.stdout).toContain('failover.order is used by no message');
    expect(result.stderr).toContain('warning: failover.order (mailgun → postmark → smtp) is used by no message: the routing rules give every message its chain; add --apply-to-rules');
    // Only failover.order changed: the messages still go as before.
    expect(p.read()).toBe(EXAMPLE.replace('order: [postmark, mailgun, smtp]', 'order: [mailgun, postmark, smtp]'));
    const explained = await runCli(['route', 'explain', '--type', 'transactional'], { cwd: p.dir, env: NO_SECRETS });
    expect(explained.stdout).toContain('Chain: postmark → mailgun → smtp');
  });

  it('--apply-to-rules makes every rule use the new order, shows those edits in the diff and keeps comments and layout', async () => {
    const p = project();
    const preview = await configure(p.dir, NEW_ORDER.concat('--apply-to-rules'));
    expect(preview.code).toBe(2);
    expect(preview.stdout).toContain('-     - { when: { type: marketing }, use: [mailgun, smtp] }');
    expect(preview.stdout).toContain('+     - { when: { type: marketing }, use: [mailgun, postmark, smtp] }');
    expect(p.read()).toBe(EXAMPLE);

    const result = await configure(p.dir, [...NEW_ORDER, '--apply-to-rules', '--yes', '--json']);
    expect(result.code).toBe(0);
    const document = result.json();
    expect(document).toMatchObject({ status: 'written', failover: { order: ['mailgun', 'postmark', 'smtp'], applyToRules: true }, failoverOrderUsedFor: [] });
    expect(document.changed).toEqual(['failover.order', 'routing.rules[0].use', 'routing.rules[1].use', 'routing.rules[2].use', 'routing.rules[3].use']);
    expect(document.routes.flatMap((route: any) => route.outcomes.map((o: any) => o.chain.join(' → ')))).toEqual(Array(5).fill('mailgun → postmark → smtp'));
    expect(p.read()).toBe(APPLIED);

    const explained = await runCli(['route', 'explain', '--type', 'transactional'], { cwd: p.dir, env: NO_SECRETS });
    expect(explained.stdout).toContain('Chain: mailgun → postmark → smtp');
  });

  it('a provider left out of the new order is named in a warning, not dropped silently', async () => {
    const p = project();
    const result = await configure(p.dir, ['--primary', 'mailgun', '--fallback', 'postmark', '--apply-to-rules', '--yes']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('warning: smtp is no longer in failover.order or the routing rules: give --final smtp (or list it) to keep it as a fallback');
  });

  it('--apply-to-rules alone puts the current order into the rules', async () => {
    const p = project();
    const result = await configure(p.dir, ['--apply-to-rules', '--yes']);
    expect(result.code).toBe(0);
    expect(p.read()).toBe(EXAMPLE.replace('use: [smtp, mailgun]', 'use: [postmark, mailgun, smtp]').replace('{ type: marketing }, use: [mailgun, smtp]', '{ type: marketing }, use: [postmark, mailgun, smtp]'));
    expect(result.stderr).not.toContain('used by no message');
  });
});

describe('failover show', () => {
  it('prints the chain, retry, health and outbox', async () => {
    const p = project();
    const result = await runCli(['failover', 'show'], { cwd: p.dir, env: NO_SECRETS });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('postmark → mailgun → smtp');
    expect(result.stdout).toContain('3 tries per provider, 30s apart');
    expect(result.stdout).toContain('after 3 failures in a row, for 5m');
    expect(result.stdout).toContain(path.join(p.dir, '.penguinmails/outbox.db'));
  });

  it('prints the chain each message type and priority gets, and which rule or failover.order gives it', async () => {
    const p = project();
    const result = await runCli(['failover', 'show'], { cwd: p.dir, env: NO_SECRETS });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      [
        'routing   4 routing rules, checked first; the chain each message gets:',
        '          transactional/normal    postmark → mailgun → smtp  rule 2 (type: transactional)',
        '          transactional/critical  postmark → mailgun → smtp  rule 1 (priority: critical)',
        '          marketing/normal        smtp → mailgun             rule 3: monthly volume below 1,000',
        '                                  mailgun → smtp             rule 4: monthly volume 1,000 or more',
        '          marketing/critical      postmark → mailgun → smtp  rule 1 (priority: critical)',
        '          failover.order is used by no message: a routing rule gives every message type and priority its chain',
      ].join('\n'),
    );

    const partial = project(EXAMPLE.replace(/    - \{ when: \{ type: marketing \}, use: \[mailgun, smtp\] \}\n/, ''));
    const json = await runCli(['failover', 'show', '--json'], { cwd: partial.dir, env: NO_SECRETS });
    expect(json.code).toBe(0);
    const document = json.json();
    expect(document.status).toBe('ok');
    expect(document.routes).toContainEqual({
      type: 'marketing',
      priority: 'normal',
      outcomes: [
        { rule: 3, source: 'routing.rules[2]', label: 'rule 3 (type: marketing, monthly volume below 1,000)', chain: ['smtp', 'mailgun'], when: 'monthly volume below 1,000' },
        { rule: null, source: 'failover.order', label: 'failover.order', chain: ['postmark', 'mailgun', 'smtp'], when: 'monthly volume 1,000 or more' },
      ],
    });
    expect(document.failoverOrderUsedFor).toEqual([{ type: 'marketing', priority: 'normal', when: 'monthly volume 1,000 or more' }]);
  });

  it('--json, with the chain defaulting to the providers in file order', async () => {
    const p = project('providers:\n  b: { type: smtp, host: localhost }\n  a: { type: smtp, host: localhost }\n');
    const result = await runCli(['failover', 'show', '--json'], { cwd: p.dir });
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({ enabled: true, order: ['b', 'a'], orderSource: 'providers', retry: { attempts: 3, delayMs: 30_000 }, resendAmbiguous: false });
  });

  it('exits 2 when there is no config', async () => {
    const result = await runCli(['failover', 'show'], { cwd: tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('failover configure');
  });
});
