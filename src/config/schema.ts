import * as z from 'zod';
import { checkBaseUrl } from '../core/loopback.js';
import { planSchema } from './plan-schema.js';
import { parseDuration } from '../core/duration.js';
import { byteSizeSchema, durationSchema } from './value-schemas.js';

/** A whole value that is one `${VAR}` placeholder (left as written when VAR is not set). */
const UNSET_VARIABLE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

const messageType = z.enum(['transactional', 'marketing']);
const priority = z.enum(['normal', 'critical']);
const providerChain = z.array(z.string().min(1)).min(1, 'give at least one provider');

export const pricingOverrideSchema = z.strictObject({
  /** Replaces the provider's built-in plans. */
  plans: z.array(planSchema).min(1).optional(),
  /** Flat monthly cost (e.g. SMTP infrastructure). */
  monthly: z.number().min(0).optional(),
  /** Pins the plan by name instead of choosing the cheapest. */
  plan: z.string().min(1).optional(),
  /** A monthly spending cap (USD), priced by the cost model from the usage ledger, and what reaching it does. */
  budget: z
    .strictObject({
      monthly: z.number({ error: 'give the monthly budget in US dollars, e.g. 50' }).positive('a budget is a positive amount of US dollars'),
      action: z.enum(['failover', 'queue', 'warn'], { error: 'give failover (skip the provider), queue (hold in the outbox) or warn (send anyway)' }),
    })
    .optional(),
});

/** `outlook.com`, or `*.example.com` for its subdomains. */
const domainPattern = z
  .string()
  .regex(/^(\*\.)?([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*$/, 'a domain like outlook.com, or *.example.com for its subdomains');

export const routingRuleSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    when: z
      .strictObject({
        type: messageType.optional(),
        priority: priority.optional(),
        monthlyVolume: z
          .strictObject({ below: z.number().int().min(0).optional(), atLeast: z.number().int().min(0).optional() })
          .refine((v) => v.below !== undefined || v.atLeast !== undefined, 'give below and/or atLeast')
          .optional(),
        /** Matches when the chain's first provider still has free-tier emails this month. */
        freeTierLeft: z.boolean().optional(),
        /** Matches when every recipient (To, Cc, Bcc) is at one of these domains. */
        recipientDomain: z.array(domainPattern).min(1, 'give at least one domain').optional(),
      })
      .default({}),
    /** The chain; with `split`, the fallbacks tried after the split's pick. */
    use: providerChain.optional(),
    /** Weighted split by provider name: `{ mailgun: 90, ses: 10 }` (weights, not necessarily percent). */
    split: z
      .record(z.string(), z.number({ error: 'a weight is a positive number' }).positive('a weight is a positive number'))
      .refine((weights) => Object.keys(weights).length > 0, 'give at least one provider and its weight')
      .optional(),
  })
  .superRefine((rule, ctx) => {
    if (!rule.use && !rule.split) ctx.addIssue({ code: 'custom', path: ['use'], message: 'give the provider chain (use), or a weighted split (split) with optional fallbacks in use' });
  })
  .transform((rule) => ({ ...rule, use: rule.use ?? [] }));

