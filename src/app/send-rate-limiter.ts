import type { Config } from '../config/types.js';
import type { AlertSink } from '../core/alert.js';
import { formatClockUtc } from '../core/health.js';
import { DAY, HOUR, messageCost, rateLimitReached, shortfallOf, tailWait, windowName, type RateLimit } from '../core/rate-limit.js';
import type { Store } from '../store/ports.js';

export interface RateWaitHooks {
  /** Called once before the first wait (a single send records its attempt first: see send-service). */
  beforeWait?: () => Promise<void>;
  /** Sleeps instead of the limiter's own sleep (a bulk run's can be cut short by Ctrl-C). */
  sleep?: (ms: number) => Promise<void>;
  /** Asked after a wait: true gives up (0 granted) instead of taking. */
  stopped?: () => boolean;
}

/** A wait ends just after the window turns, so the take that follows finds it new. */
const PAST_THE_TURN_MS = 2;

/**
 * Send-side rate limits (`providers.<n>.rateLimit`, issue #22) for every way out — single sends,
 * the worker, the API, bulk runs: each call takes its recipients from the provider's counters in
 * the store (shared by every process on it) before it goes. A short wait (the next second or
 * minute) is waited; a daily quota spent, or a wait beyond failover.retry.maxRetryAfter, throws
 * the provider-unusable `rateLimitReached` error so the chain moves on (health untouched), and
 * raises a `rate-limit-quota-reached` alert once per provider and window.
 */
export class SendRateLimiter {
  /** Providers known to be out of room until a time: refused without asking the store again. */
  private readonly spent = new Map<string, { until: number; limit: RateLimit; used: number }>();
  private readonly alerted = new Set<string>();

  constructor(
    private readonly config: Config,
    private readonly store: Store,
    private readonly clock: { now: () => number; sleep: (ms: number) => Promise<void>; alerts?: AlertSink },
  ) {}

  limitsOf(provider: string): RateLimit[] {
    return this.config.providers[provider]?.rateLimits ?? [];
  }

  /** Why the provider may not send now, when a take already found its quota spent (no store query). */
  spentReason(provider: string): string | undefined {
    const spent = this.spent.get(provider);
    const now = this.clock.now();
    if (!spent || spent.until <= now) return undefined;
    return `${provider}: ${rateLimitReached(provider, spent.limit, spent.used, spent.until - now, now).message}`;
  }

  /**
   * One message (all its recipients at once): returns once it may go, with what to call if the
   * provider then does not take it (see giveBack); throws to move on.
   */
  async admitMessage(provider: string, recipients: number, hooks: RateWaitHooks = {}): Promise<(() => Promise<void>) | undefined> {
    const limits = this.limitsOf(provider);
    if (limits.length === 0) return undefined;
    const cost = messageCost(recipients);
    await this.take(provider, limits, cost, cost, hooks);
    const takenAt = this.clock.now();
    return () => this.giveBack(provider, cost, takenAt);
  }

  /**
   * Sends taken at `takenAt` that the provider refused without sending (an error, not a timeout):
   * they go back to its hourly and daily quotas, which count emails sent. Per-second and
   * per-minute windows keep them: a provider's rate limit counts the calls made, answered or not.
   */
  async giveBack(provider: string, count: number, takenAt: number): Promise<void> {
    const quotas = this.limitsOf(provider).filter((limit) => limit.windowMs >= HOUR);
    if (quotas.length === 0 || count <= 0) return;
    this.spent.delete(provider);
    await this.store.returnRate(provider, quotas, count, takenAt);
  }

  /**
   * Up to `want` recipients of a batch: how many may go now (at least one, after any short wait),
   * 0 when `hooks.stopped` says to give up; throws to move on.
   */
  async admitBatch(provider: string, want: number, hooks: RateWaitHooks = {}): Promise<number> {
    const limits = this.limitsOf(provider);
    if (limits.length === 0) return want;
    return this.take(provider, limits, want, 1, hooks);
  }

  private async take(provider: string, limits: RateLimit[], want: number, atLeast: number, hooks: RateWaitHooks): Promise<number> {
    let waited = false;
    for (;;) {
      const now = this.clock.now();
      const spent = this.spent.get(provider);
      if (spent && spent.until > now) throw rateLimitReached(provider, spent.limit, spent.used, spent.until - now, now);
      const tail = tailWait(limits, now);
      if (tail > 0) {
        if (!waited) await hooks.beforeWait?.();
        waited = true;
        await (hooks.sleep ?? this.clock.sleep)(tail + PAST_THE_TURN_MS);
        if (hooks.stopped?.()) return 0;
        continue;
      }
      const { granted, windows } = await this.store.takeRate(provider, limits, want, atLeast, now);
      if (granted > 0) return granted;
      const short = shortfallOf(limits, windows, atLeast, this.config.failover.retry.maxRetryAfterMs);
      // Nothing short: a window turned between the counters' read and now; take again.
      if (!short) {
        await this.clock.sleep(PAST_THE_TURN_MS);
        continue;
      }
      const used = windows[limits.indexOf(short.limit)].used;
      if (short.action === 'move-on') {
        this.spent.set(provider, { until: now + short.waitMs, limit: short.limit, used });
        this.alert(provider, short.limit, used, short.waitMs, now);
        throw rateLimitReached(provider, short.limit, used, short.waitMs, now);
      }
      if (!waited) await hooks.beforeWait?.();
      waited = true;
      await (hooks.sleep ?? this.clock.sleep)(short.waitMs + PAST_THE_TURN_MS);
      if (hooks.stopped?.()) return 0;
    }
  }

  /** Once per provider and window per process: the sink (events, metrics, webhook) is told. */
  private alert(provider: string, limit: RateLimit, used: number, resetsInMs: number, now: number): void {
    const key = `${provider}:${limit.label}:${now + resetsInMs}`;
    if (this.alerted.has(key) || !this.clock.alerts) return;
    // A long-running server meets a few windows a day per provider: forget the old ones now and then.
    if (this.alerted.size >= 1_000) this.alerted.clear();
    this.alerted.add(key);
    const what = limit.windowMs >= DAY ? `daily quota ${limit.label}` : `rate limit ${limit.label}`;
    this.clock.alerts.raise({
      kind: 'rate-limit-quota-reached',
      provider,
      message: `${provider}: ${what} reached (${used} sent ${windowName(limit.windowMs)}); messages go to the next provider of their chain until ${formatClockUtc(now + resetsInMs, now)}`,
      at: new Date(now),
      details: { limit: limit.label, count: limit.count, windowMs: limit.windowMs, used, resetsAt: new Date(now + resetsInMs).toISOString() },
    });
  }
}
