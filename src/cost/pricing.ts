import { formatIssuePath } from '../config/issues.js';
import { planOverageProblems } from '../config/plan-overage.js';
import type { Plan } from '../config/plan-schema.js';
import type { PricingOverride } from '../config/schema.js';
import { UserError } from '../core/errors.js';
import { catalogEntry, type CatalogPlan } from './catalog.js';
import { dollars, type Nanos } from './money.js';

/** One overage rate: for the month's emails above the previous tier's `upTo` (or the plan's `included`) up to this `upTo`. */
export interface OverageTier {
  /** The month's email count this rate runs up to; Infinity for the last tier. */
  upTo: number;
  per1k: Nanos;
}

export interface PlanPrice {
  name: string;
  monthly: Nanos;
  /** Emails included in the fee; Infinity for flat-cost infrastructure. */
  included: number;
  /**
   * Prices per 1,000 emails beyond `included`, in rising tiers, the last one open-ended (a plan
   * with one overage rate has one tier); null = hard cap, nothing can be sent beyond `included`.
   */
  overage: OverageTier[] | null;
  unverified?: string;
}

/** Everything the model needs to price one provider. */
export interface ProviderPricing {
  provider: string;
  type: string;
  plans: PlanPrice[];
  /** Plan pinned by config (providers.<name>.plan or pricing.<name>.plan). */
  pinned?: string;
  origin: 'catalog' | 'config';
  /**
   * False when the only price is the catalog's placeholder for your own infrastructure (SMTP at $0
   * until pricing.<name>.monthly is set): such a provider is never "cheapest" and has no savings.
   */
  priced: boolean;
  /** When the catalog prices were read; undefined for config prices or no list price. */
  readOn?: string;
  notes: string[];
}

export interface PricingInputs {
  /** config.pricing: keyed by provider name or provider type. */
  pricing: Record<string, PricingOverride>;
  /** providers.<name>.plan */
  pinnedPlan?: string;
}

/** Builds a provider's price list: the catalog of its type, overridden by config (name over type). */
export function resolvePricing(provider: string, type: string, inputs: PricingInputs): ProviderPricing {
  const catalog = catalogEntry(type);
  const override: PricingOverride = { ...(provider !== type ? inputs.pricing[type] : undefined), ...inputs.pricing[provider] };
  const where = `pricing.${Object.hasOwn(inputs.pricing, provider) ? provider : type}`;
  const notes: string[] = [];

  let plans: PlanPrice[];
  let origin: ProviderPricing['origin'] = 'config';
  if (override.plans) {
    plans = override.plans.map((plan, i) => toPlanPrice(plan, `${where}.plans[${i}]`));
    if (override.monthly !== undefined) notes.push(`${where}.monthly ignored: plans are given`);
  } else if (override.monthly !== undefined) {
    const name = catalog?.plans.length === 1 ? catalog.plans[0].name : 'flat';
    plans = [{ name, monthly: parseMoney(override.monthly, `${where}.monthly`), included: Infinity, overage: [{ upTo: Infinity, per1k: 0n }] }];
  } else if (catalog) {
    plans = catalog.plans.map((plan) => toPlanPrice(plan, `catalog ${type}.${plan.name}`));
    origin = 'catalog';
  } else {
    throw new UserError(`no prices known for provider "${provider}" (type ${type})`, { hint: `add pricing.${provider}.plans to the config` });
  }

  const pinned = inputs.pinnedPlan ?? override.plan;
  if (pinned !== undefined && !plans.some((plan) => plan.name === pinned)) {
    throw new UserError(`${provider}: pinned plan "${pinned}" is not one of its plans (${plans.map((p) => p.name).join(', ')})`, {
      hint: `fix providers.${provider}.plan or pricing.${provider}.plan`,
    });
  }
  const priced = origin === 'config' || catalog?.readOn !== null;
  return { provider, type, plans, pinned, origin, priced, readOn: origin === 'catalog' ? (catalog?.readOn ?? undefined) : undefined, notes };
}

/** A config plan (already checked by its schema) or a catalog plan (checked here) as exact money. */
function toPlanPrice(plan: CatalogPlan | Plan, where: string): PlanPrice {
  const [problem] = planOverageProblems(plan);
  if (problem) throw new UserError(`${[where, formatIssuePath(problem.path)].filter(Boolean).join('.')}: ${problem.message}`);
  return {
    name: plan.name,
    monthly: parseMoney(plan.monthly, `${where}.monthly`),
    included: plan.included === 'unlimited' ? Infinity : plan.included,
    overage: toOverageTiers(plan, where),
    unverified: 'unverified' in plan ? plan.unverified : undefined,
  };
}

function toOverageTiers(plan: CatalogPlan | Plan, where: string): OverageTier[] | null {
  if (plan.overage) return plan.overage.map((tier, i) => ({ upTo: tier.upTo ?? Infinity, per1k: parsePer1k(tier.per1k, `${where}.overage[${i}].per1k`) }));
  if (plan.overagePer1k === null || plan.overagePer1k === undefined) return null;
  return [{ upTo: Infinity, per1k: parsePer1k(plan.overagePer1k, `${where}.overagePer1k`) }];
}

/** A price per 1,000 whose price per email is exact: at most 6 decimals. */
function parsePer1k(value: number, where: string): Nanos {
  const price = parseMoney(value, where);
  if (price % 1000n !== 0n) throw new UserError(`${where}: at most 6 decimals`);
  return price;
}

function parseMoney(value: number, where: string): Nanos {
  try {
    return dollars(value);
  } catch {
    throw new UserError(`${where}: ${value} is not a dollar amount with at most 9 decimals`);
  }
}

/** Emails a month that cost nothing: the largest free (no-fee, finite) plan, or the pinned one. */
export function freeAllowance(pricing: ProviderPricing): number {
  const candidates = pricing.pinned ? pricing.plans.filter((p) => p.name === pricing.pinned) : pricing.plans;
  return candidates.filter((p) => p.monthly === 0n && Number.isFinite(p.included)).reduce((max, p) => Math.max(max, p.included), 0);
}
