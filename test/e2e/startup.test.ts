import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli, tempDir } from '../helpers/cli.js';
import { FakePostmark, POSTMARK_TOKEN } from '../fakes/fake-postmark.js';

/**
 * What a run of the CLI evaluated: the bundled modules (paths like dist/cli/main.js or
 * node_modules/yaml/…, recorded by the bundle itself: scripts/bundle.mjs), the files it
 * required from node_modules (absolute paths) and the Node built-ins it loaded (`node:os`),
 * through bin/cli-bundle.js's trace hook.
 */
function traceModules(args: string[], cwd = ROOT, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const traceFile = path.join(tempDir(), 'modules.txt');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env, PENGUINMAILS_TRACE_MODULES: traceFile }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(readFileSync(traceFile, 'utf8').split('\n').filter(Boolean));
      } catch {
        resolve([]);
      }
    });
  });
}

const SDKS = /node_modules\/(postmark|mailgun\.js|nodemailer|better-sqlite3|@inquirer|fastify|@fastify|prom-client)\//;

/** The bundled sources (our modules and the bundled packages) a run evaluated. */
function bundledSources(modules: string[]): string[] {
  return modules.filter((module) => !path.isAbsolute(module) && !module.startsWith('node:'));
}

/** The files a run required from node_modules. */
function requiredPackages(modules: string[]): string[] {
  return modules.filter((module) => path.isAbsolute(module) && module.includes('/node_modules/'));
}

/**
 * What a light command must not load (#21 start-up): the config schema (zod), the YAML parser,
 * cosmiconfig, the adapters (each with its zod schema), the store, and any ESP SDK — external
 * (node_modules) or bundled (Postmark's).
 */
