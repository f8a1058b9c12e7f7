import type { Script } from 'node:vm';

/**
 * V8 code caches for the ESP SDKs required from node_modules. mailgun.js is one 347 KB file that
 * V8 compiled at every run (~12 ms), then its functions as each first ran: through its cache a
 * Mailgun run spends ~20 ms less CPU and starts sending ~15 ms sooner (#21, docs/benchmarks.md).
 *
 * Off unless the CLI turns it on with the place and form of its own code caches (bin/cli-bundle.js):
 * a program using the library requires its packages as Node does, and so does the CLI where the
 * directory has no cache (an installed package). A cache is made at build time
 * (scripts/compile-cache.mjs, from a Mailgun bulk run) and used only for the same file (its
 * SHA-256), Node and architecture, and whole; V8 itself refuses it under other V8 flags. Without
 * a usable cache the package is compiled as usual: a missing or stale cache costs time, no more.
 */
let caches: CodeCacheFiles | undefined;
/** The build's training run: packages are compiled here even without a cache, to write theirs. */
let making = false;

/**
 * Where the caches are and how their files are read and written: bin/cli-bundle.js's own form
 * (sdkCodeCacheFiles), a stamp and the data's length on the first line, so that a cache is used
 * only for what it was made for, and whole.
 */
export interface CodeCacheFiles {
  directory: string;
  read(file: string, stamp: Stamp): Buffer | undefined;
  write(file: string, script: Script, stamp: Stamp): void;
}

interface Stamp {
  sdk: string;
  sha256: string;
  node: string;
  arch: string;
}

/** The packages this process compiled without a usable cache, for writeSdkCodeCaches. */
const compiled: { specifier: string; file: string; stamp: Stamp; script: Script }[] = [];
/** The packages this process compiled through their cache. */
const used: string[] = [];

/** `options.make`: for the build, which then writes the caches (writeSdkCodeCaches). */
export function enableSdkCodeCaches(files: CodeCacheFiles, options: { make?: boolean } = {}): void {
  caches = files;
  making = options.make === true;
}

/** `require(specifier)` as the module at `parentUrl` would, through the package's code cache when caches are on. */
export function requireSdk(specifier: string, parentUrl: string): unknown {
  const { createRequire } = process.getBuiltinModule('node:module');
  const parentRequire = createRequire(parentUrl);
  if (caches === undefined) return parentRequire(specifier);
  const fs = process.getBuiltinModule('node:fs');
  const path = process.getBuiltinModule('node:path');
  const filename = parentRequire.resolve(specifier);
  const ownRequire = createRequire(filename);
  // Loaded already (here or by Node's require): the same module, as require gives it.
  const loaded = ownRequire.cache[filename];
  if (loaded) return loaded.exports;
  const file = path.join(caches.directory, `sdk.${specifier.replace(/[^A-Za-z0-9.-]/g, '_')}.cache`);
  // No cache to read (an installed package): nothing to hash or compile here.
  if (!making && !fs.existsSync(file)) return parentRequire(specifier);
  const source = fs.readFileSync(filename, 'utf8');
  const stamp = { sdk: specifier, sha256: process.getBuiltinModule('node:crypto').hash('sha256', source, 'hex'), node: process.version, arch: process.arch };
  const cachedData = caches.read(file, stamp);
  const { Script } = process.getBuiltinModule('node:vm');
  const Module = process.getBuiltinModule('node:module');
  // As Node's loader runs a CommonJS file: wrapped in its function, with its own module and
  // require, and in require's cache before it runs (a later require gets this same module).
  const script = new Script(Module.wrap(source), { filename, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) compiled.push({ specifier, file, stamp, script });
  else used.push(specifier);
  const module = new Module(filename);
  module.filename = filename;
  ownRequire.cache[filename] = module;
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  try {
    run.call(module.exports, module.exports, ownRequire, module, filename, path.dirname(filename));
  } catch (error) {
    delete ownRequire.cache[filename];
    throw error;
  }
  module.loaded = true;
  return module.exports;
}

/** The SDKs this process compiled through their code cache, and those it compiled without one (the build checks its caches are taken). */
export function sdkCodeCacheReport(): { used: string[]; compiled: string[] } {
  return { used: [...used], compiled: compiled.map(({ specifier }) => specifier) };
}

/** Writes the code cache of each SDK this process compiled without one (the build's training run). */
export function writeSdkCodeCaches(): string[] {
  return compiled.map(({ file, stamp, script }) => {
    caches!.write(file, script, stamp);
    return file;
  });
}
