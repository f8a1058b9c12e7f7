import { ProviderError, type ErrorClass } from './errors.js';
import { circuitState, describeHealth, recordFailure, recordSuccess, successWorthRecording, type HealthPolicy, type HealthRecord } from './health.js';
import { isOwnRefusal, RUN_STOPPED_CODE } from './rate-limit.js';

/**
 * The failover policy (SPEC "Error policy"), for one message or a batch of recipients alike: the
 * one place that says what each class of failure leads to.
 */
export const ON_FAILURE: Record<ErrorClass, 'reject' | 'hold' | 'next-provider' | 'retry'> = {
  /** The message (or recipient) itself is refused: stop, never route round it. */
  permanent: 'reject',
  /** The provider may have taken it: no blind resend (unless failover.resendAmbiguous). */
  ambiguous: 'hold',
  /** This provider cannot send for us (credentials, sender): the next one at once. */
  'provider-unusable': 'next-provider',
  /** Nothing was handed over: try again here, then the next provider. */
  transient: 'retry',
};

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

export interface RetryPolicy {
  attempts: number;
  delayMs: number;
  maxRetryAfterMs: number;
  resendAmbiguous: boolean;
}

/** Where health records live between runs (the store); the runner only reads and writes through this. */
export interface HealthBook {
  healthOf(provider: string): Promise<HealthRecord | undefined>;
  saveHealth(record: HealthRecord): Promise<void>;
}

/** A provider's answer for one item of a call. */
export type ItemAnswer<Value> = { ok: true; value: Value } | { ok: false; error: ProviderError };

export interface ChainDeps<Item, Value> {
  /**
   * One call to a provider for these items. Per-item answers come back in order; a failure of the
   * whole call is thrown as a ProviderError (it then applies to every item of the call).
   */
  call(provider: string, items: Item[], tryNumber: number): Promise<ItemAnswer<Value>[]>;
  now(): number;
  /** Waits before the next try at the same provider (the retry delay, or a Retry-After). */
  wait(provider: string, ms: number, rateLimited: boolean): Promise<void>;
  health?: { book: HealthBook; policy: HealthPolicy };
  /** Try every provider even while its circuit is open (a `queue retry` asked for by hand). */
  ignoreCircuit?: boolean;
  /** Why a provider is to be skipped now besides its circuit (e.g. a Retry-After beyond the cap), if it is. */
  skipReason?(provider: string): string | undefined;
  /** Told when a provider asks for a longer wait than the cap (later batches may skip it meanwhile). */
  onRetryAfterTooLong?(provider: string, retryAfterMs: number, reason: string): void;
  /** Asked before each call: false stops the run here (Ctrl-C); the items not sent are returned as `stopped`. */
  beforeCall?(provider: string, items: Item[]): boolean | Promise<boolean>;
  onAttempt?(attempt: Attempt): void;
  /** Told when the items still pending leave `from` for the next provider of the chain (a failover; alerts). */
  onProviderSwitch?(from: string, to: string, items: Item[], reason: string): void;
  /** Told when this run's failure opens a provider's circuit (alerts). */
  onCircuitOpened?(provider: string, record: HealthRecord): void;
}

export interface ChainOutcome<Item, Value> {
  delivered: { item: Item; provider: string; value: Value }[];
  /** Refused for good (permanent): never sent through another provider. */
  rejected: { item: Item; provider: string; error: ProviderError; wholeCall: boolean }[];
  /** The provider may have them: kept for a person, never resent blindly. */
  ambiguous: { item: Item; provider: string; error: ProviderError }[];
  /** Every provider of the chain failed (or was skipped) for these. */
  undelivered: Item[];
  /** Not sent because the run was stopped before their call. */
  stopped: Item[];
  attempts: Attempt[];
  /** Why the last provider did not deliver the undelivered ones. */
  reasons: string[];
  /** Every provider of the chain was marked down at the start: they were probed anyway. */
  allMarkedDown?: true;
}

/**
 * Walks the chain for a set of items (one message, or a batch of recipients): each provider is
 * tried up to `attempts` times for what is still pending, following ON_FAILURE per item; what it
 * cannot take moves on to the next provider; circuits (provider health) are kept on the way.
 */
