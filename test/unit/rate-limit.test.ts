import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SendRateLimiter } from '../../src/app/send-rate-limiter.js';
import { validateConfig } from '../../src/config/validate.js';
import type { Alert } from '../../src/core/alert.js';
import { runChain } from '../../src/core/chain-runner.js';
import { ProviderError } from '../../src/core/errors.js';
import type { HealthRecord } from '../../src/core/health.js';
import { chargeOf, DAY, grantable, isRateLimitReached, messageCost, type RateLimit, parseRateLimit, parseRateLimits, rateLimitReached, shortfallOf, tailWait } from '../../src/core/rate-limit.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);

describe('rate limit values', () => {
  it('reads a count per second, minute, hour or day, in the spellings people use', () => {
    expect(parseRateLimit('14/s')).toEqual({ count: 14, windowMs: 1000, label: '14/s' });
    expect(parseRateLimit('600/min')).toEqual({ count: 600, windowMs: 60_000, label: '600/m' });
    expect(parseRateLimit('600 / m')).toMatchObject({ label: '600/m' });
    expect(parseRateLimit('1000/hour')).toMatchObject({ windowMs: 3_600_000, label: '1000/h' });
    expect(parseRateLimit('50000/day')).toMatchObject({ windowMs: DAY, label: '50000/d' });
    for (const bad of ['14', '0/s', '-1/s', '1.5/s', '14/x', '14/', '/s', '14 per s']) expect(parseRateLimit(bad), bad).toBeUndefined();
  });

  it('reads one limit or a list, shortest window first; refuses two limits of one window', () => {
    expect(parseRateLimits(['50000/d', '14/s'])).toEqual({ limits: [parseRateLimit('14/s'), parseRateLimit('50000/d')] });
    expect(parseRateLimits('14/s')).toEqual({ limits: [parseRateLimit('14/s')] });
    expect(parseRateLimits(['10/s', '20/sec'])).toEqual({ problem: '10/s and 20/s limit the same window: keep one' });
    expect(parseRateLimits(14)).toMatchObject({ problem: expect.stringMatching(/^14 is not a rate limit \(use e\.g\. 14\/s/) });
    expect(parseRateLimits([])).toMatchObject({ problem: expect.stringMatching(/at least one/) });
  });

  it('is a key of every provider type, checked with the path named (exit 2 material)', () => {
    const config = validateConfig({ providers: { postmark: { type: 'postmark', serverToken: 't', rateLimit: ['50000/d', '10/s'] }, smtp: { type: 'smtp', host: 'h' } } }, { baseDir: '/tmp' });
    expect(config.providers.postmark.rateLimits.map((l) => l.label)).toEqual(['10/s', '50000/d']);
    expect(config.providers.smtp.rateLimits).toEqual([]);
    expect(() => validateConfig({ providers: { ses: { type: 'ses', region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b', rateLimit: '14/fortnight' } } }, { baseDir: '/tmp' })).toThrow(
      /providers\.ses\.rateLimit: "14\/fortnight" is not a rate limit \(use e\.g\. 14\/s/,
    );
  });

  it('a message counts its recipients; a window is charged at most its size, so a daily quota still counts them all', () => {
    const { limits } = parseRateLimits(['2/s', '100/d']) as { limits: RateLimit[] };
    expect(messageCost(1)).toBe(1);
    expect(messageCost(5)).toBe(5);
    expect(limits.map((limit) => chargeOf(limit, 5))).toEqual([2, 5]);
    // An empty second takes a message of 5 (filling it); one in use waits for the next second.
    expect(grantable(limits, [{ start: 0, used: 0 }, { start: 0, used: 0 }], 5, 5)).toBe(5);
    expect(grantable(limits, [{ start: 0, used: 1 }, { start: 0, used: 0 }], 5, 5)).toBe(0);
    expect(grantable(limits, [{ start: 0, used: 0 }, { start: 0, used: 97 }], 5, 5)).toBe(0);
  });
});

describe('what a shortfall leads to', () => {
  const { limits } = parseRateLimits(['10/s', '600/m', '1000/d']) as { limits: ReturnType<typeof parseRateLimit>[] & never[] };
  it('waits for the next second or minute; moves on when the day is spent or the wait is past the cap', () => {
    const room = { used: 0, resetsInMs: 1 };
    expect(shortfallOf(limits, [room, room, room], 1, 120_000)).toBeUndefined();
    expect(shortfallOf(limits, [{ used: 10, resetsInMs: 300 }, room, room], 1, 120_000)).toMatchObject({ action: 'wait', waitMs: 300, limit: { label: '10/s' } });
    expect(shortfallOf(limits, [{ used: 10, resetsInMs: 300 }, { used: 600, resetsInMs: 40_000 }, room], 1, 120_000)).toMatchObject({ action: 'wait', waitMs: 40_000 });
    expect(shortfallOf(limits, [{ used: 10, resetsInMs: 300 }, { used: 600, resetsInMs: 40_000 }, room], 1, 30_000)).toMatchObject({ action: 'move-on', limit: { label: '600/m' } });
    expect(shortfallOf(limits, [room, room, { used: 1000, resetsInMs: 500 }], 1, 120_000)).toMatchObject({ action: 'move-on', limit: { label: '1000/d' } });
    // A message of 4 does not fit in the 3 left of this second.
    expect(shortfallOf(limits, [{ used: 7, resetsInMs: 300 }, room, room], 4, 120_000)).toMatchObject({ action: 'wait' });
  });
});

describe('the tail of a window', () => {
  it('is left alone (a send taken then reaches the provider in its next window): wait for the turn', () => {
    const limits = [parseRateLimit('10/s')!, parseRateLimit('600/m')!, parseRateLimit('1000/d')!];
    expect(tailWait(limits, T0 + 800)).toBe(0);
    expect(tailWait(limits, T0 + 900)).toBe(100);
    expect(tailWait(limits, T0 + 59_950)).toBe(50);
    expect(tailWait(limits, Date.UTC(2026, 11, 6, 23, 59, 59, 990))).toBe(10);
  });
});

describe('the failover engine and a spent quota', () => {
  it('moves on at once, like provider-unusable, without counting against the provider\'s health', async () => {
    const saved: HealthRecord[] = [];
    const limit = parseRateLimit('100/d')!;
    const outcome = await runChain(['m'], ['postmark', 'mailgun'], { attempts: 3, delayMs: 10, maxRetryAfterMs: 1000, resendAmbiguous: false }, {
      call: async (name) => {
        if (name === 'postmark') throw rateLimitReached('postmark', limit, 100, 3_600_000, T0);
        return [{ ok: true, value: 'id-1' }];
      },
      now: () => T0,
      wait: async () => {},
      health: { book: { healthOf: async () => undefined, saveHealth: async (r) => void saved.push(r) }, policy: { failureThreshold: 1, cooldownMs: 60_000 } },
    });
    expect(outcome.delivered).toEqual([{ item: 'm', provider: 'mailgun', value: 'id-1' }]);
    expect(outcome.attempts.map((a) => [a.provider, a.try, a.outcome])).toEqual([
      ['postmark', 1, 'provider-unusable'],
      ['mailgun', 1, 'delivered'],
    ]);
    expect(outcome.attempts[0].error).toMatch(/^daily quota 100\/d reached \(100 sent today\); free again in 1h at 13:00:00 UTC: moving on$/);
    expect(saved.map((r) => r.provider)).toEqual(['mailgun']);
    expect(saved[0].consecutiveFailures).toBe(0);
  });
});

describe('SendRateLimiter over a store (a clock that only moves when the limiter sleeps)', () => {
  const dirs: string[] = [];
  const stores: SqliteStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function limiterFor(rateLimit: unknown, maxRetryAfter = '2m') {
    const dir = mkdtempSync(path.join(tmpdir(), 'penguinmails-rate-'));
    dirs.push(dir);
    const store = await SqliteStore.open(path.join(dir, 'outbox.db'));
    stores.push(store);
    const config = validateConfig({ providers: { postmark: { type: 'postmark', serverToken: 't', rateLimit } }, failover: { retry: { maxRetryAfter } } }, { baseDir: dir });
    let now = T0;
    const slept: number[] = [];
    const alerts: Alert[] = [];
    const limiter = new SendRateLimiter(config, store, {
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
      alerts: { raise: (alert) => void alerts.push(alert) },
    });
    return { limiter, slept, alerts, clock: { get now() { return now; }, set now(value: number) { now = value; } } };
  }

  it('lets messages go until the second is full, then waits for the next one (recording the attempt first)', async () => {
    const { limiter, slept } = await limiterFor('3/s');
    let recorded = 0;
    for (let i = 0; i < 3; i++) await limiter.admitMessage('postmark', 1, { beforeWait: async () => void recorded++ });
    expect(slept).toEqual([]);
    await limiter.admitMessage('postmark', 1, { beforeWait: async () => void recorded++ });
    expect(slept).toEqual([1002]);
    expect(recorded).toBe(1);
  });

  it('gives a batch what is left of the window, and the rest after the turn', async () => {
    const { limiter, slept } = await limiterFor('500/s');
    expect(await limiter.admitBatch('postmark', 400)).toBe(400);
    expect(await limiter.admitBatch('postmark', 400)).toBe(100);
    expect(await limiter.admitBatch('postmark', 300)).toBe(300);
    expect(slept).toEqual([1002]);
    expect(await limiter.admitBatch('postmark', 300)).toBe(200);
    // Full again: a run stopping during the wait takes nothing.
    expect(await limiter.admitBatch('postmark', 1, { stopped: () => true })).toBe(0);
    expect(slept).toEqual([1002, 1000]);
  });

  it('a spent daily quota throws the move-on error and raises one alert for the day, asking the store no more', async () => {
    const { limiter, alerts, clock } = await limiterFor(['10/s', '5/d']);
    await limiter.admitBatch('postmark', 5);
    const refusals = await Promise.all([1, 2, 3].map(() => limiter.admitMessage('postmark', 1).catch((error: unknown) => error)));
    for (const refusal of refusals) expect(refusal instanceof ProviderError && isRateLimitReached(refusal)).toBe(true);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'rate-limit-quota-reached', provider: 'postmark', details: { limit: '5/d', used: 5, resetsAt: '2026-12-07T00:00:00.000Z' } });
    expect(limiter.spentReason('postmark')).toMatch(/^postmark: daily quota 5\/d reached/);
    // The next UTC day: room again.
    clock.now = Date.UTC(2026, 11, 7, 0, 0, 1);
    expect(limiter.spentReason('postmark')).toBeUndefined();
    await limiter.admitMessage('postmark', 1);
  });

  it('a message the provider did not take goes back to the daily quota (not to the second: that counts calls)', async () => {
    const { limiter, alerts } = await limiterFor(['10/s', '2/d']);
    const giveBack = await limiter.admitMessage('postmark', 1);
    await limiter.admitMessage('postmark', 1);
    await expect(limiter.admitMessage('postmark', 1)).rejects.toThrow(/daily quota 2\/d reached/);
    expect(alerts).toHaveLength(1);
    await giveBack!();
    await limiter.admitMessage('postmark', 1);
    await expect(limiter.admitMessage('postmark', 1)).rejects.toThrow(/daily quota 2\/d reached/);
  });

  it('a wait longer than failover.retry.maxRetryAfter moves on instead of waiting', async () => {
    const { limiter, slept, alerts } = await limiterFor('2/m', '10s');
    await limiter.admitBatch('postmark', 2);
    await expect(limiter.admitMessage('postmark', 1)).rejects.toThrow(/^rate limit 2\/m reached \(2 sent this minute\)/);
    expect(slept).toEqual([]);
    expect(alerts).toHaveLength(1);
  });

  it('a provider without a limit is never counted', async () => {
    const { limiter } = await limiterFor(undefined);
    expect(await limiter.admitBatch('postmark', 10_000)).toBe(10_000);
    expect(await limiter.admitBatch('mailgun', 7)).toBe(7);
  });
});
