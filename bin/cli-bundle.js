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
 * A cache is used only for the bundle file it was made from, on the Node it was made on: V8
 * itself checks only its own version and flags and the source's length. Without a cache that
 * fits (another Node, a copied dist/, PENGUINMAILS_COMPILE_CACHE=off) the bundle is compiled as
 * usual, a little slower.
 */
const { readFileSync, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const BUNDLE = path.join(__dirname, '..', 'dist', 'bundle', 'cli.cjs');
/** The commands with a code cache of their own; any other command uses the base one. */
const CACHED_COMMANDS = ['send', 'route', 'cost'];
const cachePath = (name, bundle = BUNDLE) => `${bundle}.${name}.cache`;

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

/** What a cache is made for: this bundle file (its size and mtime), this Node, this machine's architecture. */
function bundleStamp(bundle) {
  const { size, mtimeMs } = statSync(bundle);
  return JSON.stringify({ size, mtimeMs, node: process.version, arch: process.arch });
}

/** The cache's data when it was made for `stamp` (its first line), else undefined. */
function readCache(cacheFile, stamp) {
  if (process.env.PENGUINMAILS_COMPILE_CACHE === 'off') return undefined;
  let contents;
  try {
    contents = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const newline = contents.indexOf(10);
  if (newline < 0 || contents.toString('utf8', 0, newline) !== stamp) return undefined;
  return contents.subarray(newline + 1);
}

/**
 * Test hook: with PENGUINMAILS_TRACE_MODULES=<file>, the paths of the bundled modules this run
 * evaluated and of the files it required from node_modules are written to that file at exit.
 */
function traceModules(file) {
  const evaluated = (globalThis.__penguinmailsLoaded = []);
  process.on('exit', () => writeFileSync(file, [...evaluated, ...Object.keys(require.cache)].join('\n') + '\n'));
}

/**
 * Compiles the bundle (with the cache for this command line when it fits) and runs its top
 * level. Returns its exports (`main`), the script (scripts/compile-cache.mjs writes its cache),
 * and whether V8 took the cache.
 */
function compileCli(argv = process.argv, bundle = BUNDLE) {
  if (process.env.PENGUINMAILS_TRACE_MODULES) traceModules(process.env.PENGUINMAILS_TRACE_MODULES);
  const stamp = bundleStamp(bundle);
  const cachedData = readCache(cachePath(cacheNameFor(argv), bundle), stamp);
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(bundle), module, bundle, path.dirname(bundle));
  return { cli: module.exports, script, stamp, cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
}

/** Writes the code cache `name` of everything this process has compiled of the bundle so far. */
function writeCache(name, script, stamp, bundle = BUNDLE) {
  writeFileSync(cachePath(name, bundle), Buffer.concat([Buffer.from(`${stamp}\n`), script.createCachedData()]));
}

module.exports = { compileCli, writeCache, cacheNameFor, cachePath, CACHED_COMMANDS, BUNDLE };
