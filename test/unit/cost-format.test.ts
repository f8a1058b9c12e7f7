import { describe, expect, it } from 'vitest';
import { barChart, estimateJson, formatEstimate, renderCsv, renderMarkdownTable, renderTable, type EstimateContext } from '../../src/cost/format.js';
import { buildCostSetup, estimate, strategyNames } from '../../src/cost/model.js';

describe('cost formats', () => {
  it('aligns table columns, numbers to the right', () => {
    const table = renderTable({ headers: ['Name', 'Total'], align: ['left', 'right'], rows: [['a', '$1.00'], ['longer', '$100.00']] });
    expect(table.split('\n')).toEqual(['Name      Total', 'a         $1.00', 'longer  $100.00']);
  });

  it('escapes Markdown pipes and quotes CSV fields', () => {
    expect(renderMarkdownTable({ headers: ['a|b'], align: ['right'], rows: [['1']] })).toBe('| a\\|b |\n| ---: |\n| 1 |');
    expect(renderCsv(['x', 'y'], [['a,b', 'say "hi"']])).toBe('x,y\n"a,b","say ""hi"""');
  });

  it('draws bars scaled to the dearest strategy', () => {
    const setup = buildCostSetup();
    const result = estimate(setup, { transactional: 5_000, marketing: 95_000 });
    const chart = barChart(result.strategies, 10).split('\n');
    expect(chart[0]).toBe('all-postmark  ██████████ $126.00');
    expect(chart[1]).toBe('all-mailgun   ███████ $90.00'); // 90/126 × 10 = 7.1
    expect(chart[2]).toBe('all-smtp      not priced');
  });

  it('keeps the chart out unless asked (TTY only), and the JSON money in dollars', () => {
    const setup = buildCostSetup();
    const result = estimate(setup, { transactional: 5_000, marketing: 95_000 });
    const context: EstimateContext = { shown: strategyNames(), prices: [setup.pricingOf('postmark')], notes: [], chart: false };
    expect(formatEstimate(result, context, 'table')).not.toContain('█');
    expect(formatEstimate(result, { ...context, chart: true }, 'table')).toContain('█');
    const doc = estimateJson(result, context);
    expect(doc.strategies.map((s) => s.total)).toEqual([126, 90, null, 89.95, 10, 105]);
    expect(doc.prices[0].plans[1]).toEqual({ name: 'basic', monthly: 15, included: 10_000, overagePer1k: 1.8, overageTiers: null, unverified: null });
  });

  it("shows a tiered plan's rates and its invoice lines", () => {
    const setup = buildCostSetup();
    const result = estimate(setup, { transactional: 0, marketing: 1_000_000 }, ['mailgun']);
    const context: EstimateContext = { shown: ['mailgun'], prices: [setup.pricingOf('mailgun')], notes: [], chart: false };
    const table = formatEstimate(result, context, 'table');
    // 90 + 150 × 0.80 + 500 × 0.65 + 250 × 0.50 = 90 + 120 + 325 + 125 = 660.00
    expect(table).toMatch(/all-mailgun +mailgun +scale +1,000,000 +\$90\.00 +100,000 +900,000 +\$0\.80→\$0\.65→\$0\.50 +\$570\.00 +\$660\.00/);
    expect(table).toContain('scale overage by tier: $0.80/1k up to 250,000 emails a month, $0.65/1k up to 750,000, $0.50/1k up to 1,000,000, $0.40/1k up to 2,500,000, then $0.35/1k');
    const doc = estimateJson(result, context);
    expect(doc.strategies[0].providers[0]).toMatchObject({
      plan: 'scale',
      overagePer1k: 0.5,
      overage: 570,
      total: 660,
      overageTiers: [
        { above: 100_000, upTo: 250_000, emails: 150_000, per1k: 0.8, overage: 120 },
        { above: 250_000, upTo: 750_000, emails: 500_000, per1k: 0.65, overage: 325 },
        { above: 750_000, upTo: 1_000_000, emails: 250_000, per1k: 0.5, overage: 125 },
      ],
    });
    expect(doc.prices[0].plans.find((plan) => plan.name === 'scale')).toMatchObject({
      overagePer1k: 0.8,
      overageTiers: [
        { upTo: 250_000, per1k: 0.8 },
        { upTo: 750_000, per1k: 0.65 },
        { upTo: 1_000_000, per1k: 0.5 },
        { upTo: 2_500_000, per1k: 0.4 },
        { upTo: null, per1k: 0.35 },
      ],
    });
  });
});
