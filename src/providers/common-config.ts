import * as z from 'zod';
import { durationSchema, rateLimitSchema } from '../config/value-schemas.js';
import { checkBaseUrl } from '../core/loopback.js';

export const baseUrlSchema = z.string().superRefine((value, ctx) => {
  const problem = checkBaseUrl(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Fields every provider entry may carry. */
export const commonProviderFields = {
  /** Pins the pricing plan used by `cost estimate` and `route explain`. */
  plan: z.string().min(1).optional(),
  /** How long to wait for the provider's answer (default 30s). */
  timeout: durationSchema.optional(),
  /** Send-side rate limits shared by every process on the store (issue #22): `14/s`, or a list `[14/s, 50000/d]`. */
  rateLimit: rateLimitSchema.optional(),
};
