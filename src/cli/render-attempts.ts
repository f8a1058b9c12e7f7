import type { Attempt } from '../core/failover.js';
import { formatDuration } from '../core/duration.js';
import type { Output } from './output.js';

/** One line per attempt: what was tried, what happened, what comes next. */
export function renderAttempt(output: Output, attempt: Attempt): string {
  const { c } = output;
  const where = `${attempt.provider}${attempt.try > 0 ? ` try ${attempt.try}` : ''}`;
  if (attempt.outcome === 'delivered') return `${c.ok('✓')} ${where}: delivered (${attempt.ms} ms)`;
  if (attempt.outcome === 'skipped') return `${c.dim('-')} ${where}: skipped — ${attempt.note}`;
  const mark = attempt.outcome === 'permanent' ? c.bad('✗') : c.warn('!');
  const next = attempt.waitMs !== undefined ? `, retrying in ${formatDuration(attempt.waitMs)}` : '';
  const note = attempt.note ? ` — ${attempt.note}` : '';
  return `${mark} ${where}: ${attempt.outcome} — ${attempt.error} (${attempt.ms} ms)${next}${note}`;
}
