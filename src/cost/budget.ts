/**
 * Budget caps priced by the cost model: this month's spend at a provider is what its plan (the
 * pinned one, else the cheapest for the volume) costs for the emails the usage ledger counts.
 */
import type { CostConfig, CostSetup } from './model.js';
import { budgetVerdict, type BudgetCap, type BudgetVerdict } from '../core/budget.js';
import { nanosToDollars } from './money.js';
import { costForVolume } from './plan.js';

/** pricing.<name>.budget, else pricing.<type>.budget (a type's cap applies to each provider of that type). */
export function budgetCapOf(config: Pick<CostConfig, 'providers' | 'pricing'>, provider: string): BudgetCap | undefined {
  const type = config.providers[provider]?.type;
  return config.pricing[provider]?.budget ?? (type ? config.pricing[type]?.budget : undefined);
}

export function anyBudget(config: Pick<CostConfig, 'pricing'>): boolean {
  return Object.values(config.pricing).some((override) => override.budget !== undefined);
}

/** US dollars for `emails` this month at this provider. */
export function spendFor(setup: CostSetup, provider: string, emails: number): number {
  return nanosToDollars(costForVolume(setup.pricingOf(provider), emails).exact);
}

/** Where a provider stands against its cap with `more` emails about to go; undefined without a cap. */
export function budgetVerdictFor(config: Pick<CostConfig, 'providers' | 'pricing'>, setup: CostSetup, provider: string, used: number, more: number): BudgetVerdict | undefined {
  const cap = budgetCapOf(config, provider);
  if (!cap) return undefined;
  return budgetVerdict({ provider, cap, spent: spendFor(setup, provider, used), after: spendFor(setup, provider, used + more) });
}
