import { UserError } from '../core/errors.js';
import { groupThousands, type Cents } from './money.js';
import { estimate, strategyLabel, type CostSetup, type Estimate, type Mix, type StrategyName } from './model.js';

export interface SweepRange {
  from: number;
  to: number;
  step: number;
}

export const MAX_SWEEP_POINTS = 10_000;

/** Parses `from:to:step` (underscores allowed as digit separators). */
export function parseSweep(text: string): SweepRange {
  const parts = text.split(':').map((part) => part.trim().replace(/_/g, ''));
  const usage = `--sweep: "${text}" is not from:to:step with whole numbers (e.g. 1000:200000:1000)`;
  if (parts.length !== 3 || parts.some((part) => !/^\d+$/.test(part))) throw new UserError(usage);
  const [from, to, step] = parts.map(Number);
  if (step <= 0) throw new UserError(`--sweep: the step must be at least 1 (got ${step})`);
  if (to < from) throw new UserError(`--sweep: "to" (${groupThousands(to)}) is below "from" (${groupThousands(from)})`);
  if (Math.floor((to - from) / step) + 1 > MAX_SWEEP_POINTS) throw new UserError(`--sweep: more than ${groupThousands(MAX_SWEEP_POINTS)} volumes; use a larger step`);
  return { from, to, step };
}

export function sweepVolumes(range: SweepRange): number[] {
  const volumes: number[] = [];
  for (let v = range.from; v <= range.to; v += range.step) volumes.push(v);
  if (volumes.at(-1) !== range.to) volumes.push(range.to);
  return volumes;
}

export interface SweepPoint {
  volume: number;
  mix: Mix;
  totals: { strategy: StrategyName; totalCents: Cents; feasible: boolean; priced: boolean; plans: string; providers: string[] }[];
  cheapest: StrategyName | null;
}

/** From `volume` on, `to` is the cheapest strategy instead of `from`. */
export interface BreakEven {
  volume: number;
  from: StrategyName | null;
  to: StrategyName | null;
}

/** From `volume` on, the strategy's providers use these plans. */
export interface PlanChange {
  strategy: StrategyName;
  volume: number;
  from: string;
  to: string;
}

export interface Sweep {
  range: SweepRange;
  points: SweepPoint[];
  breakEvens: BreakEven[];
  planChanges: PlanChange[];
}

function plansOf(result: Estimate, strategy: StrategyName): string {
  const cost = result.strategies.find((s) => s.strategy === strategy)!;
  return cost.providers.map((p) => `${p.provider} ${p.plan}`).join(' + ') || 'nothing sent';
}

/**
 * Costs every strategy at each volume of the range, and finds the exact volumes (by bisection
 * between neighbouring points) where the cheapest strategy, or a strategy's plans, change.
 */
export function sweep(setup: CostSetup, range: SweepRange, mixAt: (volume: number) => Mix, strategies: readonly StrategyName[]): Sweep {
  const cache = new Map<number, Estimate>();
  const at = (volume: number) => {
    let result = cache.get(volume);
    if (!result) cache.set(volume, (result = estimate(setup, mixAt(volume), strategies)));
    return result;
  };
  const volumes = sweepVolumes(range);
  const points = volumes.map((volume): SweepPoint => {
    const result = at(volume);
    return {
      volume,
      mix: result.mix,
      totals: result.strategies.map((s) => ({
        strategy: s.strategy,
        totalCents: s.totalCents,
        feasible: s.feasible,
        priced: s.priced,
        plans: plansOf(result, s.strategy),
        providers: s.providers.map((p) => p.provider),
      })),
      cheapest: result.cheapest,
    };
  });

  const breakEvens: BreakEven[] = [];
  const planChanges: PlanChange[] = [];
  for (let i = 1; i < volumes.length; i++) {
    for (const change of changesBetween(volumes[i - 1], volumes[i], (v) => at(v).cheapest)) {
      breakEvens.push({ volume: change.volume, from: change.before, to: change.after });
    }
    for (const strategy of strategies) {
      for (const change of changesBetween(volumes[i - 1], volumes[i], (v) => plansOf(at(v), strategy))) {
        planChanges.push({ strategy, volume: change.volume, from: change.before, to: change.after });
      }
    }
  }
  planChanges.sort((a, b) => strategies.indexOf(a.strategy) - strategies.indexOf(b.strategy) || a.volume - b.volume);
  return { range, points, breakEvens, planChanges };
}

/** The volumes in (lo, hi] where key changes, assuming few changes between two sweep points. */
function changesBetween<K>(lo: number, hi: number, key: (volume: number) => K): { volume: number; before: K; after: K }[] {
  const changes: { volume: number; before: K; after: K }[] = [];
  let current = key(lo);
  const last = key(hi);
  while (current !== last) {
    let low = lo;
    let high = hi;
    // Invariant: key(low) === current, key(high) !== current.
    while (high - low > 1) {
      const mid = low + Math.floor((high - low) / 2);
      if (key(mid) === current) low = mid;
      else high = mid;
    }
    const after = key(high);
    changes.push({ volume: high, before: current, after });
    lo = high;
    current = after;
  }
  return changes;
}

export function describeBreakEven(change: BreakEven): string {
  const to = change.to ? strategyLabel(change.to) : 'no strategy (each exceeds a hard cap or is not priced)';
  const from = change.from ? strategyLabel(change.from) : 'none';
  return `from ${groupThousands(change.volume)} emails/month ${to} is cheapest (was ${from})`;
}
