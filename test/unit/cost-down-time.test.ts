import { describe, expect, it } from 'vitest';
import { describeHealth, formatClockUtc, formatTimeLeft } from '../../src/core/health.js';

describe('how long a provider stays down, as route explain and send -v show it', () => {
  it('writes the time left in hours, minutes and seconds, rounded up to the second', () => {
    expect(formatTimeLeft(294_000)).toBe('4m 54s');
    expect(formatTimeLeft(293_001)).toBe('4m 54s');
    expect(formatTimeLeft(54_000)).toBe('54s');
    expect(formatTimeLeft(300_000)).toBe('5m');
    expect(formatTimeLeft(3_905_000)).toBe('1h 5m 5s');
    expect(formatTimeLeft(7_200_000)).toBe('2h');
    expect(formatTimeLeft(0)).toBe('0s');
  });

  it('gives the UTC clock time, with the date when it is not today', () => {
    const now = Date.parse('2026-07-01T11:58:16Z');
    expect(formatClockUtc(Date.parse('2026-07-01T12:03:10Z'), now)).toBe('12:03:10 UTC');
    expect(formatClockUtc(Date.parse('2026-07-02T00:03:10Z'), now)).toBe('2026-07-02 00:03:10 UTC');
  });

  it('says it in one sentence', () => {
    const now = Date.parse('2026-07-01T11:58:16Z');
    const record = { provider: 'mailgun', consecutiveFailures: 3, openUntil: now + 294_000, lastError: 'HTTP 503', lastFailureAt: now };
    expect(describeHealth(record, now)).toBe('down: skipped for 4m 54s more after 3 failures, until 12:03:10 UTC (last: HTTP 503)');
  });
});
