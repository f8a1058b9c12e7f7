import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/app/dispatcher.js';
import { validateConfig } from '../../src/config/validate.js';
import type { Alert } from '../../src/core/alert.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { sampleMessage } from '../helpers/sample-message.js';

// The dispatcher's budget caps against a real SQLite usage ledger: what deliver does with a chain
// past a cap, and the one alert per cap reached.
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const message = (key: string) => sampleMessage(key);

async function dispatcherWith(action: string, alerts: Alert[]) {
  const dir = mkdtempSync(path.join(tmpdir(), 'penguinmails-budget-'));
  dirs.push(dir);
  const config = validateConfig(
    {
      providers: { mailgun: { type: 'mailgun', apiKey: 'k', domain: 'mg.example.com' }, smtp: { type: 'smtp', host: '127.0.0.1' } },
      pricing: { mailgun: { plans: [{ name: 'payg', monthly: 0, included: 0, overagePer1k: 1000 }], budget: { monthly: 2.5, action } } },
    },
    { baseDir: dir },
  );
  const store = await SqliteStore.open(path.join(dir, 'outbox.db'));
  const now = Date.UTC(2026, 11, 6);
  await store.recordDelivery(message('earlier'), 'mailgun', 'm-1', now, 2);
  return { store, dispatcher: new Dispatcher(config, store, { now: () => now, alerts: { raise: (alert) => alerts.push(alert) } }) };
}

describe('Dispatcher budget caps', () => {
  it('queue: nothing is called, the message is undelivered with the reason; one alert however many messages', async () => {
    const alerts: Alert[] = [];
    const { store, dispatcher } = await dispatcherWith('queue', alerts);
    const first = await dispatcher.deliver(message('a'), ['mailgun', 'smtp']);
    expect(first).toMatchObject({ status: 'undelivered', attempts: [], reason: expect.stringContaining('held') });
    await dispatcher.deliver(message('b'), ['mailgun', 'smtp']);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'budget-cap-reached', provider: 'mailgun', idempotencyKey: 'a', details: { spent: 2, after: 3, cap: 2.5, action: 'queue', month: '2026-12' } });
    await store.close();
  });

  it('failover: the provider is left out and shows as skipped; a chain of only capped providers waits', async () => {
    const alerts: Alert[] = [];
    const { store, dispatcher } = await dispatcherWith('failover', alerts);
    const budgeted = await dispatcher.budgets.chain(['mailgun', 'smtp'], 1);
    expect(budgeted).toMatchObject({ chain: ['smtp'], skipped: [{ provider: 'mailgun' }] });
    const only = await dispatcher.deliver(message('c'), ['mailgun']);
    expect(only).toMatchObject({ status: 'undelivered', attempts: [{ provider: 'mailgun', outcome: 'skipped' }], reason: expect.stringContaining('over its budget') });
    expect(alerts).toHaveLength(1);
    await store.close();
  });

  it('no cap on the chain: nothing changes', async () => {
    const { store, dispatcher } = await dispatcherWith('warn', []);
    expect(await dispatcher.budgets.chain(['smtp'], 100)).toBeUndefined();
    await store.close();
  });
});
