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
    expect(doc.prices[0].plans[1]).toEqual({ name: 'basic', monthly: 15, included: 10_000, overagePer1k: 1.8, unverified: null });
  });
});
