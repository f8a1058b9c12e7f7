import * as z from 'zod/mini';
import './zod.js';
import { planOverageProblems } from './plan-overage.js';

export { planOverageProblems, type OverageTierInput, type PlanOverageInput, type PlanProblem } from './plan-overage.js';

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
  upTo: z.nullable(z.number().check(z.int(), z.minimum(1))),
  /** USD per 1,000 emails in this tier. */
  per1k: z.number().check(z.minimum(0)),
});

export const planSchema = z
  .strictObject({
    name: z.string().check(z.minLength(1)),
    /** Monthly fee in USD. */
    monthly: z.number().check(z.minimum(0)),
    /** Emails included in the fee. */
    included: z.number().check(z.int(), z.minimum(0)),
    /** USD per 1,000 emails beyond `included`; null = hard cap, no sending beyond it. */
    overagePer1k: z.optional(z.nullable(z.number().check(z.minimum(0)))),
    /** Instead of overagePer1k: rates by volume tier (see above). */
    overage: z.optional(z.array(overageTierSchema).check(z.minLength(1))),
  })
  .check(
    z.superRefine((plan, ctx) => {
      for (const problem of planOverageProblems(plan)) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
    }),
  );

export type Plan = z.infer<typeof planSchema>;
