/** The globals whose first read makes Node load its fetch implementation (undici). */
const FETCH_GLOBALS = ['fetch', 'Request', 'Response', 'FormData'];

/**
 * Loads a CommonJS package with Node's fetch globals out of its sight. mailgun.js bundles an
 * axios that, as it loads, reads fetch, Request, Response and FormData to try out a fetch
 * transport (its calls here go over node:http), and the first read of any of them makes Node load
 * undici: ~20–40 ms of CPU for every process that sends through Mailgun (#21). The load is
 * synchronous, so no other code runs while they are hidden, and each is put back as it was (lazy
 * getters included), even if the load throws.
 */
export function requireWithoutFetchGlobals(specifier: string): unknown {
  const globals = globalThis as Record<string, unknown>;
  const hidden = FETCH_GLOBALS.map((name) => [name, Object.getOwnPropertyDescriptor(globals, name)] as const).filter(([, descriptor]) => descriptor?.configurable);
  for (const [name] of hidden) delete globals[name];
  try {
    return process.getBuiltinModule('node:module').createRequire(import.meta.url)(specifier);
  } finally {
    for (const [name, descriptor] of hidden) Object.defineProperty(globals, name, descriptor!);
  }
}
