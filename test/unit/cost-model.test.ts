import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateConfig } from '../../src/config/validate.js';
import { allocateHybrid, buildCostSetup, costOfStrategy, estimate } from '../../src/cost/model.js';
import { dollars } from '../../src/cost/money.js';
import { ROOT } from '../helpers/cli.js';

function configured(raw: unknown) {
  return buildCostSetup(validateConfig(raw, { baseDir: '/tmp' }));
}

/** The strategies these tests compare (SendGrid and SES would undercut them: their own tests are below). */
const FIRST_THREE = ['postmark', 'mailgun', 'smtp', 'hybrid'];

const exampleSetup = () => configured(parse(readFileSync(`${ROOT}/penguinmails.config.example.yaml`, 'utf8')));

const flatPricingConfig = {
  providers: {
    postmark: { type: 'postmark', serverToken: 'x' },
    mailgun: { type: 'mailgun', apiKey: 'k', domain: 'mg.example.com' },
    smtp: { type: 'smtp', host: 'smtp.example.com' },
  },
  routing: { rules: [{ when: { type: 'transactional' }, use: ['postmark', 'mailgun'] }, { when: { type: 'marketing' }, use: ['mailgun', 'smtp'] }] },
  pricing: {
    postmark: { plans: [{ name: 'flat', monthly: 0, included: 0, overagePer1k: 1.25 }] },
    mailgun: { plans: [{ name: 'foundation', monthly: 35, included: 50_000, overagePer1k: 2.0 }] },
    smtp: { monthly: 500 },
  },
};

describe('strategies', () => {
  it('flat Postmark $1.25/1k vs Mailgun Foundation $35 for 50k + $2.00/1k at 100k', () => {
    const result = estimate(configured(flatPricingConfig), { transactional: 100_000, marketing: 0 }, FIRST_THREE);
    const total = (s: string) => result.strategies.find((c) => c.strategy === s)!.totalCents;
    expect(total('postmark')).toBe(12_500); // 100 × 1.25
    expect(total('mailgun')).toBe(13_500); // 35 + 50 × 2.00
    expect(total('smtp')).toBe(50_000);
    expect(result.cheapest).toBe('postmark');
  });

  it('the headline: 100,000 a month, 5,000 transactional + 95,000 marketing, built-in catalog', () => {
    const result = estimate(buildCostSetup(), { transactional: 5_000, marketing: 95_000 });
    const byName = Object.fromEntries(result.strategies.map((s) => [s.strategy, s]));
    // all-postmark: platform 18 + 90,000 × 1.20/1k = 126.00 (pro 133.50, basic 177.00)
    expect(byName.postmark.providers[0]).toMatchObject({ plan: 'platform', baseFeeCents: 1800, overageEmails: 90_000, overageCents: 10_800, totalCents: 12_600 });
    // all-mailgun: scale 90 covers 100,000 (foundation 35 + 50 × 1.30 = 100.00)
    expect(byName.mailgun.providers[0]).toMatchObject({ plan: 'scale', totalCents: 9_000, overageEmails: 0 });
    expect(byName.smtp.totalCents).toBe(0);
    // hybrid: 5,000 → postmark basic 15.00; 95,000 → mailgun scale 90.00 (foundation would be 35 + 45 × 1.30 = 93.50)
    expect(byName.hybrid.providers.map((p) => [p.provider, p.plan, p.emails, p.totalCents])).toEqual([
      ['postmark', 'basic', 5_000, 1_500],
      ['mailgun', 'scale', 95_000, 9_000],
    ]);
    expect(byName.hybrid.totalCents).toBe(10_500);
    expect(result.savings).toEqual([
      { versus: 'postmark', label: 'all-postmark', savingsCents: 2_100, percent: 16.7, noComparison: null },
      { versus: 'mailgun', label: 'all-mailgun', savingsCents: -1_500, percent: -16.7, noComparison: null },
      // The catalog's SMTP is a $0 placeholder for infrastructure nobody priced: nothing to compare.
      { versus: 'smtp', label: 'all-smtp', savingsCents: null, percent: null, noComparison: 'smtp infrastructure not priced' },
      // all-sendgrid: pro 89.95 for 100,000 (essentials is capped at 50,000)
      { versus: 'sendgrid', label: 'all-sendgrid', savingsCents: -1_505, percent: -16.7, noComparison: null },
      // all-ses: 100 × 0.10 = 10.00
      { versus: 'ses', label: 'all-ses', savingsCents: -9_500, percent: -950, noComparison: null },
    ]);
    expect(byName.smtp.priced).toBe(false);
    expect(result.cheapest).toBe('ses');
  });

  it('totals always equal the sum of their rounded parts', () => {
    const setup = exampleSetup();
    for (const volume of [1, 7, 999, 1_001, 12_345, 33_333, 87_654, 250_001, 777_777, 2_600_007]) {
      const result = estimate(setup, { transactional: Math.floor(volume / 3), marketing: volume - Math.floor(volume / 3) });
      for (const strategy of result.strategies) {
        expect(strategy.totalCents).toBe(strategy.providers.reduce((sum, p) => sum + p.baseFeeCents + p.overageCents, 0));
        for (const p of strategy.providers) expect(p.overageCents).toBe(p.overageLines.reduce((sum, line) => sum + line.cents, 0));
        expect(strategy.providers.reduce((sum, p) => sum + p.emails, 0)).toBe(volume);
      }
    }
  });
});

