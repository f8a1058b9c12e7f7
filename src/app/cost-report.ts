import type { MessageType } from '../core/message.js';
import { UserError } from '../core/errors.js';
import type { EstimateContext } from '../cost/format.js';
import { groupThousands } from '../cost/money.js';
import { estimate, type CostSetup, type Mix, type StrategyName } from '../cost/model.js';
import type { ProviderPricing } from '../cost/pricing.js';

/** The volumes a user gives for a month (flags, or the library's estimateCost). */
export interface Volumes {
  volume?: number;
  transactional?: number;
  marketing?: number;
}

/** The month's mix: one of --transactional/--marketing gives the other as the rest of --volume. */
export function resolveMix(given: Volumes, defaultType: MessageType): Mix {
  const { transactional, marketing } = given;
  const volume = given.volume ?? (transactional !== undefined && marketing !== undefined ? transactional + marketing : undefined);
  if (volume === undefined) throw new UserError('give --volume <n> (emails per month), or both --transactional and --marketing', { hint: 'e.g. --volume 100000 --transactional 5000' });
  for (const [flag, part] of [['--transactional', transactional], ['--marketing', marketing]] as const) {
    if (part !== undefined && part > volume) throw new UserError(`${flag} ${groupThousands(part)} exceeds --volume ${groupThousands(volume)}`);
  }
  if (transactional !== undefined && marketing !== undefined && transactional + marketing !== volume) {
    const [t, m, sum, v] = [transactional, marketing, transactional + marketing, volume].map(groupThousands);
    throw new UserError(`--transactional ${t} + --marketing ${m} = ${sum}, not --volume ${v}`, { hint: 'give one of them and the other is the rest of --volume' });
  }
  if (transactional !== undefined) return { transactional, marketing: volume - transactional };
  if (marketing !== undefined) return { transactional: volume - marketing, marketing };
  return defaultType === 'marketing' ? { transactional: 0, marketing: volume } : { transactional: volume, marketing: 0 };
}

/** One month's estimate for the strategies shown, with what its renderers need. */
export function estimateCostReport(setup: CostSetup, mix: Mix, shown: readonly StrategyName[], options: { chart?: boolean } = {}) {
  const result = estimate(setup, mix);
  const costs = result.strategies.filter((s) => shown.includes(s.strategy));
  const prices = pricesShown(setup, shown, (s) => costs.find((c) => c.strategy === s)!.providers.map((p) => p.provider));
  const context: EstimateContext = {
    shown,
    prices,
    notes: [...commonNotes(setup, prices), ...(shown.includes('hybrid') ? ['hybrid routes every message as normal priority, with the whole month’s volume as the rules’ monthlyVolume'] : [])],
    chart: Boolean(options.chart),
  };
  return { result, costs, context };
}

export function pricesShown(setup: CostSetup, shown: readonly StrategyName[], providersOf: (s: StrategyName) => string[]): ProviderPricing[] {
  const names = [...new Set(shown.flatMap(providersOf))];
  return names.map((name) => setup.pricingOf(name));
}

export function commonNotes(setup: CostSetup, prices: readonly ProviderPricing[]): string[] {
  const unpriced = prices
    .filter((p) => !p.priced)
    .map((p) => `${p.provider}: infrastructure not priced, so no strategy that uses it can be "cheapest" or compared: set pricing.${p.provider}.monthly to what your mail server, IPs and warm-up cost (0 if they really cost nothing)`);
  return [...setup.notes, ...unpriced];
}
