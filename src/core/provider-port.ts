import type { BulkRecipient } from './bulk-key.js';
import type { ProviderError } from './errors.js';
import type { EmailMessage } from './message.js';

export type { BulkRecipient };

/**
 * The port every ESP adapter implements (src/providers/ holds one file per ESP). The core and the
 * application layer depend on this, never on an adapter.
 */
export interface Provider {
  readonly name: string;
  readonly type: string;
  /** Most recipients one `sendBulk` call takes (the ESP's batch limit). */
  readonly maxBulkRecipients: number;
  /** Most bytes one `sendBulk` call may carry, where the ESP sends each copy whole (Postmark's 50 MB batch). */
  readonly maxBulkBytes?: number;
  /**
   * True when one `sendBulk` call may carry the same address twice, each copy its own message
   * (Postmark's batch). Otherwise a bulk run gives each call an address once (Mailgun keys its
   * recipient variables by address).
   */
  readonly bulkAddressesMayRepeat?: boolean;
  send(message: EmailMessage): Promise<SendReceipt>;
  /**
   * Sends one personalised copy of `template` per recipient, in as few API calls as the ESP allows
   * (one call per invocation). Per-recipient failures come back in the statuses, in order; a
   * failure of the whole call is thrown as ProviderError (nothing was accepted).
   */
  sendBulk(template: EmailMessage, recipients: BulkRecipient[]): Promise<RecipientStatus[]>;
  /**
   * Optional: builds the request of a later `sendBulk(template, recipients)` now, for that call to
   * send as it is (same template object, same array). A bulk run calls it while the batch waits for
   * a free call slot. No I/O, no failure to report: a body that cannot be built here is built, and
   * fails, in sendBulk.
   */
  prepareBulk?(template: EmailMessage, recipients: BulkRecipient[]): void;
  /** The exact request this provider would receive for the message, with secrets masked. */
  previewRequest(message: EmailMessage): unknown;
  /** The exact request(s) one `sendBulk` call would make for these recipients, with secrets masked. */
  previewBulkRequest(template: EmailMessage, recipients: BulkRecipient[]): unknown;
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

export interface SendReceipt {
  /** The provider's id for the accepted message. */
  messageId: string;
  /** Notes worth showing the user (e.g. tags a provider could not carry). */
  warnings?: string[];
  /** Recipients the provider refused while accepting the message for the others. */
  refused?: RecipientStatus[];
}

/**
 * What a provider said about one recipient — of a bulk call, or refused within an accepted
 * message. A refusal carries the provider's error: its class says whether to retry, fail over
 * or stop (permanent: suppressed, unknown mailbox).
 */
export type RecipientStatus = { address: string; accepted: true; messageId: string } | { address: string; accepted: false; error: ProviderError };

/** Sent with every message so receivers and logs can recognise a repeat. */
export const IDEMPOTENCY_HEADER = 'X-PenguinMails-Idempotency-Key';
