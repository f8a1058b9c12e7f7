import { bodyFieldOf, bodyPathOfMessageProblem, checkPlatformBody, PLATFORM_BODY_FIELDS, refusedFields, wellFormedFields, withoutRefusedFields, type BodyProblem } from '../app/platform-body.js';
import { MessageValidationError, UserError } from '../core/errors.js';
import type { MessageDraft } from '../core/message.js';
import { validateMessage } from '../core/validate-message.js';
import { parsePairs, type Payload, type SendFlags } from './compose.js';

/** `--payload` as read: its fields that are well formed, and the problems of the others. */
export interface PayloadInput {
  source: string;
  body: Payload;
  /** Told with the message's own problems (see checkComposedMessage), in one error. */
  problems: BodyProblem[];
  /** The fields those problems are at (see refusedFields). */
  refused: Set<string>;
}

/** Reads the `--payload` text: one JSON object, checked field by field (see checkPlatformBody). */
export function parsePayload(text: string, source: string): PayloadInput {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UserError(`--payload ${source}: not valid JSON (${(error as Error).message})`, { hint: 'give the platform API body as one JSON object (see send --help)' });
  }
  const checked = checkPlatformBody(raw);
  if (checked.ok) return { source, body: checked.body, problems: [], refused: new Set() };
  // Not an object at all: there are no fields to say more about.
  if (checked.problems.some((problem) => problem.path === '(body)')) throw payloadError(source, checked.problems.map(shown));
  const body = wellFormedFields(raw);
  return { source, body, problems: checked.problems, refused: refusedFields(raw, body, checked.problems) };
}

/** The body field each flag gives in the payload's place (--header and --metadata add entries instead). */
const FIELD_OF_FLAG: [keyof SendFlags, string][] = [
  ['from', 'from'], ['to', 'to'], ['cc', 'cc'], ['bcc', 'bcc'], ['replyTo', 'reply_to'], ['subject', 'subject'],
  ['html', 'html_body'], ['htmlFile', 'html_body'], ['text', 'text_body'], ['textFile', 'text_body'],
  ['idempotencyKey', 'idempotency_key'], ['campaign', 'campaign_id'], ['tag', 'tags'],
];
const BODY_FLAGS: (keyof SendFlags)[] = ['html', 'htmlFile', 'text', 'textFile'];
const flagName = (flag: string) => `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * validateMessage; with a payload, one error for all its problems, as the API answers: those of the
 * payload's fields, then the message's own (an address that is not one, no body). Each is named by
 * its path in the body (`reply_to`, `html_body`, `headers.X`), or by the flag that gave the field
 * (`--reply-to`, `--header "X"`): a flag replaces the payload's field, and its problem with it.
 */
export function checkComposedMessage(draft: MessageDraft, flags: SendFlags, payload: PayloadInput | undefined): void {
  if (!payload) return validateMessage(draft);
  const flagOf = new Map(FIELD_OF_FLAG.filter(([flag]) => flags[flag] !== undefined).reverse().map(([flag, field]) => [field, flagName(flag)]));
  const ofPayload = payload.problems.filter((problem) => problem.message.startsWith('unknown field') || !flagOf.has(bodyFieldOf(problem.path)));
  const refused = new Set([...payload.refused].filter((field) => !flagOf.has(field)));
  const ofMessage: BodyProblem[] = [];
  const ofFlags: BodyProblem[] = [];
  try {
    validateMessage(draft);
  } catch (error) {
    if (!(error instanceof MessageValidationError)) throw error;
    const entries = new EntrySources(payload.body, flags);
    for (const problem of error.problems) {
      const atBody = bodyPathOfMessageProblem(problem);
      const field = bodyFieldOf(atBody.path);
      const flag = field === 'headers' || field === 'metadata' ? entries.flagOf(field, atBody.path.slice(field.length + 1)) : flagOf.get(field);
      if (problem.startsWith('body: missing') && BODY_FLAGS.some((name) => flags[name] !== undefined)) ofFlags.push({ path: 'body', message: problem.slice('body: '.length) });
      else if (flag) ofFlags.push({ path: flag, message: atBody.message });
      else ofMessage.push(cliWords(atBody));
    }
  }
  const ofBody = [...ofPayload, ...withoutRefusedFields(ofMessage, refused)];
  // Only flags at fault: said as for a message given by flags alone.
  if (ofBody.length === 0 && ofFlags.length > 0) throw new MessageValidationError(ofFlags.map(shown));
  if (ofBody.length + ofFlags.length > 0) throw payloadError(payload.source, [...ofBody, ...ofFlags].map(shown));
}

/** What the API says of a missing sender or body, with the flags a command line may give them by. */
function cliWords(problem: BodyProblem): BodyProblem {
  if (problem.path === 'from' && problem.message.startsWith('missing')) return { path: 'from', message: 'missing: give from (or --from), or set defaults.from in the config' };
  if (problem.path === 'html_body' && problem.message.startsWith('missing')) return { path: 'html_body', message: 'missing: give html_body or text_body (or --html, --text)' };
  return problem;
}

/**
 * Which of a header's or a metadata key's entries a flag gave: --metadata replaces the payload's
 * value of its key; --header adds an entry after the payload's, so that of two problems of one
 * name the first is the payload's.
 */
class EntrySources {
  private readonly byFlag: Record<'headers' | 'metadata', Set<string>>;
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly body: Payload,
    flags: SendFlags,
  ) {
    this.byFlag = {
      headers: new Set(parsePairs(flags.header, '--header', ':').map(([name]) => name)),
      metadata: new Set(parsePairs(flags.metadata, '--metadata', '=').map(([key]) => key)),
    };
  }

  /** The flag of this entry's problem, or undefined for the payload's. */
  flagOf(field: 'headers' | 'metadata', name: string): string | undefined {
    if (!this.byFlag[field].has(name)) return undefined;
    const flag = `${field === 'headers' ? '--header' : '--metadata'} "${name}"`;
    if (!Object.hasOwn(this.body[field] ?? {}, name) || field === 'metadata') return flag;
    const times = (this.seen.get(name) ?? 0) + 1;
    this.seen.set(name, times);
    return times === 1 ? undefined : flag;
  }
}

const shown = (problem: BodyProblem) => `${problem.path}: ${problem.message}`;

function payloadError(source: string, problems: string[]): UserError {
  return new UserError(`--payload ${source}:\n  ${problems.join('\n  ')}`, { hint: `nothing was sent; correct each field listed (the payload's fields are ${PLATFORM_BODY_FIELDS.join(', ')})` });
}
