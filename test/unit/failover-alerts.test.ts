import { describe, expect, it } from 'vitest';
import type { Alert, AlertSink } from '../../src/core/alert.js';
import { runChain } from '../../src/core/chain-runner.js';
import { ProviderError, type ErrorClass } from '../../src/core/errors.js';
import { alertingChainHooks } from '../../src/core/failover-alerts.js';
import { deliverWithFailover, type HealthBook } from '../../src/core/failover.js';
import type { HealthRecord } from '../../src/core/health.js';
import { finalizeMessage } from '../../src/core/message.js';
import type { Provider } from '../../src/core/provider-port.js';

const message = finalizeMessage({
  from: 'a@example.com', to: ['b@example.com'], cc: [], bcc: [], subject: 'S', text: 'T', type: 'transactional', priority: 'normal',
  tags: [], metadata: {}, headers: [], attachments: [], idempotencyKey: 'order-1',
});

function collecting(): AlertSink & { alerts: Alert[] } {
  const alerts: Alert[] = [];
  return { alerts, raise: (alert) => void alerts.push(alert) };
}

function scripted(name: string, script: (ErrorClass | 'ok')[]): Provider {
  return {
    name, type: 'test', maxBulkRecipients: 1,
    previewRequest: () => ({}),
    sendBulk: async () => [],
    async send() {
      const step = script.shift() ?? 'ok';
      if (step === 'ok') return { messageId: `${name}-id` };
      throw new ProviderError(`${name} says ${step}`, { provider: name, errorClass: step });
    },
  };
}

function memoryBook(): HealthBook & { records: Map<string, HealthRecord> } {
  const records = new Map<string, HealthRecord>();
  return { records, healthOf: async (n) => records.get(n), saveHealth: async (r) => void records.set(r.provider, r) };
}

function send(providers: Provider[], sink: AlertSink, options: { attempts?: number; book?: HealthBook; now?: number } = {}) {
  const byName = new Map(providers.map((p) => [p.name, p]));
  return deliverWithFailover(message, providers.map((p) => p.name), { attempts: options.attempts ?? 2, delayMs: 1, maxRetryAfterMs: 1000, resendAmbiguous: false }, {
    getProvider: (name) => byName.get(name)!,
    sleep: async () => undefined,
    now: () => options.now ?? 1_000_000,
    health: options.book ? { book: options.book, policy: { failureThreshold: 2, cooldownMs: 60_000 } } : undefined,
    alerts: sink,
  });
}

describe('failover alerts from the failover engine', () => {
  it('one alert per provider switch, not per try, with the message key and the reason', async () => {
    const sink = collecting();
    const outcome = await send([scripted('a', ['transient', 'transient']), scripted('b', ['provider-unusable']), scripted('c', ['ok'])], sink);
    expect(outcome.status).toBe('delivered');
    expect(sink.alerts.map((a) => `${a.kind}:${a.provider}->${a.nextProvider}`)).toEqual(['failover:a->b', 'failover:b->c']);
    expect(sink.alerts[0]).toMatchObject({ idempotencyKey: 'order-1', details: { reason: 'a: a says transient' } });
    expect(sink.alerts[0].message).toBe('failover: a message moved from a to b (a: a says transient)');
    expect(sink.alerts[0].at.getTime()).toBe(1_000_000);
    // Each switch gives its own provider's failure, not the one before it (b's bad key, not a's 503).
    expect(sink.alerts[1]).toMatchObject({ details: { reason: 'b: b says provider-unusable' } });
  });

  it('a provider unusable at once (bad credentials) is its own reason, even first in the chain', async () => {
    const sink = collecting();
    await send([scripted('a', ['provider-unusable']), scripted('b', ['ok'])], sink);
    expect(sink.alerts.map((a) => a.details?.reason)).toEqual(['a: a says provider-unusable']);
  });

  it('none when the first provider delivers, or when the last one fails (nothing to switch to)', async () => {
    const sink = collecting();
    await send([scripted('a', ['ok']), scripted('b', [])], sink);
    const down = await send([scripted('a', ['transient', 'transient'])], sink);
    expect(down.status).toBe('undelivered');
    expect(sink.alerts).toEqual([]);
  });

  it('none for a permanent refusal (the message is not routed round it)', async () => {
    const sink = collecting();
    expect((await send([scripted('a', ['permanent']), scripted('b', [])], sink)).status).toBe('rejected');
    expect(sink.alerts).toEqual([]);
  });

  it('a circuit opening is one alert; skipping the open circuit later is a failover, not another opening', async () => {
    const book = memoryBook();
    const sink = collecting();
    await send([scripted('a', ['transient', 'transient']), scripted('b', ['ok'])], sink, { book });
    expect(sink.alerts.map((a) => a.kind)).toEqual(['circuit-opened', 'failover']);
    expect(sink.alerts[0]).toMatchObject({ provider: 'a', details: { consecutiveFailures: 2, lastError: 'a says transient' } });
    expect(sink.alerts[0].message).toContain('skipped for 1m');
    sink.alerts.length = 0;
    await send([scripted('a', []), scripted('b', ['ok'])], sink, { book, now: 1_000_500 });
    expect(sink.alerts.map((a) => `${a.kind}:${a.provider}->${a.nextProvider}`)).toEqual(['failover:a->b']);
    expect(sink.alerts[0].details).toEqual({ reason: 'a: marked down' });
  });

  it('a failed probe of a half-open circuit opens it again: one more alert', async () => {
    const book = memoryBook();
    book.records.set('a', { provider: 'a', consecutiveFailures: 2, openUntil: 999_000, lastError: 'old' });
    const sink = collecting();
    await send([scripted('a', ['transient']), scripted('b', ['ok'])], sink, { book, attempts: 1 });
    expect(sink.alerts.map((a) => a.kind)).toEqual(['circuit-opened', 'failover']);
  });

  it('a bulk batch switching provider is one alert counting its recipients', async () => {
    const sink = collecting();
    const items = ['r1', 'r2', 'r3', 'r4', 'r5'];
    const outcome = await runChain(items, ['a', 'b'], { attempts: 1, delayMs: 1, maxRetryAfterMs: 1000, resendAmbiguous: false }, {
      call: async (name, batch) => {
        if (name === 'a') throw new ProviderError('a is down', { provider: 'a', errorClass: 'transient' });
        return batch.map(() => ({ ok: true as const, value: 'id' }));
      },
      now: () => 5,
      wait: async () => undefined,
      ...alertingChainHooks<string>(sink, () => 5, { bulk: true }),
    });
    expect(outcome.delivered).toHaveLength(5);
    expect(sink.alerts).toHaveLength(1);
    expect(sink.alerts[0]).toMatchObject({ kind: 'failover', provider: 'a', nextProvider: 'b', details: { recipients: 5 } });
    expect(sink.alerts[0].message).toBe('failover: a batch of 5 recipient(s) moved from a to b (a: a is down)');
    expect(sink.alerts[0].idempotencyKey).toBeUndefined();
  });
});
