import { registerSecret } from '../core/secrets.js';

export interface InterpolationResult {
  value: unknown;
  /** `path: VAR` for every variable that was not set. */
  missing: { path: string; variable: string }[];
}

const VARIABLE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces `${VAR}` in every string of the parsed config with the environment's value
 * (`$${` writes a literal `${`). Values taken from the environment are registered as secrets.
 * Missing variables are reported, not thrown, so the caller decides how strict to be; they are
 * left in place as `${VAR}`.
 */
export function interpolateEnv(input: unknown, env: NodeJS.ProcessEnv): InterpolationResult {
  const missing: InterpolationResult['missing'] = [];
  const walk = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') {
      return value.replace(VARIABLE, (match, name: string | undefined) => {
        if (name === undefined) return '${';
        const found = env[name];
        if (found === undefined || found === '') {
          missing.push({ path, variable: name });
          return match;
        }
        registerSecret(found);
        return found;
      });
    }
    if (Array.isArray(value)) return value.map((item, i) => walk(item, `${path}[${i}]`));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, path ? `${path}.${key}` : key)]));
    }
    return value;
  };
  return { value: walk(input, ''), missing };
}
