import type { Config } from '../config/types.js';
import type { BudgetCap } from '../core/budget.js';
import { UserError } from '../core/errors.js';
import type { MessageType } from '../core/message.js';
import { resolveRoute, type RoutingPolicy } from '../core/router.js';
import { PROVIDER_TYPES } from '../providers/provider-types.js';
import { defaultHybridProviders } from './catalog.js';
import { budgetCapOf } from './budget.js';
import { nanosToDollars, sumCents, type Cents, type Nanos } from './money.js';
import { costForVolume, type ProviderCost } from './plan.js';
import { freeAllowance, resolvePricing, type ProviderPricing } from './pricing.js';

/** A provider type (all mail through one provider of that type, shown as `all-<type>`) or 'hybrid'. */
export type StrategyName = string;

/** One single-provider strategy per provider type of the registry. */
export function singleStrategies(): StrategyName[] {
  return [...PROVIDER_TYPES];
}

/** Display order; also the tie-break for "cheapest" (a single provider is simpler to run). */
export function strategyNames(): StrategyName[] {
  return [...singleStrategies(), 'hybrid'];
}

/** What `--strategy` (or the library's `strategy`) takes: 'all', 'hybrid' or a provider type. */
export function strategyChoices(): string[] {
  return ['all', 'hybrid', ...singleStrategies()];
}

/** The strategies a `--strategy` choice shows; an unknown name is refused with the known ones. */
export function strategiesShown(choice: string): StrategyName[] {
  if (choice === 'all') return strategyNames();
  if (strategyChoices().includes(choice)) return [choice];
  throw new UserError(`unknown strategy "${choice}"`, { hint: `use one of: ${strategyChoices().join(', ')}` });
}

export function strategyLabel(strategy: StrategyName): string {
  return strategy === 'hybrid' ? 'hybrid' : `all-${strategy}`;
}

export interface Mix {
  transactional: number;
  marketing: number;
}

export type CostConfig = Pick<Config, 'providers' | 'pricing' | 'routing' | 'failover'>;

/** What the model knows about the user's setup: prices per provider name and how hybrid routes. */
export interface CostSetup {
  pricingOf(provider: string): ProviderPricing;
  /** The provider that carries everything in each single-provider strategy, by provider type. */
  singleProvider: Record<StrategyName, string>;
  routing: RoutingPolicy;
  /** pricing.<name>.budget (or pricing.<type>.budget): the monthly cap, if any. */
  budgetOf(provider: string): BudgetCap | undefined;
  /** No providers configured: hybrid routes each message type as the catalog's `hybridDefaultFor` says. */
  defaultRouting: boolean;
  notes: string[];
}

function defaultHybridNote(): string {
  const to = defaultHybridProviders();
  return `no providers configured: hybrid routes transactional → ${to.transactional}, marketing → ${to.marketing} (built-in catalog prices)`;
}

/** Each message type to the provider type the catalog names for it (see CatalogEntry.hybridDefaultFor). */
function defaultHybridRouting(): RoutingPolicy {
  const to = defaultHybridProviders();
  return {
    rules: (['transactional', 'marketing'] as const).map((type) => ({ name: `default: ${type} → ${to[type]}`, when: { type }, use: [to[type]] })),
    defaultOrder: [to.transactional],
    failoverEnabled: true,
  };
}

export function buildCostSetup(config?: CostConfig): CostSetup {
  const providers = config?.providers ?? {};
  const pricing = config?.pricing ?? {};
  const defaultRouting = Object.keys(providers).length === 0;
  const notes: string[] = defaultRouting ? [defaultHybridNote()] : [];
  const cache = new Map<string, ProviderPricing>();

  // An unconfigured name (no config, or a single strategy without that provider) is priced by type.
  const typeOf = (name: string): string => providers[name]?.type ?? name;
  const pricingOf = (name: string): ProviderPricing => {
    let found = cache.get(name);
    if (!found) {
      found = resolvePricing(name, typeOf(name), { pricing, pinnedPlan: providers[name]?.plan });
      cache.set(name, found);
    }
    return found;
  };

  const singleProvider: Record<StrategyName, string> = {};
  for (const type of singleStrategies()) {
    const configured = Object.values(providers).find((p) => p.type === type);
    singleProvider[type] = configured?.name ?? type;
    if (!configured && !defaultRouting) notes.push(`no ${type} provider configured: all-${type} is priced from ${pricing[type] ? `pricing.${type}` : 'the built-in catalog'}`);
  }

  const routing: RoutingPolicy = defaultRouting
    ? defaultHybridRouting()
    : { rules: config!.routing.rules, defaultOrder: config!.failover.order, failoverEnabled: config!.failover.enabled };
  const budgetOf = (name: string) => budgetCapOf({ providers, pricing }, name);
  return { pricingOf, singleProvider, routing, budgetOf, defaultRouting, notes };
}

