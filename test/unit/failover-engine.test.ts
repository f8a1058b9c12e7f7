import { describe, expect, it } from 'vitest';
import { ProviderError, type ErrorClass } from '../../src/core/errors.js';
import { deliverWithFailover, retryWait, type HealthBook } from '../../src/core/failover.js';
import type { HealthRecord } from '../../src/core/health.js';
import { finalizeMessage, type EmailMessage } from '../../src/core/message.js';
import type { Provider } from '../../src/core/provider-port.js';

const message = finalizeMessage({
  from: 'a@example.com', to: ['b@example.com'], cc: [], bcc: [], subject: 'S', text: 'T', type: 'transactional', priority: 'normal',
  tags: ['t'], metadata: {}, headers: [], attachments: [],
});

/** An in-memory provider that answers from a script of outcomes. */
function scripted(name: string, script: (ErrorClass | 'ok' | { cls: ErrorClass; retryAfterMs: number })[]): Provider & { seen: EmailMessage[] } {
  const seen: EmailMessage[] = [];
  return {
    name, type: 'test', seen, maxBulkRecipients: 1,
    previewRequest: () => ({}),
    sendBulk: async () => [],
    async send(m) {
      seen.push(m);
      const step = script.shift() ?? 'ok';
      // Mutate what we were given: the next attempt must not see it.
      m.subject = 'MUTATED';
      m.to.push('evil@example.com');
      if (step === 'ok') return { messageId: `${name}-${seen.length}` };
      const cls = typeof step === 'string' ? step : step.cls;
      throw new ProviderError(`${name} ${cls}`, { provider: name, errorClass: cls, retryAfterMs: typeof step === 'object' ? step.retryAfterMs : undefined });
    },
  };
}

function run(providers: Provider[], options: { attempts?: number; health?: HealthBook; resendAmbiguous?: boolean; now?: () => number } = {}) {
  const sleeps: number[] = [];
  const byName = new Map(providers.map((p) => [p.name, p]));
  return deliverWithFailover(
    message,
    providers.map((p) => p.name),
    { attempts: options.attempts ?? 3, delayMs: 100, maxRetryAfterMs: 5000, resendAmbiguous: options.resendAmbiguous ?? false },
    {
      getProvider: (name) => byName.get(name)!,
      sleep: async (ms) => void sleeps.push(ms),
      now: options.now ?? (() => 1_000_000),
      health: options.health ? { book: options.health, policy: { failureThreshold: 2, cooldownMs: 60_000 } } : undefined,
    },
  ).then((outcome) => ({ outcome, sleeps }));
}

const summary = (attempts: { provider: string; try: number; outcome: string }[]) => attempts.map((a) => `${a.provider}#${a.try}:${a.outcome}`);

