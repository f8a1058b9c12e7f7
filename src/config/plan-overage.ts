/**
 * The overage rules of a price plan (see plan-schema.ts), without zod: the cost model checks
 * `pricing` overrides with them, and `cost estimate` without a config loads no schema.
 */

/** One overage tier (plan-schema.ts: overageTierSchema). */
export interface OverageTierInput {
  upTo: number | null;
  per1k: number;
}

/** What the overage check needs of a plan (config or catalog). */
export interface PlanOverageInput {
  included: number | 'unlimited';
  overagePer1k?: number | null;
  overage?: readonly OverageTierInput[];
}

export interface PlanProblem {
  /** Inside the plan: [] for the plan itself, ['overage', 1, 'upTo'] for a tier's field. */
  path: (string | number)[];
  message: string;
}

/**
 * What is wrong with a plan's overage, if anything: exactly one of overagePer1k and overage; tiers
 * with rising `upTo` above `included`, and only the last one open-ended.
 */
export function planOverageProblems(plan: PlanOverageInput): PlanProblem[] {
  const hasRate = plan.overagePer1k !== undefined;
  const tiers = plan.overage;
  if (hasRate && tiers !== undefined) return [{ path: [], message: 'give overagePer1k (one rate) or overage (tiers), not both' }];
  if (!hasRate && tiers === undefined) return [{ path: ['overagePer1k'], message: 'required (a number or null) — or overage: a list of tiers' }];
  if (tiers === undefined) return [];

  const problems: PlanProblem[] = [];
  let floor = plan.included === 'unlimited' ? Infinity : plan.included;
  tiers.forEach((tier, i) => {
    const last = i === tiers.length - 1;
    if (tier.upTo === null) {
      if (!last) problems.push({ path: ['overage', i, 'upTo'], message: 'only the last tier can be open-ended (upTo: null)' });
      return;
    }
    if (last) problems.push({ path: ['overage', i, 'upTo'], message: 'the last tier must be open-ended (upTo: null)' });
    else if (tier.upTo <= floor) {
      const below = i === 0 ? `the plan's included emails (${floor})` : `the previous tier's upTo (${floor})`;
      problems.push({ path: ['overage', i, 'upTo'], message: `must be above ${below}` });
    }
    floor = Math.max(floor, tier.upTo);
  });
  return problems;
}
