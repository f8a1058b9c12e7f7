import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli, tempDir } from '../helpers/cli.js';

function traceImports(args: string[]): Promise<string[]> {
  const traceFile = path.join(tempDir(), 'imports.txt');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', path.join(ROOT, 'test/helpers/import-tracer.mjs'), BIN, ...args], { env: { ...process.env, IMPORT_TRACE_FILE: traceFile }, stdio: 'ignore' });
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

/** The sources (our modules and the bundled packages) inside the bundle files a run loaded. */
function bundledSources(imports: string[]): string[] {
  const meta = JSON.parse(readFileSync(path.join(ROOT, 'dist/bundle/meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  return imports
    .map((url) => /\/(dist\/bundle\/[^/]+\.js)$/.exec(url)?.[1])
    .flatMap((file) => (file ? Object.keys(meta.outputs[file]?.inputs ?? {}) : []));
}

describe('start-up', () => {
  it('--help does not load any ESP SDK, the database or the prompts', async () => {
    const imports = await traceImports(['--help']);
    const sources = bundledSources(imports);
    expect(sources).toContain('dist/cli/main.js');
    expect(imports.filter((url) => SDKS.test(url))).toEqual([]);
    expect(sources.filter((source) => /node_modules\/(zod|yaml)\//.test(source) || source.startsWith('dist/store/'))).toEqual([]);
  });

  it('send --help does not load any ESP SDK either', async () => {
    const imports = await traceImports(['send', '--help']);
    expect(imports.filter((url) => SDKS.test(url))).toEqual([]);
  });

  it('cost estimate computes without loading any ESP SDK or the database', async () => {
    const imports = await traceImports(['cost', 'estimate', '--volume', '100000', '--transactional', '5000']);
    const sources = bundledSources(imports);
    expect(sources).toContain('dist/cost/model.js');
    expect(imports.filter((url) => SDKS.test(url))).toEqual([]);
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
