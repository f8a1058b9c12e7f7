import type { FastifyRequest } from 'fastify';
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
    return done(new BadRequest('invalid request body', [{ path: poisoned, message: 'a key named "__proto__", or "constructor" holding "prototype", is refused: rename it' }], 'nothing was sent'));
  }
  done(null, body);
}

/** An error of the kind Fastify's own parser gives (errors.ts words each code). */
function refusal(code: string): Error {
  return Object.assign(new Error(code), { code, statusCode: 400 });
}

/** Where the first poisonous key is (`metadata.__proto__`), if any. JSON.parse keeps such keys as own properties. */
function poisonedKeyPath(value: unknown): string | undefined {
  const steps = poisonedKeySteps(value);
  return steps?.reduce<string>((path, step) => (typeof step === 'number' ? `${path}[${step}]` : path ? `${path}.${step}` : step), '');
}

/** The steps to the first poisonous key, innermost last; the path is made only for the one found. */
function poisonedKeySteps(value: unknown): (string | number)[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const inner = poisonedKeySteps(value[i]);
      if (inner) return [i, ...inner];
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (key === '__proto__' || (key === 'constructor' && typeof item === 'object' && item !== null && 'prototype' in item)) return [key];
    const inner = poisonedKeySteps(item);
    if (inner) return [key, ...inner];
  }
  return undefined;
}
