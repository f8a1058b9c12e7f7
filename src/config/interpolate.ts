import { registerSecret } from '../core/secrets.js';

export interface InterpolationResult {
  value: unknown;
  /** `path: VAR` for every variable that was not set. */
  missing: { path: string; variable: string }[];
  /** Settings with a `${` that starts no variable (`${TOKEN` unclosed, `${1X}`): kept as text, it would have been sent as a secret. */
  malformed: string[];
  /** Settings that are one variable and nothing else (`port: ${SMTP_PORT}`), with its name: their value may be read as a number or true/false (typed-variables.ts). */
  whole: Map<string, string>;
}

const VARIABLE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** A whole value that is one `${VAR}` and nothing else. */
export const WHOLE_VARIABLE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;
/** `$${` (a literal), or a `${` not followed by a variable's name and `}`. */
const NOT_A_VARIABLE = /\$\$\{|\$\{(?![A-Za-z_][A-Za-z0-9_]*\})/g;
/**
 * Settings named like a credential. Their values from the environment are masked in all output
 * even where no definition lists them as secret (a provider's secretKeys, alerts.webhook.secret and
 * the store's password are registered by validate.ts). Other values from the environment (a port,
 * a host, a sender) are not: masked, they hid the setting a message was about, and a number masked
 * in a `--json` document made it unreadable. A `url` (alerts.webhook.url, store.url) may carry a
 * token in its path; so may a longer value built around a variable (maybeToken).
 */
const CREDENTIAL_NAME = /(token|key|secret|pass|password|credential|signature)$|^(url|user)$/i;
/**
 * A variable inside a longer value (`https://gw.example.com/${GW_TOKEN}/`) is masked when its value
 * could be a token: 8 characters or more, not only digits (a port stays readable).
 */
const maybeToken = (value: string) => value.length >= 8 && !/^\d+$/.test(value);

/**
 * Replaces `${VAR}` in every string of the parsed config with the environment's value
 * (`$${` writes a literal `${`). Values of settings named like a credential are registered as
 * secrets (CREDENTIAL_NAME).
 * Missing variables are reported, not thrown, so the caller decides how strict to be; they are
 * left in place as `${VAR}`.
 */
export function interpolateEnv(input: unknown, env: NodeJS.ProcessEnv): InterpolationResult {
  const missing: InterpolationResult['missing'] = [];
  const malformed: InterpolationResult['malformed'] = [];
  const whole = new Map<string, string>();
  const walk = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') {
      const isWhole = WHOLE_VARIABLE.test(value);
      if (isWhole) whole.set(path, value.slice(2, -1));
      // Told by the setting alone: its text may be a secret (a password holding "${").
      if ([...value.matchAll(NOT_A_VARIABLE)].some((found) => found[0] === '${')) malformed.push(path);
      return value.replace(VARIABLE, (match, name: string | undefined) => {
        if (name === undefined) return '${';
        const found = env[name];
        if (found === undefined || found === '') {
          missing.push({ path, variable: name });
          return match;
        }
        if (CREDENTIAL_NAME.test(path.slice(path.lastIndexOf('.') + 1)) || (!isWhole && maybeToken(found))) registerSecret(found);
        return found;
      });
    }
    if (Array.isArray(value)) return value.map((item, i) => walk(item, `${path}[${i}]`));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, path ? `${path}.${key}` : key)]));
    }
    return value;
  };
  return { value: walk(input, ''), missing, malformed, whole };
}