describe('hybrid routing through the config rules', () => {
  it('uses the monthly-volume rule of the example config below 1,000 a month', () => {
    expect(allocateHybrid(exampleSetup(), { transactional: 0, marketing: 800 })).toEqual([{ type: 'marketing', emails: 800, provider: 'smtp', rule: 3, label: 'rule 3 (type: marketing, monthly volume below 1,000)' }]);
    expect(allocateHybrid(exampleSetup(), { transactional: 100, marketing: 900 })).toEqual([
      { type: 'transactional', emails: 100, provider: 'postmark', rule: 2, label: 'rule 2 (type: transactional)' },
      { type: 'marketing', emails: 900, provider: 'mailgun', rule: 4, label: 'rule 4 (type: marketing)' },
    ]);
  });

  it('"free tier first" sends only the free allowance through that rule', () => {
    const setup = configured({
      providers: { postmark: { type: 'postmark', serverToken: 'x' }, mailgun: { type: 'mailgun', apiKey: 'k', domain: 'mg.example.com' } },
      routing: { rules: [{ name: 'free first', when: { freeTierLeft: true }, use: ['postmark'] }, { name: 'rest', when: {}, use: ['mailgun'] }] },
    });
    const hybrid = costOfStrategy(setup, 'hybrid', { transactional: 250, marketing: 0 });
    expect(hybrid.allocations).toEqual([
      { type: 'transactional', emails: 100, provider: 'postmark', rule: 1, label: 'free first' },
      { type: 'transactional', emails: 150, provider: 'mailgun', rule: 2, label: 'rest' },
    ]);
    // postmark free 0.00 + mailgun flex 150 × 2.00/1k = 0.30
    expect(hybrid.totalCents).toBe(30);
  });

  it('defaults to transactional → postmark, marketing → mailgun with no providers configured', () => {
    const setup = buildCostSetup();
    expect(setup.defaultRouting).toBe(true);
    expect(allocateHybrid(setup, { transactional: 1, marketing: 2 }).map((a) => a.provider)).toEqual(['postmark', 'mailgun']);
  });

  it('marks a strategy impossible when a capped plan is exceeded', () => {
    const setup = configured({ ...flatPricingConfig, providers: { ...flatPricingConfig.providers, postmark: { type: 'postmark', serverToken: 'x', plan: 'free' } }, pricing: {} });
    const result = estimate(setup, { transactional: 500, marketing: 0 }, FIRST_THREE);
    const postmark = result.strategies.find((s) => s.strategy === 'postmark')!;
    expect(postmark.feasible).toBe(false);
    expect(postmark.problems[0]).toMatch(/pinned plan "free" is capped at 100/);
    expect(result.savings.find((s) => s.versus === 'postmark')!.savingsCents).toBeNull();
    // SMTP without pricing.smtp is not priced, so mailgun (flex, $1.00) is the cheapest possible.
    expect(result.cheapest).toBe('mailgun');
  });
});

