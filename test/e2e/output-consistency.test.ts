import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

describe('errors say what to do', () => {
  it('an argument error under --json carries a hint like every other error', async () => {
    const result = await runCli(['send', '--bogus', '--json']);
    expect(result.code).toBe(2);
    expect(result.json()).toEqual({ status: 'error', exitCode: 2, error: "unknown option '--bogus'", hint: 'see `penguinmails send --help` for the options' });
  });

  it('an unknown command under --json points at its parent\'s list of commands; --version --json is JSON', async () => {
    const top = await runCli(['sned', '--json']);
    expect(top.code).toBe(2);
    expect(top.json()).toMatchObject({ error: "unknown command 'sned' (Did you mean send?)", hint: 'see `penguinmails --help` for the commands' });
    expect((await runCli(['queue', 'lsit', '--json'])).json().hint).toBe('see `penguinmails queue --help` for the commands');
    const version = await runCli(['--version', '--json']);
    expect(version.code).toBe(0);
    expect(version.json()).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it('a bulk list that cannot be read is the one error (no warning about how it would be sent); a bad outbox id says what an id is', async () => {
    const { configPath } = writeTestConfig();
    const bulk = await runCli(['send', '--config', configPath, '--recipients', '/nonexistent/list.csv', '--subject', 'S', '--text', 't'], { env: TEST_ENV });
    expect(bulk.code).toBe(2);
    expect(bulk.stderr).toBe('error: --recipients: cannot read /nonexistent/list.csv (ENOENT)\nhint: give the path of a CSV or JSONL list, or - for stdin\n');
    const show = await runCli(['queue', 'show', 'abc', '--config', configPath]);
    expect(show.stderr).toContain('hint: an outbox id is the number `queue list` shows');
  });

  it('a missing --to names the flag to give, not "the fields above"', async () => {
    const { configPath } = writeTestConfig();
    const result = await runCli(['send', '--config', configPath, '--subject', 'S', '--text', 't', '--json'], { env: TEST_ENV });
    expect(result.code).toBe(2);
    const json = result.json();
    expect(json.error).toBe('the message is not valid: to: at least one recipient is required');
    expect(json.hint).toContain('give --to <address>');
    expect(json.hint).not.toContain('above');
  });

  it.skipIf(!hasScript)('send --payload - on a terminal says it is waiting for input', async () => {
    const { configPath } = writeTestConfig();
    const command = [process.execPath, BIN, 'send', '--config', configPath, '--payload', '-', '--dry-run'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...TEST_ENV, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    const deadline = Date.now() + 10_000;
    while (!screen.includes('press Ctrl-D') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    expect(screen).toContain('reading --payload from the terminal');
  });
});

describe('suggested commands carry the --config the user gave', () => {
  it('queue show of an unknown id suggests queue list with the same --config', async () => {
    const { configPath } = writeTestConfig();
    await runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't'], { env: TEST_ENV });
    const result = await runCli(['queue', 'show', '999', '--config', configPath, '--json']);
    expect(result.code).toBe(2);
    expect(result.json().hint).toBe(`\`penguinmails queue list --config ${configPath}\` shows the ids`);
  });

  it('keys create and failover configure without their flags show an example with the same --config', async () => {
    const { configPath } = writeTestConfig();
    const keys = await runCli(['keys', 'create', '--config', configPath, '--json']);
    expect(keys.json().hint).toBe(`for example: penguinmails keys create --name billing-app --config ${configPath}`);
    const failover = await runCli(['failover', 'configure', '--config', configPath, '--yes', '--json']);
    expect(failover.json().hint).toContain(`--yes --config ${configPath}`);
  });

  it('a message left in the outbox names queue retry with the same --config', async () => {
    const { configPath } = writeTestConfig({ order: ['postmark'], attempts: 1 });
    const result = await runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', 'S', '--text', 't'], { env: TEST_ENV });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`penguinmails queue retry 1 --config ${configPath}`);
  });
});

describe('stdout holds the result; progress, warnings and errors go to stderr', () => {
  it('each provider attempt is progress on stderr; --quiet leaves it out, never the error', async () => {
    const { configPath } = writeTestConfig({ order: ['postmark'], attempts: 1 });
    const send = (extra: string[]) => runCli(['send', '--config', configPath, '--to', 'a@example.com', '--subject', `S ${extra.join('')}`, '--text', 't', ...extra], { env: TEST_ENV });
    const plain = await send([]);
    expect(plain.code).toBe(4);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(/postmark try 1: transient/);
    const quiet = await send(['-q']);
    expect(quiet.code).toBe(4);
    expect(quiet.stderr).not.toMatch(/try 1/);
    expect(quiet.stderr).toMatch(/^error: not delivered/m);
  });

  it('--quiet still prints the result of a command that reports (cost estimate, route explain)', async () => {
    const cost = await runCli(['cost', 'estimate', '--volume', '10', '--quiet']);
    expect(cost.code).toBe(0);
    expect(cost.stdout).toContain('Monthly cost for 10 emails');
    const { configPath } = writeTestConfig();
    const route = await runCli(['route', 'explain', '--config', configPath, '-q']);
    expect(route.stdout).toContain('Chain:');
  });
});
