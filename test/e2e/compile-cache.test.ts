import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakePostmark, POSTMARK_TOKEN } from '../fakes/fake-postmark.js';
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

/** An installed copy: the bin, the bundle without its caches, the dependencies. */
function installed(caches: 'none' | 'cost-unwritable'): { bin: string; bundle: string } {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'dist/bundle'), { recursive: true });
  mkdirSync(path.join(dir, 'bin'));
  for (const file of ['penguinmails.js', 'cli-bundle.js', 'package.json']) copyFileSync(path.join(ROOT, 'bin', file), path.join(dir, 'bin', file));
  copyFileSync(BUNDLE, path.join(dir, 'dist/bundle/cli.cjs'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  // A directory where the cache would go: writing it there fails, as in a read-only dist/.
  if (caches === 'cost-unwritable') mkdirSync(path.join(dir, 'dist/bundle/cli.cjs.cost.cache'));
  return { bin: path.join(dir, 'bin/penguinmails.js'), bundle: path.join(dir, 'dist/bundle/cli.cjs') };
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
    // The same build at another path (a copied dist/): its stack traces would name the old path.
    copyFileSync(`${BUNDLE}.base.cache`, `${copy}.base.cache`);
    expect(compileIn(['--help'], { bundle: copy })).toMatchObject({ cacheUsed: false, main: 'function' });

    // A cache made for the copy is used by it …
    const made = spawnSync(process.execPath, ['-e', `const l = require(${JSON.stringify(LOADER)}); const r = l.compileCli(['node', 'pm'], ${JSON.stringify(copy)}); l.writeCache('base', r.script, r.stamp, ${JSON.stringify(copy)})`], {
      encoding: 'utf8',
      env: { ...process.env, PENGUINMAILS_COMPILE_CACHE: 'off' },
    });
    expect(made.status, made.stderr).toBe(0);
    expect(compileIn(['--help'], { bundle: copy })).toMatchObject({ cacheUsed: true });

    // … and not once the bundle is another build, even of the same length (V8 checks only the length).
    const source = readFileSync(copy, 'utf8');
    writeFileSync(copy, source.replace(/^\/\/ penguinmails build [0-9a-f]{4}/, '// penguinmails build 0000'));
    expect(readFileSync(copy, 'utf8').length).toBe(source.length);
    expect(compileIn(['--help'], { bundle: copy })).toMatchObject({ cacheUsed: false, main: 'function' });
    writeFileSync(copy, source);
    expect(compileIn(['--help'], { bundle: copy })).toMatchObject({ cacheUsed: true });

    // Cut short (a write that did not finish), or not a cache at all: not offered to V8.
    const cache = readFileSync(`${copy}.base.cache`);
    writeFileSync(`${copy}.base.cache`, cache.subarray(0, cache.length - 100));
    expect(compileIn(['--help'], { bundle: copy })).toMatchObject({ cacheUsed: false, main: 'function' });
    writeFileSync(`${copy}.base.cache`, 'garbage');
    expect(compileIn(['--help'], { bundle: copy })).toMatchObject({ cacheUsed: false, main: 'function' });
    // Whole and stamped right, but not V8's: V8 refuses it, the bundle compiles as usual.
    const header = cache.subarray(0, cache.indexOf(10)).toString();
    const bytes = (JSON.parse(header) as { bytes: number }).bytes;
    writeFileSync(`${copy}.base.cache`, `${header}\n${'x'.repeat(bytes)}`);
    expect(compileIn(['--help'], { bundle: copy })).toMatchObject({ cacheUsed: false, main: 'function' });
  });

  it('are made by the first successful run where the build left none (an installed package), next to the bundle or else in the user cache', async () => {
    const userCache = tempDir();
    const env = { XDG_CACHE_HOME: userCache };

    const first = installed('none');
    expect(compileIn(['--help'], { bundle: first.bundle, env })).toMatchObject({ cacheUsed: false });
    const help = await runCli(['--help'], { bin: first.bin, env, cwd: tempDir() });
    expect(help.code).toBe(0);
    expect(existsSync(`${first.bundle}.base.cache`)).toBe(true);
    expect(compileIn(['--help'], { bundle: first.bundle, env })).toMatchObject({ cacheUsed: true });
    // A command that fails (no config to explain) writes none.
    expect((await runCli(['route', 'explain'], { bin: first.bin, env, cwd: tempDir() })).code).toBe(2);
    expect(existsSync(`${first.bundle}.route.cache`)).toBe(false);

    const readOnly = installed('cost-unwritable');
    expect((await runCli(['cost', 'estimate', '--volume', '1000'], { bin: readOnly.bin, env, cwd: tempDir() })).code).toBe(0);
    expect(readdirSync(path.join(userCache, 'penguinmails')).filter((file) => file.endsWith('.cost.cache'))).toHaveLength(1);
    expect(compileIn(['cost', 'estimate'], { bundle: readOnly.bundle, env })).toMatchObject({ cacheUsed: true });
  });

  it('are not written by a run that changed V8 flags as it ran (a bulk send), which V8 would refuse in every later run', async () => {
    const postmark = new FakePostmark();
    await postmark.start();
    try {
      const app = installed('none');
      const env = { XDG_CACHE_HOME: tempDir(), POSTMARK_SERVER_TOKEN: POSTMARK_TOKEN };
      const cwd = tempDir({
        'penguinmails.config.yaml': `providers:\n  postmark: { type: postmark, serverToken: "\${POSTMARK_SERVER_TOKEN}", baseUrl: "${postmark.url}" }\nfailover: { order: [postmark] }\n`,
        'list.csv': 'email,name\nada@example.com,Ada\nbob@example.com,Bob\n',
      });
      const bulk = await runCli(['send', '--recipients', 'list.csv', '--from', 'news@example.com', '--subject', 'Hi {{name}}', '--text', 'Hello {{name}}', '--type', 'marketing'], { bin: app.bin, cwd, env });
      expect(bulk.code, bulk.stderr).toBe(0);
      expect(postmark.requests.filter((r) => r.path === '/email/batch')).toHaveLength(1);
      expect(existsSync(`${app.bundle}.send.cache`)).toBe(false);
      expect(readdirSync(env.XDG_CACHE_HOME)).toEqual([]);

      // The next single send writes the cache, and V8 takes it.
      const single = await runCli(['send', '--to', 'ada@example.com', '--from', 'billing@example.com', '--subject', 'Receipt', '--text', 'Thank you.'], { bin: app.bin, cwd, env });
      expect(single.code, single.stderr).toBe(0);
      expect(compileIn(['send', '--to', 'ada@example.com'], { bundle: app.bundle, env })).toMatchObject({ name: 'send', cacheUsed: true });
    } finally {
      await postmark.stop();
    }
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

  it('hold nothing of the commands that made them: not their token, files or message', () => {
    for (const name of ['base', 'send', 'route', 'cost']) {
      const cache = readFileSync(`${BUNDLE}.${name}.cache`, 'latin1');
      // scripts/compile-cache.mjs: the token, the throwaway directories, the message sent.
      for (const made of ['compile-cache', 'penguinmails-compile-cache-', 'Your receipt', 'Thank you for your order']) expect(cache).not.toContain(made);
    }
  });
});