describe('the built-in catalog, checked by hand', () => {
  // Each provider alone at 1k, 50k, 100k and 1M emails a month: every plan is priced by hand and the
  // cheapest one that can carry the volume must be the one the model picks.
  const single = (type: string, emails: number) => {
    const cost = costOfStrategy(buildCostSetup(), type, { transactional: emails, marketing: 0 });
    return [cost.providers[0].plan, cost.feasible ? cost.totalCents : 'capped'];
  };

  it('sendgrid: essentials $19.95 for 50,000, pro $89.95 for 100,000, no overage read', () => {
    // 1k and 50k: essentials 19.95 (pro 89.95)
    expect(single('sendgrid', 1_000)).toEqual(['essentials', 1_995]);
    expect(single('sendgrid', 50_000)).toEqual(['essentials', 1_995]);
    // 100k: essentials is capped at 50,000 → pro 89.95
    expect(single('sendgrid', 100_000)).toEqual(['pro', 8_995]);
    // 1M: both plans are capped (no overage published) → not possible
    expect(single('sendgrid', 1_000_000)).toEqual(['pro', 'capped']);
  });

  it('ses: $0.10 per 1,000', () => {
    // pay-as-you-go 0.10/1k is always below essentials 0.16/1k
    expect(single('ses', 1_000)).toEqual(['pay-as-you-go', 10]); // 1 × 0.10 = 0.10 (essentials 0.16)
    expect(single('ses', 50_000)).toEqual(['pay-as-you-go', 500]); // 50 × 0.10 = 5.00 (essentials 8.00)
    expect(single('ses', 100_000)).toEqual(['pay-as-you-go', 1_000]); // 100 × 0.10 = 10.00 (essentials 16.00)
    expect(single('ses', 1_000_000)).toEqual(['pay-as-you-go', 10_000]); // 1,000 × 0.10 = 100.00 (essentials 160.00)
  });

  it('smtp: the $0 placeholder for your own infrastructure, never priced', () => {
    for (const emails of [1_000, 50_000, 100_000, 1_000_000]) {
      const cost = costOfStrategy(buildCostSetup(), 'smtp', { transactional: emails, marketing: 0 });
      expect(cost.providers[0]).toMatchObject({ plan: 'infrastructure', totalCents: 0, overageEmails: 0, priced: false });
      expect(cost.priced).toBe(false);
    }
  });

  it("postmark: the $55 tier carries 50,000; past it the 10k plans' overage", () => {
    // 1k: free is capped at 100; basic 15.00, pro 16.50, platform 18.00, basic-50k 55.00 → basic
    expect(single('postmark', 1_000)).toEqual(['basic', 1_500]);
    // 50k: basic 15 + 40 × 1.80 = 87.00; pro 16.50 + 40 × 1.30 = 68.50; platform 18 + 40 × 1.20 = 66.00;
    //      basic-50k 55.00 → basic-50k
    expect(single('postmark', 50_000)).toEqual(['basic-50k', 5_500]);
    // 100k: basic 15 + 90 × 1.80 = 177.00; pro 16.50 + 90 × 1.30 = 133.50; platform 18 + 90 × 1.20 = 126.00;
    //       basic-50k capped at 50,000 → platform
    expect(single('postmark', 100_000)).toEqual(['platform', 12_600]);
    // 1M: basic 15 + 990 × 1.80 = 1,797.00; pro 16.50 + 990 × 1.30 = 1,303.50; platform 18 + 990 × 1.20 = 1,206.00
    expect(single('postmark', 1_000_000)).toEqual(['platform', 120_600]);
  });

  it("mailgun: foundation $35 for 50,000; scale $90 for 100,000 then tiered overage", () => {
    // 1k: flex 1 × 2.00 = 2.00; basic 15.00 → flex
    expect(single('mailgun', 1_000)).toEqual(['flex', 200]);
    // 50k: flex 50 × 2.00 = 100.00; basic 15 + 40 × 1.80 = 87.00; foundation 35.00; scale 90.00 → foundation
    expect(single('mailgun', 50_000)).toEqual(['foundation', 3_500]);
    // 100k: flex 200.00; basic 15 + 90 × 1.80 = 177.00; foundation 35 + 50 × 1.30 = 100.00; scale 90.00 → scale
    expect(single('mailgun', 100_000)).toEqual(['scale', 9_000]);
    // 1M: scale 90
    //       + 150,000 (100,001–250,000) × 0.80/1k = 120.00
    //       + 500,000 (250,001–750,000) × 0.65/1k = 325.00
    //       + 250,000 (750,001–1,000,000) × 0.50/1k = 125.00
    //       = 660.00 (one flat $0.80 would say 810.00; foundation 35 + 950 × 1.30 = 1,270.00)
    expect(single('mailgun', 1_000_000)).toEqual(['scale', 66_000]);
    // 3M: 660.00 + 1,500,000 (to 2,500,000) × 0.40/1k = 600.00 + 500,000 × 0.35/1k = 175.00 → 1,435.00
    expect(single('mailgun', 3_000_000)).toEqual(['scale', 143_500]);
  });

  it("bills each of Mailgun Scale's tiers as its own invoice line", () => {
    const scale = costOfStrategy(buildCostSetup(), 'mailgun', { transactional: 0, marketing: 1_000_000 }).providers[0];
    expect(scale.overageLines.map(({ above, upTo, emails, cents }) => [above, upTo, emails, cents])).toEqual([
      [100_000, 250_000, 150_000, 12_000],
      [250_000, 750_000, 500_000, 32_500],
      [750_000, 1_000_000, 250_000, 12_500],
    ]);
    expect(scale).toMatchObject({ tiered: true, overageEmails: 900_000, overageCents: 57_000, baseFeeCents: 9_000, totalCents: 66_000 });
    // The rate at this volume: the tier the 1,000,000th email fell in.
    expect(scale.overagePer1k).toBe(dollars('0.5'));
  });
});
