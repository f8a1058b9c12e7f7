'use strict';
/**
 * Loads the CLI bundle (dist/bundle/cli.cjs, built by scripts/bundle.mjs) as a vm.Script, so
 * that V8 can skip compiling it: the code caches next to it (made by scripts/compile-cache.mjs
 * at build time) hold the bytecode of what a command runs. Compiling that code was most of a
 * command's start-up (#21: docs/benchmarks.md); Node 20 has no code cache for ES modules, which
 * is why the CLI is bundled as a script.
 *
 * There is one cache per common command (`send`, `route`, `cost`), each made by running that
 * command, and a base one (`--help`) for the others: V8 reads a whole cache before running, so
 * a cache of every command made each of them ~10 ms slower than its own.
 *
 * A cache is used only where it was made: for the same build of the bundle (the content hash on
 * its first line), at the same path, on the same Node and architecture, and only when it is as
 * long as its header says. V8 itself checks only its own version and flags and the source's
 * length, and it does not checksum the data. So a cache is not used by another build, a copy of
 * dist/, another Node, a Node run with other V8 flags (`--max-old-space-size`, `--jitless`, … in
 * the command or NODE_OPTIONS: V8 refuses it) or with PENGUINMAILS_COMPILE_CACHE=off; the bundle
 * is then compiled as usual, a little slower.
 *
 * Where no cache fits (an installed package, whose dist/ was built elsewhere), a command that
 * succeeds writes its own for next time (saveCacheOfRun): next to the bundle when that directory
 * is writable, else in the user's cache directory ($XDG_CACHE_HOME or ~/.cache, penguinmails/).
 * dist/ and that directory are trusted as the code itself is: whoever can write a cache there can
 * write the bundle, or the user's own files.
 */
const { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const BUNDLE = path.join(__dirname, '..', 'dist', 'bundle', 'cli.cjs');
/** The commands with a code cache of their own; any other command uses the base one. */
const CACHED_COMMANDS = ['send', 'route', 'cost'];
const cachePath = (name, bundle = BUNDLE) => `${bundle}.${name}.cache`;

/** Where a cache of a run goes when it cannot go next to the bundle (the build's hash tells builds apart). */
function userCachePath(name, stamp, env = process.env) {
  const home = env.XDG_CACHE_HOME || path.join(require('node:os').homedir(), '.cache');
  return path.join(home, 'penguinmails', `${stamp.build.slice(-16)}.${name}.cache`);
}

/**
 * The cache for a command line: its command is the first argument that is not an option (nor
 * the value of --config). A wrong guess costs time, never correctness.
 */
function cacheNameFor(argv) {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-c' || arg === '--config') i++;
    else if (!arg.startsWith('-')) return CACHED_COMMANDS.includes(arg) ? arg : 'base';
  }
  return 'base';
}

/** What a cache is made for: this build of the bundle (its first line), at this path, on this Node and architecture. */
function bundleStamp(bundle, source) {
  // A copy, not a slice: V8 makes a slice of a long string a view that keeps the whole string
  // alive, and the stamp lives as long as the process (the bundle's text, ~0.7 MB, kept twice).
  const build = Buffer.from(source.slice(0, source.indexOf('\n')), 'latin1').toString('latin1');
  return { build, bundle, node: process.version, arch: process.arch };
}

