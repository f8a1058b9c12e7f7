/**
 * One error taxonomy for every provider (SPEC "Error policy"):
 * - transient:          failed before the provider took the message (refused, DNS, 5xx, 429) → retry, then fail over
 * - provider-unusable:  this provider cannot send for us (credentials, unverified sender, suspended) → next provider, no retry
 * - permanent:          the message itself is refused (bad/suppressed recipient, bad content) → stop, never fail over
 * - ambiguous:          the request may have been delivered (timeout after hand-over) → no blind resend
 */
export type ErrorClass = 'transient' | 'provider-unusable' | 'permanent' | 'ambiguous';

export interface ProviderErrorDetails {
  provider: string;
  errorClass: ErrorClass;
  /** Provider-specific code: Postmark ErrorCode, HTTP status, SMTP response code, errno. */
  code?: string | number;
  httpStatus?: number;
  /** Server-requested wait before the next try (Retry-After), in milliseconds. */
  retryAfterMs?: number;
}

/** The only error type a provider adapter throws. */
export class ProviderError extends Error {
  readonly provider: string;
  readonly errorClass: ErrorClass;
  readonly code?: string | number;
  readonly httpStatus?: number;
  readonly retryAfterMs?: number;

  constructor(message: string, details: ProviderErrorDetails) {
    super(message);
    this.name = 'ProviderError';
    this.provider = details.provider;
    this.errorClass = details.errorClass;
    this.code = details.code;
    this.httpStatus = details.httpStatus;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** Exit codes of the SPEC. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  rejected: 3,
  queued: 4,
  partial: 5,
  /** Stopped by Ctrl-C / SIGTERM (a bulk run) or cancelled (the wizard): the conventional 128 + SIGINT. */
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the user can fix: bad flags, bad config, bad message. Exit 2 unless said otherwise. */
export class UserError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;

  constructor(message: string, options: { hint?: string; exitCode?: ExitCodeValue } = {}) {
    super(message);
    this.name = 'UserError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.usage;
  }
}

export class ConfigError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { hint });
    this.name = 'ConfigError';
  }
}

/**
 * An explicit idempotency key already delivered (or waiting in the outbox) with other content: not
 * a repeat to answer `duplicate`, and not to be sent as a new message under a key that says it was.
 */
export class IdempotencyConflictError extends UserError {
  constructor(
    readonly idempotencyKey: string,
    readonly earlier: string,
  ) {
    super(`idempotency key "${idempotencyKey}" was used for a different message (${earlier}): nothing was sent`, {
      hint: 'give each message its own key; to send this one, use another key (a repeat of the first must have its exact content)',
    });
    this.name = 'IdempotencyConflictError';
  }
}

export class MessageValidationError extends UserError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.length === 1 ? `the message is not valid: ${problems[0]}` : `the message is not valid:\n  - ${problems.join('\n  - ')}`, {
      hint: problems.length === 1 ? (hintForField(problems[0]) ?? 'nothing was sent; correct it and run again') : 'nothing was sent; correct each field listed and run again',
    });
    this.name = 'MessageValidationError';
    this.problems = problems;
  }
}

/** What to give for the fields a user most often leaves out (the problem text starts with the field). */
const FIELD_HINTS: Record<string, string> = {
  to: 'give --to <address> (or "to" in the --payload body); nothing was sent',
  subject: 'give --subject <text> (or "subject" in the --payload body); nothing was sent',
  body: 'give --text/--html (or --text-file/--html-file, or text_body/html_body in the --payload body); nothing was sent',
};

function hintForField(problem: string): string | undefined {
  const field = /^([a-z]+)(?:\[\d+\])?:/.exec(problem)?.[1];
  const leftOut = problem.includes('missing') || problem.includes('required');
  return field && leftOut ? FIELD_HINTS[field] : undefined;
}

/** EISDIR, EACCES, EIO…: what the system says of a file, not Node's own ERR_* (a bug of ours). */
export function isSystemErrorCode(code: unknown): code is string {
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}
