import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { bareAddress } from '../../core/address.js';
import type { DeliveryEvent, DeliveryEventType } from '../../store/ports.js';

/**
 * The webhook port: what `POST /api/v1/webhooks/{provider-name}` asks of one ESP's webhook file
 * (src/providers/webhooks/<type>.ts). The file checks the request the provider's own way and turns
 * its payload into normalised events; the route stores them (src/app/events.ts). A provider
 * definition points at its file with `webhook.load` (src/providers/provider.ts), so only `serve`
 * loads it, on the first webhook of that type.
 */

/** One webhook request as it arrived: the raw body is what signatures are computed over. */
export interface WebhookRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The server's clock (ms), for replay windows and as the time of events that carry none. */
  now: number;
}

export interface WebhookReceipt {
  /** The payload's events, normalised; empty for a payload that carries none we keep. */
  events: DeliveryEvent[];
  /** Events of the payload not kept (a kind we do not normalise, e.g. Mailgun's `accepted`). */
  ignored: number;
  /** Something the server log (and the answer) should say, e.g. "SNS subscription confirmed". */
  note?: string;
  /**
   * A value of the request the provider signs to be used once (Mailgun's signature token): the
   * server claims it in the store, with the body's digest, before storing the events, and refuses
   * the request as a replay when it was claimed for another body (by any process sharing the store).
   */
  useOnce?: { token: string; until: number };
}

/** One configured provider's webhook: keeps its own state (fetched certificates); tokens used once are claimed in the store. */
export interface WebhookReceiver {
  /**
   * What can be refused from the headers alone (Postmark's credentials, SendGrid's missing
   * signature): the server asks before it reads the body, so a stranger's body is not read in
   * full. Throws WebhookRefused. `receive` checks the same again.
   */
  checkHeaders?(headers: IncomingHttpHeaders): void;
  /** Throws WebhookRefused for a request it does not accept: then nothing is stored. */
  receive(request: WebhookRequest): Promise<WebhookReceipt>;
}

export type CreateWebhookReceiver<Config> = (providerName: string, config: Config) => WebhookReceiver;

/**
 * A webhook request refused: 401 (credentials or signature wrong or missing), 400 (malformed
 * payload), 502/503 (we could not check it now: the provider retries later).
 */
export class WebhookRefused extends Error {
  constructor(
    message: string,
    readonly status: 400 | 401 | 502 | 503,
    readonly options: { hint?: string; wwwAuthenticate?: string } = {},
  ) {
    super(message);
    this.name = 'WebhookRefused';
  }
}

export function unauthorized(message: string, hint?: string): WebhookRefused {
  return new WebhookRefused(message, 401, { hint });
}

export function malformed(message: string): WebhookRefused {
  return new WebhookRefused(message, 400, { hint: 'nothing was stored; send the payload as the provider documents it' });
}

/** One header's value (the first, if repeated). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The body as JSON, or a 400 naming what is wrong. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw malformed('the body is empty: send the JSON payload');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw malformed('the body is not valid JSON');
  }
}

/** Compares two secrets in constant time, whatever their lengths (digests of equal size are compared). */
export function sameSecret(presented: string | Buffer, expected: string | Buffer): boolean {
  const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Event keys are unique across providers and readable where the provider gives an id; long ones are hashed. */
export function eventKey(providerName: string, ...parts: (string | number)[]): string {
  const joined = parts.join(':');
  const key = `${providerName}:${joined}`;
  return key.length <= 200 ? key : `${providerName}:sha256:${createHash('sha256').update(joined).digest('hex')}`;
}

/** Times an event's own may take: from 2000 on, and at most a day ahead of this server's clock. */
const EARLIEST_EVENT = Date.UTC(2000, 0, 1);
const LATEST_AHEAD_MS = 86_400_000;

/** A provider's time (ISO text or epoch seconds) in ms; `fallback` when it has none, it does not parse, or no event can have it. */
export function eventTime(value: unknown, fallback: number): number {
  const time = typeof value === 'number' ? Math.round(value * 1000) : typeof value === 'string' && value ? Date.parse(value) : NaN;
  // A time no event can have (1e300, year 9999) is the time it arrived: stored as given, it made
  // every listing of events fail, until retention removed it.
  // Ahead of this server's clock, not of the fallback: SES falls back on the send's time.
  return Number.isFinite(time) && time >= EARLIEST_EVENT && time <= Date.now() + LATEST_AHEAD_MS ? time : fallback;
}

/** A normalised event of one recipient. */
export function deliveryEvent(fields: {
  key: string;
  type: DeliveryEventType;
  bounce?: 'hard' | 'soft';
  provider: string;
  messageId: string | null | undefined;
  recipient: string;
  occurredAt: number;
  raw: unknown;
}): DeliveryEvent {
  return {
    eventKey: fields.key,
    type: fields.type,
    ...(fields.type === 'bounced' ? { bounce: fields.bounce ?? 'soft' } : {}),
    provider: fields.provider,
    providerMessageId: fields.messageId || null,
    idempotencyKey: null,
    recipient: bareAddress(fields.recipient.trim()).toLowerCase(),
    occurredAt: fields.occurredAt,
    raw: JSON.stringify(fields.raw),
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;
}
