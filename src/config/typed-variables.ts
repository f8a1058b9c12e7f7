import { ConfigError } from '../core/errors.js';
import type { Config } from './types.js';
import { validateConfig } from './validate.js';

/** A problem that a number or true/false would answer ("must be a number", "a weight is a positive number", "e.g. 50"). */
const WANTS_NUMBER_OR_BOOLEAN = /number|true or false|e\.g\. \d/;

/**
 * Validates the config; where a setting that must be a number or true/false is one variable
 * (`port: ${SMTP_PORT}`, which YAML reads as text) and the variable's value reads as one
 * (`2525`, `false`), it is taken as that and the config checked again. A problem left at such a
 * setting names its variable (`providers.smtp.port: must be a number (the value of $SMTP_PORT)`).
 * `whole`: the settings that are one variable, and its name.
 */
export function validateTypedVariables(value: unknown, whole: Map<string, string>, options: Parameters<typeof validateConfig>[1]): Config {
  // The file's schema is checked before each provider's: a round for each.
  for (let round = 1; ; round++) {
    try {
      return validateConfig(value, options);
    } catch (error) {
      if (!(error instanceof ConfigError) || whole.size === 0) throw error;
      let changed = false;
      const [heading, ...problems] = error.message.split('\n  ');
      for (const problem of problems) {
        const [, path, said] = /^(.+?): (.*)$/s.exec(problem) ?? [];
        if (!path || !whole.has(path) || !WANTS_NUMBER_OR_BOOLEAN.test(said)) continue;
        const text = String(valueAt(value, path)).trim();
        const typed = text === 'true' ? true : text === 'false' ? false : /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
        if (typed !== undefined && typeof valueAt(value, path) === 'string') changed = setValueAt(value, path, typed) || changed;
      }
      if (!changed || round === 3) {
        const named = problems.map((problem) => {
          const variable = whole.get(problem.slice(0, problem.indexOf(': ')));
          return variable ? `${problem} (the value of $${variable})` : problem;
        });
        throw new ConfigError([heading, ...named].join('\n  '), error.hint);
      }
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
