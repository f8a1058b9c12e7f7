import type { IdempotencyPolicy } from '../core/idempotency.js';
import type { RateLimit } from '../core/rate-limit.js';
import type { ConfigFile } from './schema.js';

/** The checked config every command and the library work from (built by validate.ts). */
export interface ProviderEntry {
  name: string;
  type: string;
  /** The adapter's parsed config (its `configSchema` output). */
  settings: { type: string } & Record<string, unknown>;
  timeoutMs: number;
  plan?: string;
  /** `rateLimit`: send-side limits, shortest window first; empty = none. */
  rateLimits: RateLimit[];
}

export interface FailoverPolicy {
  enabled: boolean;
  order: string[];
  retry: { attempts: number; delayMs: number; maxRetryAfterMs: number };
  resendAmbiguous: boolean;
  health: { failureThreshold: number; cooldownMs: number };
}

/** Where everything durable lives: the embedded SQLite file, or a PostgreSQL database shared by many processes. */
export type StoreSettings =
  /** configKey: where the path was set (store, or the older failover.outbox), for messages. */
  | { kind: 'sqlite'; path: string; label: string; configKey: string }
  | { kind: 'postgres'; url: string; poolSize: number; statementTimeoutMs: number; schema: string; label: string }
  /** `store: ${VAR}` with VAR not set (allowed for commands that open no store). */
  | { kind: 'unresolved'; variable: string; label: string };

export interface ServerSettings {
  host: string;
  port: number;
  requestBudgetMs: number;
  bodyLimitBytes: number;
  /** How long a request may take to arrive (408 past it). */
  bodyTimeoutMs: number;
  shutdownGraceMs: number;
  rateLimit: { max: number; windowMs: number };
}

export interface WorkerPolicy {
  enabled: boolean;
  /** The first wait before a retry, doubling per try up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Entries older than this become `expired`. */
  maxAgeMs: number;
  intervalMs: number;
}

export interface EventSettings {
  /** Events received longer ago are pruned by `serve`; 0 keeps them. */
  retentionMs: number;
}

export interface AlertSettings {
  /** Repeats of an alert (kind, provider, next provider) within this are folded into the first. */
  coalesceMs: number;
  webhook?: {
    url: string;
    secret: string;
    timeoutMs: number;
    retries: number;
    queueLimit: number;
    /** `${VAR}` of the secret not set (a command that sends nothing): no POST is made. */
    unresolvedVariable?: string;
  };
}

export interface Config {
  /** The file it came from; undefined for the built-in defaults. */
  filePath?: string;
  defaults: ConfigFile['defaults'];
  providers: Record<string, ProviderEntry>;
  failover: FailoverPolicy;
  store: StoreSettings;
  idempotency: IdempotencyPolicy;
  server: ServerSettings;
  worker: WorkerPolicy;
  events: EventSettings;
  alerts: AlertSettings;
  routing: ConfigFile['routing'];
  pricing: ConfigFile['pricing'];
  /** Providers whose `${VAR}`s are not set, by name: usable only once they are (see assertChainResolved). */
  unresolvedEnv: Record<string, { path: string; variable: string }[]>;
  /** Likewise for the settings of providers' webhooks (a provider sends without them; its webhook answers 503). */
  unresolvedWebhookEnv: Record<string, { path: string; variable: string }[]>;
}
