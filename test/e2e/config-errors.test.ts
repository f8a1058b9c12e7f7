import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';

/** Config mistakes as a user meets them: through the built CLI, exit 2, one clear line each. */
const EXAMPLE = readFileSync(path.join(ROOT, 'penguinmails.config.example.yaml'), 'utf8');
const NO_SECRETS = { POSTMARK_SERVER_TOKEN: undefined, MAILGUN_API_KEY: undefined, SMTP_PASSWORD: undefined };

function show(files: Record<string, string>, args: string[] = []) {
  const dir = tempDir(files);
  return { dir, result: runCli(['failover', 'show', ...args], { cwd: dir, env: NO_SECRETS }) };
}

describe('config errors through the CLI', () => {
  it('a YAML syntax error gives its position once', async () => {
    const { result } = show({ 'penguinmails.config.yaml': 'failover:\n  order: [a, b\n  x: 1\n' });
    const { code, stderr } = await result;
    expect(code).toBe(2);
    expect(stderr).toContain('broken YAML: Flow sequence in block collection must be sufficiently indented and end with a ] (line 3, column 3)');
    expect(stderr.match(/line 3/g)).toHaveLength(1);
  });

  it('a misspelt key gets a "did you mean"', async () => {
    const { result } = show({ 'penguinmails.config.yaml': EXAMPLE.replace('attempts: 3', 'atempts: 3') });
    const { code, stderr } = await result;
    expect(code).toBe(2);
    expect(stderr).toContain('failover.retry: unknown key "atempts" — did you mean "attempts"?');
  });

  it('type errors are said in plain words, not in zod\'s', async () => {
    const config = EXAMPLE.replace('    serverToken: "${POSTMARK_SERVER_TOKEN}"\n', '').replace('port: 587', 'port: "587"');
    const { result } = show({ 'penguinmails.config.yaml': config });
    const { code, stderr } = await result;
    expect(code).toBe(2);
    expect(stderr).toContain('providers.postmark.serverToken: required (a string)');
    expect(stderr).toContain('providers.smtp.port: must be a number');
    expect(stderr).not.toMatch(/Invalid input|expected \w+, received/);

    const retry = await show({ 'penguinmails.config.yaml': EXAMPLE.replace('attempts: 3', 'attempts: "3"') }).result;
    expect(retry.stderr).toContain('failover.retry.attempts: must be a number');
  });

  it.each([
    ['0 bytes', ''],
    ['only comments', '# penguinmails config\n\n# nothing yet\n'],
  ])('an empty config file (%s) is a config error naming the file', async (_label, text) => {
    const { dir, result } = show({ 'penguinmails.config.yaml': text });
    const { code, stderr } = await result;
    expect(code).toBe(2);
    expect(stderr).toContain(`config ${path.join(dir, 'penguinmails.config.yaml')} is empty`);
    expect(stderr).toContain('hint: copy penguinmails.config.example.yaml to penguinmails.config.yaml');

    // Commands that would otherwise fall back to built-in defaults refuse it too, also via --config.
    const explained = await runCli(['route', 'explain', '--type', 'marketing'], { cwd: dir, env: NO_SECRETS });
    expect(explained.code).toBe(2);
    expect(explained.stderr).toContain('is empty');
    const viaFlag = await runCli(['--config', 'penguinmails.config.yaml', 'cost', 'estimate', '--volume', '1000'], { cwd: dir, env: NO_SECRETS });
    expect(viaFlag.code).toBe(2);
    expect(viaFlag.stderr).toContain('is empty');
    const configure = await runCli(['--config', 'penguinmails.config.yaml', 'failover', 'configure', '--primary', 'smtp', '--yes'], { cwd: dir, env: NO_SECRETS });
    expect(configure.code).toBe(2);
    expect(configure.stderr).toContain('is empty');
    expect(readFileSync(path.join(dir, 'penguinmails.config.yaml'), 'utf8')).toBe(text);
  });

  it('failover show --json has a status like every other document', async () => {
    const { result } = show({ 'penguinmails.config.yaml': EXAMPLE }, ['--json']);
    const { code } = await result;
    expect(code).toBe(0);
    expect((await result).json()).toMatchObject({ status: 'ok', enabled: true });
  });
});
