#!/usr/bin/env node
// Bundles the compiled CLI and the library entry (dist/) into a few files in dist/bundle/: Node's ESM loader spends
// more time finding and compiling ~150 small modules (zod alone is 95) than running them. Commands
// stay in their own chunks, loaded when used. The ESP SDKs, SQLite and the prompts stay outside,
// imported from node_modules only by the commands that need them; cosmiconfig too, as it loads
// config loaders with require(). The metafile says which sources each chunk holds (tests read it).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';
import { PROVIDER_DEFINITIONS } from '../dist/providers/registry.js';

// Each ESP's definition names its SDK packages (tsc has compiled the registry by now).
// Postmark's SDK is 50 small CommonJS files whose loading cost a send ~25 ms; bundled, it is one
// chunk, still imported only by the adapter's send (measured: docs/benchmarks.md, #21 start-up).
// The other SDKs gain nothing from it (mailgun.js ships one prebuilt file) and stay outside.
const BUNDLED_SDKS = new Set(['postmark']);
const sdkPackages = PROVIDER_DEFINITIONS.flatMap((definition) => definition.sdkPackages).filter((name) => !BUNDLED_SDKS.has(name));

/**
 * commander requires node:child_process at the top (for git-style executable subcommands, which
 * penguinmails does not use); that built-in and what it pulls in (net, dgram, …) cost every run
 * ~5 ms. Here it is required when a spawn happens, which never does.
 */
const lazyChildProcess = {
  name: 'commander-lazy-child-process',
  setup(build) {
    build.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!source.includes(eager)) throw new Error(`${args.path}: commander changed how it loads child_process; update scripts/bundle.mjs`);
      return { contents: source.replace(eager, "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };"), loader: 'js' };
    });
  },
};

/**
 * yaml's Node build is CommonJS, which esbuild bundles whole (~260 KB, every command that reads a
 * config compiles it); its ES module build (the one it ships for browsers, same code) lets esbuild
 * leave out what the config's parse does not use (~65 KB less on that path). Its one difference,
 * warnings through console.warn instead of process.emitWarning, is put back here.
 */
const yamlEsm = {
  name: 'yaml-es-module-build',
  setup(build) {
    const browserDist = path.join(path.dirname(createRequire(import.meta.url).resolve('yaml/package.json')), 'browser', 'dist');
    build.onResolve({ filter: /^yaml$/ }, () => ({ path: path.join(browserDist, 'index.js') }));
    build.onLoad({ filter: /[\\/]yaml[\\/]browser[\\/]dist[\\/]log\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const browserWarn = 'console.warn(warning);';
      if (!source.includes(browserWarn)) throw new Error(`${args.path}: yaml changed how it warns; update scripts/bundle.mjs`);
      return { contents: source.replace(browserWarn, "if (typeof process.emitWarning === 'function') process.emitWarning(warning); else console.warn(warning);"), loader: 'js' };
    });
  },
};

// Chunk names carry content hashes: clear the old ones.
rmSync('dist/bundle', { recursive: true, force: true });
const result = await build({
  entryPoints: { main: 'dist/cli/main.js', index: 'dist/lib/index.js' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The server's packages (Fastify and its plugins, prom-client) stay outside too: only `serve` loads them.
  external: [...sdkPackages, 'better-sqlite3', '@inquirer/prompts', 'cosmiconfig', 'fastify', '@fastify/*', 'prom-client', 'pg'],
  // Bundled CommonJS packages (commander, yaml) call require() for Node's built-in modules.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  plugins: [lazyChildProcess, yamlEsm],
  metafile: true,
  logLevel: 'warning',
});
writeFileSync('dist/bundle/meta.json', JSON.stringify(result.metafile));
