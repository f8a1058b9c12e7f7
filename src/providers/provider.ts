import type { $ZodType } from 'zod/v4/core';
import type { ZodMiniType } from 'zod/mini';
import type { Provider } from '../core/provider-port.js';
import type { CatalogEntry } from '../cost/catalog.js';
import type { CreateWebhookReceiver } from './webhooks/webhook.js';

export { IDEMPOTENCY_HEADER, type BulkRecipient, type Provider, type RecipientStatus, type SendReceipt } from '../core/provider-port.js';

export interface ProviderOptions {
  /** Time to wait for the provider's answer before giving up, in milliseconds. */
  timeoutMs: number;
}

/**
 * Everything the rest of the program needs to know about one kind of ESP: config, secrets, limits,
 * prices and SDK are data here, so that config validation, `cost estimate` (its strategies and
 * catalog), `route explain`, `send` and the bundle all follow the registry with no list of their own.
 * Adding an ESP = one file exporting a ProviderDefinition + one line in registry.ts (+ its test fake);
 * if it has delivery webhooks, their file in webhooks/ too, named by `webhook.load`.
 * Adapters must import their SDK lazily (inside create/send), so that `--help` stays fast.
 */
export interface ProviderDefinition<Config extends { type: string } = { type: string }> {
  type: string;
  /** Human name of the service. */
  label: string;
  /**
   * Schema of the provider's entry under `providers:` in the config: a zod schema (the built-in
   * adapters build theirs with zod/mini, through config/zod.ts; a classic zod schema works too).
   */
  configSchema: $ZodType<Config> & Pick<ZodMiniType<Config>, 'parse' | 'safeParse'>;
  /** Config keys that hold secrets, masked in every output. */
  secretKeys: string[];
  /** Other forms a secret travels in (an HTTP Basic credential, base64 SMTP AUTH), masked too. */
  derivedSecrets?(config: Config): string[];
  /**
   * The largest message this provider takes, in bytes, counted as sent: attachments base64-encoded
   * (see core/byte-size.ts). Checked before anything is read or sent (providers/message-size.ts).
   */
  maxMessageBytes(config: Config): number;
  /**
   * The ESP's published plans, the built-in price list of `cost estimate` (config `pricing` overrides
   * it): the object its catalog file (catalog/<type>.ts) exports, which provider-types.ts lists too. Also gives the `all-<type>` strategy its prices when no provider of the type is configured.
   */
  catalog: CatalogEntry;
  /**
   * The npm packages of the ESP's SDK. The bundle keeps them out (scripts/bundle.mjs), so they load
   * from node_modules only when `create`/`send` imports them; Postmark's is bundled into a chunk of
   * its own instead, still imported only by the adapter (one file loads faster than its fifty).
   */
  sdkPackages: readonly string[];
  /**
   * When a refusal by this ESP says the address itself is dead or blocked for good (Postmark's 406
   * inactive recipient, an SMTP 550 5.1.1 user unknown), the reason to put it on the suppression
   * list; undefined for any other refusal (a bad message, a policy block, a full mailbox).
   */
  deadAddressReason?(refusal: { code?: string | number; message: string }): string | undefined;
  create(name: string, config: Config, options: ProviderOptions): Provider;
  /** The ESP's delivery webhooks (`POST /api/v1/webhooks/{name}`), when it has them. */
  webhook?: WebhookSupport<Config>;
}

export interface WebhookSupport<Config> {
  /**
   * The config keys the webhook needs (e.g. `webhook`, `webhookSigningKey`), which the provider's
   * configSchema declares: while one is unset, the route answers 404 naming them.
   */
  configKeys: string[];
  /** What to set, for that answer and the README, e.g. "webhook: { username, password }". */
  setup: string;
  /** The webhook's file (src/providers/webhooks/<type>.ts), imported by `serve` on its first webhook. */
  load(): Promise<CreateWebhookReceiver<Config>>;
}
