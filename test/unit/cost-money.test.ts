import { describe, expect, it } from 'vitest';
import { centsToDecimal, dollars, formatCents, formatNanos, nanosToDecimal, perEmail, perThousand, sumCents, toCents } from '../../src/cost/money.js';

describe('money', () => {
  it('reads dollar amounts exactly, without float drift', () => {
    expect(dollars(1.8)).toBe(1_800_000_000n);
    expect(dollars(16.5)).toBe(16_500_000_000n);
    expect(dollars('0.0018')).toBe(1_800_000n);
    expect(dollars(0.1) + dollars(0.2)).toBe(dollars(0.3));
    expect(() => dollars('1.0000000001')).toThrow(RangeError);
    expect(() => dollars('abc')).toThrow(RangeError);
  });

  it('prices emails per thousand exactly', () => {
    expect(perThousand(90_000, dollars(1.2))).toBe(dollars(108));
    expect(perThousand(1, dollars(1.8))).toBe(dollars('0.0018'));
    expect(perEmail(dollars(1.3))).toBe(dollars('0.0013'));
  });

  it('rounds a line to cents half away from zero', () => {
    expect(toCents(dollars('35.005'))).toBe(3501);
    expect(toCents(dollars('35.00499'))).toBe(3500);
    expect(toCents(dollars('-0.005'))).toBe(-1);
    expect(sumCents([1500, 9000])).toBe(10500);
  });

  it('formats cents and exact amounts', () => {
    expect(formatCents(123456)).toBe('$1,234.56');
    expect(formatCents(-1500)).toBe('-$15.00');
    expect(centsToDecimal(5)).toBe('0.05');
    expect(nanosToDecimal(dollars('0.0018'))).toBe('0.0018');
    expect(nanosToDecimal(dollars(15))).toBe('15.00');
    expect(formatNanos(dollars(1015))).toBe('$1,015.00');
  });
});
