import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from '../helpers/cli.js';

/**
 * Runs the built CLI on a real pseudo-terminal (util-linux `script`) and answers the wizard by
 * waiting for each prompt's text, never for a fixed time.
 */
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const EXAMPLE = readFileSync(path.join(ROOT, 'penguinmails.config.example.yaml'), 'utf8');
const KEY = { enter: '\r', down: '\x1b[B', ctrlC: '\x03' };

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;
// eslint-disable-next-line no-control-regex
const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');

function startOnPty(args: string[], cwd: string) {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm', NO_COLOR: '1', COLUMNS: '120', LINES: '40' };
  delete env.PENGUINMAILS_CONFIG;
  delete env.FORCE_COLOR;
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let consumed = 0;
  child.stdout.on('data', (chunk) => (screen += stripAnsi(String(chunk))));
  child.stderr.on('data', (chunk) => (screen += stripAnsi(String(chunk))));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

  return {
    /** Resolves once `text` appears after the previous match; fails with the screen after the timeout. */
    async waitFor(text: string, timeoutMs = 15_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const at = screen.indexOf(text, consumed);
        if (at >= 0) {
          consumed = at + text.length;
          return;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)}; screen so far:\n${screen}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    send(keys: string) {
      child.stdin.write(keys);
    },
    async exitCode(timeoutMs = 15_000): Promise<number | null> {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      child.stdin.end();
      return code;
    },
    screen: () => screen,
  };
}

describe.skipIf(!hasScript)('failover configure on a real terminal', () => {
  it('answers the wizard, shows the diff and writes after confirmation', async () => {
    const dir = tempDir({ 'penguinmails.config.yaml': EXAMPLE });
    const pty = startOnPty(['failover', 'configure'], dir);

    await pty.waitFor('Enable failover?');
    pty.send(KEY.enter);
    await pty.waitFor('Primary provider');
    pty.send(KEY.down);
    pty.send(KEY.enter); // mailgun
    await pty.waitFor('Fallback provider');
    pty.send(KEY.enter); // postmark
    await pty.waitFor('Final fallback');
    pty.send(KEY.down + KEY.down + KEY.down); // from smtp past sendgrid and ses to "end the chain here"
    pty.send(KEY.enter);
    await pty.waitFor('Tries per provider');
    pty.send('0');
    pty.send(KEY.enter);
    await pty.waitFor('must be a whole number from 1 to 10');
    pty.send('\x7f4'); // backspace, then 4
    pty.send(KEY.enter);
    await pty.waitFor('Delay between tries');
    pty.send('45s');
    pty.send(KEY.enter);
    await pty.waitFor('failover.order is used by no message');
    await pty.waitFor('Use mailgun → postmark for all 4 routing rules too?');
    pty.send(KEY.enter); // default: no, the rules keep their chains
    await pty.waitFor('+   order: [mailgun, postmark]');
    await pty.waitFor('Write these changes to penguinmails.config.yaml?');
    pty.send('y');
    pty.send(KEY.enter);
    await pty.waitFor('Updated');

    expect(await pty.exitCode()).toBe(0);
    expect(readFileSync(path.join(dir, 'penguinmails.config.yaml'), 'utf8')).toBe(
      EXAMPLE.replace('order: [postmark, mailgun, smtp]', 'order: [mailgun, postmark]').replace('attempts: 3 ', 'attempts: 4 ').replace('delay: 30s ', 'delay: 45s '),
    );
  });

  it('shows which messages the new chain governs, and on yes applies it to every rule (in the diff before writing)', async () => {
    const dir = tempDir({ 'penguinmails.config.yaml': EXAMPLE });
    const pty = startOnPty(['failover', 'configure', '--retry-attempts', '3', '--retry-delay', '30s'], dir);

    await pty.waitFor('Enable failover?');
    pty.send(KEY.enter);
    await pty.waitFor('Primary provider');
    pty.send(KEY.down);
    pty.send(KEY.enter); // mailgun
    await pty.waitFor('Fallback provider');
    pty.send(KEY.enter); // postmark
    await pty.waitFor('Final fallback');
    pty.send(KEY.enter); // smtp
    await pty.waitFor('Fallback #3');
    pty.send(KEY.enter); // "end the chain here", the suggestion past today's three
    await pty.waitFor('transactional/normal    postmark → mailgun → smtp  rule 2 (type: transactional)');
    await pty.waitFor('failover.order is used by no message');
    await pty.waitFor('Use mailgun → postmark → smtp for all 4 routing rules too?');
    pty.send('y');
    pty.send(KEY.enter);
    await pty.waitFor('+     - { when: { type: marketing }, use: [mailgun, postmark, smtp] }');
    await pty.waitFor('Write these changes to penguinmails.config.yaml?');
    pty.send('y');
    pty.send(KEY.enter);
    await pty.waitFor('the routing rules use this chain too');

    expect(await pty.exitCode()).toBe(0);
    expect(readFileSync(path.join(dir, 'penguinmails.config.yaml'), 'utf8')).toBe(
      EXAMPLE.replace('order: [postmark, mailgun, smtp]', 'order: [mailgun, postmark, smtp]')
        .replace(/use: \[postmark, mailgun, smtp\]/g, 'use: [mailgun, postmark, smtp]')
        .replace('use: [smtp, mailgun]', 'use: [mailgun, postmark, smtp]')
        .replace('use: [mailgun, smtp]', 'use: [mailgun, postmark, smtp]'),
    );
  });

  it('Ctrl-C at the final confirmation leaves the file untouched (exit 130)', async () => {
    const dir = tempDir({ 'penguinmails.config.yaml': EXAMPLE });
    const pty = startOnPty(['failover', 'configure', '--retry-attempts', '7'], dir);

    await pty.waitFor('Enable failover?');
    pty.send(KEY.enter);
    // Each suggestion is today's: postmark, mailgun, smtp, then "end the chain here" (Fallback #3).
    for (const prompt of ['Primary provider', 'Fallback provider', 'Final fallback', 'Fallback #3', 'Delay between tries']) {
      await pty.waitFor(prompt);
      pty.send(KEY.enter);
    }
    await pty.waitFor('+     attempts: 7');
    await pty.waitFor('Write these changes');
    pty.send(KEY.ctrlC);
    await pty.waitFor('cancelled');

    expect(await pty.exitCode()).toBe(130);
    expect(readFileSync(path.join(dir, 'penguinmails.config.yaml'), 'utf8')).toBe(EXAMPLE);
  });

  it('Ctrl-C in the middle of the wizard does not create a missing config', async () => {
    const dir = tempDir();
    const pty = startOnPty(['failover', 'configure'], dir);

    await pty.waitFor('will be created from penguinmails.config.example.yaml');
    await pty.waitFor('Enable failover?');
    pty.send(KEY.enter);
    await pty.waitFor('Primary provider');
    pty.send(KEY.ctrlC);
    await pty.waitFor('was not created');

    expect(await pty.exitCode()).toBe(130);
    expect(spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout).toBe('');
  });
});
