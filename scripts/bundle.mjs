#!/usr/bin/env node
// Bundles the compiled code (dist/) for running, in two forms:
// - the CLI: one CommonJS file, dist/bundle/cli.cjs, that bin/penguinmails.js compiles through V8's
//   code cache (bin/cli-bundle.js; the cache is made by scripts/compile-cache.mjs). A script can
//   use a code cache, an ES module cannot on Node 20, and the cache is most of the CLI's start-up
//   (#21: `route explain` 2.1× bare node without it, 1.5× with). Commands stay lazy inside the
//   file: each command's modules are evaluated when it runs (esbuild wraps what only a dynamic
//   import reaches), and the ESP SDKs (but Postmark's), SQLite's addon, the prompts and the
//   server's packages are required from node_modules only by the commands that use them.
// - the library (`import … from 'penguinmails'`): ES modules with code splitting, dist/bundle/index.js.
// The metafiles say which sources each output holds: the library's (meta.json) is read by tests,
// the CLI's (cli-meta.json) is there to see what the script is made of.
import { createHash } from 'node:crypto';
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

/** The fixes applied to a package's source as it is bundled, each failing the build if the package changed. */
const REWRITES = [
  {
    // commander requires node:child_process at the top (for git-style executable subcommands, which
    // penguinmails does not use); that built-in and what it pulls in (net, dgram, …) cost every run
    // ~5 ms. Here it is required when a spawn happens, which never does.
    file: /[\\/]commander[\\/]lib[\\/]command\.js$/,
    from: "const childProcess = require('node:child_process');",
    to: "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };",
  },
  {
    // yaml's ES module build (see below) warns through console.warn; its Node build, through
    // process.emitWarning, which is put back.
    file: /[\\/]yaml[\\/]browser[\\/]dist[\\/]log\.js$/,
    from: 'console.warn(warning);',
    to: "if (typeof process.emitWarning === 'function') process.emitWarning(warning); else console.warn(warning);",
  },
];

/** A file's leading shebang, comments and "use strict": a statement put before them would switch strict mode off. */
const PROLOGUE = /^(?:#![^\n]*\n)?(?:\s+|\/\/[^\n]*\n|\/\*[\s\S]*?\*\/)*(?:(['"])use strict\1;?)?/;

/**
 * yaml's Node build is CommonJS, which esbuild bundles whole (~260 KB, every command that reads a
 * config compiles it); its ES module build (the one it ships for browsers, same code) lets esbuild
 * leave out what the config's parse does not use (~65 KB less on that path).
 *
 * With traceModules, each module records its path in globalThis.__penguinmailsLoaded (when a
 * test has set it: bin/cli-bundle.js) as it is evaluated: the start-up tests check that a light
 * command evaluates no schema, YAML parser, store or SDK (test/e2e/startup.test.ts).
 */
function sourceRewrites({ traceModules = false } = {}) {
  return {
    name: 'penguinmails-source-rewrites',
    setup(build) {
      const browserDist = path.join(path.dirname(createRequire(import.meta.url).resolve('yaml/package.json')), 'browser', 'dist');
      build.onResolve({ filter: /^yaml$/ }, () => ({ path: path.join(browserDist, 'index.js') }));
      build.onLoad({ filter: /\.[cm]?js$/ }, (args) => {
        let source = readFileSync(args.path, 'utf8');
        for (const rewrite of REWRITES.filter(({ file }) => file.test(args.path))) {
          if (!source.includes(rewrite.from)) throw new Error(`${args.path}: the package changed (no "${rewrite.from}"); update scripts/bundle.mjs`);
          source = source.replace(rewrite.from, rewrite.to);
        }
        if (traceModules) {
          const prologue = PROLOGUE.exec(source)[0];
          const trace = `globalThis.__penguinmailsLoaded?.push(${JSON.stringify(path.relative(process.cwd(), args.path))});`;
          source = `${prologue}${prologue.endsWith('\n') || prologue === '' ? '' : '\n'}${trace}\n${source.slice(prologue.length)}`;
        }
        return { contents: source, loader: 'js' };
      });
    },
  };
}

const external = [...sdkPackages, 'better-sqlite3', '@inquirer/prompts', 'cosmiconfig', 'fastify', '@fastify/*', 'prom-client', 'pg'];

// Chunk names carry content hashes: clear the old ones (and the old code cache, which a new
// bundle must never be run with: bin/cli-bundle.js checks it too).
rmSync('dist/bundle', { recursive: true, force: true });
const library = await build({
  entryPoints: { index: 'dist/lib/index.js' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The server's packages (Fastify and its plugins, prom-client) stay outside too: only `serve` loads them.
  external,
  // Bundled CommonJS packages (commander, yaml) call require() for Node's built-in modules.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  plugins: [sourceRewrites()],
  metafile: true,
  logLevel: 'warning',
});
writeFileSync('dist/bundle/meta.json', JSON.stringify(library.metafile));

const cli = await build({
  entryPoints: { cli: 'dist/cli/main.js' },
  outdir: 'dist/bundle',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // better-sqlite3's JavaScript (a dozen small files, which `send` would look up and compile one by
  // one) goes into the bundle and its code cache; its native addon is still required by its path
  // (store/sqlite/database.ts), and `bindings`, its fallback search for that addon, stays outside.
  external: [...external.filter((name) => name !== 'better-sqlite3'), 'bindings'],
  // A dynamic import() becomes a require(): the bundle is run as a vm.Script, which has no module
  // loader of its own; every package it loads has a CommonJS entry.
  supported: { 'dynamic-import': false },
  // Two modules find files next to the package (the example config, SQLite's addon) from their URL.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [sourceRewrites({ traceModules: true })],
  // No comments or indentation: a smaller file to read at each start, and one of ASCII only, which
  // Node reads into a string several times faster (the comments held the only other characters).
  // Short local names too: 940 → 675 KB, and each command starts ~2–8 ms sooner (reading the
  // bundle into a string took 8–12 ms on the 2-core VM). No code here reads a function's or a
  // class's name (errors set theirs as strings). Stack traces show the short names; tsc's output in
  // dist/ is the same code with its own.
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: true,
  charset: 'ascii',
  metafile: true,
  logLevel: 'warning',
});
writeFileSync('dist/bundle/cli-meta.json', JSON.stringify(cli.metafile));

// The bundle's first line names its build (a hash of the rest): a code cache is used only with the
// build it was made from (bin/cli-bundle.js), whatever the file's dates or size say.
const cliSource = readFileSync('dist/bundle/cli.cjs', 'utf8');
// bin/cli-bundle.js reads the bundle as latin1, which is the same text only for ASCII.
const nonAscii = /[^\x00-\x7f]/.exec(cliSource);
if (nonAscii) {
  rmSync('dist/bundle/cli.cjs', { force: true });
  throw new Error(`esbuild wrote a character that is not ASCII into dist/bundle/cli.cjs (${JSON.stringify(nonAscii[0])} at ${nonAscii.index}; the file is removed): bin/cli-bundle.js reads the bundle as latin1`);
}
writeFileSync('dist/bundle/cli.cjs', `// penguinmails build ${createHash('sha256').update(cliSource).digest('hex')}\n${cliSource}`);
