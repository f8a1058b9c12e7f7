#!/usr/bin/env node
// Makes the CLI's code caches (dist/bundle/cli.cjs.<name>.cache; see bin/cli-bundle.js): each is
// made by running its command once on throwaway files, then having V8 write the bytecode of
// everything it compiled — base: `--help`; cost: `cost estimate`; route: `route explain` on the
// example config; send: a `send` to a stand-in for Postmark's API on 127.0.0.1. Run by
// `npm run build`, with the Node that will run the CLI (a cache made by another Node is not used).
//
// Each command runs in a child process of its own, without any cache (a cache read in would be
// written out whole) and without NODE_OPTIONS (V8 refuses a cache made under other flags), its
// output (written straight to fd 1 and 2) kept out of the build's. A command that fails fails the
// build: the bundle itself is broken. Each cache is then checked in a fresh process, as the CLI
// will read it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname, '..');
const { compileCli, writeCache, cachePath, sdkCodeCacheFiles, CACHED_COMMANDS } = createRequire(import.meta.url)(path.join(root, 'bin/cli-bundle.js'));
/** mailgun.js's code cache (src/providers/sdk-code-cache.ts names it). */
const SDK_CACHE = path.join(root, 'dist/bundle/sdk.mailgun.js.cache');

if (process.argv[2] === '--train') await train(process.argv[3]);
else if (process.argv[2] === '--check') checkCache(process.argv[3]);
else makeCaches();

function makeCaches() {
  const env = { ...process.env, PENGUINMAILS_COMPILE_CACHE: 'off' };
  delete env.NODE_OPTIONS;
  const made = [];
  for (const name of ['base', ...CACHED_COMMANDS]) {
    rmSync(cachePath(name), { force: true });
    const child = spawnSync(process.execPath, [import.meta.filename, '--train', name], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env, timeout: 60_000 });
    if (child.status !== 0) {
      console.error(`scripts/compile-cache.mjs: the command of the "${name}" code cache failed (${child.error?.message ?? `exit ${child.status}`}):\n${child.stderr}`);
      process.exit(1);
    }
    made.push(`${name} ${Math.round(statSync(cachePath(name)).size / 1024)} KB`);
  }
  // And mailgun.js's, which the CLI requires from node_modules (src/providers/sdk-code-cache.ts).
  rmSync(SDK_CACHE, { force: true });
  const sdk = spawnSync(process.execPath, [import.meta.filename, '--train', 'sdk'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env, timeout: 60_000 });
  if (sdk.status !== 0) {
    console.error(`scripts/compile-cache.mjs: the Mailgun bulk run of the SDK code cache failed (${sdk.error?.message ?? `exit ${sdk.status}`}):\n${sdk.stderr}`);
    process.exit(1);
  }
  made.push(`mailgun.js ${Math.round(statSync(SDK_CACHE).size / 1024)} KB`);
  const refused = ['base', ...CACHED_COMMANDS, 'sdk'].filter((name) => spawnSync(process.execPath, [import.meta.filename, '--check', name], { stdio: 'ignore', env: { ...env, PENGUINMAILS_COMPILE_CACHE: '' } }).status !== 0);
  if (refused.length > 0) {
    console.error(`scripts/compile-cache.mjs: V8 did not take the code caches it just made (${refused.join(', ')}); the CLI works without them, slower`);
    process.exit(1);
  }
  console.log(`code caches of dist/bundle/cli.cjs: ${made.join(', ')}`);
}

/** In a process started as the CLI is: exit 0 if V8 takes cache `name`. */
function checkCache(name) {
  if (name === 'sdk') {
    const { cli } = compileCli([process.execPath, 'penguinmails', 'send']);
    cli.requireSdk('mailgun.js', pathToFileURL(path.join(root, 'dist/bundle/cli.cjs')).href);
    process.exitCode = cli.sdkCodeCacheReport().used.includes('mailgun.js') ? 0 : 1;
    return;
  }
  process.exitCode = compileCli([process.execPath, 'penguinmails', name === 'base' ? '--help' : name]).cacheUsed ? 0 : 1;
}

