import { centsToDollars, formatCents, formatNanos, groupThousands, nanosToDollars } from './money.js';
import { cheapestOf, strategyLabel, type Estimate, type Saving, type StrategyCost, type StrategyName } from './model.js';
import { formatCount, type ProviderCost } from './plan.js';
import type { PlanPrice, ProviderPricing } from './pricing.js';
import { describeBreakEven, type Sweep } from './sweep.js';

export type CostFormat = 'table' | 'json' | 'csv' | 'markdown';

/** What the output says besides the numbers: where the prices came from and what was assumed. */
export interface EstimateContext {
  shown: readonly StrategyName[];
  prices: ProviderPricing[];
  notes: string[];
  /** Draw the bar chart of strategy totals (stdout is a TTY and not --json). */
  chart: boolean;
}

type Align = 'left' | 'right';
interface Grid {
  headers: string[];
  align: Align[];
  rows: string[][];
}

export function renderTable({ headers, align, rows }: Grid): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (align[i] === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function renderMarkdownTable({ headers, align, rows }: Grid): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `| ${headers.map(escape).join(' | ')} |`,
    `|${align.map((a) => (a === 'right' ? ' ---: ' : ' --- ')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(escape).join(' | ')} |`),
  ].join('\n');
}

/** A CSV cell; null is an empty cell (docs/cost.md says what empty means in each column). */
export type CsvCell = string | number | boolean | null;

