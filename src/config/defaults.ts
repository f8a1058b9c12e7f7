import path from 'node:path';
import type { Config } from './types.js';

/** The outbox file when nothing says otherwise (schema.ts: failover.outbox). */
const DEFAULT_OUTBOX = '.penguinmails/outbox.db';
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The Config of no config file at all: what `validateConfig({})` gives, written out so that a
 * command that runs without a file (`cost estimate`) loads neither zod nor the adapters' schemas.
 * test/unit/config-defaults.test.ts holds it equal to validateConfig({}): a default added to
 * schema.ts must be added here too.
 */
export function defaultConfig(baseDir: string): Config {
  const outbox = path.resolve(baseDir, DEFAULT_OUTBOX);
  return {
    filePath: undefined,
    defaults: { type: 'transactional' },
    providers: {},
    failover: {
      enabled: true,
      order: [],
      retry: { attempts: 3, delayMs: 30 * SECOND, maxRetryAfterMs: 2 * MINUTE },
      resendAmbiguous: false,
      health: { failureThreshold: 3, cooldownMs: 5 * MINUTE },
    },
    store: { kind: 'sqlite', path: outbox, label: outbox, configKey: 'failover.outbox' },
    idempotency: { windowMs: 10 * MINUTE, keepMs: 30 * DAY },
    server: { host: '127.0.0.1', port: 8025, requestBudgetMs: 10 * SECOND, bodyLimitBytes: 10_000_000, bodyTimeoutMs: 60 * SECOND, shutdownGraceMs: 30 * SECOND, rateLimit: { max: 600, windowMs: MINUTE } },
    worker: { enabled: true, backoffMs: 30 * SECOND, maxBackoffMs: HOUR, maxAgeMs: 72 * HOUR, intervalMs: 5 * SECOND },
    events: { retentionMs: 30 * DAY },
    alerts: { coalesceMs: MINUTE },
    routing: { rules: [] },
    pricing: {},
    unresolvedEnv: {},
    unresolvedWebhookEnv: {},
  };
}
