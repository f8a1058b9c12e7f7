import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';

/**
 * The CLI's code caches (bin/cli-bundle.js, made by scripts/compile-cache.mjs in `npm run build`):
 * each command line gets its command's cache, and a cache that does not fit the bundle it is
 * offered to (another build, a copy, garbage) is never used — the CLI then runs as it would
 * without one.
 */
const LOADER = path.join(ROOT, 'bin/cli-bundle.js');
const BUNDLE = path.join(ROOT, 'dist/bundle/cli.cjs');

/** compileCli in a process of its own (as the CLI runs it): the cache it picked, and whether V8 took it. */
function compileIn(argv: string[], options: { bundle?: string; env?: NodeJS.ProcessEnv } = {}): { name: string; cacheUsed: boolean; main: string } {
  const script = `
    const { compileCli, cacheNameFor } = require(${JSON.stringify(LOADER)});
    const argv = ${JSON.stringify(['node', 'penguinmails', ...argv])};
    const { cli, cacheUsed } = compileCli(argv, ${JSON.stringify(options.bundle ?? BUNDLE)});
    console.log(JSON.stringify({ name: cacheNameFor(argv), cacheUsed, main: typeof cli.main }));`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...options.env } });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout);
}

describe('the code caches', () => {
  it('are made by the build, one per common command, and taken by V8', () => {
    expect(compileIn(['--help'])).toEqual({ name: 'base', cacheUsed: true, main: 'function' });
    expect(compileIn(['send', '--to', 'ada@example.com'])).toMatchObject({ name: 'send', cacheUsed: true });
    expect(compileIn(['--config', 'route.yaml', 'route', 'explain'])).toMatchObject({ name: 'route', cacheUsed: true });
    expect(compileIn(['--json', 'cost', 'estimate'])).toMatchObject({ name: 'cost', cacheUsed: true });
    // A command without a cache of its own starts from the base one.
    expect(compileIn(['queue', 'list'])).toMatchObject({ name: 'base', cacheUsed: true });
  });

  it('are not read with PENGUINMAILS_COMPILE_CACHE=off', () => {
    expect(compileIn(['route', 'explain'], { env: { PENGUINMAILS_COMPILE_CACHE: 'off' } })).toMatchObject({ cacheUsed: false });
  });

  it('are not used for a bundle they were not made from (a copy, another build), nor when they are garbage', () => {
    const dir = tempDir();
    const copy = path.join(dir, 'cli.cjs');
    copyFileSync(BUNDLE, copy);
    // The same bytes, written later: not the file the cache was made from.
    copyFileSync(`${BUNDLE}.base.cache`, `${copy}.base.cache`);
    expect(compileIn(['--help'], { bundle: copy })).toMatchObject({ cacheUsed: false, main: 'function' });

    // A cache stamped for this copy but holding garbage: V8 refuses it, the bundle compiles as usual.
    const { stamp } = JSON.parse(
      spawnSync(process.execPath, ['-e', `const l = require(${JSON.stringify(LOADER)}); const r = l.compileCli(['node', 'pm'], ${JSON.stringify(copy)}); console.log(JSON.stringify({ stamp: r.stamp }))`], { encoding: 'utf8' }).stdout,
    ) as { stamp: string };
    writeFileSync(`${copy}.base.cache`, `${stamp}\n${'x'.repeat(4096)}`);
    expect(compileIn(['--help'], { bundle: copy })).toMatchObject({ cacheUsed: false, main: 'function' });
    // With no newline at all, it is not even offered.
    writeFileSync(`${copy}.base.cache`, 'garbage');
    expect(compileIn(['--help'], { bundle: copy })).toMatchObject({ cacheUsed: false, main: 'function' });
  });

  it('change nothing a command prints', async () => {
    const cwd = tempDir();
    copyFileSync(path.join(ROOT, 'penguinmails.config.example.yaml'), path.join(cwd, 'penguinmails.config.yaml'));
    for (const args of [['route', 'explain', '--json'], ['cost', 'estimate', '--volume', '250000'], ['--help']]) {
      const cached = await runCli(args, { cwd });
      const compiled = await runCli(args, { cwd, env: { PENGUINMAILS_COMPILE_CACHE: 'off' } });
      expect(cached.code, cached.stderr).toBe(0);
      expect(cached.stdout).toBe(compiled.stdout);
      expect(cached.stderr).toBe(compiled.stderr);
    }
  });

  it('record nothing of the machine that made them: no path of the build, no secret', () => {
    for (const name of ['base', 'send', 'route', 'cost']) {
      const cache = readFileSync(`${BUNDLE}.${name}.cache`, 'latin1');
      expect(cache).not.toContain('compile-cache');
      expect(cache).not.toContain('penguinmails-compile-cache-');
    }
  });
});
