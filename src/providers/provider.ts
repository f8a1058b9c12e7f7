import type { z } from 'zod';
import type { ProviderError } from '../core/errors.js';
import type { EmailMessage } from '../core/message.js';
import type { BulkRecipient } from '../core/bulk-key.js';
import type { CatalogEntry } from '../cost/catalog.js';

/** Sent with every message so receivers and logs can recognise a repeat. */
export const IDEMPOTENCY_HEADER = 'X-PenguinMails-Idempotency-Key';

export interface SendReceipt {
  /** The provider's id for the accepted message. */
  messageId: string;
  /** Notes worth showing the user (e.g. tags a provider could not carry). */
  warnings?: string[];
  /** Recipients the provider refused while accepting the message for the others. */
  refused?: RefusedRecipient[];
}

export interface RefusedRecipient {
  address: string;
  /** true: do not try again (suppressed, unknown mailbox); false: may succeed later (4xx). */
  permanent: boolean;
  reason: string;
}

export type { BulkRecipient };

/** The provider's verdict on one recipient of a bulk call. */
export type BulkItemResult = { email: string; ok: true; messageId: string } | { email: string; ok: false; error: ProviderError };

/** One ESP behind the router. Adapters throw only ProviderError. */
export interface Provider {
  readonly name: string;
  readonly type: string;
  /** Most recipients one `sendBulk` call takes (the ESP's batch limit). */
  readonly maxBulkRecipients: number;
  /**
   * Sends one personalised copy of `template` per recipient, in as few API calls as the ESP allows
   * (one call per invocation). Per-recipient failures come back in the results; a failure of the
   * whole call is thrown as ProviderError (nothing was accepted).
   */
  sendBulk(template: EmailMessage, recipients: BulkRecipient[]): Promise<BulkItemResult[]>;
  /** The exact request this provider would receive for the message, with secrets masked. */
  previewRequest(message: EmailMessage): unknown;
  /** The exact request(s) one `sendBulk` call would make for these recipients, with secrets masked. */
  previewBulkRequest(template: EmailMessage, recipients: BulkRecipient[]): unknown;
  send(message: EmailMessage): Promise<SendReceipt>;
  /**
   * Loads the SDK and sets up the client now instead of at the first call (a bulk run does this
   * before it starts reading the list, so its first batches do not wait for the SDK to load).
   * No network I/O here, and no failure because the provider is down or refuses the credentials:
   * those show at the first call, where the failover policy deals with them.
   */
  prepare(): Promise<void>;
  /** Releases connections (SMTP pools). */
  close?(): Promise<void>;
}

export interface ProviderOptions {
  /** Time to wait for the provider's answer before giving up, in milliseconds. */
  timeoutMs: number;
}

/**
 * Everything the rest of the program needs to know about one kind of ESP: config, secrets, limits,
 * prices and SDK are data here, so that config validation, `cost estimate` (its strategies and
 * catalog), `route explain`, `send` and the bundle all follow the registry with no list of their own.
 * Adding an ESP = one file exporting a ProviderDefinition + one line in registry.ts (+ its test fake).
 * Adapters must import their SDK lazily (inside create/send), so that `--help` stays fast.
 */
export interface ProviderDefinition<Config extends { type: string } = { type: string }> {
  type: string;
  /** Human name of the service. */
  label: string;
  /** Schema of the provider's entry under `providers:` in the config. */
  configSchema: z.ZodType<Config>;
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
   * it). Also gives the `all-<type>` strategy its prices when no provider of the type is configured.
   */
  catalog: CatalogEntry;
  /**
   * The npm packages of the ESP's SDK. The bundle keeps them out (scripts/bundle.mjs), so they load
   * from node_modules only when `create`/`send` imports them.
   */
  sdkPackages: readonly string[];
  create(name: string, config: Config, options: ProviderOptions): Provider;
}
