import { requireSdk } from './sdk-code-cache.js';

/**
 * The globals whose first read makes Node load its fetch implementation (undici), and its web
 * streams (ReadableStream: ~2.5 ms, read by axios's fetch probe before it finds fetch missing).
 */
const FETCH_GLOBALS = ['fetch', 'Request', 'Response', 'FormData', 'ReadableStream'];

/**
 * Loads a CommonJS package with Node's fetch globals out of its sight. mailgun.js bundles an
 * axios that, as it loads, reads fetch, Request, Response, FormData and ReadableStream to try out
 * a fetch transport (its calls here go over node:http), and the first read of any of them makes
 * Node load undici or its web streams: ~20–40 ms of CPU for a bulk run through Mailgun (#21). A
 * single message still loads undici, for the FormData it is sent in. That axios keeps the FormData
 * it saw at load (none, now) only as a first guess: it tells Node's FormData by its
 * "[object FormData]" tag as well.
 *
 * The load is synchronous, so no other code runs while they are hidden, and each is put back as
 * it was (lazy getters included), even if the load throws. Nothing is hidden from a global object
 * that cannot take properties back (a frozen one).
 */
export function requireWithoutFetchGlobals(specifier: string): unknown {
  const globals = globalThis as Record<string, unknown>;
  const load = () => requireSdk(specifier, import.meta.url);
  if (!Object.isExtensible(globals)) return load();
  const hidden = FETCH_GLOBALS.map((name) => [name, Object.getOwnPropertyDescriptor(globals, name)] as const).filter(([, descriptor]) => descriptor?.configurable);
  for (const [name] of hidden) delete globals[name];
  try {
    return load();
  } finally {
    for (const [name, descriptor] of hidden) Object.defineProperty(globals, name, descriptor!);
  }
}