export function renderCsv(headers: string[], rows: CsvCell[][]): string {
  const quote = (value: CsvCell) => {
    const text = value === null ? '' : String(value);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [headers, ...rows].map((r) => r.map(quote).join(',')).join('\n');
}

function shownStrategies(result: Estimate, context: EstimateContext): StrategyCost[] {
  return result.strategies.filter((s) => context.shown.includes(s.strategy));
}

/** The cheapest of the strategies shown (--strategy): never one the output leaves out. */
function cheapestShown(result: Estimate, context: EstimateContext): StrategyName | null {
  return cheapestOf(shownStrategies(result, context));
}

function planLabel(p: ProviderCost): string {
  return p.pinned ? `${p.plan} (pinned)` : p.plan;
}

/** Shown instead of money for a provider whose only price is the infrastructure placeholder. */
export const NOT_PRICED = 'not priced';

function breakdownGrid(result: Estimate, context: EstimateContext): Grid {
  const rows: string[][] = [];
  for (const strategy of shownStrategies(result, context)) {
    strategy.providers.forEach((p, i) => {
      const money = (cents: number) => (p.priced ? formatCents(cents) : '—');
      rows.push([
        i === 0 ? strategy.label : '',
        p.provider,
        planLabel(p),
        groupThousands(p.emails),
        money(p.baseFeeCents),
        formatCount(p.included),
        groupThousands(p.overageEmails),
        overageRateCell(p),
        money(p.overageCents),
        (p.feasible ? '' : '✗ ') + (p.priced ? formatCents(p.totalCents) : NOT_PRICED),
      ]);
    });
    if (strategy.providers.length !== 1) rows.push([strategy.providers.length ? '' : strategy.label, 'total', '', groupThousands(result.volume), '', '', '', '', '', strategyTotal(strategy)]);
  }
  return {
    headers: ['Strategy', 'Provider', 'Plan', 'Emails', 'Base fee', 'Included', 'Overage emails', 'Overage/1k', 'Overage', 'Total'],
    align: ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows,
  };
}

/** "$1.20"; "capped"; on a tiered plan the rates of the tiers reached, "$0.80→$0.65→$0.50". */
function overageRateCell(p: ProviderCost): string {
  if (!p.priced) return '—';
  if (p.overagePer1k === null) return 'capped';
  if (p.overageLines.length > 1) return p.overageLines.map((line) => formatNanos(line.per1k)).join('→');
  return formatNanos(p.overagePer1k);
}

/** "scale overage: $0.80/1k up to 250,000 emails a month, $0.65/1k up to 750,000, then $0.35/1k". */
function describeTiers(plan: PlanPrice): string {
  const tiers = plan.overage ?? [];
  const rates = tiers.map((tier, i) => {
    const rate = `${formatNanos(tier.per1k)}/1k`;
    if (!Number.isFinite(tier.upTo)) return `then ${rate}`;
    return `${rate} up to ${groupThousands(tier.upTo)}${i === 0 ? ' emails a month' : ''}`;
  });
  return `${plan.name} overage by tier: ${rates.join(', ')}`;
}

function strategyTotal(strategy: StrategyCost): string {
  return strategy.priced ? formatCents(strategy.totalCents) : NOT_PRICED;
}

function headline(result: Estimate): string {
  const { mix, volume } = result;
  return `Monthly cost for ${groupThousands(volume)} emails (${groupThousands(mix.transactional)} transactional, ${groupThousands(mix.marketing)} marketing), USD`;
}

function describeSaving({ savingsCents: cents, percent, label, noComparison }: Saving): string {
  if (cents === null) return `vs ${label}: no comparison (${noComparison})`;
  if (cents === 0) return `vs ${label}: same cost`;
  const share = percent === null ? '' : ` (${Math.abs(percent)}%)`;
  return cents > 0 ? `vs ${label}: hybrid saves ${formatCents(cents)}${share}` : `vs ${label}: hybrid costs ${formatCents(-cents)} more${share}`;
}

function routingLines(result: Estimate): string[] {
  const hybrid = result.strategies.find((s) => s.strategy === 'hybrid');
  const lines = (hybrid?.allocations ?? []).map((a) => `${groupThousands(a.emails)} ${a.type} → ${a.provider} (${a.label})`);
  return lines.length ? lines : ['nothing to route'];
}

function priceLines(context: EstimateContext): string[] {
  return context.prices.map((p) => {
    const from = p.origin === 'config' ? 'config pricing' : p.readOn ? `built-in catalog, read ${p.readOn}` : `${NOT_PRICED}: your own infrastructure, set pricing.${p.provider}.monthly`;
    const pinned = p.pinned ? `, plan pinned to ${p.pinned}` : '';
    const tiers = p.priced ? p.plans.filter((plan) => (plan.overage?.length ?? 0) > 1).map(describeTiers) : [];
    const unverified = p.plans.filter((plan) => plan.unverified).map((plan) => `⚠ ${plan.name}: ${plan.unverified}`);
    return [`${p.provider} (${p.type}): ${from}${pinned}`, ...tiers, ...unverified, ...p.notes].join('\n    ');
  });
}

/** A bar per strategy, scaled to the most expensive one. */
export function barChart(strategies: readonly StrategyCost[], width = 40): string {
  const max = Math.max(...strategies.filter((s) => s.priced).map((s) => s.totalCents), 1);
  const labelWidth = Math.max(...strategies.map((s) => s.label.length));
  return strategies
    .map((s) => {
      if (!s.priced) return `${s.label.padEnd(labelWidth)}  ${NOT_PRICED}`;
      const cells = Math.round((s.totalCents / max) * width);
      return `${s.label.padEnd(labelWidth)}  ${'█'.repeat(cells)}${cells === 0 ? '▏' : ''} ${formatCents(s.totalCents)}${s.feasible ? '' : ' ✗'}`;
    })
    .join('\n');
}

function cheapestLine(result: Estimate, context: EstimateContext): string | undefined {
  if (context.shown.length < 2) return undefined;
  const shown = shownStrategies(result, context);
  const cheapest = cheapestOf(shown);
  const best = shown.find((s) => s.strategy === cheapest);
  if (best) return `Cheapest: ${best.label} (${formatCents(best.totalCents)})`;
  return 'Cheapest: none — every strategy exceeds a hard cap or uses infrastructure that is not priced';
}

export function estimateTable(result: Estimate, context: EstimateContext): string {
  const out = [headline(result), '', renderTable(breakdownGrid(result, context))];
  const problems = shownStrategies(result, context).flatMap((s) => s.problems.map((p) => `✗ ${s.label} is not possible: ${p}`));
  if (problems.length) out.push('', ...problems);
  const overBudget = budgetLines(result, context);
  if (overBudget.length) out.push('', ...overBudget.map((l) => `! ${l}`));
  if (context.shown.includes('hybrid')) {
    out.push('', 'Hybrid routing:', ...routingLines(result).map((l) => `  ${l}`));
    if (result.savings.length) out.push('Savings of the hybrid:', ...result.savings.map((s) => `  ${describeSaving(s)}`));
  }
  const cheapest = cheapestLine(result, context);
  if (cheapest) out.push('', cheapest);
  if (context.chart && context.shown.length > 1) out.push('', barChart(shownStrategies(result, context)));
  out.push('', 'Prices:', ...priceLines(context).map((l) => `  ${l}`));
  if (context.notes.length) out.push('', ...context.notes.map((n) => `Note: ${n}`));
  return out.join('\n');
}

export function estimateMarkdown(result: Estimate, context: EstimateContext): string {
  const out = [`### ${headline(result)}`, '', renderMarkdownTable(breakdownGrid(result, context))];
  const problems = shownStrategies(result, context).flatMap((s) => s.problems.map((p) => `- ✗ **${s.label}** is not possible: ${p}`));
  if (problems.length) out.push('', ...problems);
  const overBudget = budgetLines(result, context);
  if (overBudget.length) out.push('', ...overBudget.map((l) => `- ! ${l}`));
  if (context.shown.includes('hybrid')) {
    out.push('', '**Hybrid routing**', '', ...routingLines(result).map((l) => `- ${l}`));
    if (result.savings.length) out.push('', '**Savings of the hybrid**', '', ...result.savings.map((s) => `- ${describeSaving(s)}`));
  }
  const cheapest = cheapestLine(result, context);
  if (cheapest) out.push('', `**${cheapest}**`);
  out.push('', '**Prices**', '', ...priceLines(context).map((l) => `- ${l.replace(/\n {4}/g, '; ')}`));
  if (context.notes.length) out.push('', ...context.notes.map((n) => `> ${n}`));
  return out.join('\n');
}

const BUDGET_EFFECT = { failover: 'its mail would fail over to the next provider', queue: 'its mail would wait in the outbox', warn: 'it would send anyway, with warnings' } as const;

/** "all-mailgun breaks a budget: mailgun $75.00 > $50.00 a month (pricing.mailgun.budget, action failover: …)". */
function budgetLines(result: Estimate, context: EstimateContext): string[] {
  return shownStrategies(result, context).flatMap((s) =>
    s.budgetBreaches.map((b) => `${s.label} breaks a budget: ${b.provider} would cost $${b.cost.toFixed(2)}, over its $${b.monthly.toFixed(2)} a month (action ${b.action}: once reached, ${BUDGET_EFFECT[b.action]})`),
  );
}

/** An email count, or null (JSON) / empty (CSV) for no limit. */
function countOrNull(count: number): number | null {
  return Number.isFinite(count) ? count : null;
}

/**
 * One provider's bill in the machine formats. Money is a number of US dollars; null when the
 * provider is not priced (and, for overagePer1k, also when the plan is a hard cap).
 */
function providerFields(p: ProviderCost) {
  const money = (cents: number) => (p.priced ? centsToDollars(cents) : null);
  return {
    provider: p.provider,
    type: p.type,
    plan: p.plan,
    pinned: p.pinned,
    priced: p.priced,
    emails: p.emails,
    baseFee: money(p.baseFeeCents),
    included: countOrNull(p.included),
    overageEmails: p.overageEmails,
    overagePer1k: p.priced && p.overagePer1k !== null ? nanosToDollars(p.overagePer1k) : null,
    overage: money(p.overageCents),
    // A tiered plan's invoice lines; null for a plan with one rate (or none).
    overageTiers:
      p.priced && p.tiered
        ? p.overageLines.map((line) => ({ above: line.above, upTo: countOrNull(line.upTo), emails: line.emails, per1k: nanosToDollars(line.per1k), overage: centsToDollars(line.cents) }))
        : null,
    total: money(p.totalCents),
    feasible: p.feasible,
    problem: p.problem ?? null,
  };
}

function strategyTotalDollars(s: StrategyCost): number | null {
  return s.priced ? centsToDollars(s.totalCents) : null;
}

function savingJson(saving: Saving) {
  return {
    versus: saving.versus,
    label: saving.label,
    hybridSaves: saving.savingsCents === null ? null : centsToDollars(saving.savingsCents),
    percent: saving.percent,
    noComparison: saving.noComparison,
  };
}

export function estimateCsv(result: Estimate, context: EstimateContext): string {
  // The hybrid's savings ride along as a column: what it saves against the row's strategy (negative:
  // it costs more), empty on the hybrid's own rows and where there is no comparison.
  const headers = ['strategy', 'provider', 'type', 'plan', 'pinned', 'priced', 'emails', 'base_fee', 'included', 'overage_emails', 'overage_per_1k', 'overage_cost', 'provider_total', 'strategy_total', 'feasible', 'hybrid_saves'];
  const hybridSaves = new Map(context.shown.includes('hybrid') ? result.savings.map((saving) => [saving.versus, savingJson(saving).hybridSaves]) : []);
  const rows = shownStrategies(result, context).flatMap((s) =>
    s.providers.map((p): CsvCell[] => {
      const fields = providerFields(p);
      return [
        s.label,
        p.provider,
        p.type,
        p.plan,
        p.pinned,
        p.priced,
        p.emails,
        fields.baseFee,
        fields.included,
        p.overageEmails,
        fields.overagePer1k,
        fields.overage,
        fields.total,
        strategyTotalDollars(s),
        p.feasible,
        hybridSaves.get(s.strategy) ?? null,
      ];
    }),
  );
  return renderCsv(headers, rows);
}

export function pricesJson(prices: ProviderPricing[]) {
  return prices.map((p) => ({
    provider: p.provider,
    type: p.type,
    origin: p.origin,
    priced: p.priced,
    readOn: p.readOn ?? null,
    pinned: p.pinned ?? null,
    plans: p.plans.map((plan) => ({
      name: plan.name,
      // The catalog's $0 for your own infrastructure is a placeholder, not a price.
      monthly: p.priced ? nanosToDollars(plan.monthly) : null,
      included: countOrNull(plan.included),
      // The first (or only) overage rate; null for a hard cap.
      overagePer1k: p.priced && plan.overage !== null ? nanosToDollars(plan.overage[0].per1k) : null,
      overageTiers: p.priced && plan.overage !== null && plan.overage.length > 1 ? plan.overage.map((tier) => ({ upTo: countOrNull(tier.upTo), per1k: nanosToDollars(tier.per1k) })) : null,
      unverified: plan.unverified ?? null,
    })),
    notes: p.notes,
  }));
}

export function estimateJson(result: Estimate, context: EstimateContext) {
  return {
    status: 'ok',
    currency: 'USD',
    volume: result.volume,
    transactional: result.mix.transactional,
    marketing: result.mix.marketing,
    strategies: shownStrategies(result, context).map((s) => ({
      strategy: s.strategy,
      label: s.label,
      total: strategyTotalDollars(s),
      feasible: s.feasible,
      priced: s.priced,
      problems: s.problems,
      budgetBreaches: s.budgetBreaches,
      providers: s.providers.map(providerFields),
      ...(s.allocations ? { routing: s.allocations } : {}),
    })),
    savings: context.shown.includes('hybrid') ? result.savings.map(savingJson) : [],
    cheapest: cheapestShown(result, context),
    prices: pricesJson(context.prices),
    notes: context.notes,
  };
}

export function formatEstimate(result: Estimate, context: EstimateContext, format: Exclude<CostFormat, 'json'>): string {
  if (format === 'csv') return estimateCsv(result, context);
  if (format === 'markdown') return estimateMarkdown(result, context);
  return estimateTable(result, context);
}

// ── sweep ──

type SweepTotal = Sweep['points'][number]['totals'][number];

function sweepGrid(result: Sweep, cell: (total: SweepTotal) => string): Grid {
  const strategies = result.points[0]?.totals.map((t) => t.strategy) ?? [];
  return {
    headers: ['Volume', 'Transactional', 'Marketing', ...strategies.map(strategyLabel), 'Cheapest'],
    align: ['right', 'right', 'right', ...strategies.map((): Align => 'right'), 'left'],
    rows: result.points.map((p) => [
      groupThousands(p.volume),
      groupThousands(p.mix.transactional),
      groupThousands(p.mix.marketing),
      ...p.totals.map(cell),
      p.cheapest ? strategyLabel(p.cheapest) : '-',
    ]),
  };
}

function sweepCell(total: SweepTotal): string {
  if (!total.priced) return NOT_PRICED;
  return total.feasible ? formatCents(total.totalCents) : 'capped';
}

function sweepCsvHeaders(result: Sweep): string[] {
  const strategies = result.points[0]?.totals.map((t) => t.strategy) ?? [];
  return ['volume', 'transactional', 'marketing', ...strategies.map(strategyLabel), 'cheapest'];
}

/** A strategy's total in US dollars; empty where it has no price (a hard cap exceeded, or not priced). */
function sweepCsvRow(point: Sweep['points'][number]): CsvCell[] {
  const totals = point.totals.map((t) => (t.feasible && t.priced ? centsToDollars(t.totalCents) : null));
  return [point.volume, point.mix.transactional, point.mix.marketing, ...totals, point.cheapest ? strategyLabel(point.cheapest) : null];
}

function sweepFindings(result: Sweep): { breakEvens: string[]; planChanges: string[] } {
  return {
    breakEvens: result.breakEvens.map(describeBreakEven),
    planChanges: result.planChanges.map((c) => `${strategyLabel(c.strategy)}: from ${groupThousands(c.volume)}, ${c.to} (was ${c.from})`),
  };
}

export function formatSweep(result: Sweep, context: Pick<EstimateContext, 'prices' | 'notes'>, format: Exclude<CostFormat, 'json'>): string {
  const { breakEvens, planChanges } = sweepFindings(result);
  if (format === 'csv') {
    return renderCsv(sweepCsvHeaders(result), result.points.map(sweepCsvRow));
  }
  const none = 'none in this range';
  if (format === 'markdown') {
    return [
      `### Monthly cost by volume, ${groupThousands(result.range.from)} to ${groupThousands(result.range.to)} (USD)`,
      '',
      renderMarkdownTable(sweepGrid(result, sweepCell)),
      '',
      '**Break-even points** (the cheapest strategy changes)',
      '',
      ...(breakEvens.length ? breakEvens.map((l) => `- ${l}`) : [`- ${none}`]),
      '',
      '**Plan changes**',
      '',
      ...(planChanges.length ? planChanges.map((l) => `- ${l}`) : [`- ${none}`]),
      ...context.notes.map((n) => `\n> ${n}`),
    ].join('\n');
  }
  return [
    `Monthly cost by volume, ${groupThousands(result.range.from)} to ${groupThousands(result.range.to)} (USD)`,
    '',
    renderTable(sweepGrid(result, sweepCell)),
    '',
    'Break-even points (the cheapest strategy changes):',
    ...(breakEvens.length ? breakEvens : [none]).map((l) => `  ${l}`),
    '',
    'Plan changes:',
    ...(planChanges.length ? planChanges : [none]).map((l) => `  ${l}`),
    '',
    'Prices:',
    ...priceLines({ ...context, shown: [], chart: false }).map((l) => `  ${l}`),
    ...context.notes.map((n) => `Note: ${n}`),
  ].join('\n');
}

export function sweepJson(result: Sweep, context: Pick<EstimateContext, 'prices' | 'notes'>) {
  return {
    status: 'ok',
    currency: 'USD',
    range: result.range,
    points: result.points.map((p) => ({
      volume: p.volume,
      transactional: p.mix.transactional,
      marketing: p.mix.marketing,
      totals: p.totals.map((t) => ({ strategy: t.strategy, total: t.priced ? centsToDollars(t.totalCents) : null, feasible: t.feasible, priced: t.priced, plans: t.plans })),
      cheapest: p.cheapest,
    })),
    breakEvens: result.breakEvens,
    planChanges: result.planChanges,
    prices: pricesJson(context.prices),
    notes: context.notes,
  };
}
