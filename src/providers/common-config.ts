import * as z from 'zod';
import { parseByteSize } from '../core/byte-size.js';
import { parseDuration } from '../core/duration.js';
import { checkBaseUrl } from '../core/loopback.js';

export const durationSchema = z
  .union([z.string(), z.number()])
  .refine((value) => parseDuration(value) !== undefined, { message: 'not a duration (use e.g. 500ms, 30s, 2m, 1h, 7d)' });

export const byteSizeSchema = z
  .union([z.string(), z.number()])
  .refine((value) => parseByteSize(value) !== undefined, { message: 'not a size (use e.g. 25MB, 500KB, or a number of bytes)' });

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
};
