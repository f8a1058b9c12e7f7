import { describe, expect, it } from 'vitest';
import { circuitState, recordFailure, recordSuccess, successWorthRecording, type HealthPolicy } from '../../src/core/health.js';

const policy: HealthPolicy = { failureThreshold: 2, cooldownMs: 60_000 };

describe('successWorthRecording', () => {
  it('always after failures or an open circuit, and for a provider never seen', () => {
    expect(successWorthRecording(undefined, 1_000)).toBe(true);
    const failed = recordFailure(undefined, 'postmark', 'HTTP 500', 1_000, policy);
    expect(successWorthRecording(failed, 1_001)).toBe(true);
  });

  it('otherwise at most once a second, since only lastSuccessAt would move', () => {
    const ok = recordSuccess(undefined, 'postmark', 10_000);
    expect(successWorthRecording(ok, 10_500)).toBe(false);
    expect(successWorthRecording(ok, 11_000)).toBe(true);
    expect(circuitState(ok, 10_500)).toBe('closed');
  });
});
