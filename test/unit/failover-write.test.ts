import { chmodSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_CONFIG_PATH, findEditableConfig, writeFileAtomic } from '../../src/config/write.js';
import { tempDir } from '../helpers/cli.js';

describe('writeFileAtomic', () => {
  it('replaces the file, keeps its mode and leaves no temp file behind', async () => {
    const dir = tempDir({ 'c.yaml': 'old\n' });
    const file = path.join(dir, 'c.yaml');
    chmodSync(file, 0o600);
    await writeFileAtomic(file, 'new\n');
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['c.yaml']);
  });

  it('writes through a symlink instead of replacing it', async () => {
    const dir = tempDir({ 'real.yaml': 'old\n' });
    symlinkSync(path.join(dir, 'real.yaml'), path.join(dir, 'link.yaml'));
    await writeFileAtomic(path.join(dir, 'link.yaml'), 'new\n');
    expect(lstatSync(path.join(dir, 'link.yaml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(dir, 'real.yaml'), 'utf8')).toBe('new\n');
  });

  it('creates a new file and its directory', async () => {
    const dir = tempDir();
    await writeFileAtomic(path.join(dir, 'sub', 'c.yaml'), 'x: 1\n');
    expect(readFileSync(path.join(dir, 'sub', 'c.yaml'), 'utf8')).toBe('x: 1\n');
  });
});

describe('findEditableConfig', () => {
  it('starts from the example when no config exists', async () => {
    const dir = tempDir();
    const found = await findEditableConfig({ cwd: dir, env: {} });
    expect(found).toEqual({ filePath: path.join(dir, 'penguinmails.config.yaml'), text: readFileSync(EXAMPLE_CONFIG_PATH, 'utf8'), exists: false });
  });

  it('uses --config, then PENGUINMAILS_CONFIG, then the search', async () => {
    const dir = tempDir({ 'penguinmails.config.yaml': 'a: 1\n', 'other.yaml': 'b: 2\n' });
    expect((await findEditableConfig({ cwd: dir, env: {} })).text).toBe('a: 1\n');
    expect((await findEditableConfig({ cwd: dir, env: { PENGUINMAILS_CONFIG: 'other.yaml' } })).text).toBe('b: 2\n');
    expect(await findEditableConfig({ cwd: dir, env: {}, configPath: 'new.yaml' })).toMatchObject({ filePath: path.join(dir, 'new.yaml'), exists: false });
  });

  it('refuses JSON configs', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'c.json'), '{}');
    await expect(findEditableConfig({ cwd: dir, env: {}, configPath: 'c.json' })).rejects.toThrow(/only edits YAML/);
  });
});
