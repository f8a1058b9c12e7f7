import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The alert webhook's signature: `X-Penguinmails-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`
 * over `<t>.<raw body>` with the configured secret (the scheme Stripe made familiar). The time is
 * signed too, so a receiver can refuse replays of an old POST.
 */
export const SIGNATURE_HEADER = 'x-penguinmails-signature';

export function signatureHmac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export function signatureHeader(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${signatureHmac(secret, timestamp, body)}`;
}

/**
 * What a receiver does (documented in the README): recompute the HMAC over the raw body, compare in
 * constant time, and refuse a timestamp more than `toleranceSeconds` away from its clock.
 */
export function verifyAlertSignature(secret: string, body: string, header: string | undefined, options: { now?: number; toleranceSeconds?: number } = {}): boolean {
  if (!header) return false;
  const parts = new Map(header.split(',').map((part) => part.trim().split('=', 2) as [string, string]));
  const timestamp = Number(parts.get('t'));
  const given = parts.get('v1');
  if (!Number.isInteger(timestamp) || !given || !/^[0-9a-f]{64}$/.test(given)) return false;
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (!(Number.isFinite(tolerance) && tolerance >= 0)) throw new RangeError('toleranceSeconds must be a finite number of seconds, 0 or more');
  if (Math.abs(nowSeconds - timestamp) > tolerance) return false;
  return timingSafeEqual(Buffer.from(signatureHmac(secret, timestamp, body), 'hex'), Buffer.from(given, 'hex'));
}
