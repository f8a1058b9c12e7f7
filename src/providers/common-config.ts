import * as z from 'zod/mini';
import '../config/zod.js';
import { rateLimitSchema, timerDurationSchema } from '../config/value-schemas.js';
import { checkBaseUrl } from '../core/loopback.js';

export const baseUrlSchema = z.string().check(
  z.superRefine((value, ctx) => {
    const problem = checkBaseUrl(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

/** Fields every provider entry may carry. */
export const commonProviderFields = {
  /** Pins the pricing plan used by `cost estimate` and `route explain`. */
  plan: z.optional(z.string().check(z.minLength(1))),
  /** How long to wait for the provider's answer (default 30s). */
  timeout: z.optional(timerDurationSchema),
  /** Send-side rate limits shared by every process on the store (issue #22): `14/s`, or a list `[14/s, 50000/d]`. */
  rateLimit: z.optional(rateLimitSchema),
};
