import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { buildCostSetup } from '../../src/cost/model.js';
import { dollars } from '../../src/cost/money.js';
import { costForVolume, marginalCost } from '../../src/cost/plan.js';
import { freeAllowance } from '../../src/cost/pricing.js';

const catalog = buildCostSetup();
const postmark = catalog.pricingOf('postmark');
const mailgun = catalog.pricingOf('mailgun');

function configured(raw: Record<string, unknown>) {
  return buildCostSetup(validateConfig(raw, { baseDir: '/tmp' }));
}

const providers = {
  pm: { type: 'postmark', serverToken: 'x' },
  mg: { type: 'mailgun', apiKey: 'k', domain: 'mg.example.com' },
};

describe('plan choice at each boundary (built-in catalog)', () => {
  // [emails, plan, total in cents] — hand-computed from the catalog prices.
  const postmarkCases: [number, string, number][] = [
    [0, 'free', 0],
    [100, 'free', 0],
    [101, 'basic', 1500], // free is capped at 100
    [10_000, 'basic', 1500],
    [10_001, 'basic', 1500], // 15 + 1 × 0.0018 = 15.0018
    [13_000, 'basic', 2040], // basic 15 + 5.40 = 20.40 = pro 16.50 + 3.90: tie, first listed wins
    [13_001, 'pro', 2040], // pro 20.4013 < basic 20.4018
    [25_000, 'pro', 3600], // pro 16.50 + 19.50 = 36.00 = platform 18 + 18
    [25_001, 'platform', 3600],
    [50_000, 'basic-50k', 5500], // the $55 tier for 50,000 (platform would be 18 + 40 × 1.20 = 66.00)
    [100_000, 'platform', 12600], // 18 + 90 × 1.20
  ];
  it.each(postmarkCases)('postmark %i emails → %s, %i cents', (emails, plan, cents) => {
    const cost = costForVolume(postmark, emails);
    expect(cost.plan).toBe(plan);
    expect(cost.totalCents).toBe(cents);
    expect(cost.totalCents).toBe(cost.baseFeeCents + cost.overageCents);
  });

  const mailgunCases: [number, string, number][] = [
    [1_000, 'flex', 200],
    [7_500, 'flex', 1500], // 7.5 × 2.00 = 15 = basic: tie, first listed wins
    [7_501, 'basic', 1500],
    [10_000, 'basic', 1500],
    [21_111, 'basic', 3500], // 15 + 11,111 × 0.0018 = 34.9998
    [21_112, 'foundation', 3500], // basic would be 35.0016
    [50_000, 'foundation', 3500],
    [50_001, 'foundation', 3500], // 35.0013
    [92_307, 'foundation', 9000], // 35 + 42,307 × 0.0013 = 89.9991
    [92_308, 'scale', 9000],
    [100_000, 'scale', 9000],
    [110_000, 'scale', 9800], // 90 + 10 × 0.80 (Scale's first overage tier)
    // Scale's overage tiers, each email at its own tier's rate:
    [250_000, 'scale', 21000], // 90 + 150 × 0.80 = 210.00
    [250_001, 'scale', 21000], // 210 + 1 × 0.00065 = 210.00065: the new tier's line rounds to 0.00
    [251_000, 'scale', 21065], // 210 + 1 × 0.65 = 210.65
    [750_000, 'scale', 53500], // 210 + 500 × 0.65 = 535.00
    [1_000_000, 'scale', 66000], // 535 + 250 × 0.50 = 660.00
    [2_500_000, 'scale', 126000], // 660 + 1,500 × 0.40 = 1,260.00
    [2_600_000, 'scale', 129500], // 1,260 + 100 × 0.35 = 1,295.00
  ];
  it.each(mailgunCases)('mailgun %i emails → %s, %i cents', (emails, plan, cents) => {
    const cost = costForVolume(mailgun, emails);
    expect(cost.plan).toBe(plan);
    expect(cost.totalCents).toBe(cents);
  });
});

describe('pinned plans', () => {
  it('uses the plan pinned in providers.<name>.plan even when dearer', () => {
    const setup = configured({ providers: { pm: { ...providers.pm, plan: 'platform' } } });
    const cost = costForVolume(setup.pricingOf('pm'), 5_000);
    expect(cost).toMatchObject({ plan: 'platform', pinned: true, totalCents: 1800 });
  });

  it('uses pricing.<name>.plan', () => {
    const setup = configured({ providers: { mg: providers.mg }, pricing: { mg: { plan: 'foundation' } } });
    expect(costForVolume(setup.pricingOf('mg'), 1_000)).toMatchObject({ plan: 'foundation', totalCents: 3500 });
  });

  it('refuses a pinned plan that does not exist, naming the plans', () => {
    const setup = configured({ providers: { pm: { ...providers.pm, plan: 'gold' } } });
    expect(() => setup.pricingOf('pm')).toThrow(/pinned plan "gold" is not one of its plans \(free, basic, pro, platform, basic-50k\)/);
  });
});