/** The cache's data when its header (its first line) says it was made for `stamp`, and it is whole; else undefined. */
function readCache(cacheFile, stamp) {
  if (process.env.PENGUINMAILS_COMPILE_CACHE === 'off') return undefined;
  let contents;
  try {
    contents = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const newline = contents.indexOf(10);
  if (newline < 0) return undefined;
  const data = contents.subarray(newline + 1);
  const header = JSON.stringify({ ...stamp, bytes: data.length });
  return contents.toString('utf8', 0, newline) === header ? data : undefined;
}

/**
 * Test hook: with PENGUINMAILS_TRACE_MODULES=<file>, the paths of the bundled modules this run
 * evaluated, of the files it required from node_modules, and the Node built-ins it loaded
 * (`node:fs/promises`) are written to that file at exit (a new file only: an existing one is left
 * alone; nothing is said if it cannot be written).
 */
function traceModules(file) {
  const evaluated = (globalThis.__penguinmailsLoaded = []);
  process.on('exit', () => {
    try {
      // process.moduleLoadList is Node's own list (undocumented): without it, the trace has no built-ins.
      const builtins = (process.moduleLoadList ?? []).filter((entry) => entry.startsWith('NativeModule ')).map((entry) => `node:${entry.slice('NativeModule '.length)}`);
      writeFileSync(file, [...evaluated, ...Object.keys(require.cache), ...builtins].join('\n') + '\n', { flag: 'wx' });
    } catch {
      // A trace that cannot be written changes nothing about the run.
    }
  });
}

/**
 * Compiles the bundle (with the cache for this command line when it fits) and runs its top
 * level. Returns its exports (`main`), the script and its stamp (scripts/compile-cache.mjs
 * writes the cache), and whether V8 took the cache.
 */
function compileCli(argv = process.argv, bundle = BUNDLE) {
  if (process.env.PENGUINMAILS_TRACE_MODULES) traceModules(process.env.PENGUINMAILS_TRACE_MODULES);
  // The bundle is ASCII only (scripts/bundle.mjs checks it), so latin1 reads the same text, and
  // faster: no UTF-8 to check (~1.2 ms of every command's start-up on the 2-core VM, #21).
  const source = readFileSync(bundle, 'latin1');
  const stamp = bundleStamp(bundle, source);
  const name = cacheNameFor(argv);
  const cachedData = readCache(cachePath(name, bundle), stamp) ?? readCache(userCachePath(name, stamp), stamp);
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(bundle), module, bundle, path.dirname(bundle));
  // The SDKs required from node_modules (mailgun.js) have their code caches here too, made by the build.
  if (process.env.PENGUINMAILS_COMPILE_CACHE !== 'off') module.exports.enableSdkCodeCaches?.(sdkCodeCacheFiles(path.dirname(bundle)));
  return { cli: module.exports, script, stamp, bundle, cacheFound: cachedData !== undefined, cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
}

/** The arguments of a request for help or the version only: what the base cache is made of. */
const HELP_ONLY = new Set(['--help', '-h', 'help', '--version', '-V', '--json', '--no-color', '-q', '--quiet', '-v', '--verbose']);

/**
 * After a command that succeeded with no cache made for this build, path and Node: writes the
 * cache of what it compiled, next to the bundle, else in the user's cache directory; never fails
 * the run. A cache V8 refused (this run has other V8 flags) is left as it is, for the runs without
 * them. The base cache is written only by a request for help or the version (a long `serve`
 * would make it large), and no cache by a run that changed V8's flags as it ran.
 */
function saveCacheOfRun(loaded, argv = process.argv) {
  if (loaded.cacheFound || process.env.PENGUINMAILS_COMPILE_CACHE === 'off') return;
  const name = cacheNameFor(argv);
  if (name === 'base' && !argv.slice(2).every((arg) => HELP_ONLY.has(arg))) return;
  // A run that changed V8's flags (a bulk send's heap rules) would write a cache that V8 refuses
  // in every process without them, and that, being there, is never replaced.
  if (loaded.cli.v8FlagsChangedAtRunTime?.()) return;
  try {
    writeCache(name, loaded.script, loaded.stamp, loaded.bundle);
  } catch {
    try {
      const target = userCachePath(name, loaded.stamp);
      mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
      writeCacheFile(target, loaded.script, loaded.stamp);
    } catch {
      // No cache this time: the next run compiles as this one did.
    }
  }
}

/** Writes the code cache `name` of everything this process has compiled of the bundle so far (whole or not at all). */
function writeCache(name, script, stamp, bundle = BUNDLE) {
  writeCacheFile(cachePath(name, bundle), script, stamp);
}

function writeCacheFile(target, script, stamp) {
  const data = script.createCachedData();
  const partial = `${target}.${process.pid}.tmp`;
  try {
    writeFileSync(partial, Buffer.concat([Buffer.from(`${JSON.stringify({ ...stamp, bytes: data.length })}\n`), data]), { mode: 0o644 });
    renameSync(partial, target);
  } catch (error) {
    try {
      rmSync(partial, { force: true });
    } catch {
      // Nothing was written.
    }
    throw error;
  }
}

/**
 * The SDKs' code caches (src/providers/sdk-code-cache.ts), in `directory` and in the same form as
 * the bundle's: their stamp and length on the first line, written whole or not at all.
 */
function sdkCodeCacheFiles(directory = path.dirname(BUNDLE)) {
  return { directory, read: readCache, write: writeCacheFile };
}

module.exports = { compileCli, writeCache, saveCacheOfRun, userCachePath, cacheNameFor, cachePath, sdkCodeCacheFiles, CACHED_COMMANDS, BUNDLE };
