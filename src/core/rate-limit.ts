import { ProviderError } from './errors.js';
import { formatClockUtc, formatTimeLeft } from './health.js';

/**
 * Send-side rate limits per provider (issue #22): `14/s`, `600/m`, `1000/h`, `50000/d`. Each is a
 * fixed window aligned on the clock (a second, a minute, an hour, a UTC day) counted in the store,
 * so every process on the same store shares it. A send counts its recipients, as the usage ledger does.
 */
export interface RateLimit {
  /** Sends (recipients) allowed per window. */
  count: number;
  windowMs: number;
  /** As the user wrote it, normalised: "14/s", "50000/d". */
  label: string;
}

export const SECOND = 1_000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

const UNITS: Record<string, { ms: number; short: string }> = {
  s: { ms: SECOND, short: 's' },
  sec: { ms: SECOND, short: 's' },
  second: { ms: SECOND, short: 's' },
  m: { ms: MINUTE, short: 'm' },
  min: { ms: MINUTE, short: 'm' },
  minute: { ms: MINUTE, short: 'm' },
  h: { ms: HOUR, short: 'h' },
  hour: { ms: HOUR, short: 'h' },
  d: { ms: DAY, short: 'd' },
  day: { ms: DAY, short: 'd' },
};

export const RATE_LIMIT_HINT = 'use e.g. 14/s, 600/m (or /min), 1000/h, 50000/d (or /day), or a list: [14/s, 50000/d]';

/** One limit, e.g. "14/s" or "50000 / day"; undefined when it is not one. */
export function parseRateLimit(text: string): RateLimit | undefined {
  const match = /^\s*(\d+)\s*\/\s*([a-z]+)\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = UNITS[match[2].toLowerCase()];
  const count = Number(match[1]);
  if (!unit || !Number.isSafeInteger(count) || count < 1) return undefined;
  return { count, windowMs: unit.ms, label: `${count}/${unit.short}` };
}

/**
 * The config value (one limit, or a list) as limits sorted by window, shortest first (the store
 * locks their counters in that order), or the problem with it.
 */
export function parseRateLimits(value: unknown): { limits: RateLimit[] } | { problem: string } {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return { problem: `give at least one limit (${RATE_LIMIT_HINT})` };
  const limits: RateLimit[] = [];
  for (const item of items) {
    const limit = typeof item === 'string' ? parseRateLimit(item) : undefined;
    if (!limit) return { problem: `${JSON.stringify(item)} is not a rate limit (${RATE_LIMIT_HINT})` };
    const same = limits.find((l) => l.windowMs === limit.windowMs);
    if (same) return { problem: `${same.label} and ${limit.label} limit the same window: keep one` };
    limits.push(limit);
  }
  return { limits: limits.sort((a, b) => a.windowMs - b.windowMs) };
}

/** A window's counter as the store has it now. */
export interface WindowState {
  used: number;
  /** Until the window starts again (its count back to 0). */
  resetsInMs: number;
}

/** What a limiter should do about the sends not granted by a take. */
export type Shortfall =
  | { action: 'wait'; waitMs: number; limit: RateLimit }
  /** A daily quota spent, or a wait longer than failover.retry.maxRetryAfter: the next provider. */
  | { action: 'move-on'; waitMs: number; limit: RateLimit };

/**
 * Why `wanted` more sends cannot go now: the windows without room for them (`needed` is what
 * must fit: the whole message, or one recipient of a batch). The longest wait decides; a day's
 * window (a quota) or a wait beyond `maxWaitMs` means moving on.
 */
export function shortfallOf(limits: RateLimit[], windows: WindowState[], needed: number, maxWaitMs: number): Shortfall | undefined {
  let worst: { waitMs: number; limit: RateLimit } | undefined;
  limits.forEach((limit, i) => {
    if (windows[i].used === 0 || limit.count - windows[i].used >= chargeOf(limit, needed)) return;
    const waitMs = windows[i].resetsInMs;
    if (!worst || waitMs > worst.waitMs || limit.windowMs >= DAY) worst = { waitMs, limit };
  });
  if (!worst) return undefined;
  const moveOn = worst.limit.windowMs >= DAY || worst.waitMs > maxWaitMs;
  return { action: moveOn ? 'move-on' : 'wait', ...worst };
}

