/**
 * A circuit breaker per provider, persisted between runs by the store (a CLI is a new process
 * every time, so in-memory "dead provider" memory would do nothing).
 *
 * closed → (failureThreshold consecutive failures) → open for `cooldownMs` → half-open:
 * one probe is let through; success closes it, failure opens it again.
 */
export interface HealthRecord {
  provider: string;
  consecutiveFailures: number;
  /** Epoch ms until which the provider is skipped; undefined = closed. */
  openUntil?: number;
  lastError?: string;
  lastFailureAt?: number;
  lastSuccessAt?: number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface HealthPolicy {
  failureThreshold: number;
  cooldownMs: number;
}

export function circuitState(record: HealthRecord | undefined, now: number): CircuitState {
  if (!record?.openUntil) return 'closed';
  return now < record.openUntil ? 'open' : 'half-open';
}

export function recordFailure(record: HealthRecord | undefined, provider: string, error: string, now: number, policy: HealthPolicy): HealthRecord {
  const failures = (record?.consecutiveFailures ?? 0) + 1;
  const wasProbing = circuitState(record, now) === 'half-open';
  const opens = wasProbing || failures >= policy.failureThreshold;
  return {
    provider,
    consecutiveFailures: failures,
    openUntil: opens ? now + policy.cooldownMs : record?.openUntil,
    lastError: error,
    lastFailureAt: now,
    lastSuccessAt: record?.lastSuccessAt,
  };
}

/**
 * Whether a success needs writing down: it changes the circuit only after failures; otherwise it
 * just moves lastSuccessAt, which a bulk run would otherwise rewrite on every call.
 */
export function successWorthRecording(record: HealthRecord | undefined, now: number, everyMs = 1_000): boolean {
  if (!record || record.consecutiveFailures > 0 || record.openUntil !== undefined) return true;
  return now - (record.lastSuccessAt ?? 0) >= everyMs;
}

export function recordSuccess(record: HealthRecord | undefined, provider: string, now: number): HealthRecord {
  return { provider, consecutiveFailures: 0, lastSuccessAt: now, lastError: record?.lastError, lastFailureAt: record?.lastFailureAt };
}

export function describeHealth(record: HealthRecord | undefined, now: number): string {
  const state = circuitState(record, now);
  if (!record || (state === 'closed' && record.consecutiveFailures === 0)) return 'healthy';
  if (state === 'open') return `down: skipped for ${formatTimeLeft(record.openUntil! - now)} more after ${record.consecutiveFailures} failures, until ${formatClockUtc(record.openUntil!, now)} (last: ${record.lastError})`;
  if (state === 'half-open') return `recovering: cool-down over, next message probes it (last error: ${record.lastError})`;
  return `${record.consecutiveFailures} recent failure(s) (last: ${record.lastError})`;
}

/** Time left in whole seconds, rounded up, as people read it: "54s", "4m 54s", "1h 5m". */
export function formatTimeLeft(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const [h, m, s] = [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60];
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s || seconds === 0 ? `${s}s` : ''].filter(Boolean);
  return parts.join(' ');
}

/** "12:03:10 UTC", with the date in front when it is not today's (UTC). */
export function formatClockUtc(at: number, now: number): string {
  const [date, time] = new Date(at).toISOString().split('T');
  const clock = `${time.slice(0, 8)} UTC`;
  return date === new Date(now).toISOString().slice(0, 10) ? clock : `${date} ${clock}`;
}
