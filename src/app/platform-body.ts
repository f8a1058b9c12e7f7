import { POISONED_KEY_PROBLEM, poisonedKeyPath } from '../core/poisoned-keys.js';
import * as z from 'zod/mini';
import '../config/zod.js';
import { splitAddressList } from '../core/address.js';
import { MessageValidationError } from '../core/errors.js';
import type { MessageDraft } from '../core/message.js';
import { closestMatch } from '../core/suggest.js';
import { validateMessage } from '../core/validate-message.js';

const addressList = z.pipe(
  z.union([z.string(), z.array(z.string())]),
  z.transform((v: string | string[]) => (Array.isArray(v) ? v : splitAddressList(v))),
);

/** The platform API body: `send --payload`, `POST /api/v1/emails/send`, and the library's `send`. */
export const platformBodySchema = z.strictObject({
  provider: z.optional(z.string().check(z.minLength(1))),
  from: z.optional(z.string()),
  to: z.optional(addressList),
  cc: z.optional(addressList),
  bcc: z.optional(addressList),
  reply_to: z.optional(z.string()),
  subject: z.string(),
  html_body: z.optional(z.string()),
  text_body: z.optional(z.string()),
  track_opens: z.optional(z.boolean()),
  track_links: z.optional(z.boolean()),
  tags: z.optional(z.pipe(z.union([z.string(), z.array(z.string())]), z.transform((v: string | string[]) => (Array.isArray(v) ? v : [v])))),
  campaign_id: z.optional(z.string()),
  type: z.optional(z.enum(['transactional', 'marketing'])),
  priority: z.optional(z.enum(['normal', 'critical'])),
  metadata: z.optional(z.record(z.string(), z.string())),
  headers: z.optional(z.record(z.string(), z.string())),
  idempotency_key: z.optional(z.string()),
});

/** The body as a caller writes it (before addresses and tags are normalised to lists). */
export type PlatformBodyInput = z.input<typeof platformBodySchema>;
export type PlatformBody = z.output<typeof platformBodySchema>;

export const PLATFORM_BODY_FIELDS = Object.keys(platformBodySchema.shape);

/** One problem of a body: where (a JSON path such as `to[1]`, or `(body)`) and what. */
export interface BodyProblem {
  path: string;
  message: string;
}

export type BodyCheck = { ok: true; body: PlatformBody } | { ok: false; problems: BodyProblem[] };

/** Checks a parsed JSON body; every problem is named by its path, in words a person can act on. */
export function checkPlatformBody(raw: unknown): BodyCheck {
  // Such a key would otherwise be dropped without a word (a payload's metadata.__proto__).
  const poisoned = poisonedKeyPath(raw);
  if (poisoned) return { ok: false, problems: [{ path: poisoned, message: POISONED_KEY_PROBLEM }] };
  const parsed = platformBodySchema.safeParse(raw);
  if (parsed.success) return { ok: true, body: parsed.data };
  return { ok: false, problems: parsed.error.issues.flatMap(describeBodyIssue) };
}

/**
 * With a body the schema refused: the message's own problems too (an address that is not one, no
 * body at all), found in the fields that were well formed, so that one answer names every
 * problem. `pathOf` turns a message problem into its body path; a field the schema refused
 * already has its problem and is not named twice. A body that is no object has no fields to check.
 */
export function problemsOfWellFormedFields(raw: unknown, refused: BodyProblem[], defaults: BodyDefaults, pathOf: (problem: string) => BodyProblem): BodyProblem[] {
  if (!isObject(raw)) return [];
  const wellFormed = wellFormedFields(raw);
  try {
    validateMessage(draftFromBody(wellFormed, defaults));
    return [];
  } catch (error) {
    if (!(error instanceof MessageValidationError)) throw error;
    return withoutRefusedFields(error.problems.map(pathOf), refusedFields(raw, wellFormed, refused));
  }
}

const isObject = (raw: unknown): raw is Record<string, unknown> => typeof raw === 'object' && raw !== null && !Array.isArray(raw);

/** The fields of a body the schema refused that are well formed on their own, as checked. */
export function wellFormedFields(raw: unknown): Partial<PlatformBody> {
  if (!isObject(raw)) return {};
  const wellFormed: Record<string, unknown> = {};
  for (const [field, schema] of Object.entries(platformBodySchema.shape)) {
    if (!Object.hasOwn(raw, field)) continue;
    const parsed = (schema as z.ZodMiniType).safeParse(raw[field]);
    if (parsed.success) wellFormed[field] = parsed.data;
  }
  return wellFormed as Partial<PlatformBody>;
}

/**
 * The body's own fields that have a problem of their own already: given and not well formed, or
 * required and left out (`subject`), and any other field a problem in `refused` is at. An unknown
 * field is none of them, whatever its name (`to.cc` is not `to`).
 */
export function refusedFields(raw: unknown, wellFormed: Partial<PlatformBody>, refused: BodyProblem[] = []): Set<string> {
  const fields = new Set<string>();
  for (const [field, schema] of Object.entries(platformBodySchema.shape)) {
    if (Object.hasOwn(wellFormed, field)) continue;
    if ((isObject(raw) && Object.hasOwn(raw, field)) || !(schema as z.ZodMiniType).safeParse(undefined).success) fields.add(field);
  }
  for (const problem of refused) if (!problem.message.startsWith('unknown field') && Object.hasOwn(platformBodySchema.shape, bodyFieldOf(problem.path))) fields.add(bodyFieldOf(problem.path));
  return fields;
}