function heavyLoads(modules: string[]): string[] {
  const external = requiredPackages(modules).filter((file) => SDKS.test(file) || /node_modules\/(cosmiconfig|zod|yaml)\//.test(file));
  const bundled = bundledSources(modules).filter(
    (source) =>
      /node_modules\/(zod|yaml|postmark|mailgun\.js|nodemailer)\//.test(source) ||
      /^dist\/providers\/(registry|postmark|mailgun|smtp|sendgrid|ses)\.js$/.test(source) ||
      /^dist\/config\/(schema|validate)\.js$/.test(source) ||
      source.startsWith('dist/store/sqlite/') ||
      source.startsWith('dist/store/postgres/'),
  );
  return [...external, ...bundled];
}

describe('start-up', () => {
  it('--help loads only the command line: no schema, YAML, cosmiconfig, adapter, store or SDK', async () => {
    const modules = await traceModules(['--help'], tempDir());
    expect(bundledSources(modules)).toContain('dist/cli/main.js');
    expect(heavyLoads(modules)).toEqual([]);
  });

  it('cost estimate without a config reads the catalogs without loading the schema, YAML, cosmiconfig, adapters, store or SDKs', async () => {
    const modules = await traceModules(['cost', 'estimate', '--volume', '100000'], tempDir());
    const sources = bundledSources(modules);
    expect(sources).toEqual(expect.arrayContaining(['dist/cost/model.js', 'dist/providers/catalog/postmark.js', 'dist/providers/catalog/mailgun.js']));
    expect(heavyLoads(modules)).toEqual([]);
  });

  it('a config file found by the search is read without cosmiconfig (YAML and the schema, yes)', async () => {
    const cwd = tempDir({ 'penguinmails.config.yaml': 'providers:\n  pm: { type: postmark, serverToken: x }\n' });
    const modules = await traceModules(['cost', 'estimate', '--volume', '100000'], cwd);
    expect(requiredPackages(modules).filter((file) => /node_modules\/cosmiconfig\//.test(file))).toEqual([]);
    expect(bundledSources(modules)).toEqual(expect.arrayContaining(['dist/config/validate.js', 'dist/providers/registry.js']));
  });

  it('a plain config (the example) is read without the yaml package; a broken one loads it to say what is wrong', async () => {
    const example = readFileSync(path.resolve(import.meta.dirname, '../../penguinmails.config.example.yaml'), 'utf8');
    const plain = await traceModules(['route', 'explain'], tempDir({ 'penguinmails.config.yaml': example }));
    expect(bundledSources(plain)).toContain('dist/config/plain-yaml.js');
    expect(bundledSources(plain).filter((source) => /node_modules\/yaml\//.test(source))).toEqual([]);
    const broken = tempDir({ 'penguinmails.config.yaml': 'providers:\n  pm: { type: postmark, serverToken: x\n' });
    const result = await runCli(['route', 'explain'], { cwd: broken });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('broken YAML');
    expect(result.stderr).toMatch(/line \d+, column \d+/);
  });

  it('--help does not load any ESP SDK, the database or the prompts', async () => {
    const modules = await traceModules(['--help']);
    const sources = bundledSources(modules);
    expect(sources).toContain('dist/cli/main.js');
    expect(modules.filter((module) => SDKS.test(module))).toEqual([]);
    expect(sources.filter((source) => /node_modules\/(zod|yaml)\//.test(source) || source.startsWith('dist/store/'))).toEqual([]);
  });

  it('send --help does not load any ESP SDK either', async () => {
    const modules = await traceModules(['send', '--help']);
    expect(modules.filter((module) => SDKS.test(module))).toEqual([]);
  });

  it('cost estimate computes without loading any ESP SDK or the database', async () => {
    const modules = await traceModules(['cost', 'estimate', '--volume', '100000', '--transactional', '5000']);
    const sources = bundledSources(modules);
    expect(sources).toContain('dist/cost/model.js');
    expect(modules.filter((module) => SDKS.test(module))).toEqual([]);
  });

  it('a send without attachments does not load node:fs/promises (nor the readline and watcher modules it brings)', async () => {
    const postmark = new FakePostmark();
    const url = await postmark.start();
    try {
      const cwd = tempDir({ 'penguinmails.config.yaml': `defaults:\n  from: noreply@example.com\nproviders:\n  pm: { type: postmark, serverToken: "\${POSTMARK_SERVER_TOKEN}", baseUrl: "${url}" }\n` });
      const modules = await traceModules(['send', '--to', 'ada@example.com', '--subject', 'Hi', '--text', 'Hello'], cwd, { POSTMARK_SERVER_TOKEN: POSTMARK_TOKEN });
      expect(postmark.requests).toHaveLength(1);
      expect(modules).toContain('node:http');
      expect(modules.filter((module) => /^node:(fs\/promises|internal\/readline\/)/.test(module))).toEqual([]);
    } finally {
      await postmark.stop();
    }
  });

  it('every command has --help with exit 0', async () => {
    for (const command of [[], ['send'], ['queue'], ['queue', 'list'], ['queue', 'retry'], ['failover', 'configure'], ['failover', 'show'], ['cost', 'estimate'], ['route', 'explain'], ['serve'], ['keys', 'create'], ['keys', 'revoke']]) {
      const result = await runCli([...command, '--help']);
      expect(result.code, command.join(' ')).toBe(0);
      expect(result.stdout).toContain('Usage: penguinmails');
    }
  });

  it('no command is a usage error that shows the help (exit 2); help itself exits 0', async () => {
    const bare = await runCli([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: penguinmails');
    expect((await runCli(['queue'])).code).toBe(2);
    expect((await runCli(['help', 'send'])).code).toBe(0);
    // With --json, stdout still holds one JSON document.
    const json = await runCli(['queue', '--json']);
    expect(json.code).toBe(2);
    expect(json.json()).toMatchObject({ status: 'error', exitCode: 2, error: 'no command given' });
  });

  it('global options work after the command too', async () => {
    const result = await runCli(['send', '--json', '--config', '/nonexistent.yaml', '--to', 'a@example.com']);
    expect(result.code).toBe(2);
    expect(result.json().status).toBe('error');
  });
});
