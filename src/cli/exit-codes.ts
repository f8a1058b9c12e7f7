import { ExitCode } from '../core/errors.js';

/** The result status of a send (one message or a bulk run) → the command's exit code: the one mapping. */
const EXIT_FOR_STATUS = {
  delivered: ExitCode.ok,
  duplicate: ExitCode.ok,
  partial: ExitCode.partial,
  rejected: ExitCode.rejected,
  queued: ExitCode.queued,
} as const;

export function exitCodeFor(status: keyof typeof EXIT_FOR_STATUS): number {
  return EXIT_FOR_STATUS[status];
}
