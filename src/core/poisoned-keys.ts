// Keys that can change an object's prototype once the object is merged into another (Object.assign,
// a deep merge): JSON.parse keeps them as own properties, so they are looked for after parsing.

export const POISONED_KEY_PROBLEM = 'a key named "__proto__", or "constructor" holding "prototype", is refused: rename it';

/** Where the first poisonous key is (`metadata.__proto__`), if any. JSON.parse keeps such keys as own properties. */
export function poisonedKeyPath(value: unknown): string | undefined {
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
