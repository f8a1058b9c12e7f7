import { ConfigError } from '../core/errors.js';
import { interpolateEnv } from './interpolate.js';
import type { LoadOptions } from './load.js';
import type { Config } from './types.js';
import { isWebhookSetting, unsetVariableLine } from './unresolved-env.js';
import { validateTypedVariables } from './typed-variables.js';

/**
 * A config given as an object (the file's shape, `${VAR}`s included): the library's
 * `createMailer({ config: {…} })`, and every file once parsed. Relative paths resolve from baseDir.
 */
export function configFromObject(raw: unknown, options: Pick<LoadOptions, 'env' | 'requireEnv' | 'warn'> & { filePath?: string; baseDir: string }): Config {
  const label = options.filePath ?? 'config';
  const { value, missing, malformed, whole } = interpolateEnv(raw, options.env ?? process.env);
  if (malformed.length > 0) {
    const lines = malformed.map((path) => `${path}: holds a \${ that starts no variable: write \${NAME} (letters, digits and _, then }), or $\${ for a literal \${`);
    throw new ConfigError(`invalid config${options.filePath ? ` ${options.filePath}` : ''}:\n  ${lines.join('\n  ')}`, 'close each variable with }');
  }
  // A provider's own secrets are needed only when a message goes through it (SPEC send): they are
  // checked against the route's chain (assertChainResolved), not here.
  const ofProvider = (path: string) => /^providers\.[^.[]+/.exec(path)?.[0].slice('providers.'.length);
  const needed = missing.filter((m) => ofProvider(m.path) === undefined);
  if (needed.length > 0 && options.requireEnv !== false) {
    throw new ConfigError(`config ${label}:\n  ${needed.map(unsetVariableLine).join('\n  ')}`, `export ${needed[0].variable}=… before running penguinmails`);
  }
  let config: Config;
  try {
    config = validateTypedVariables(value, whole, { filePath: options.filePath, baseDir: options.baseDir });
  } catch (error) {
    throw options.requireEnv === false ? namingUnsetVariables(error, missing, label) : error;
  }
  if (options.requireEnv === false) {
    // A provider's own are said once the route is known, for the providers of its chain only (unsetInChain).
    for (const m of needed) options.warn?.(`config ${label}: ${unsetVariableLine(m)} (a real send would stop here)`);
    // A sender of `${FROM}` is none: a message without --from is then told it has no sender.
    if (needed.some((m) => m.path === 'defaults.from')) delete config.defaults.from;
  }
  // Only with requireEnv false (a command that sends nothing): the alert webhook stays silent.
  const alertSecret = missing.find((m) => m.path === 'alerts.webhook.secret');
  if (alertSecret && config.alerts.webhook) config.alerts.webhook.unresolvedVariable = alertSecret.variable;
  for (const m of missing) {
    const provider = ofProvider(m.path);
    if (provider === undefined) continue;
    // A webhook's secret is not needed to send: only that provider's webhook waits for it.
    const unresolved = isWebhookSetting(config, provider, m.path) ? config.unresolvedWebhookEnv : config.unresolvedEnv;
    (unresolved[provider] ??= []).push(m);
  }
  return config;
}

/**
 * A command that sends nothing reads a config whose variables are not all set, each left as its
 * `${VAR}` text: a setting that is not free text (a duration, a provider's name) then fails its
 * check. Such a problem is told as the unset variable, not as `${VAR}` being no duration.
 */
function namingUnsetVariables(error: unknown, missing: { path: string; variable: string }[], label: string): unknown {
  if (!(error instanceof ConfigError) || missing.length === 0) return error;
  const unsetAt = new Map(missing.map((m) => [m.path, m]));
  const [heading, ...problems] = error.message.split('\n  ');
  const told = problems.map((problem) => unsetAt.get(problem.slice(0, problem.indexOf(': '))) ?? problem);
  const unset = told.filter((line) => typeof line !== 'string');
  if (unset.length === 0) return error;
  const lines = told.map((line) => (typeof line === 'string' ? line : unsetVariableLine(line)));
  // Only unset variables: said as a real send says it; with other problems, as the file's.
  const onlyUnset = unset.length === told.length;
  return new ConfigError(`${onlyUnset ? `config ${label}:` : heading}\n  ${lines.join('\n  ')}`, onlyUnset ? `export ${unset[0].variable}=… before running penguinmails` : error.hint);
}
