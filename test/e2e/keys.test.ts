import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { writeTestConfig } from '../helpers/config.js';

// API keys of serve (SPEC serve → Auth): shown once, stored as a hash, listed and revoked by name.
describe('keys', () => {
  it('create prints the key once; list shows names only; the store holds no key', async () => {
    const { dir, configPath } = writeTestConfig();
    const created = await runCli(['keys', 'create', '--name', 'billing-app', '--config', configPath, '--json']);
    expect(created.code, created.stderr).toBe(0);
    const { key, name, createdAt, status } = created.json();
    expect({ name, status }).toEqual({ name: 'billing-app', status: 'ok' });
    expect(key).toMatch(/^pm_live_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(createdAt)).not.toBeNaN();
    const human = await runCli(['keys', 'create', '--name', 'cron', '--config', configPath]);
    expect(human.stdout).toMatch(/^pm_live_[A-Za-z0-9_-]{43}\n$/);
    expect(human.stderr).toContain('only time');
    const list = await runCli(['keys', 'list', '--config', configPath, '--json']);
    expect(list.json().keys.map((k: { name: string }) => k.name)).toEqual(['billing-app', 'cron']);
    expect(list.stdout).not.toContain('pm_live_');
    expect(readFileSync(path.join(dir, 'outbox.db')).includes(Buffer.from(key))).toBe(false);
  });

  it('a taken name, a bad name, an unknown key to revoke: a clear error, exit 2, nothing changed', async () => {
    const { configPath } = writeTestConfig();
    expect((await runCli(['keys', 'create', '--name', 'app', '--config', configPath])).code).toBe(0);
    const taken = await runCli(['keys', 'create', '--name', 'app', '--config', configPath]);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('exists already');
    // Every command a hint suggests carries the --config given (SPEC).
    expect(taken.stderr).toContain(`revoke the old one first with \`penguinmails keys revoke app --config ${configPath}\``);
    const bad = await runCli(['keys', 'create', '--name', 'has space', '--config', configPath]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--name');
    const missing = await runCli(['keys', 'create', '--config', configPath]);
    expect(missing.code).toBe(2);
    const unknown = await runCli(['keys', 'revoke', 'nope', '--config', configPath]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('known keys: app');
    expect((await runCli(['keys', 'revoke', 'app', '--config', configPath])).code).toBe(0);
    const twice = await runCli(['keys', 'revoke', 'app', '--config', configPath]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('revoked already');
    const list = (await runCli(['keys', 'list', '--config', configPath, '--json'])).json();
    expect(list.keys).toEqual([expect.objectContaining({ name: 'app', revokedAt: expect.any(String) })]);
  });

  it('with no keys yet, list and revoke name the command that makes one, with the --config given', async () => {
    const { configPath } = writeTestConfig();
    const makeOne = `\`penguinmails keys create --name <n> --config ${configPath}\` makes one`;
    expect((await runCli(['keys', 'list', '--config', configPath])).stdout).toContain(makeOne);
    const revoke = await runCli(['keys', 'revoke', 'x', '--config', configPath]);
    expect(revoke.code).toBe(2);
    expect(revoke.stderr).toContain(makeOne);
  });

  it('serve --listen with a bad address: a usage error naming the flag', async () => {
    const { configPath } = writeTestConfig();
    const bad = await runCli(['serve', '--listen', 'localhost', '--config', configPath]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--listen "localhost"');
  });
});
