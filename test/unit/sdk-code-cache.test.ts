import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BUILT = pathToFileURL(path.join(ROOT, 'dist/providers/sdk-code-cache.js')).href;
const CLI_BUNDLE_LOADER = path.join(ROOT, 'bin/cli-bundle.js');
const PARENT = pathToFileURL(path.join(ROOT, 'dist/providers/mailgun.js')).href;
const cacheDir = mkdtempSync(path.join(tmpdir(), 'penguinmails-sdk-cache-'));
const cacheFile = path.join(cacheDir, 'sdk.mailgun.js.cache');
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

/**
 * Loads mailgun.js in a fresh node process (the caches' state is the process's), with the code
 * caches of `directory` on (or off, without one), and says what happened.
 */
function load(directory: string | undefined, make = false): { sdk: string; used: string[]; compiled: string[]; written: string[]; sameAsRequire: boolean } {
  const script = `
    import { createRequire } from 'node:module';
    import { enableSdkCodeCaches, requireSdk, sdkCodeCacheReport, writeSdkCodeCaches } from ${JSON.stringify(BUILT)};
    const { sdkCodeCacheFiles } = createRequire(import.meta.url)(${JSON.stringify(CLI_BUNDLE_LOADER)});
    ${directory === undefined ? '' : `enableSdkCodeCaches(sdkCodeCacheFiles(${JSON.stringify(directory)}), { make: ${make} });`}
    const Mailgun = requireSdk('mailgun.js', ${JSON.stringify(PARENT)});
    const client = new Mailgun(FormData).client({ username: 'api', key: 'key-1' });
    const sameAsRequire = createRequire(${JSON.stringify(PARENT)})('mailgun.js') === Mailgun;
    console.log(JSON.stringify({ sdk: typeof client.messages.create, ...sdkCodeCacheReport(), written: ${make} ? writeSdkCodeCaches() : [], sameAsRequire }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT });
  expect(child.stderr).toBe('');
  return JSON.parse(child.stdout);
}

describe('the code caches of the SDKs required from node_modules (#21)', () => {
  it('are off unless turned on, and where there is no cache: the package is required as Node does', () => {
    expect(load(undefined)).toEqual({ sdk: 'function', used: [], compiled: [], written: [], sameAsRequire: true });
    expect(load(cacheDir)).toEqual({ sdk: 'function', used: [], compiled: [], written: [], sameAsRequire: true });
  });

  it('the build compiles the package itself and writes its cache', () => {
    expect(load(cacheDir, true)).toEqual({ sdk: 'function', used: [], compiled: ['mailgun.js'], written: [cacheFile], sameAsRequire: true });
    const header = JSON.parse(readFileSync(cacheFile, 'utf8').split('\n')[0]);
    expect(header).toMatchObject({ sdk: 'mailgun.js', node: process.version, arch: process.arch, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: expect.any(Number) });
  });

  it('a later process compiles it through that cache, and the package works the same', () => {
    expect(load(cacheDir)).toEqual({ sdk: 'function', used: ['mailgun.js'], compiled: [], written: [], sameAsRequire: true });
  });

  it('a cache made for another file, Node or length is not used (the package is compiled as usual)', () => {
    const whole = readFileSync(cacheFile);
    const newline = whole.indexOf(10);
    const header = JSON.parse(whole.toString('utf8', 0, newline));
    const data = whole.subarray(newline + 1);
    for (const [changed, body] of [
      [{ ...header, sha256: '0'.repeat(64) }, data],
      [{ ...header, node: 'v0.0.0' }, data],
      [header, data.subarray(0, data.length - 100)],
    ] as const) {
      writeFileSync(cacheFile, Buffer.concat([Buffer.from(`${JSON.stringify(changed)}\n`), body]));
      expect(load(cacheDir)).toEqual({ sdk: 'function', used: [], compiled: ['mailgun.js'], written: [], sameAsRequire: true });
    }
    writeFileSync(cacheFile, 'not a cache');
    expect(load(cacheDir)).toMatchObject({ sdk: 'function', used: [], compiled: ['mailgun.js'] });
    writeFileSync(cacheFile, whole);
  });
});
