import type { AlertSink } from './alert.js';
import { alertingChainHooks } from './failover-alerts.js';
import { runChain, type Attempt, type HealthBook, type RetryPolicy } from './chain-runner.js';
import type { HealthPolicy } from './health.js';
import { ProviderError } from './errors.js';
import { cloneMessage, type EmailMessage } from './message.js';
import type { Provider, RecipientStatus } from './provider-port.js';

export { retryWait, type Attempt, type AttemptOutcome, type HealthBook, type RetryPolicy } from './chain-runner.js';

export interface DeliveryOutcome {
  /** delivered; rejected = permanent for this message; undelivered = keep it for a later retry. */
  status: 'delivered' | 'rejected' | 'undelivered';
  provider?: string;
  messageId?: string;
  attempts: Attempt[];
  warnings: string[];
  /** Why it was not delivered. */
  reason?: string;
  /** The last provider may have taken the message (timeout after hand-over). */
  ambiguous?: boolean;
  /** Delivered, but these recipients were refused by the provider. */
  refused?: RecipientStatus[];
}

export interface FailoverDeps {
  getProvider(name: string): Provider | Promise<Provider>;
  sleep(ms: number): Promise<void>;
  now(): number;
  health?: { book: HealthBook; policy: HealthPolicy };
  /** Try every provider even while its circuit is open (a `queue retry` asked for by hand). */
  ignoreCircuit?: boolean;
  onAttempt?(attempt: Attempt): void;
  /** Before each provider call (a run that dies from here on may have handed the message over). */
  beforeCall?(): Promise<void>;
  /** After a call that failed without handing the message over (anything but ambiguous). */
  afterRefusal?(): Promise<void>;
  /** Told of each provider switch and circuit opening (issue #22). */
  alerts?: AlertSink;
}

/**
 * Sends one message along a provider chain (the chain runner with one item). Each try gets a
 * fresh copy of the message; nothing is resent after an ambiguous outcome.
 */
export async function deliverWithFailover(message: EmailMessage, chain: string[], policy: RetryPolicy, deps: FailoverDeps): Promise<DeliveryOutcome> {
  const { health } = deps;
  const result = await runChain([message], chain, policy, {
    call: async (name, [item]) => {
      const provider = await deps.getProvider(name);
      await deps.beforeCall?.();
      try {
        return [{ ok: true as const, value: await provider.send(cloneMessage(item)) }];
      } catch (error) {
        if (error instanceof ProviderError && error.errorClass !== 'ambiguous') await deps.afterRefusal?.();
        throw error;
      }
    },
    now: deps.now,
    wait: (_provider, ms) => deps.sleep(ms),
    health,
    ignoreCircuit: deps.ignoreCircuit,
    onAttempt: deps.onAttempt,
    ...(deps.alerts ? alertingChainHooks(deps.alerts, deps.now, { idempotencyKey: message.idempotencyKey }) : {}),
  });
  const { attempts } = result;
  const warnings = result.allMarkedDown ? ['every provider of the chain is marked down; probing them anyway rather than queueing untried'] : [];
  const [delivered] = result.delivered;
  if (delivered) {
    const receipt = delivered.value;
    warnings.push(...(receipt.warnings ?? []));
    const refused = receipt.refused?.length ? receipt.refused : undefined;
    return { status: 'delivered', provider: delivered.provider, messageId: receipt.messageId, attempts, warnings, ...(refused ? { refused } : {}) };
  }
  const [rejected] = result.rejected;
  if (rejected) return { status: 'rejected', provider: rejected.provider, attempts, warnings, reason: rejected.error.message };
  const [held] = result.ambiguous;
  if (held) return { status: 'undelivered', provider: held.provider, attempts, warnings, reason: `ambiguous outcome at ${held.provider}: ${held.error.message}`, ambiguous: true };
  const last = [...attempts].reverse().find((a) => a.outcome !== 'skipped');
  const reason = last ? `every provider failed (last: ${last.provider}: ${last.error})` : 'every provider of the chain is marked down';
  return { status: 'undelivered', attempts, warnings, reason };
}