/** Answers every POST as Postmark's /email does when it accepts a message (Mailgun's /v3/…/messages, as Mailgun does). */
function fakeEsp() {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      if (request.url.startsWith('/v3/')) response.end(JSON.stringify({ id: '<compile-cache@mg.example.com>', message: 'Queued. Thank you.' }));
      else response.end(JSON.stringify({ To: 'ada@example.com', SubmittedAt: new Date().toISOString(), MessageID: '00000000-0000-0000-0000-000000000000', ErrorCode: 0, Message: 'OK' }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function train(name) {
  // Nothing of the build's environment reaches the command: its own settings only.
  for (const variable of Object.keys(process.env)) if (variable.startsWith('PENGUINMAILS_') && variable !== 'PENGUINMAILS_COMPILE_CACHE') delete process.env[variable];
  const { cli, script, stamp } = compileCli([process.execPath, 'penguinmails']);
  const work = mkdtempSync(path.join(tmpdir(), 'penguinmails-compile-cache-'));
  // The config search stops at a package.json: a config left in /tmp (or above) is not found.
  writeFileSync(path.join(work, 'package.json'), '{}\n');
  const esp = await fakeEsp();
  try {
    const dir = (name) => {
      mkdirSync(path.join(work, name));
      return path.join(work, name);
    };
    const empty = dir('empty');
    const example = dir('example');
    copyFileSync(path.join(root, 'penguinmails.config.example.yaml'), path.join(example, 'penguinmails.config.yaml'));
    const send = dir('send');
    const espUrl = `http://127.0.0.1:${esp.address().port}`;
    writeFileSync(path.join(send, 'penguinmails.config.yaml'), `defaults:\n  from: noreply@example.com\nproviders:\n  postmark:\n    type: postmark\n    serverToken: \${POSTMARK_SERVER_TOKEN}\n    baseUrl: ${espUrl}\n`);
    process.env.POSTMARK_SERVER_TOKEN = 'compile-cache';
    // mailgun.js's code cache: a bulk run through it, with V8's flags left as they are (a cache is
    // refused under other flags, and a bulk run's heap rules change them).
    const sdk = dir('sdk');
    if (name === 'sdk') {
      writeFileSync(path.join(sdk, 'penguinmails.config.yaml'), `providers:\n  mailgun:\n    type: mailgun\n    apiKey: \${MAILGUN_API_KEY}\n    domain: mg.example.com\n    baseUrl: ${espUrl}\nfailover:\n  outbox: outbox.db\n`);
      writeFileSync(path.join(sdk, 'list.csv'), 'email,name\nada@example.com,Ada\nbob@example.com,Bob\n');
      process.env.MAILGUN_API_KEY = 'compile-cache';
      process.env.PENGUINMAILS_BULK_HEAP = 'default';
      cli.enableSdkCodeCaches(sdkCodeCacheFiles(path.join(root, 'dist/bundle')), { make: true });
    }

    const commands = {
      base: [empty, ['--help']],
      cost: [empty, ['cost', 'estimate', '--volume', '100000']],
      route: [example, ['route', 'explain']],
      send: [send, ['send', '--to', 'ada@example.com', '--subject', 'Your receipt', '--text', 'Thank you for your order.']],
      sdk: [sdk, ['send', '--recipients', 'list.csv', '--from', 'news@example.com', '--subject', 'Hi {{name}}', '--html', '<p>Hello {{name}}</p>', '--type', 'marketing']],
    };
    const [cwd, args] = commands[name];
    process.chdir(cwd);
    const exitCode = await cli.main([process.execPath, 'penguinmails', ...args]);
    if (exitCode !== 0) throw new Error(`penguinmails ${args.join(' ')} exited with ${exitCode}`);
    if (name === 'sdk') {
      if (cli.writeSdkCodeCaches().length === 0) throw new Error('the Mailgun bulk run did not load mailgun.js');
    } else writeCache(name, script, stamp);
  } finally {
    process.chdir(root);
    esp.close();
    rmSync(work, { recursive: true, force: true });
  }
}