/** How many recipients one message counts for (each window is charged at most its size: chargeOf). */
export function messageCost(recipients: number): number {
  return Math.max(1, recipients);
}

/** "this second", "this minute", "this hour", "today". */
export function windowName(windowMs: number): string {
  return windowMs >= DAY ? 'today' : windowMs >= HOUR ? 'this hour' : windowMs >= MINUTE ? 'this minute' : 'this second';
}

/** Error code of the failure a spent quota is reported as (see rateLimitReached). */
export const RATE_LIMIT_CODE = 'rate-limit';

/**
 * A provider that may not send now because of our own limit: handled like provider-unusable (the
 * next provider at once) but never counted against the provider's health (it did nothing wrong).
 */
export function rateLimitReached(provider: string, limit: RateLimit, used: number, resetsInMs: number, now: number): ProviderError {
  const what = limit.windowMs >= DAY ? `daily quota ${limit.label} reached` : `rate limit ${limit.label} reached`;
  const message = `${what} (${used} sent ${windowName(limit.windowMs)}); free again in ${formatTimeLeft(resetsInMs)} at ${formatClockUtc(now + resetsInMs, now)}: moving on`;
  return new ProviderError(message, { provider, errorClass: 'provider-unusable', code: RATE_LIMIT_CODE });
}

export function isRateLimitReached(error: ProviderError): boolean {
  return error.code === RATE_LIMIT_CODE;
}

/** A window's counter as stored: the window it counts (its start, epoch ms) and how many it has used. */
export interface StoredWindow {
  start: number;
  used: number;
}

/**
 * A stored counter as seen at `now`: one of an earlier window counts as empty (a new window has
 * begun); one of a later window (written by a process whose clock runs ahead) is kept as it is,
 * so a clock behind never empties a counter another process is filling.
 */
export function currentWindow(stored: StoredWindow | undefined, windowMs: number, now: number): StoredWindow {
  const start = now - (now % windowMs);
  if (!stored || stored.start < start) return { start, used: 0 };
  return stored;
}

/** How many of `want` all windows have room for; 0 when fewer than `atLeast`. */
export function grantable(limits: RateLimit[], windows: StoredWindow[], want: number, atLeast: number): number {
  // An empty window takes anything, charged at most its size (see chargeOf); one in use, what it has left.
  const room = Math.min(want, ...limits.map((limit, i) => (windows[i].used === 0 ? Infinity : limit.count - windows[i].used)));
  return room >= atLeast && room > 0 ? room : 0;
}

/**
 * What `granted` recipients use of one window: all of them, except that a message bigger than the
 * window (20 recipients against 14/s) fills that window and no more — while a longer window (a daily
 * quota) still counts every recipient.
 */
export function chargeOf(limit: RateLimit, granted: number): number {
  return Math.min(granted, limit.count);
}

export function windowState(window: StoredWindow, windowMs: number, now: number): WindowState {
  return { used: window.used, resetsInMs: Math.max(0, window.start + windowMs - now) };
}

/** Error code of the items of a call not made because the run is stopping (Ctrl-C during a rate-limit wait). */
export const RUN_STOPPED_CODE = 'run-stopped';

export function runStopped(provider: string): ProviderError {
  return new ProviderError('not sent: the run is stopping', { provider, errorClass: 'transient', code: RUN_STOPPED_CODE });
}

/** Failures of our own making (a limit of ours, a stop): they say nothing about the provider's health. */
export function isOwnRefusal(error: ProviderError): boolean {
  return error.code === RATE_LIMIT_CODE || error.code === RUN_STOPPED_CODE;
}

/**
 * A send taken just before its window turns reaches the provider after it has turned, where it
 * counts against the next window too. So nothing is taken in the last moments of a window (15 %
 * of it, at most 150 ms): returns how long to wait for the window to turn, 0 when not in its tail.
 */
export function tailWait(limits: RateLimit[], now: number): number {
  let wait = 0;
  for (const limit of limits) {
    const left = limit.windowMs - (now % limit.windowMs);
    if (left <= Math.min(150, limit.windowMs * 0.15)) wait = Math.max(wait, left);
  }
  return wait;
}