/** The config file, before providers are checked against their adapters' schemas. */
export const configFileSchema = z.strictObject({
  defaults: z
    .strictObject({
      from: z.string().optional(),
      type: messageType.default('transactional'),
      trackOpens: z.boolean().optional(),
      trackLinks: z.boolean().optional(),
    })
    .default({ type: 'transactional' }),
  providers: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'provider names use letters, digits, - and _'), z.unknown()).default({}),
  failover: z
    .strictObject({
      enabled: z.boolean().default(true),
      order: providerChain.optional(),
      retry: z
        .strictObject({
          attempts: z.number().int().min(1, 'attempts counts tries per provider: at least 1').max(10, 'at most 10 tries per provider'),
          delay: durationSchema,
          /** A Retry-After longer than this moves on to the next provider instead of waiting. */
          maxRetryAfter: durationSchema.optional(),
        })
        .partial()
        .default({}),
      outbox: z.string().min(1).default('.penguinmails/outbox.db'),
      /** Resend after an ambiguous outcome (timeout after hand-over). Off: such messages wait in the outbox. */
      resendAmbiguous: z.boolean().default(false),
      health: z
        .strictObject({ failureThreshold: z.number().int().min(1).default(3), cooldown: durationSchema.default('5m') })
        .default({ failureThreshold: 3, cooldown: '5m' }),
    })
    .default({ enabled: true, retry: {}, outbox: '.penguinmails/outbox.db', resendAmbiguous: false, health: { failureThreshold: 3, cooldown: '5m' } }),
  /**
   * Where everything durable lives (SPEC store): a SQLite file path, or a postgres:// URL — as a
   * string, or as { url, poolSize, statementTimeout, schema } to tune the PostgreSQL pool.
   * Unset: failover.outbox (the older key), .penguinmails/outbox.db by default.
   */
  store: z
    .union([
      z.string().min(1, 'give a SQLite file path or a postgres:// URL'),
      z.strictObject({
        url: z.string().min(1, 'give a SQLite file path or a postgres:// URL'),
        /** Connections per process (PostgreSQL). */
        poolSize: z.number().int().min(1, 'at least 1 connection').max(100, 'at most 100 connections per process').default(10),
        /** A statement running longer is cancelled (PostgreSQL). */
        statementTimeout: durationSchema.default('30s'),
        /** The PostgreSQL schema holding penguinmails' tables (created on first use). */
        schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a schema name: lower-case letters, digits and _').default('penguinmails'),
      }),
    ])
    .optional(),
  /** How long a send is remembered to stop repeats (SPEC send → Idempotency). */
  idempotency: z
    .strictObject({
      /** A key derived from the content only guards against repeats this recent (0: not at all). */
      window: durationSchema.default('10m'),
      /** An explicit key is delivered at most once for this long. */
      keep: durationSchema.default('30d'),
    })
    .default({ window: '10m', keep: '30d' }),
  /** `penguinmails serve`: the platform API. */
  server: z
    .strictObject({
      listen: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'give host:port, e.g. 127.0.0.1:8025').default('127.0.0.1:8025'),
      /** A request never waits longer: what is left goes on in the background and the answer is 202. */
      requestBudget: durationSchema.default('10s'),
      bodyLimit: byteSizeSchema.default('10MB'),
      /** On SIGTERM/SIGINT: how long sends under way may take to finish. */
      shutdownGrace: durationSchema.default('30s'),
      /** Requests per API key per window. */
      rateLimit: z.strictObject({ max: z.number().int().min(1).default(600), window: durationSchema.default('1m') }).default({ max: 600, window: '1m' }),
    })
    .default({ listen: '127.0.0.1:8025', requestBudget: '10s', bodyLimit: '10MB', shutdownGrace: '30s', rateLimit: { max: 600, window: '1m' } }),
  /** The outbox worker (`serve`, `queue work`): retries waiting messages by itself. */
  worker: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** The first wait before a retry (default: failover.retry.delay), doubling up to maxBackoff. */
      backoff: durationSchema.optional(),
      maxBackoff: durationSchema.default('1h'),
      /** An entry not delivered this long after it was stored becomes `expired`. */
      maxAge: durationSchema.default('72h'),
      /** How often the worker looks for due entries. */
      interval: durationSchema.default('5s'),
    })
    .default({ enabled: true, maxBackoff: '1h', maxAge: '72h', interval: '5s' }),
  /** Delivery events from the providers' webhooks (`serve`). */
  events: z
    .strictObject({
      /** Events received longer ago are removed (0: kept for ever). Suppressions are kept regardless. */
      retention: durationSchema.default('30d'),
    })
    .default({ retention: '30d' }),
  /** Operator alerts (issue #22): failovers, circuits opening, caps reached → events, metrics, a signed webhook. */
  alerts: z
    .strictObject({
      /** Repeats of the same alert (kind, provider, next provider) this soon after one are folded into it. */
      coalesce: durationSchema.default('1m'),
      webhook: z
        .strictObject({
          url: z
            .string()
            .min(1, 'give the https:// URL alerts are POSTed to')
            .superRefine((url, context) => {
              const problem = checkBaseUrl(url);
              if (problem) context.addIssue({ code: 'custom', message: problem });
            }),
          /** Signs each POST (HMAC-SHA256); use ${ENV}, never the value itself. */
          // An unset ${VAR} stays as written until a command needs it (see unresolved-env.ts): only a
          // real secret is held to the length.
          secret: z.string().refine((value) => UNSET_VARIABLE.test(value) || value.length >= 16, 'give a secret of at least 16 characters (e.g. "${ALERT_SECRET}")'),
          timeout: durationSchema.refine((value) => parseDuration(value) !== 0, 'must be longer than 0 (e.g. 5s)').default('5s'),
          /** Tries after the first one, with doubling waits (1s, 2s, 4s…), on errors, timeouts and 5xx/429. */
          retries: z.number().int().min(0).max(10, 'at most 10 retries').default(3),
          /** Alerts waiting to be POSTed at most; past it the oldest are dropped (they stay in the events store). */
          queueLimit: z.number().int().min(1).max(100_000).default(1000),
        })
        .optional(),
    })
    .default({ coalesce: '1m' }),
  routing: z.strictObject({ rules: z.array(routingRuleSchema).default([]) }).default({ rules: [] }),
  pricing: z.record(z.string(), pricingOverrideSchema).default({}),
});

export type ConfigFile = z.infer<typeof configFileSchema>;
export type RoutingRule = z.infer<typeof routingRuleSchema>;
export type PricingOverride = z.infer<typeof pricingOverrideSchema>;
export type MessageTypeName = z.infer<typeof messageType>;
