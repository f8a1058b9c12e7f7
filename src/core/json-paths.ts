/**
 * Where, in a parsed JSON value, the first entry a test picks is (`metadata.__proto__`,
 * `recipients[1].name`), if any: the test sees each key with its value, depth first. The path is
 * made only for the entry found.
 */
export function pathOfFirst(value: unknown, picks: (key: string, item: unknown) => boolean): string | undefined {
  const steps = stepsToFirst(value, picks);
  return steps?.reduce<string>((path, step) => (typeof step === 'number' ? `${path}[${step}]` : path ? `${path}.${step}` : step), '');
}

/** The steps to the first entry picked, innermost last. */
function stepsToFirst(value: unknown, picks: (key: string, item: unknown) => boolean): (string | number)[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (picks(String(i), value[i])) return [i];
      const inner = stepsToFirst(value[i], picks);
      if (inner) return [i, ...inner];
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (picks(key, item)) return [key];
    const inner = stepsToFirst(item, picks);
    if (inner) return [key, ...inner];
  }
  return undefined;
}

const holdsNul = (text: string) => text.includes('\0');

/** Where the first text holding a NUL character is, a key or a value; '' for a value that is such a text itself. */
export function nulCharacterPath(value: unknown): string | undefined {
  if (typeof value === 'string') return holdsNul(value) ? '' : undefined;
  return pathOfFirst(value, (key, item) => holdsNul(key) || (typeof item === 'string' && holdsNul(item)));
}