/** A share of the month's mail and where hybrid routing sends it. */
export interface Allocation {
  type: MessageType;
  emails: number;
  provider: string;
  /** The routing rule that sent it there, counted from 1; null = failover.order. */
  rule: number | null;
  /** That rule as the output names it, e.g. "rule 3 (type: marketing, monthly volume below 1,000)". */
  label: string;
}

/**
 * Routes each message type through the routing rules, as a `normal`-priority message, with the
 * month's total volume as the rules' monthly volume. A `freeTierLeft` rule takes only as many
 * emails as the provider's free allowance has left; the rest is routed again.
 */
export function allocateHybrid(setup: CostSetup, mix: Mix): Allocation[] {
  const volume = mix.transactional + mix.marketing;
  const used = new Map<string, number>();
  const allowanceLeft = (provider: string) => freeAllowance(setup.pricingOf(provider)) - (used.get(provider) ?? 0);
  const allocations: Allocation[] = [];
  for (const type of ['transactional', 'marketing'] as const) {
    let remaining = mix[type];
    while (remaining > 0) {
      const route = resolveRoute(setup.routing, { type, priority: 'normal', monthlyVolume: volume, freeTierLeft: (p) => allowanceLeft(p) > 0 });
      const rule = route.ruleIndex === null ? null : route.ruleIndex + 1;
      if (route.split) {
        // A weighted split shares the mail out by its weights (each message's pick is a hash: on a month's volume, the shares).
        for (const [provider, emails] of splitShare(route.split.weights, remaining)) {
          used.set(provider, (used.get(provider) ?? 0) + emails);
          allocations.push({ type, emails, provider, rule, label: route.source });
        }
        break;
      }
      const provider = route.chain[0];
      if (provider === undefined) throw new Error(`no provider for ${type} mail: routing gives an empty chain`);
      const left = allowanceLeft(provider);
      const emails = left > 0 ? Math.min(remaining, left) : remaining;
      used.set(provider, (used.get(provider) ?? 0) + emails);
      const previous = allocations.at(-1);
      if (previous && previous.type === type && previous.provider === provider && previous.rule === rule) previous.emails += emails;
      else allocations.push({ type, emails, provider, rule, label: route.source });
      remaining -= emails;
    }
  }
  return allocations;
}

/** `emails` shared by weight, whole emails (the remainder goes to the heaviest members first); members with none left out. */
function splitShare(weights: Record<string, number>, emails: number): [string, number][] {
  const total = Object.values(weights).reduce((sum, w) => sum + w, 0);
  const entries = Object.entries(weights).sort(([a, wa], [b, wb]) => wb - wa || (a < b ? -1 : 1));
  const shares = entries.map(([name, weight]): [string, number] => [name, Math.floor((emails * weight) / total)]);
  let left = emails - shares.reduce((sum, [, n]) => sum + n, 0);
  for (let i = 0; left > 0; i = (i + 1) % shares.length, left--) shares[i][1]++;
  return shares.filter(([, n]) => n > 0);
}

/** A provider whose bill in a strategy would pass its monthly budget (pricing.<name>.budget). */
export interface BudgetBreach {
  provider: string;
  /** The provider's bill in this strategy, US dollars. */
  cost: number;
  /** The cap, US dollars a month. */
  monthly: number;
  action: BudgetCap['action'];
}

export interface StrategyCost {
  strategy: StrategyName;
  label: string;
  providers: ProviderCost[];
  /** Sum of the providers' totals. */
  totalCents: Cents;
  exact: Nanos;
  feasible: boolean;
  /** False when a provider's price is only the unpriced-infrastructure placeholder. */
  priced: boolean;
  problems: string[];
  /** Providers whose bill would pass their budget cap at this volume (empty: none, or no caps). */
  budgetBreaches: BudgetBreach[];
  allocations?: Allocation[];
}

