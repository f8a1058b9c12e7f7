import type { Provider, RefusedRecipient } from '../providers/provider.js';
import { ProviderError, type ErrorClass } from './errors.js';
import { circuitState, describeHealth, recordFailure, recordSuccess, type HealthPolicy, type HealthRecord } from './health.js';
import { cloneMessage, type EmailMessage } from './message.js';

export type AttemptOutcome = 'delivered' | ErrorClass | 'skipped';

export interface Attempt {
  provider: string;
  try: number;
  outcome: AttemptOutcome;
  error?: string;
  code?: string | number;
  ms: number;
  /** Time waited before the next try, and why. */
  waitMs?: number;
  note?: string;
}

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
  refused?: RefusedRecipient[];
}

export interface RetryPolicy {
  attempts: number;
  delayMs: number;
  maxRetryAfterMs: number;
  resendAmbiguous: boolean;
}

/** Where health records live between runs; the engine only reads and writes through this. */
export interface HealthBook {
  get(provider: string): HealthRecord | undefined;
  put(record: HealthRecord): void;
}

export interface FailoverDeps {
  getProvider(name: string): Provider | Promise<Provider>;
  sleep(ms: number): Promise<void>;
  now(): number;
  health?: { book: HealthBook; policy: HealthPolicy };
  /** Try every provider even while its circuit is open (a `queue retry` asked for by hand). */
  ignoreCircuit?: boolean;
  onAttempt?(attempt: Attempt): void;
}

/**
 * Sends one message along a provider chain, following the SPEC's error policy.
 * Each try gets a fresh copy of the message; nothing is resent after an ambiguous outcome.
 */
export async function deliverWithFailover(message: EmailMessage, chain: string[], policy: RetryPolicy, deps: FailoverDeps): Promise<DeliveryOutcome> {
  const attempts: Attempt[] = [];
  const warnings: string[] = [];
  const record = (attempt: Attempt) => {
    attempts.push(attempt);
    deps.onAttempt?.(attempt);
  };
  const health = deps.health;
  const allOpen = !deps.ignoreCircuit && health !== undefined && chain.every((name) => circuitState(health.book.get(name), deps.now()) === 'open');
  if (allOpen) warnings.push('every provider of the chain is marked down; probing them anyway rather than queueing untried');

  for (const name of chain) {
    if (health && !deps.ignoreCircuit && !allOpen && circuitState(health.book.get(name), deps.now()) === 'open') {
      const down = health.book.get(name)!;
      // Said as `-v` and route explain say it: how long it is still skipped, not a timestamp.
      record({ provider: name, try: 0, outcome: 'skipped', ms: 0, note: `marked ${describeHealth(down, deps.now())}` });
      continue;
    }
    const provider = await deps.getProvider(name);
    for (let tryNumber = 1; tryNumber <= policy.attempts; tryNumber++) {
      const started = deps.now();
      try {
        const receipt = await provider.send(cloneMessage(message));
        record({ provider: name, try: tryNumber, outcome: 'delivered', ms: deps.now() - started });
        warnings.push(...(receipt.warnings ?? []));
        if (health) health.book.put(recordSuccess(health.book.get(name), name, deps.now()));
        const refused = receipt.refused?.length ? receipt.refused : undefined;
        return { status: 'delivered', provider: name, messageId: receipt.messageId, attempts, warnings, ...(refused ? { refused } : {}) };
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        const attempt: Attempt = { provider: name, try: tryNumber, outcome: error.errorClass, error: error.message, ms: deps.now() - started };
        if (error.code !== undefined) attempt.code = error.code;
        const errorClass = error.errorClass === 'ambiguous' && policy.resendAmbiguous ? 'transient' : error.errorClass;

        if (errorClass === 'permanent') {
          record(attempt);
          return { status: 'rejected', provider: name, attempts, warnings, reason: error.message };
        }
        if (health) health.book.put(recordFailure(health.book.get(name), name, error.message, deps.now(), health.policy));
        if (errorClass === 'ambiguous') {
          attempt.note = 'not resent: the provider may have accepted it (set failover.resendAmbiguous to allow)';
          record(attempt);
          return { status: 'undelivered', provider: name, attempts, warnings, reason: `ambiguous outcome at ${name}: ${error.message}`, ambiguous: true };
        }
        if (errorClass === 'provider-unusable' || tryNumber === policy.attempts) {
          if (errorClass === 'provider-unusable') attempt.note = 'provider unusable: moving on without retrying';
          record(attempt);
          break;
        }
        const wait = retryWait(error.retryAfterMs, policy);
        if (wait.giveUp) {
          attempt.note = wait.note;
          record(attempt);
          break;
        }
        attempt.waitMs = wait.ms;
        if (wait.note) attempt.note = wait.note;
        record(attempt);
        await deps.sleep(wait.ms);
      }
    }
  }
  const last = [...attempts].reverse().find((a) => a.outcome !== 'skipped');
  const reason = last ? `every provider failed (last: ${last.provider}: ${last.error})` : 'every provider of the chain is marked down';
  return { status: 'undelivered', attempts, warnings, reason };
}

/** The wait before the next try: the configured delay, or a longer Retry-After within the cap. */
export function retryWait(retryAfterMs: number | undefined, policy: Pick<RetryPolicy, 'delayMs' | 'maxRetryAfterMs'>): { ms: number; giveUp: boolean; note?: string } {
  if (retryAfterMs === undefined || retryAfterMs <= policy.delayMs) return { ms: policy.delayMs, giveUp: false };
  if (retryAfterMs > policy.maxRetryAfterMs) {
    return { ms: 0, giveUp: true, note: `Retry-After ${Math.ceil(retryAfterMs / 1000)}s exceeds the ${Math.ceil(policy.maxRetryAfterMs / 1000)}s cap: moving on` };
  }
  return { ms: retryAfterMs, giveUp: false, note: `honouring Retry-After ${Math.ceil(retryAfterMs / 1000)}s` };
}
