import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requireWithoutFetchGlobals } from '../../src/providers/require-without-fetch.js';

const BUILT = pathToFileURL(path.resolve(import.meta.dirname, '../../dist/providers/require-without-fetch.js')).href;
const FETCH_GLOBALS = ['fetch', 'Request', 'Response', 'FormData', 'ReadableStream'];
const descriptors = () => FETCH_GLOBALS.map((name) => Object.getOwnPropertyDescriptor(globalThis, name));

/** Runs `body` (an ES module) in a fresh node process and gives back what it printed as JSON. */
function inFreshProcess(body: string): any {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', `import { requireWithoutFetchGlobals } from ${JSON.stringify(BUILT)};\n${body}`], { encoding: 'utf8', cwd: path.resolve(import.meta.dirname, '../..') });
  expect(child.stderr).toBe('');
  return JSON.parse(child.stdout);
}

describe('loading mailgun.js without its fetch probe (#21)', () => {
  it('in a fresh process, Node loads neither undici nor its web streams for it; fetch, Request, FormData and ReadableStream work afterwards', () => {
    const seen = inFreshProcess(`
      const Mailgun = requireWithoutFetchGlobals('mailgun.js');
      const undiciLoaded = process.moduleLoadList.some((name) => name.includes('undici'));
      const webStreamsLoaded = process.moduleLoadList.some((name) => name.includes('webstreams/readablestream'));
      const form = new FormData();
      form.append('a', 'b');
      const streamed = await new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('s')); c.close(); } })).text();
      console.log(JSON.stringify({ sdk: typeof Mailgun, undiciLoaded, webStreamsLoaded, fetch: typeof fetch, request: new Request('http://127.0.0.1/').method, form: form.get('a'), streamed }));`);
    expect(seen).toEqual({ sdk: 'function', undiciLoaded: false, webStreamsLoaded: false, fetch: 'function', request: 'GET', form: 'b', streamed: 's' });
  });

  it('puts each global back as it was, lazy getters included, also when the load fails', () => {
    const before = descriptors();
    requireWithoutFetchGlobals('mailgun.js');
    expect(descriptors()).toEqual(before);
    expect(() => requireWithoutFetchGlobals('no-such-package-penguinmails')).toThrow(/Cannot find module/);
    expect(descriptors()).toEqual(before);
  });
});
