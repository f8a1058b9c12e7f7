import { ConfigError } from '../core/errors.js';
import { findProviderDefinition } from '../providers/registry.js';
import type { Config } from './types.js';

/** Whether a config path (providers.<name>.…) is one of the settings of that provider's webhook. */
export function isWebhookSetting(config: Pick<Config, 'providers'>, provider: string, path: string): boolean {
  const type = config.providers[provider]?.type;
  const keys = (type && findProviderDefinition(type)?.webhook?.configKeys) || [];
  return keys.some((key) => {
    const at = `providers.${provider}.${key}`;
    return path === at || path.startsWith(`${at}.`) || path.startsWith(`${at}[`);
  });
}

/** How an unset variable is told, wherever it is: `failover.retry.delay: environment variable RETRY_DELAY is not set`. */
export function unsetVariableLine(unset: { path: string; variable: string }): string {
  return `${unset.path}: environment variable ${unset.variable} is not set`;
}

/**
 * Fails (exit 2) when a provider of this chain refers to an environment variable that is not set;
 * providers the message will not use may lack theirs.
 */
export function assertChainResolved(config: Config, chain: string[]): void {
  const missing = chain.flatMap((name) => config.unresolvedEnv[name] ?? []);
  if (missing.length === 0) return;
  throw new ConfigError(
    `config ${config.filePath ?? ''}:\n  ${missing.map(unsetVariableLine).join('\n  ')}`,
    `export ${missing[0].variable}=… before running penguinmails, or leave that provider out of the chain (--provider, --no-failover, routing)`,
  );
}

/**
 * A dry run's warnings (a command that sends nothing reads the config without the variables): the
 * providers of the chain whose variables are not set, at which a real send would stop. Providers
 * the message would not go through are not named: they do not matter to it.
 */
export function unsetInChain(config: Config, chain: string[]): string[] {
  const label = config.filePath ? `config ${config.filePath}: ` : '';
  return chain.flatMap((name) => (config.unresolvedEnv[name] ?? []).map((m) => `${label}${unsetVariableLine(m)} (a real send through ${name} would stop here)`));
}