export function costOfStrategy(setup: CostSetup, strategy: StrategyName, mix: Mix): StrategyCost {
  const volume = mix.transactional + mix.marketing;
  let providers: ProviderCost[];
  let allocations: Allocation[] | undefined;
  if (strategy === 'hybrid') {
    allocations = allocateHybrid(setup, mix);
    const perProvider = new Map<string, number>();
    for (const a of allocations) perProvider.set(a.provider, (perProvider.get(a.provider) ?? 0) + a.emails);
    providers = [...perProvider].map(([name, emails]) => costForVolume(setup.pricingOf(name), emails));
  } else {
    if (!Object.hasOwn(setup.singleProvider, strategy)) throw new Error(`unknown strategy "${strategy}"`);
    providers = [costForVolume(setup.pricingOf(setup.singleProvider[strategy]), volume)];
  }
  const problems = providers.filter((p) => !p.feasible).map((p) => p.problem!);
  const budgetBreaches = providers.flatMap((p): BudgetBreach[] => {
    const cap = setup.budgetOf(p.provider);
    const cost = nanosToDollars(p.exact);
    return cap && cost > cap.monthly + 1e-9 ? [{ provider: p.provider, cost, monthly: cap.monthly, action: cap.action }] : [];
  });
  return {
    budgetBreaches,
    strategy,
    label: strategyLabel(strategy),
    providers,
    totalCents: sumCents(providers.map((p) => p.totalCents)),
    exact: providers.reduce((sum, p) => sum + p.exact, 0n),
    feasible: problems.length === 0,
    priced: providers.every((p) => p.priced),
    problems,
    allocations,
  };
}

export interface Saving {
  versus: StrategyName;
  label: string;
  /** What the hybrid saves against that strategy (negative: the hybrid costs more); null when there is no comparison. */
  savingsCents: Cents | null;
  /** Of the other strategy's total, one decimal. */
  percent: number | null;
  /** Why there is no comparison (savingsCents is null), else null. */
  noComparison: string | null;
}

export interface Estimate {
  volume: number;
  mix: Mix;
  strategies: StrategyCost[];
  savings: Saving[];
  /** Lowest exact cost among the feasible, priced strategies; ties go to the first in strategyNames(). */
  cheapest: StrategyName | null;
}

export function estimate(setup: CostSetup, mix: Mix, strategies: readonly StrategyName[] = strategyNames()): Estimate {
  const costs = strategies.map((strategy) => costOfStrategy(setup, strategy, mix));
  const hybrid = costs.find((c) => c.strategy === 'hybrid');
  const savings: Saving[] = hybrid
    ? costs
        .filter((c) => c.strategy !== 'hybrid')
        .map((single) => {
          const noComparison = whyNotComparable(single, hybrid);
          const savingsCents = noComparison === null ? single.totalCents - hybrid.totalCents : null;
          const percent = savingsCents !== null && single.totalCents !== 0 ? Math.round((savingsCents * 1000) / single.totalCents) / 10 : null;
          return { versus: single.strategy, label: single.label, savingsCents, percent, noComparison };
        })
    : [];
  return { volume: mix.transactional + mix.marketing, mix, strategies: costs, savings, cheapest: cheapestOf(costs) };
}

function whyNotComparable(...costs: StrategyCost[]): string | null {
  if (costs.some((c) => !c.feasible)) return 'a hard cap is exceeded';
  const unpriced = [...new Set(costs.flatMap((c) => c.providers.filter((p) => !p.priced).map((p) => p.provider)))];
  return unpriced.length ? `${unpriced.join(', ')} infrastructure not priced` : null;
}

/** Only strategies that can carry the volume and whose every provider has a real price can be cheapest. */
export function cheapestOf(costs: readonly StrategyCost[]): StrategyName | null {
  let best: StrategyCost | undefined;
  for (const cost of costs) if (cost.feasible && cost.priced && (!best || cost.exact < best.exact)) best = cost;
  return best?.strategy ?? null;
}
