import { formatNanos, groupThousands, perThousand, sumCents, toCents, type Cents, type Nanos } from './money.js';
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
  /**
   * The overage rate at this volume: that of the tier the month's last email fell in (the first
   * tier's while inside `included`); null on a hard-capped plan.
   */
  overagePer1k: Nanos | null;
  /** The plan bills overage by volume tier (more than one rate). */
  tiered: boolean;
  /** The overage invoice lines, one per tier reached (empty inside `included`). */
  overageLines: OverageLine[];
  /** Sum of the overage lines, each rounded to the cent. */
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

/** One overage tier's line on the invoice: the month's emails above `above` up to `upTo`, at one rate. */
export interface OverageLine {
  above: number;
  /** The tier's end; Infinity for the open-ended last tier. */
  upTo: number;
  emails: number;
  per1k: Nanos;
  amount: Nanos;
  /** The line rounded once to the cent, as an invoice shows it. */
  cents: Cents;
}

interface PlanBill {
  plan: PlanPrice;
  overageEmails: number;
  lines: OverageLine[];
  exact: Nanos;
  feasible: boolean;
}

/**
 * The overage of `emails` in a month, tier by tier: each email is priced by the tier its place in
 * the month falls in (on a plan including 100,000 with a tier up to 250,000, the 250,001st email
 * pays the next tier's rate, and the ones before it keep theirs).
 */
function overageLines(plan: PlanPrice, emails: number): OverageLine[] {
  const lines: OverageLine[] = [];
  let above = plan.included;
  for (const tier of plan.overage ?? []) {
    if (emails <= above) break;
    const count = Math.min(emails, tier.upTo) - above;
    const amount = perThousand(count, tier.per1k);
    lines.push({ above, upTo: tier.upTo, emails: count, per1k: tier.per1k, amount, cents: toCents(amount) });
    above = tier.upTo;
  }
  return lines;
}

function bill(plan: PlanPrice, emails: number): PlanBill {
  const beyond = Math.max(0, emails - plan.included);
  if (beyond > 0 && plan.overage === null) return { plan, overageEmails: beyond, lines: [], exact: plan.monthly, feasible: false };
  const lines = overageLines(plan, emails);
  return { plan, overageEmails: beyond, lines, exact: lines.reduce((sum, line) => sum + line.amount, plan.monthly), feasible: true };
}

/** The rate of the tier the month's last email fell in; the first tier's inside `included`. */
function currentRate(plan: PlanPrice, lines: readonly OverageLine[]): Nanos | null {
  if (plan.overage === null) return null;
  return lines.at(-1)?.per1k ?? plan.overage[0].per1k;
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
  const overageCents = sumCents(chosen.lines.map((line) => line.cents));
  return {
    provider: pricing.provider,
    type: pricing.type,
    emails,
    plan: plan.name,
    pinned: pricing.pinned !== undefined,
    baseFeeCents,
    included: plan.included,
    overageEmails: chosen.overageEmails,
    overagePer1k: currentRate(plan, chosen.lines),
    tiered: (plan.overage?.length ?? 0) > 1,
    overageLines: chosen.lines,
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
  else explanation = `overage on ${current.plan} at ${formatNanos(next.overagePer1k ?? 0n)}/1k${next.tiered ? ` (${describeTierOf(next.overageLines.at(-1)!)})` : ''}`;
  return { current, next, marginal, includedLeft, explanation };
}

function describeTierOf(line: OverageLine): string {
  return Number.isFinite(line.upTo) ? `its tier up to ${groupThousands(line.upTo)} emails a month` : `its last tier, above ${groupThousands(line.above)} emails a month`;
}

/** "12,345", or "unlimited" for flat-cost infrastructure. */
export function formatCount(count: number): string {
  return Number.isFinite(count) ? groupThousands(count) : 'unlimited';
}