export async function runChain<Item, Value>(items: Item[], chain: string[], policy: RetryPolicy, deps: ChainDeps<Item, Value>): Promise<ChainOutcome<Item, Value>> {
  const outcome: ChainOutcome<Item, Value> = { delivered: [], rejected: [], ambiguous: [], undelivered: [], stopped: [], attempts: [], reasons: [] };
  const record = (attempt: Attempt) => {
    outcome.attempts.push(attempt);
    deps.onAttempt?.(attempt);
  };
  const health = deps.health;
  let pending = items;
  const switchFrom = (index: number) => {
    if (pending.length && index + 1 < chain.length) deps.onProviderSwitch?.(chain[index], chain[index + 1], pending, outcome.reasons[0] ?? `${chain[index]}: failed`);
  };

  for (let index = 0; index < chain.length && pending.length > 0; index++) {
    const name = chain[index];
    const records = health && !deps.ignoreCircuit ? await Promise.all(chain.slice(index).map((n) => health.book.healthOf(n))) : [];
    const isOpen = records.map((record) => circuitState(record, deps.now()) === 'open');
    if (index === 0 && records.length > 0 && isOpen.every(Boolean)) outcome.allMarkedDown = true;
    // When every provider left is marked down, probe them anyway rather than give up untried.
    if (isOpen[0] && !isOpen.every(Boolean)) {
      const note = `marked ${describeHealth(records[0], deps.now())}`;
      record({ provider: name, try: 0, outcome: 'skipped', ms: 0, note });
      outcome.reasons = [`${name}: marked down`];
      switchFrom(index);
      continue;
    }
    const skipped = deps.skipReason?.(name);
    if (skipped) {
      record({ provider: name, try: 0, outcome: 'skipped', ms: 0, note: skipped });
      outcome.reasons = [skipped];
      switchFrom(index);
      continue;
    }
    // Why the chain leaves this provider, if it does: this provider's own failure, never an
    // earlier provider's (an alert gave Postmark's 503 as the reason to leave Mailgun, whose key was bad).
    outcome.reasons = [];
    const forNext: Item[] = [];
    let movedOnBy: ProviderError | undefined;
    for (let tryNumber = 1; tryNumber <= policy.attempts && pending.length > 0; tryNumber++) {
      if (deps.beforeCall && !(await deps.beforeCall(name, pending))) {
        outcome.stopped.push(...pending);
        return outcome;
      }
      const started = deps.now();
      const answers = await answersOf(deps, name, pending, tryNumber);
      const ms = deps.now() - started;
      const wholeCallError = answers.failedWhole;
      if (health) await noteHealth(health, name, wholeCallError, deps.now(), deps.onCircuitOpened);

      const retryHere: Item[] = [];
      let retryAfterMs: number | undefined;
      let lastError: ProviderError | undefined;
      answers.list.forEach((answer, i) => {
        const item = pending[i];
        if (answer.ok) {
          outcome.delivered.push({ item, provider: name, value: answer.value });
          return;
        }
        // Not called: the run stopped while this provider's rate limit held it back.
        if (answer.error.code === RUN_STOPPED_CODE) {
          outcome.stopped.push(item);
          return;
        }
        lastError = answer.error;
        const action = answer.error.errorClass === 'ambiguous' && policy.resendAmbiguous ? 'retry' : ON_FAILURE[answer.error.errorClass];
        if (action === 'reject') outcome.rejected.push({ item, provider: name, error: answer.error, wholeCall: wholeCallError !== undefined && pending.length > 1 });
        else if (action === 'hold') outcome.ambiguous.push({ item, provider: name, error: answer.error });
        else if (action === 'next-provider') {
          forNext.push(item);
          movedOnBy ??= answer.error;
        }
        else {
          retryHere.push(item);
          if (answer.error.retryAfterMs !== undefined) retryAfterMs = Math.max(retryAfterMs ?? 0, answer.error.retryAfterMs);
        }
      });
      if (answers.list.every((answer) => !answer.ok && answer.error.code === RUN_STOPPED_CODE)) {
        pending = [];
        break;
      }
      const attempt = attemptOf(name, tryNumber, ms, answers.list, lastError);
      pending = retryHere;
      if (pending.length === 0 || !lastError) {
        record(attempt);
        break;
      }
      const error: ProviderError = lastError;
      outcome.reasons = [`${name}: ${error.message}`];
      if (tryNumber === policy.attempts) {
        record(attempt);
        break;
      }
      const wait = retryWait(retryAfterMs, policy);
      if (wait.giveUp) {
        attempt.note = wait.note;
        record(attempt);
        outcome.reasons = [`${name}: ${error.message} (${wait.note})`];
        deps.onRetryAfterTooLong?.(name, retryAfterMs!, outcome.reasons[0]);
        break;
      }
      attempt.waitMs = wait.ms;
      if (wait.note) attempt.note = wait.note;
      record(attempt);
      await deps.wait(name, wait.ms, error.httpStatus === 429);
    }
    if (forNext.length) {
      const unusable = [...outcome.attempts].reverse().find((a) => a.provider === name && a.outcome === 'provider-unusable');
      if (unusable && !unusable.note) unusable.note = 'provider unusable: moving on without retrying';
      if (outcome.reasons.length === 0 && movedOnBy) outcome.reasons = [`${name}: ${movedOnBy.message}`];
    }
    pending = [...forNext, ...pending];
    if (pending.length && outcome.reasons.length === 0) outcome.reasons = [`${name}: failed`];
    switchFrom(index);
  }
  outcome.undelivered.push(...pending);
  return outcome;
}

