import { ConfigError } from '../core/errors.js';
import type { Config } from './types.js';

/**
 * Fails (exit 2) when a provider of this chain refers to an environment variable that is not set;
 * providers the message will not use may lack theirs.
 */
export function assertChainResolved(config: Config, chain: string[]): void {
  const missing = chain.flatMap((name) => config.unresolvedEnv[name] ?? []);
  if (missing.length === 0) return;
  const lines = missing.map((m) => `${m.path}: environment variable ${m.variable} is not set`);
  throw new ConfigError(
    `config ${config.filePath ?? ''}:\n  ${lines.join('\n  ')}`,
    `export ${missing[0].variable}=… before running penguinmails, or leave that provider out of the chain (--provider, --no-failover, routing)`,
  );
}