describe('hard caps', () => {
  it('flags a pinned capped plan that the volume exceeds', () => {
    const setup = configured({ providers: { pm: { ...providers.pm, plan: 'free' } } });
    const cost = costForVolume(setup.pricingOf('pm'), 101);
    expect(cost.feasible).toBe(false);
    expect(cost.problem).toBe('pm: pinned plan "free" is capped at 100 emails/month with no overage; 101 emails exceed it by 1');
  });

  it('flags a volume that no plan can carry', () => {
    const setup = configured({ providers: { pm: providers.pm }, pricing: { pm: { plans: [{ name: 'tiny', monthly: 0, included: 100, overagePer1k: null }, { name: 'small', monthly: 5, included: 1000, overagePer1k: null }] } } });
    expect(costForVolume(setup.pricingOf('pm'), 1000).feasible).toBe(true);
    const cost = costForVolume(setup.pricingOf('pm'), 1001);
    expect(cost.feasible).toBe(false);
    expect(cost.problem).toMatch(/no plan can carry 1,001 emails\/month — the largest, "small", is capped at 1,000/);
  });
});

describe('config overrides', () => {
  it('a type-keyed override applies to a provider of that type; a name-keyed one wins over it', () => {
    const setup = configured({
      providers: { pm: providers.pm, pm2: providers.pm },
      pricing: { postmark: { plans: [{ name: 'flat', monthly: 0, included: 0, overagePer1k: 1.25 }] }, pm2: { plans: [{ name: 'own', monthly: 1, included: 0, overagePer1k: 1 }] } },
    });
    expect(costForVolume(setup.pricingOf('pm'), 100_000)).toMatchObject({ plan: 'flat', totalCents: 12500 });
    expect(costForVolume(setup.pricingOf('pm2'), 1_000)).toMatchObject({ plan: 'own', totalCents: 200 });
  });

  it('takes tiered overage in a plan, next to plans with one rate', () => {
    const setup = configured({
      providers: { mg: providers.mg },
      pricing: {
        mg: {
          plans: [
            { name: 'flat', monthly: 35, included: 50_000, overagePer1k: 1.3 },
            { name: 'tiered', monthly: 90, included: 100_000, overage: [{ upTo: 200_000, per1k: 1 }, { upTo: null, per1k: 0.5 }] },
          ],
        },
      },
    });
    // flat 35 + 250 × 1.30 = 360.00; tiered 90 + 100 × 1.00 + 100 × 0.50 = 240.00
    expect(costForVolume(setup.pricingOf('mg'), 300_000)).toMatchObject({ plan: 'tiered', totalCents: 24000, overageCents: 15000, tiered: true });
    // flat 35 + 50 × 1.30 = 100.00; tiered 90.00 (all included)
    expect(costForVolume(setup.pricingOf('mg'), 100_000)).toMatchObject({ plan: 'tiered', totalCents: 9000, overageLines: [] });
  });

  it('monthly alone is a flat cost with unlimited emails', () => {
    const setup = configured({ providers: { relay: { type: 'smtp', host: 'smtp.example.com' } }, pricing: { relay: { monthly: 49.99 } } });
    expect(costForVolume(setup.pricingOf('relay'), 1_000_000)).toMatchObject({ plan: 'infrastructure', totalCents: 4999, overageEmails: 0, included: Infinity });
  });
});

describe('marginal cost and free tier', () => {
  it('is free inside the included emails', () => {
    const m = marginalCost(postmark, 50);
    expect(m.marginal).toBe(0n);
    expect(m.includedLeft).toBe(50);
  });

  it('counts a plan change in full', () => {
    const m = marginalCost(postmark, 100);
    expect(m.marginal).toBe(dollars(15));
    expect(m.explanation).toMatch(/from free to basic/);
  });

  it('is the overage price per email beyond the included emails', () => {
    expect(marginalCost(postmark, 20_000).marginal).toBe(dollars('0.0013')); // pro at 20,000
    expect(marginalCost(mailgun, 120_000).marginal).toBe(dollars('0.0008'));
  });

  it("follows a tiered plan's tiers: the next email pays the rate of the tier it falls in", () => {
    // The 250,000th Scale email is the last at $0.80/1k; the 250,001st is the first at $0.65/1k.
    expect(marginalCost(mailgun, 249_999).marginal).toBe(dollars('0.0008'));
    const intoNextTier = marginalCost(mailgun, 250_000);
    expect(intoNextTier.marginal).toBe(dollars('0.00065'));
    expect(intoNextTier.explanation).toBe('overage on scale at $0.65/1k (its tier up to 750,000 emails a month)');
    expect(marginalCost(mailgun, 3_000_000).explanation).toBe('overage on scale at $0.35/1k (its last tier, above 2,500,000 emails a month)');
  });

  it('is impossible past a pinned hard cap', () => {
    const setup = configured({ providers: { pm: { ...providers.pm, plan: 'free' } } });
    expect(marginalCost(setup.pricingOf('pm'), 100).marginal).toBeNull();
  });

  it('knows each provider’s free allowance', () => {
    expect(freeAllowance(postmark)).toBe(100);
    expect(freeAllowance(mailgun)).toBe(0);
    expect(freeAllowance(catalog.pricingOf('smtp'))).toBe(0);
  });
});
