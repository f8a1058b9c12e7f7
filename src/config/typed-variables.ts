import { ConfigError } from '../core/errors.js';
import type { Config } from './types.js';
import { validateConfig } from './validate.js';

/**
 * Validates the config; where a setting that must be a number or true/false is one variable
 * (`port: ${SMTP_PORT}`, which YAML reads as text) and the variable's value reads as one
 * (`2525`, `false`), it is taken as that and the config checked again. Any other value is
 * left to fail as it is.
 */
export function validateTypedVariables(value: unknown, whole: Set<string>, options: Parameters<typeof validateConfig>[1]): Config {
  // The file's schema is checked before each provider's: a round for each.
  for (let round = 1; ; round++) {
    try {
      return validateConfig(value, options);
    } catch (error) {
      if (!(error instanceof ConfigError) || whole.size === 0 || round === 3) throw error;
      let changed = false;
      for (const problem of error.message.split('\n  ').slice(1)) {
        const [, path, expected] = /^(.+?): must be (a number|a whole number|true or false)$/.exec(problem) ?? [];
        if (!path || !whole.has(path)) continue;
        const text = String(valueAt(value, path)).trim();
        const typed = expected === 'true or false' ? ({ true: true, false: false } as Record<string, boolean>)[text] : /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
        if (typed !== undefined) changed = setValueAt(value, path, typed) || changed;
      }
      if (!changed) throw error;
    }
  }
}

/** The steps of a config path (`providers.smtp.port`, `routing.rules[0].use`). */
const pathSteps = (path: string) => path.split(/\.|\[(\d+)\]/).filter((step) => step !== undefined && step !== '');

function valueAt(root: unknown, path: string): unknown {
  return pathSteps(path).reduce<unknown>((node, step) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[step] : undefined), root);
}

function setValueAt(root: unknown, path: string, typed: unknown): boolean {
  const steps = pathSteps(path);
  const parent = valueAt(root, steps.slice(0, -1).join('.'));
  if (!parent || typeof parent !== 'object') return false;
  (parent as Record<string, unknown>)[steps.at(-1)!] = typed;
  return true;
}
