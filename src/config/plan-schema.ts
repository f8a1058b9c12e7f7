import * as z from 'zod';

/**
 * A price plan, in the config's `pricing.<name>.plans` and in the built-in catalog: a monthly fee,
 * the emails it includes, and what each email beyond them costs — one rate (`overagePer1k`) or a
 * rate per volume tier (`overage`), as Mailgun's Scale plan bills it:
 *
 *   overage: [ { upTo: 250000, per1k: 0.80 }, { upTo: null, per1k: 0.65 } ]
 *
 * `upTo` counts the month's emails from the first one (not the overage emails): on a plan that
 * includes 100,000, the first tier above prices emails 100,001–250,000 and the last tier (upTo:
 * null) everything after. Each email is priced by its own tier (graduated, like an invoice).
 */
export const overageTierSchema = z.strictObject({
  /** The month's email count this rate runs up to; null for the last tier, which has no end. */
  upTo: z.number().int().min(1).nullable(),
  /** USD per 1,000 emails in this tier. */
  per1k: z.number().min(0),
});

export type OverageTierInput = z.infer<typeof overageTierSchema>;

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

export const planSchema = z
  .strictObject({
    name: z.string().min(1),
    /** Monthly fee in USD. */
    monthly: z.number().min(0),
    /** Emails included in the fee. */
    included: z.number().int().min(0),
    /** USD per 1,000 emails beyond `included`; null = hard cap, no sending beyond it. */
    overagePer1k: z.number().min(0).nullable().optional(),
    /** Instead of overagePer1k: rates by volume tier (see above). */
    overage: z.array(overageTierSchema).min(1).optional(),
  })
  .superRefine((plan, ctx) => {
    for (const problem of planOverageProblems(plan)) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  });

export type Plan = z.infer<typeof planSchema>;
