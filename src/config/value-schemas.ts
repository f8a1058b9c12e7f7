import * as z from 'zod/mini';
import './zod.js';
import { parseByteSize } from '../core/byte-size.js';
import { parseDuration } from '../core/duration.js';
import { parseRateLimits } from '../core/rate-limit.js';

/** Config values of a general kind, used by the config file's schema and by each adapter's. */
export const durationSchema = z
  .union([z.string(), z.number()])
  .check(z.refine((value) => parseDuration(value) !== undefined, { message: 'not a duration (use e.g. 500ms, 30s, 2m, 1h, 7d)' }));

export const byteSizeSchema = z
  .union([z.string(), z.number()])
  .check(z.refine((value) => parseByteSize(value) !== undefined, { message: 'not a size (use e.g. 25MB, 500KB, or a number of bytes)' }));

/** A send-side rate limit (`14/s`, `600/m`, `50000/d`) or a list of them; validate.ts turns it into RateLimit[]. */
export const rateLimitSchema = z.unknown().check(
  z.superRefine((value, ctx) => {
    const parsed = parseRateLimits(value);
    if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
  }),
);
