import { parseByteSize } from '../core/byte-size.js';
import { parseDuration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { parseRateLimits } from '../core/rate-limit.js';
import { registerSecret } from '../core/secrets.js';
import { closestMatch } from '../core/suggest.js';
import { findProviderDefinition, PROVIDER_TYPES } from '../providers/registry.js';
import { describeIssues } from './issues.js';
import { configFileSchema, type ConfigFile } from './schema.js';
import { storeSettings } from './store-settings.js';
import type { AlertSettings, Config, ProviderEntry, ServerSettings } from './types.js';

export { formatIssuePath } from './issues.js';

export const DEFAULT_PROVIDER_TIMEOUT_MS = 30_000;

/**
 * zod compiles a fast path (new Function) for an object schema on its first parse, which pays off
 * only over many parses; a config is checked once per process, and compiling took about half the
 * time of checking the example config (#21 start-up). Same result, no compiling.
 */
const ONE_PARSE = { jitless: true } as const;


function unknownProviderProblem(where: string, name: string, known: string[]): string {
  const suggestion = closestMatch(name, known);
  return `${where}: unknown provider "${name}" (known: ${known.join(', ') || 'none configured'})${suggestion ? ` — did you mean "${suggestion}"?` : ''}`;
}

/**
 * Turns the parsed YAML into a checked Config. Pure: no file or environment access.
 * Throws one ConfigError listing every problem, each with its path in the file.
 */
export function validateConfig(raw: unknown, options: { filePath?: string; baseDir: string }): Config {
  const parsed = configFileSchema.safeParse(raw ?? {}, ONE_PARSE);
  // `invalid config /path/to/file.yaml:`, or `invalid config:` for a config given as an object (the library).
  const fileLabel = options.filePath ? ` ${options.filePath}` : '';
  if (!parsed.success) {
    throw new ConfigError(`invalid config${fileLabel}:\n  ${describeIssues(parsed.error.issues, raw ?? {}, configFileSchema).join('\n  ')}`, 'see penguinmails.config.example.yaml for every key');
  }
  const file = parsed.data;
  const problems: string[] = [];

  const providers: Record<string, ProviderEntry> = {};
  for (const [name, entry] of Object.entries(file.providers)) {
    const type = (entry as { type?: unknown })?.type;
    const definition = typeof type === 'string' ? findProviderDefinition(type) : undefined;
    if (!definition) {
      const shown = typeof type === 'string' ? `unknown provider type "${type}"` : 'missing "type"';
      problems.push(`providers.${name}.type: ${shown} (known: ${PROVIDER_TYPES.join(', ')})`);
      continue;
    }
    const result = definition.configSchema.safeParse(entry, ONE_PARSE);
    if (!result.success) {
      problems.push(...describeIssues(result.error.issues, entry, definition.configSchema, ['providers', name]));
      continue;
    }
    const settings = result.data as ProviderEntry['settings'];
    for (const key of definition.secretKeys) registerSecretsAt(settings, key);
    for (const derived of definition.derivedSecrets?.(settings) ?? []) registerSecret(derived);
    const timeout = settings.timeout as string | number | undefined;
    providers[name] = {
      name,
      type: definition.type,
      settings,
      timeoutMs: timeout === undefined ? DEFAULT_PROVIDER_TIMEOUT_MS : parseDuration(timeout)!,
      plan: settings.plan as string | undefined,
      rateLimits: rateLimitsOf(settings.rateLimit),
    };
  }

  const known = Object.keys(file.providers);
  const checkChain = (chain: string[], where: string) => {
    const seen = new Set<string>();
    chain.forEach((name, i) => {
      if (!known.includes(name)) problems.push(unknownProviderProblem(`${where}[${i}]`, name, known));
      else if (seen.has(name)) problems.push(`${where}[${i}]: "${name}" appears twice in the chain`);
      seen.add(name);
    });
  };
  const order = file.failover.order ?? known;
  if (file.failover.order) checkChain(order, 'failover.order');
  file.routing.rules.forEach((rule, i) => {
    checkChain(rule.use, `routing.rules[${i}].use`);
    for (const name of Object.keys(rule.split ?? {})) {
      if (!known.includes(name)) problems.push(unknownProviderProblem(`routing.rules[${i}].split.${name}`, name, known));
    }
  });
  for (const name of Object.keys(file.pricing)) {
    if (!known.includes(name) && !PROVIDER_TYPES.includes(name)) problems.push(unknownProviderProblem(`pricing.${name}`, name, known));
  }

  const [windowMs, keepMs] = [parseDuration(file.idempotency.window)!, parseDuration(file.idempotency.keep)!];
  if (keepMs === 0) problems.push('idempotency.keep: must be longer than 0 (it is how long an explicit --idempotency-key is delivered at most once)');
  else if (keepMs < windowMs) problems.push(`idempotency.keep: ${file.idempotency.keep} is shorter than idempotency.window (${file.idempotency.window}); an explicit key must hold at least as long as a derived one`);

  const store = storeSettings(file, raw, options.baseDir, problems);

  if (problems.length > 0) {
    throw new ConfigError(`invalid config${fileLabel}:\n  ${problems.join('\n  ')}`, 'fix the keys above; see penguinmails.config.example.yaml');
  }

  const retry = file.failover.retry;
  if (file.alerts.webhook) registerSecret(file.alerts.webhook.secret);
  return {
    filePath: options.filePath,
    defaults: file.defaults,
    providers,
    failover: {
      enabled: file.failover.enabled,
      order,
      retry: {
        attempts: retry.attempts ?? 3,
        delayMs: parseDuration(retry.delay ?? '30s')!,
        maxRetryAfterMs: parseDuration(retry.maxRetryAfter ?? '2m')!,
      },
      resendAmbiguous: file.failover.resendAmbiguous,
      health: { failureThreshold: file.failover.health.failureThreshold, cooldownMs: parseDuration(file.failover.health.cooldown)! },
    },
    store,
    idempotency: { windowMs: parseDuration(file.idempotency.window)!, keepMs: parseDuration(file.idempotency.keep)! },
    server: serverSettings(file.server),
    worker: {
      enabled: file.worker.enabled,
      backoffMs: Math.max(1000, parseDuration(file.worker.backoff ?? retry.delay ?? '30s')!),
      maxBackoffMs: parseDuration(file.worker.maxBackoff)!,
      maxAgeMs: parseDuration(file.worker.maxAge)!,
      intervalMs: parseDuration(file.worker.interval)!,
    },
    events: { retentionMs: parseDuration(file.events.retention)! },
    alerts: alertSettings(file.alerts),
    routing: file.routing,
    pricing: file.pricing,
    unresolvedEnv: {},
    unresolvedWebhookEnv: {},
  };
}

/** The checked `rateLimit` value (the provider's schema has refused a bad one) as limits. */
function rateLimitsOf(value: unknown): ProviderEntry['rateLimits'] {
  if (value === undefined) return [];
  const parsed = parseRateLimits(value);
  return 'limits' in parsed ? parsed.limits : [];
}

function registerSecretsAt(value: unknown, key: string): void {
  if (!value || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    if (k === key && typeof v === 'string') registerSecret(v);
    else registerSecretsAt(v, key);
  }
}

function alertSettings(alerts: ConfigFile['alerts']): AlertSettings {
  const { webhook } = alerts;
  return {
    coalesceMs: parseDuration(alerts.coalesce)!,
    ...(webhook
      ? { webhook: { url: webhook.url, secret: webhook.secret, timeoutMs: parseDuration(webhook.timeout)!, retries: webhook.retries, queueLimit: webhook.queueLimit } }
      : {}),
  };
}

function serverSettings(server: ConfigFile['server']): ServerSettings {
  const at = server.listen.lastIndexOf(':');
  return {
    host: server.listen.slice(0, at).replace(/^\[|\]$/g, ''),
    port: Number(server.listen.slice(at + 1)),
    requestBudgetMs: parseDuration(server.requestBudget)!,
    bodyLimitBytes: parseByteSize(server.bodyLimit)!,
    bodyTimeoutMs: parseDuration(server.bodyTimeout)!,
    shutdownGraceMs: parseDuration(server.shutdownGrace)!,
    rateLimit: { max: server.rateLimit.max, windowMs: parseDuration(server.rateLimit.window)! },
  };
}