/** The body field a problem's path is under (`to` for `to[1]`, `headers` for `headers.X`). */
export const bodyFieldOf = (path: string) => path.split(/[.[]/)[0];

/** Problems, less those of refused fields (see refusedFields); no body at all goes with either body field. */
export function withoutRefusedFields(problems: BodyProblem[], refused: Set<string>): BodyProblem[] {
  return problems.filter((problem) => {
    const field = bodyFieldOf(problem.path);
    if (field === 'html_body' && problem.message.startsWith('missing')) return !refused.has('html_body') && !refused.has('text_body');
    return !refused.has(field);
  });
}

/** A problem validateMessage found (`to[0]: …`, `header "X": …`), named by its path in the platform body. */
export function bodyPathOfMessageProblem(problem: string, keyFromHeader = false): BodyProblem {
  // The quoted name or key may hold anything, `": ` included; the words after it never do.
  const named = /^(idempotency key|header|metadata) "(.*)": (.*)$/s.exec(problem);
  if (named?.[1] === 'idempotency key') return { path: keyFromHeader ? 'Idempotency-Key (header)' : 'idempotency_key', message: named[3] };
  if (named) return { path: `${named[1] === 'header' ? 'headers' : 'metadata'}.${named[2]}`, message: named[3] };
  if (problem.startsWith('body: missing')) return { path: 'html_body', message: 'missing: give html_body or text_body (or both)' };
  if (problem.startsWith('from: missing')) return { path: 'from', message: 'missing: give from, or set defaults.from in the config' };
  const at = problem.indexOf(': ');
  if (at < 0) return { path: '(body)', message: problem };
  const field = problem.slice(0, at);
  const renamed: Record<string, string> = { replyTo: 'reply_to', campaign: 'campaign_id', 'to/cc/bcc': 'to' };
  return { path: renamed[field] ?? field, message: problem.slice(at + 2) };
}

const SUGGESTED_FIELDS = 20;
const SHOWN_NAME_CHARS = 64;

function describeBodyIssue(issue: z.core.$ZodIssue): BodyProblem[] {
  const path = jsonPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    // A body may hold any number of made-up fields, of any length: only the first few get a
    // suggestion, and a long name is shown cut, so that the answer stays small and quick.
    return issue.keys.map((key, i) => {
      const near = i < SUGGESTED_FIELDS ? closestMatch(key, PLATFORM_BODY_FIELDS) : undefined;
      const shown = key.length > SHOWN_NAME_CHARS ? `${key.slice(0, SHOWN_NAME_CHARS)}…` : key;
      return { path: jsonPath([...issue.path, shown]), message: `unknown field${near ? ` (did you mean "${near}"?)` : ''}` };
    });
  }
  if (issue.code === 'invalid_type') {
    if (path === '(body)') return [{ path, message: 'the body must be one JSON object' }];
    const wanted = EXPECTED_WORDS[issue.expected] ?? issue.expected;
    // zod keeps the input out of its issues; its message says what it received.
    const missing = /received undefined/.test(issue.message);
    return [{ path, message: missing ? `required (${wanted})` : `must be ${wanted}` }];
  }
  if (issue.code === 'invalid_union') return [{ path, message: path.startsWith('tags') ? 'must be a string or a list of strings' : 'must be an address string ("a@x.com, b@y.com") or a list of addresses' }];
  if (issue.code === 'invalid_value') return [{ path, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` }];
  if (issue.code === 'too_small') return [{ path, message: 'must not be empty' }];
  return [{ path, message: issue.message }];
}

const EXPECTED_WORDS: Record<string, string> = {
  string: 'a string',
  boolean: 'true or false',
  object: 'an object of string values',
  array: 'a list',
  number: 'a number',
};

function jsonPath(parts: readonly PropertyKey[]): string {
  const text = parts.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');
  return text || '(body)';
}

/** What the config supplies when the body leaves a field out. */
export interface BodyDefaults {
  from?: string;
  type: 'transactional' | 'marketing';
  trackOpens?: boolean;
  trackLinks?: boolean;
}

/** The message draft a checked body describes, over the config's defaults. */
export function draftFromBody(body: Partial<PlatformBody>, defaults: BodyDefaults): MessageDraft {
  const draft: MessageDraft = {
    from: body.from ?? defaults.from ?? '',
    to: body.to ?? [],
    cc: body.cc ?? [],
    bcc: body.bcc ?? [],
    replyTo: body.reply_to,
    subject: body.subject ?? '',
    html: body.html_body,
    text: body.text_body,
    type: body.type ?? defaults.type,
    priority: body.priority ?? 'normal',
    tags: body.tags ?? [],
    campaignId: body.campaign_id,
    metadata: { ...body.metadata },
    headers: Object.entries(body.headers ?? {}).map(([name, value]) => ({ name, value })),
    attachments: [],
    trackOpens: body.track_opens ?? defaults.trackOpens,
    trackLinks: body.track_links ?? defaults.trackLinks,
    idempotencyKey: body.idempotency_key,
  };
  return dropUndefined(draft);
}

/** Optional fields left undefined are left out (they would change the content-derived key). */
export function dropUndefined(draft: MessageDraft): MessageDraft {
  for (const key of ['replyTo', 'campaignId', 'html', 'text', 'trackOpens', 'trackLinks', 'idempotencyKey'] as const) {
    if (draft[key] === undefined) delete draft[key];
  }
  return draft;
}
