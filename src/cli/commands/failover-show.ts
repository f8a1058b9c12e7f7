import path from 'node:path';
import type { Command } from 'commander';
import { findConfigFile } from '../../config/load.js';
import { failoverOrderUsage, onlyFirstTried, orderIsShadowed, routingLines, summariseRouting } from '../../config/effective-routes.js';
import { interpolateEnv } from '../../config/interpolate.js';
import { validateTypedVariables } from '../../config/typed-variables.js';
import { formatDuration } from '../../core/duration.js';
import { ConfigError, ExitCode } from '../../core/errors.js';
import type { Output } from '../output.js';

export async function run(options: Record<string, unknown>, output: Output, _command?: Command, _args?: string[]): Promise<number> {
  const found = await findConfigFile({ configPath: options.config as string | undefined });
  if (!found) {
    throw new ConfigError('no penguinmails config found (looked for penguinmails.config.yaml, .penguinmailsrc.yaml, package.json#penguinmails)', 'run `penguinmails failover configure` to create one, or pass --config <file>');
  }
  // Showing settings needs no secrets: a missing ${VAR} stays as written.
  const { value, whole } = interpolateEnv(found.raw, process.env);
  const config = validateTypedVariables(value, whole, { filePath: found.filePath, baseDir: path.dirname(found.filePath) });
  const { failover } = config;
  const rawFailover = (found.raw as { failover?: { order?: unknown } } | null)?.failover;
  const orderSource = Array.isArray(rawFailover?.order) ? 'failover.order' : 'providers';
  const chain = failover.order.map((name, i) => ({ position: i + 1, name, type: config.providers[name]?.type ?? 'unknown' }));
  const routing = summariseRouting(config.routing.rules, failover.order, failover.enabled);

  if (output.json) {
    output.emitJson({
      status: 'ok',
      config: found.filePath,
      enabled: failover.enabled,
      order: failover.order,
      orderSource,
      chain,
      retry: {
        attempts: failover.retry.attempts,
        delay: formatDuration(failover.retry.delayMs),
        delayMs: failover.retry.delayMs,
        maxRetryAfter: formatDuration(failover.retry.maxRetryAfterMs),
        maxRetryAfterMs: failover.retry.maxRetryAfterMs,
      },
      health: { failureThreshold: failover.health.failureThreshold, cooldown: formatDuration(failover.health.cooldownMs), cooldownMs: failover.health.cooldownMs },
      outbox: config.store.label,
      store: config.store.kind,
      resendAmbiguous: failover.resendAmbiguous,
      routingRules: config.routing.rules.length,
      routes: routing.routes,
      failoverOrderUsedFor: routing.failoverOrderUsedFor,
    });
    return ExitCode.ok;
  }

  const { c } = output;
  const roles = ['primary', 'fallback', 'final fallback'];
  const label = (text: string) => c.dim(text.padEnd(10));
  output.line(`${label('config')}${found.filePath}`);
  output.line(`${label('failover')}${failover.enabled ? c.ok('enabled') : c.warn('disabled')}${failover.enabled ? '' : ` — ${onlyFirstTried(failover.order, config.routing.rules.length > 0)}`}`);
  output.line(`${label('chain')}${failover.order.map((name) => c.accent(name)).join(' → ') || c.warn('(no providers configured)')}${orderSource === 'providers' ? c.dim('  (failover.order not set: providers in file order)') : ''}`);
  chain.forEach((entry, i) => output.line(`${' '.repeat(10)}${entry.position}. ${entry.name} ${c.dim(`(${entry.type}) ${roles[i] ?? 'fallback'}`)}`));
  const { attempts, delayMs, maxRetryAfterMs } = failover.retry;
  output.line(`${label('retry')}${attempts} ${attempts === 1 ? 'try' : 'tries'} per provider, ${formatDuration(delayMs)} apart; a Retry-After over ${formatDuration(maxRetryAfterMs)} moves on to the next provider`);
  output.line(`${label('health')}a provider is skipped after ${failover.health.failureThreshold} failures in a row, for ${formatDuration(failover.health.cooldownMs)}`);
  output.line(`${label('outbox')}${config.store.label}`);
  output.line(`${label('ambiguous')}${failover.resendAmbiguous ? 'resent on the next provider (resendAmbiguous: true)' : 'kept in the outbox, never resent blindly'}`);
  if (config.routing.rules.length > 0) {
    const count = config.routing.rules.length;
    output.line(`${label('routing')}${count} routing rule${count === 1 ? '' : 's'}, checked first; the chain each message gets:`);
    for (const line of routingLines(routing, { chain: c.accent, dim: c.dim })) output.line(`${' '.repeat(10)}${line}`);
    const usage = failoverOrderUsage(routing);
    output.line(`${' '.repeat(10)}${orderIsShadowed(routing) ? c.warn(usage) : c.dim(usage)}`);
  }
  return ExitCode.ok;
}