describe('deliverWithFailover', () => {
  it('retries transient errors with the delay, then fails over', async () => {
    const a = scripted('a', ['transient', 'transient', 'transient']);
    const b = scripted('b', ['ok']);
    const { outcome, sleeps } = await run([a, b]);
    expect(outcome.status).toBe('delivered');
    expect(outcome.provider).toBe('b');
    expect(summary(outcome.attempts)).toEqual(['a#1:transient', 'a#2:transient', 'a#3:transient', 'b#1:delivered']);
    expect(sleeps).toEqual([100, 100]);
  });

  it('gives every attempt a fresh copy of the message', async () => {
    const a = scripted('a', ['transient', 'transient', 'transient']);
    const b = scripted('b', ['ok']);
    await run([a, b]);
    for (const seen of [...a.seen.slice(1), ...b.seen]) {
      // each copy was mutated by its own attempt only
      expect(seen.to).toEqual(['b@example.com', 'evil@example.com']);
    }
    expect(message.subject).toBe('S');
    expect(message.to).toEqual(['b@example.com']);
  });

  it('moves on at once when a provider is unusable', async () => {
    const { outcome, sleeps } = await run([scripted('a', ['provider-unusable']), scripted('b', ['ok'])]);
    expect(summary(outcome.attempts)).toEqual(['a#1:provider-unusable', 'b#1:delivered']);
    expect(sleeps).toEqual([]);
  });

  it('stops on a permanent error and never tries another provider', async () => {
    const b = scripted('b', ['ok']);
    const { outcome } = await run([scripted('a', ['permanent']), b]);
    expect(outcome.status).toBe('rejected');
    expect(b.seen).toHaveLength(0);
  });

  it('does not resend after an ambiguous outcome, unless allowed', async () => {
    const b = scripted('b', ['ok']);
    const { outcome } = await run([scripted('a', ['ambiguous']), b]);
    expect(outcome).toMatchObject({ status: 'undelivered', ambiguous: true });
    expect(b.seen).toHaveLength(0);
    const allowed = await run([scripted('a', ['ambiguous', 'ok'])], { resendAmbiguous: true });
    expect(allowed.outcome.status).toBe('delivered');
  });

  it('honours Retry-After within the cap and moves on beyond it', async () => {
    const within = await run([scripted('a', [{ cls: 'transient', retryAfterMs: 2000 }, 'ok'])]);
    expect(within.sleeps).toEqual([2000]);
    const beyond = await run([scripted('a', [{ cls: 'transient', retryAfterMs: 60_000 }]), scripted('b', ['ok'])]);
    expect(summary(beyond.outcome.attempts)).toEqual(['a#1:transient', 'b#1:delivered']);
    expect(beyond.sleeps).toEqual([]);
  });

  it('reports undelivered with the last error when everything fails', async () => {
    const { outcome } = await run([scripted('a', ['transient']), scripted('b', ['provider-unusable'])], { attempts: 1 });
    expect(outcome.status).toBe('undelivered');
    expect(outcome.reason).toContain('b: b provider-unusable');
  });

  it('skips a provider whose circuit is open, and probes it after the cool-down', async () => {
    const records = new Map<string, HealthRecord>();
    const book: HealthBook = { healthOf: async (n) => records.get(n), saveHealth: async (r) => void records.set(r.provider, r) };
    let now = 1_000_000;
    await run([scripted('a', ['transient', 'transient']), scripted('b', ['ok'])], { attempts: 2, health: book, now: () => now });
    expect(records.get('a')?.openUntil).toBe(now + 60_000);
    const skipped = await run([scripted('a', []), scripted('b', ['ok'])], { health: book, now: () => now });
    expect(summary(skipped.outcome.attempts)).toEqual(['a#0:skipped', 'b#1:delivered']);
    now += 61_000;
    const probed = await run([scripted('a', ['ok']), scripted('b', ['ok'])], { health: book, now: () => now });
    expect(summary(probed.outcome.attempts)).toEqual(['a#1:delivered']);
    expect(records.get('a')).toMatchObject({ consecutiveFailures: 0 });
    expect(records.get('a')?.openUntil).toBeUndefined();
  });

  it('probes anyway when every provider is marked down, rather than queueing untried', async () => {
    const records = new Map<string, HealthRecord>([['a', { provider: 'a', consecutiveFailures: 5, openUntil: 2_000_000 }]]);
    const book: HealthBook = { healthOf: async (n) => records.get(n), saveHealth: async (r) => void records.set(r.provider, r) };
    const { outcome } = await run([scripted('a', ['ok'])], { health: book });
    expect(outcome.status).toBe('delivered');
    expect(outcome.warnings[0]).toContain('probing them anyway');
  });
});

describe('retryWait', () => {
  it('uses the longer of delay and Retry-After, up to the cap', () => {
    expect(retryWait(undefined, { delayMs: 100, maxRetryAfterMs: 1000 })).toEqual({ ms: 100, giveUp: false });
    expect(retryWait(50, { delayMs: 100, maxRetryAfterMs: 1000 })).toEqual({ ms: 100, giveUp: false });
    expect(retryWait(500, { delayMs: 100, maxRetryAfterMs: 1000 })).toMatchObject({ ms: 500, giveUp: false });
    expect(retryWait(5000, { delayMs: 100, maxRetryAfterMs: 1000 })).toMatchObject({ giveUp: true });
  });
});
