import { randomBytes } from 'node:crypto';
import { HttpFake, type Fault, type RecordedRequest, type Reply } from './http-fake.js';

export const SENDGRID_KEY = 'SG.test-key.4b7e';
const MAX_RECIPIENTS = 1000;
const MAX_CATEGORIES = 10;
const ADDRESS = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

type Address = { email?: string; name?: string };
export interface SendGridSent {
  path: string;
  body: Record<string, any>;
}

interface FieldError {
  message: string;
  field: string | null;
  help: string | null;
}

const HELP = 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html';

function errors(status: number, list: FieldError[], headers?: Record<string, string>): Reply {
  return { status, body: { errors: list }, headers };
}

/** A 429 as SendGrid sends it: the limit, none remaining, and the epoch second it resets at. */
export function sendGridRateLimited(resetInSeconds: number): Fault {
  const reset = Math.ceil(Date.now() / 1000) + resetInSeconds;
  return {
    status: 429,
    body: { errors: [{ field: null, message: 'too many requests', help: null }] },
    headers: { 'X-RateLimit-Limit': '600', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(reset) },
  };
}

/**
 * Answers like api.sendgrid.com's POST /v3/mail/send: Bearer key, 202 with an empty body and the id
 * in X-Message-Id, 400 with every field problem listed at once, 403 for an unverified sender.
 */
export class FakeSendGrid extends HttpFake {
  /** When set, only these From addresses are verified Sender Identities (others: 403). */
  verifiedSenders?: Set<string>;
  /** Addresses SendGrid refuses as not valid (400 naming their personalization). */
  readonly invalidAddresses = new Set<string>();

  /** The JSON bodies received (accepted or not). */
  get sent(): SendGridSent[] {
    return this.requests.map((r) => ({ path: r.path, body: safeJson(r.rawBody) }));
  }

  protected handle(request: RecordedRequest): Reply {
    if (request.headers.authorization !== `Bearer ${SENDGRID_KEY}`) {
      return errors(401, [{ field: null, message: 'The provided authorization grant is invalid, expired, or revoked', help: null }]);
    }
    if (request.method !== 'POST' || request.path !== '/v3/mail/send') return errors(404, [{ field: null, message: 'resource not found', help: null }]);
    const body = safeJson(request.rawBody);
    if (!body || typeof body !== 'object') return errors(400, [{ field: null, message: 'Bad Request', help: null }]);
    const problems = this.validate(body);
    if (problems.length) return errors(400, problems);
    const from = String(body.from?.email ?? '').toLowerCase();
    if (this.verifiedSenders && !this.verifiedSenders.has(from)) {
      return errors(403, [
        {
          field: 'from',
          message: 'The from address does not match a verified Sender Identity. Mail cannot be sent until this error is resolved. Visit https://sendgrid.com/docs/for-developers/sending-email/sender-identity/ to see the Sender Identity requirements',
          help: null,
        },
      ]);
    }
    return { status: 202, body: '', headers: { 'X-Message-Id': randomBytes(16).toString('base64url').slice(0, 22) } };
  }

  private validate(body: Record<string, any>): FieldError[] {
    const problems: FieldError[] = [];
    const problem = (field: string | null, message: string, anchor: string) => problems.push({ field, message, help: `${HELP}#${anchor}` });
    const personalizations = body.personalizations;
    if (!Array.isArray(personalizations) || personalizations.length === 0) {
      problem('personalizations', 'The personalizations field is required and must have at least one personalization.', 'message.personalizations');
    } else {
      const total = personalizations.reduce((sum: number, p: any) => sum + ['to', 'cc', 'bcc'].reduce((n, f) => n + (Array.isArray(p?.[f]) ? p[f].length : 0), 0), 0);
      if (personalizations.length > MAX_RECIPIENTS || total > MAX_RECIPIENTS) {
        problem('personalizations', `The personalizations field may have at most ${MAX_RECIPIENTS} recipients in total.`, 'message.personalizations');
      }
      personalizations.forEach((p: any, i: number) => {
        if (!Array.isArray(p?.to) || p.to.length === 0) problem(`personalizations.${i}.to`, 'The to array is required for all personalization objects, and must have at least one email object with a valid email address.', 'message.personalizations.to');
        for (const field of ['to', 'cc', 'bcc']) {
          (Array.isArray(p?.[field]) ? (p[field] as Address[]) : []).forEach((address, j) => {
            const email = String(address?.email ?? '');
            if (!ADDRESS.test(email) || this.invalidAddresses.has(email.toLowerCase())) problem(`personalizations.${i}.${field}.${j}.email`, 'Does not contain a valid address.', `message.personalizations.${field}`);
          });
        }
      });
      if (!body.subject && !personalizations.every((p: any) => p?.subject)) problem('subject', 'The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.', 'message.subject');
    }
    if (!ADDRESS.test(String(body.from?.email ?? ''))) problem('from.email', 'The from email does not contain a valid address.', 'message.from');
    const content = body.content;
    if (!Array.isArray(content) || content.length === 0) {
      problem('content', 'Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block.', 'message.content');
    } else if (content.findIndex((c: any) => c?.type === 'text/plain') > 0) {
      problem('content', 'If present, text/plain content must be first, followed by any other content.', 'message.content');
    }
    if (Array.isArray(body.categories) && body.categories.length > MAX_CATEGORIES) problem('categories', `You may not have more than ${MAX_CATEGORIES} categories per request.`, 'message.categories');
    return problems;
  }
}

function safeJson(raw: Buffer): any {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}
