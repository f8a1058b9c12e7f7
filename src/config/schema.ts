import * as z from 'zod/mini';
import './zod.js';
import { checkBaseUrl } from '../core/loopback.js';
import { WHOLE_VARIABLE } from './interpolate.js';
import { planSchema } from './plan-schema.js';
import { parseDuration } from '../core/duration.js';
import { byteSizeSchema, durationSchema, timerDurationSchema } from './value-schemas.js';


const messageType = z.enum(['transactional', 'marketing']);
const priority = z.enum(['normal', 'critical']);
const providerChain = z.array(z.string().check(z.minLength(1))).check(z.minLength(1, 'give at least one provider'));

export const pricingOverrideSchema = z.strictObject({
  /** Replaces the provider's built-in plans. */
  plans: z.optional(z.array(planSchema).check(z.minLength(1))),
  /** Flat monthly cost (e.g. SMTP infrastructure). */
  monthly: z.optional(z.number().check(z.minimum(0))),
  /** Pins the plan by name instead of choosing the cheapest. */
  plan: z.optional(z.string().check(z.minLength(1))),
  /** A monthly spending cap (USD), priced by the cost model from the usage ledger, and what reaching it does. */
  budget: z.optional(
    z.strictObject({
      monthly: z.number({ error: 'give the monthly budget in US dollars, e.g. 50' }).check(z.positive('a budget is a positive amount of US dollars'), z.lte(1_000_000_000, 'at most 1,000,000,000 US dollars a month')),
      action: z.enum(['failover', 'queue', 'warn'], { error: 'give failover (skip the provider), queue (hold in the outbox) or warn (send anyway)' }),
    }),
  ),
});