/** The answers of one call, a whole-call failure turned into the same failure for every item. */
async function answersOf<Item, Value>(deps: ChainDeps<Item, Value>, name: string, items: Item[], tryNumber: number): Promise<{ list: ItemAnswer<Value>[]; failedWhole?: ProviderError }> {
  try {
    return { list: await deps.call(name, items, tryNumber) };
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    return { list: items.map(() => ({ ok: false as const, error })), failedWhole: error };
  }
}

/**
 * A call that answered counts as a success of the provider, however its items fared; a failed
 * call counts against it, unless the message itself was refused, the provider only asked us to
 * slow down (a 429 is not an outage), or our own send-side rate limit held the call back.
 */
async function noteHealth(
  health: NonNullable<ChainDeps<unknown, unknown>['health']>,
  name: string,
  failure: ProviderError | undefined,
  now: number,
  onCircuitOpened?: (provider: string, record: HealthRecord) => void,
): Promise<void> {
  const current = await health.book.healthOf(name);
  if (!failure) {
    if (successWorthRecording(current, now)) await health.book.saveHealth(recordSuccess(current, name, now));
  } else if (failure.errorClass !== 'permanent' && failure.httpStatus !== 429 && !isOwnRefusal(failure)) {
    const next = recordFailure(current, name, failure.message, now, health.policy);
    await health.book.saveHealth(next);
    // Closed or probing before, open now: this failure opened the circuit (once per opening).
    if (circuitState(current, now) !== 'open' && circuitState(next, now) === 'open') onCircuitOpened?.(name, next);
  }
}

function attemptOf(name: string, tryNumber: number, ms: number, answers: ItemAnswer<unknown>[], lastError: ProviderError | undefined): Attempt {
  if (!lastError) return { provider: name, try: tryNumber, outcome: 'delivered', ms };
  const attempt: Attempt = { provider: name, try: tryNumber, outcome: lastError.errorClass, error: lastError.message, ms };
  if (lastError.code !== undefined) attempt.code = lastError.code;
  if (lastError.errorClass === 'ambiguous') attempt.note = 'not resent: the provider may have accepted it (set failover.resendAmbiguous to allow)';
  const failed = answers.filter((a) => !a.ok).length;
  if (answers.length > 1 && failed < answers.length) attempt.note = `${answers.length - failed} of ${answers.length} accepted`;
  return attempt;
}

/** The wait before the next try: the configured delay, or a longer Retry-After within the cap. */
export function retryWait(retryAfterMs: number | undefined, policy: Pick<RetryPolicy, 'delayMs' | 'maxRetryAfterMs'>): { ms: number; giveUp: boolean; note?: string } {
  if (retryAfterMs === undefined || retryAfterMs <= policy.delayMs) return { ms: policy.delayMs, giveUp: false };
  if (retryAfterMs > policy.maxRetryAfterMs) {
    return { ms: 0, giveUp: true, note: `Retry-After ${Math.ceil(retryAfterMs / 1000)}s exceeds the ${Math.ceil(policy.maxRetryAfterMs / 1000)}s cap: moving on` };
  }
  return { ms: retryAfterMs, giveUp: false, note: `honouring Retry-After ${Math.ceil(retryAfterMs / 1000)}s` };
}
