import { pathOfFirst } from './json-paths.js';

// Keys that can change an object's prototype once the object is merged into another (Object.assign,
// a deep merge): JSON.parse keeps them as own properties, so they are looked for after parsing.

export const POISONED_KEY_PROBLEM = 'a key named "__proto__", or "constructor" holding "prototype", is refused: rename it';

const isPoisoned = (key: string, item: unknown) => key === '__proto__' || (key === 'constructor' && typeof item === 'object' && item !== null && 'prototype' in item);

/** Where the first poisonous key is (`metadata.__proto__`), if any. */
export function poisonedKeyPath(value: unknown): string | undefined {
  return pathOfFirst(value, isPoisoned);
}
