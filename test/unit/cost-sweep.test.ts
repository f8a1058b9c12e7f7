import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { buildCostSetup } from '../../src/cost/model.js';
import { parseSweep, sweep, sweepVolumes } from '../../src/cost/sweep.js';

const flatPricingConfig = {
  providers: {
    postmark: { type: 'postmark', serverToken: 'x' },
    mailgun: { type: 'mailgun', apiKey: 'k', domain: 'mg.example.com' },
    smtp: { type: 'smtp', host: 'smtp.example.com' },
  },
  pricing: {
    postmark: { plans: [{ name: 'flat', monthly: 0, included: 0, overagePer1k: 1.25 }] },
    mailgun: { plans: [{ name: 'foundation', monthly: 35, included: 50_000, overagePer1k: 2.0 }] },
    smtp: { monthly: 500 },
  },
};

const allTransactional = (volume: number) => ({ transactional: volume, marketing: 0 });

describe('sweep', () => {
  it('parses from:to:step and refuses nonsense', () => {
    expect(parseSweep('1000:200_000:1000')).toEqual({ from: 1000, to: 200_000, step: 1000 });
    expect(() => parseSweep('1000:200000')).toThrow(/from:to:step/);
    expect(() => parseSweep('-1:10:1')).toThrow(/from:to:step/);
    expect(() => parseSweep('10:1:1')).toThrow(/below/);
    expect(() => parseSweep('1:10:0')).toThrow(/at least 1/);
    expect(() => parseSweep('0:1000000:1')).toThrow(/more than 10,000 volumes/);
  });

  it('always includes the end of the range', () => {
    expect(sweepVolumes({ from: 0, to: 25, step: 10 })).toEqual([0, 10, 20, 25]);
  });

  it('finds the exact break-even volumes between sweep points', () => {
    const setup = buildCostSetup(validateConfig(flatPricingConfig, { baseDir: '/tmp' }));
    const result = sweep(setup, { from: 10_000, to: 100_000, step: 10_000 }, allTransactional, ['postmark', 'mailgun', 'smtp']);
    // postmark 1.25v/1000 passes mailgun's flat 35.00 after 28,000 (tie at 28,000 goes to the first listed);
    // mailgun 35 + 2(v − 50,000)/1000 passes postmark again after 86,666.67.
    expect(result.breakEvens).toEqual([
      { volume: 28_001, from: 'postmark', to: 'mailgun' },
      { volume: 86_667, from: 'mailgun', to: 'postmark' },
    ]);
    expect(result.points.map((p) => p.cheapest)).toEqual(['postmark', 'postmark', 'mailgun', 'mailgun', 'mailgun', 'mailgun', 'mailgun', 'mailgun', 'postmark', 'postmark']);
  });

  it('the volume table of plan tiers falls out of the catalog', () => {
    const result = sweep(buildCostSetup(), { from: 0, to: 200_000, step: 5_000 }, allTransactional, ['postmark', 'mailgun']);
    const changes = (strategy: string) => result.planChanges.filter((c) => c.strategy === strategy).map((c) => [c.volume, c.to]);
    expect(changes('postmark')).toEqual([
      [101, 'postmark basic'],
      [13_001, 'postmark pro'],
      [25_001, 'postmark platform'],
      [40_834, 'postmark basic-50k'], // the $55 tier for 50,000, capped: platform again past it
      [50_001, 'postmark platform'],
    ]);
    expect(changes('mailgun')).toEqual([
      [7_501, 'mailgun basic'],
      [21_112, 'mailgun foundation'],
      [92_308, 'mailgun scale'],
    ]);
  });
});