/** `outlook.com`, or `*.example.com` for its subdomains. */
const domainPattern = z
  .string()
  .check(z.regex(/^(\*\.)?([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*$/, 'a domain like outlook.com, or *.example.com for its subdomains'));

const ruleShape = z
  .strictObject({
    name: z.optional(z.string().check(z.minLength(1))),
    when: z._default(
      z.strictObject({
        type: z.optional(messageType),
        priority: z.optional(priority),
        monthlyVolume: z.optional(
          z
            .strictObject({ below: z.optional(z.number().check(z.int(), z.minimum(0))), atLeast: z.optional(z.number().check(z.int(), z.minimum(0))) })
            .check(z.refine((v) => v.below !== undefined || v.atLeast !== undefined, 'give below and/or atLeast')),
        ),
        /** Matches when the chain's first provider still has free-tier emails this month. */
        freeTierLeft: z.optional(z.boolean()),
        /** Matches when every recipient (To, Cc, Bcc) is at one of these domains. */
        recipientDomain: z.optional(z.array(domainPattern).check(z.minLength(1, 'give at least one domain'))),
      }),
      {},
    ),
    /** The chain; with `split`, the fallbacks tried after the split's pick. */
    use: z.optional(providerChain),
    /** Weighted split by provider name: `{ mailgun: 90, ses: 10 }` (weights, not necessarily percent). */
    split: z.optional(
      z
        .record(z.string(), z.number({ error: 'a weight is a positive number' }).check(z.positive('a weight is a positive number'), z.lte(1_000_000, 'at most 1,000,000 (weights are relative: 90 and 10 split like 9 and 1)')))
        .check(z.refine((weights) => Object.keys(weights).length > 0, 'give at least one provider and its weight')),
    ),
  })
  .check(
    z.superRefine((rule, ctx) => {
      if (!rule.use && !rule.split) ctx.addIssue({ code: 'custom', path: ['use'], message: 'give the provider chain (use), or a weighted split (split) with optional fallbacks in use' });
    }),
  );

export const routingRuleSchema = z.pipe(
  ruleShape,
  z.transform((rule: z.output<typeof ruleShape>) => ({ ...rule, use: rule.use ?? [] })),
);

/** The config file, before providers are checked against their adapters' schemas. */
export const configFileSchema = z.strictObject({
  defaults: z._default(
    z.strictObject({
      from: z.optional(z.string()),
      type: z._default(messageType, 'transactional'),
      trackOpens: z.optional(z.boolean()),
      trackLinks: z.optional(z.boolean()),
    }),
    { type: 'transactional' },
  ),
  providers: z._default(z.record(z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'provider names use letters, digits, - and _')), z.unknown()), {}),
  failover: z._default(
    z.strictObject({
      enabled: z._default(z.boolean(), true),
      order: z.optional(providerChain),
      retry: z._default(
        z.partial(
          z.strictObject({
            attempts: z.number().check(z.int(), z.minimum(1, 'attempts counts tries per provider: at least 1'), z.maximum(10, 'at most 10 tries per provider')),
            delay: timerDurationSchema,
            /** A Retry-After longer than this moves on to the next provider instead of waiting. */
            maxRetryAfter: z.optional(timerDurationSchema),
          }),
        ),
        {},
      ),
      outbox: z._default(z.string().check(z.minLength(1)), '.penguinmails/outbox.db'),
      /** Resend after an ambiguous outcome (timeout after hand-over). Off: such messages wait in the outbox. */
      resendAmbiguous: z._default(z.boolean(), false),
      health: z._default(
        z.strictObject({ failureThreshold: z._default(z.number().check(z.int(), z.minimum(1)), 3), cooldown: z._default(durationSchema, '5m') }),
        { failureThreshold: 3, cooldown: '5m' },
      ),
    }),
    { enabled: true, retry: {}, outbox: '.penguinmails/outbox.db', resendAmbiguous: false, health: { failureThreshold: 3, cooldown: '5m' } },
  ),
  /**
   * Where everything durable lives (SPEC store): a SQLite file path, or a postgres:// URL — as a
   * string, or as { url, poolSize, statementTimeout, schema } to tune the PostgreSQL pool.
   * Unset: failover.outbox (the older key), .penguinmails/outbox.db by default.
   */
  store: z.optional(
    z.union([
      z.string().check(z.minLength(1, 'give a SQLite file path or a postgres:// URL')),
      z.strictObject({
        url: z.string().check(z.minLength(1, 'give a SQLite file path or a postgres:// URL')),
        /** Connections per process (PostgreSQL). */
        poolSize: z._default(z.number().check(z.int(), z.minimum(1, 'at least 1 connection'), z.maximum(100, 'at most 100 connections per process')), 10),
        /** A statement running longer is cancelled (PostgreSQL). */
        statementTimeout: z._default(timerDurationSchema, '30s'),
        /** The PostgreSQL schema holding penguinmails' tables (created on first use). */
        schema: z._default(z.string().check(z.regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a schema name: lower-case letters, digits and _')), 'penguinmails'),
      }),
    ]),
  ),
  /** How long a send is remembered to stop repeats (SPEC send → Idempotency). */
  idempotency: z._default(
    z.strictObject({
      /** A key derived from the content only guards against repeats this recent (0: not at all). */
      window: z._default(durationSchema, '10m'),
      /** An explicit key is delivered at most once for this long. */
      keep: z._default(durationSchema, '30d'),
    }),
    { window: '10m', keep: '30d' },
  ),
  /** `penguinmails serve`: the platform API. */
  server: z._default(
    z.strictObject({
      listen: z._default(z.string().check(z.regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'give host:port, e.g. 127.0.0.1:8025')), '127.0.0.1:8025'),
      /** A request never waits longer: what is left goes on in the background and the answer is 202. */
      requestBudget: z._default(timerDurationSchema, '10s'),
      bodyLimit: z._default(byteSizeSchema, '10MB'),
      /** How long a request may take to arrive, headers and body: past it, 408 and the connection closed. */
      bodyTimeout: z._default(timerDurationSchema, '60s'),
      /** On SIGTERM/SIGINT: how long sends under way may take to finish. */
      shutdownGrace: z._default(timerDurationSchema, '30s'),
      /** Requests per API key per window. */
      rateLimit: z._default(z.strictObject({ max: z._default(z.number().check(z.int(), z.minimum(1)), 600), window: z._default(durationSchema, '1m') }), { max: 600, window: '1m' }),
    }),
    { listen: '127.0.0.1:8025', requestBudget: '10s', bodyLimit: '10MB', bodyTimeout: '60s', shutdownGrace: '30s', rateLimit: { max: 600, window: '1m' } },
  ),
  /** The outbox worker (`serve`, `queue work`): retries waiting messages by itself. */
  worker: z._default(
    z.strictObject({
      enabled: z._default(z.boolean(), true),
      /** The first wait before a retry (default: failover.retry.delay), doubling up to maxBackoff. */
      backoff: z.optional(durationSchema),
      maxBackoff: z._default(durationSchema, '1h'),
      /** An entry not delivered this long after it was stored becomes `expired`. */
      maxAge: z._default(durationSchema, '72h'),
      /** How often the worker looks for due entries. */
      interval: z._default(timerDurationSchema, '5s'),
    }),
    { enabled: true, maxBackoff: '1h', maxAge: '72h', interval: '5s' },
  ),
  /** Delivery events from the providers' webhooks (`serve`). */
  events: z._default(
    z.strictObject({
      /** Events received longer ago are removed (0: kept for ever). Suppressions are kept regardless. */
      retention: z._default(durationSchema, '30d'),
    }),
    { retention: '30d' },
  ),
  /** Operator alerts (issue #22): failovers, circuits opening, caps reached → events, metrics, a signed webhook. */
  alerts: z._default(
    z.strictObject({
      /** Repeats of the same alert (kind, provider, next provider) this soon after one are folded into it. */
      coalesce: z._default(durationSchema, '1m'),
      webhook: z.optional(
        z.strictObject({
          url: z.string().check(
            z.minLength(1, 'give the https:// URL alerts are POSTed to'),
            z.superRefine((url, context) => {
              const problem = checkBaseUrl(url);
              if (problem) context.addIssue({ code: 'custom', message: problem });
            }),
          ),
          /** Signs each POST (HMAC-SHA256); use ${ENV}, never the value itself. */
          // An unset ${VAR} stays as written until a command needs it (see unresolved-env.ts): only a
          // real secret is held to the length.
          secret: z.string().check(z.refine((value) => WHOLE_VARIABLE.test(value) || value.length >= 16, 'give a secret of at least 16 characters (e.g. "${ALERT_SECRET}")')),
          timeout: z._default(timerDurationSchema.check(z.refine((value) => parseDuration(value) !== 0, 'must be longer than 0 (e.g. 5s)')), '5s'),
          /** Tries after the first one, with doubling waits (1s, 2s, 4s…), on errors, timeouts and 5xx/429. */
          retries: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(10, 'at most 10 retries')), 3),
          /** Alerts waiting to be POSTed at most; past it the oldest are dropped (they stay in the events store). */
          queueLimit: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(100_000)), 1000),
        }),
      ),
    }),
    { coalesce: '1m' },
  ),
  routing: z._default(z.strictObject({ rules: z._default(z.array(routingRuleSchema), []) }), { rules: [] }),
  pricing: z._default(z.record(z.string(), pricingOverrideSchema), {}),
});

export type ConfigFile = z.infer<typeof configFileSchema>;
export type RoutingRule = z.infer<typeof routingRuleSchema>;
export type PricingOverride = z.infer<typeof pricingOverrideSchema>;
export type MessageTypeName = z.infer<typeof messageType>;
