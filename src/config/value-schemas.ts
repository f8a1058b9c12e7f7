import * as z from 'zod/mini';
import './zod.js';
import { parseByteSize } from '../core/byte-size.js';
import { parseDuration } from '../core/duration.js';
import { parseRateLimits } from '../core/rate-limit.js';

/** Config values of a general kind, used by the config file's schema and by each adapter's. */
export const durationSchema = z
  .union([z.string(), z.number()])
  .check(z.refine((value) => parseDuration(value) !== undefined, { message: 'not a duration (use e.g. 500ms, 30s, 2m, 1h, 7d)' }));

/** The longest wait a Node timer takes (2^31 − 1 ms, ~24.8 days): a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration the program waits for with a timer (a timeout, a retry's delay, an interval). */
export const timerDurationSchema = durationSchema.check(
  z.refine((value) => (parseDuration(value) ?? 0) <= MAX_TIMER_MS, { message: 'at most 24d (a longer wait would overflow Node\'s timers and end at once)' }),
);

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
