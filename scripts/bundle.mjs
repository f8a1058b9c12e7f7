#!/usr/bin/env node
// Bundles the compiled CLI and the library entry (dist/) into a few files in dist/bundle/: Node's ESM loader spends
// more time finding and compiling ~150 small modules (zod alone is 95) than running them. Commands
// stay in their own chunks, loaded when used. The ESP SDKs, SQLite and the prompts stay outside,
// imported from node_modules only by the commands that need them; cosmiconfig too, as it loads
// config loaders with require(). The metafile says which sources each chunk holds (tests read it).
import { rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { PROVIDER_DEFINITIONS } from '../dist/providers/registry.js';

// Each ESP's definition names its SDK packages (tsc has compiled the registry by now).
const sdkPackages = PROVIDER_DEFINITIONS.flatMap((definition) => definition.sdkPackages);

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
  metafile: true,
  logLevel: 'warning',
});
writeFileSync('dist/bundle/meta.json', JSON.stringify(result.metafile));
