import type { FastifyRequest } from 'fastify';
import { nulCharacterPath } from '../core/json-paths.js';
import { POISONED_KEY_PROBLEM, poisonedKeyPath } from '../core/poisoned-keys.js';
import { BadRequest } from './errors.js';

/** Parsed bodies that may hold a poisonous key: one named __proto__, constructor, or escaped (\u…). */
const MAY_HOLD_POISONED_KEY = /__proto__|constructor|\\u/;

/**
 * The JSON body parser of the API's routes. Like Fastify's, it refuses a key named "__proto__" or a
 * "constructor" holding "prototype" (either can change an object's prototype once merged into
 * another), but names where in the body it is, where Fastify's said only "not valid JSON".
 */
export function parseJsonBody(_request: FastifyRequest, text: string, done: (error: Error | null, body?: unknown) => void): void {
  if (text.length === 0) return done(refusal('FST_ERR_CTP_EMPTY_JSON_BODY'));
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return done(refusal('FST_ERR_CTP_INVALID_JSON_BODY'));
  }
  const poisoned = MAY_HOLD_POISONED_KEY.test(text) ? poisonedKeyPath(body) : undefined;
  if (poisoned) {
    return done(new BadRequest('invalid request body', [{ path: poisoned, message: POISONED_KEY_PROBLEM }], 'nothing was sent'));
  }
  // No field of a message, list or suppression holds a NUL, and PostgreSQL stores none.
  const nul = text.includes('\\u0000') ? nulCharacterPath(body) : undefined;
  if (nul !== undefined) return done(new BadRequest('invalid request body', [{ path: nul || '(body)', message: 'holds a NUL character (\\u0000)' }], 'nothing was sent'));
  done(null, body);
}

/** An error of the kind Fastify's own parser gives (errors.ts words each code). */
function refusal(code: string): Error {
  return Object.assign(new Error(code), { code, statusCode: 400 });
}
