import { formatNanos, groupThousands, perThousand, toCents, type Cents, type Nanos } from './money.js';
import type { PlanPrice, ProviderPricing } from './pricing.js';

/** One provider's bill for a month: the invoice lines, rounded to cents, and the exact cost. */
export interface ProviderCost {
  provider: string;
  type: string;
  emails: number;
  plan: string;
  pinned: boolean;
  baseFeeCents: Cents;
  included: number;
  overageEmails: number;
  overagePer1k: Nanos | null;
  overageCents: Cents;
  /** baseFeeCents + overageCents. */
  totalCents: Cents;
  /** Unrounded, for ranking plans and strategies. */
  exact: Nanos;
  /** False when the price is only the placeholder for unpriced infrastructure (see ProviderPricing.priced). */
  priced: boolean;
  /** False when the volume exceeds a hard-capped plan. */
  feasible: boolean;
  problem?: string;
  unverified?: string;
}

interface PlanBill {
  plan: PlanPrice;
  overageEmails: number;
  overage: Nanos;
  exact: Nanos;
  feasible: boolean;
}

function bill(plan: PlanPrice, emails: number): PlanBill {
  const beyond = Math.max(0, emails - plan.included);
  if (beyond > 0 && plan.overagePer1k === null) return { plan, overageEmails: beyond, overage: 0n, exact: plan.monthly, feasible: false };
  const overage = beyond > 0 ? perThousand(beyond, plan.overagePer1k!) : 0n;
  return { plan, overageEmails: beyond, overage, exact: plan.monthly + overage, feasible: true };
}

/** The plan for a volume: the pinned one, else the cheapest that can carry it (ties: first listed). */
function pickBill(pricing: ProviderPricing, emails: number): PlanBill {
  if (pricing.pinned) return bill(pricing.plans.find((p) => p.name === pricing.pinned)!, emails);
  const bills = pricing.plans.map((plan) => bill(plan, emails));
  const feasible = bills.filter((b) => b.feasible);
  if (feasible.length === 0) return bills.reduce((best, b) => (b.plan.included > best.plan.included ? b : best));
  return feasible.reduce((best, b) => (b.exact < best.exact ? b : best));
}

export function costForVolume(pricing: ProviderPricing, emails: number): ProviderCost {
  const chosen = pickBill(pricing, emails);
  const { plan } = chosen;
  const baseFeeCents = toCents(plan.monthly);
  const overageCents = toCents(chosen.overage);
  return {
    provider: pricing.provider,
    type: pricing.type,
    emails,
    plan: plan.name,
    pinned: pricing.pinned !== undefined,
    baseFeeCents,
    included: plan.included,
    overageEmails: chosen.overageEmails,
    overagePer1k: plan.overagePer1k,
    overageCents,
    totalCents: baseFeeCents + overageCents,
    exact: chosen.exact,
    priced: pricing.priced,
    feasible: chosen.feasible,
    problem: chosen.feasible ? undefined : capProblem(pricing, plan, emails),
    unverified: plan.unverified,
  };
}

function capProblem(pricing: ProviderPricing, plan: PlanPrice, emails: number): string {
  const over = `${groupThousands(emails)} emails exceed it by ${groupThousands(emails - plan.included)}`;
  if (pricing.pinned) return `${pricing.provider}: pinned plan "${plan.name}" is capped at ${groupThousands(plan.included)} emails/month with no overage; ${over}`;
  return `${pricing.provider}: no plan can carry ${groupThousands(emails)} emails/month — the largest, "${plan.name}", is capped at ${groupThousands(plan.included)} with no overage`;
}

export interface Marginal {
  current: ProviderCost;
  next: ProviderCost;
  /** Exact extra cost of one more email this month; null when it cannot be sent (hard cap). */
  marginal: Nanos | null;
  includedLeft: number;
  explanation: string;
}

/** What one more email costs on top of the month-to-date volume (a plan change counts in full). */
export function marginalCost(pricing: ProviderPricing, monthToDate: number): Marginal {
  const current = costForVolume(pricing, monthToDate);
  const next = costForVolume(pricing, monthToDate + 1);
  const includedLeft = Math.max(0, current.included - monthToDate);
  if (!next.feasible) return { current, next, marginal: null, includedLeft, explanation: next.problem! };
  const marginal = current.feasible ? next.exact - current.exact : next.exact;
  let explanation: string;
  if (next.plan !== current.plan) explanation = `moves ${pricing.provider} from ${current.plan} to ${next.plan} (${formatNanos(marginal)} more this month)`;
  else if (!Number.isFinite(current.included)) explanation = `flat monthly cost on ${current.plan}: nothing per email`;
  else if (includedLeft > 0) explanation = `included in ${current.plan} (${formatCount(includedLeft)} of ${formatCount(current.included)} left)`;
  else explanation = `overage on ${current.plan} at ${formatNanos(current.overagePer1k ?? 0n)}/1k`;
  return { current, next, marginal, includedLeft, explanation };
}

/** "12,345", or "unlimited" for flat-cost infrastructure. */
export function formatCount(count: number): string {
  return Number.isFinite(count) ? groupThousands(count) : 'unlimited';
}
