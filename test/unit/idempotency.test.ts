import { describe, expect, it } from 'vitest';
import { bulkResumeMs, isRepeatDelivery, MIN_BULK_RESUME_MS } from '../../src/core/idempotency.js';

const policy = { windowMs: 10 * 60_000, keepMs: 30 * 86_400_000 };
const now = Date.UTC(2026, 11, 6);
const derived = { idempotencyKeySource: 'derived' as const };
const explicit = {};

describe('isRepeatDelivery', () => {
  it('a derived key is a repeat only within the window', () => {
    expect(isRepeatDelivery(derived, now - 9 * 60_000, now, policy)).toBe(true);
    expect(isRepeatDelivery(derived, now - 11 * 60_000, now, policy)).toBe(false);
  });
  it('window 0 turns the derived guard off', () => {
    expect(isRepeatDelivery(derived, now, now, { ...policy, windowMs: 0 })).toBe(false);
  });
  it('an explicit key holds for keep', () => {
    expect(isRepeatDelivery(explicit, now - 29 * 86_400_000, now, policy)).toBe(true);
    expect(isRepeatDelivery(explicit, now - 31 * 86_400_000, now, policy)).toBe(false);
  });
  it('an outbox entry counts any delivery made since it was stored', () => {
    expect(isRepeatDelivery(derived, now - 3_600_000, now, policy, now - 2 * 3_600_000)).toBe(true);
    expect(isRepeatDelivery(derived, now - 3 * 3_600_000, now, policy, now - 2 * 3_600_000)).toBe(false);
  });
});

describe('bulkResumeMs', () => {
  it('a bulk rerun resumes for at least 7 days, whatever the window', () => {
    expect(bulkResumeMs(derived, policy)).toBe(MIN_BULK_RESUME_MS);
    expect(bulkResumeMs(derived, { ...policy, windowMs: 0 })).toBe(MIN_BULK_RESUME_MS);
    expect(bulkResumeMs(explicit, policy)).toBe(policy.keepMs);
  });
});
