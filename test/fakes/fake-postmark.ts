import { randomUUID } from 'node:crypto';
import { HttpFake, type RecordedRequest, type Reply } from './http-fake.js';

export const POSTMARK_TOKEN = 'pm-test-token-7f3a';
const MAX_BATCH = 500;
const MAX_RECIPIENTS = 50;

export interface PostmarkSent {
  path: string;
  token: string | undefined;
  body: Record<string, any>;
}

/** Answers like api.postmarkapp.com: token check, ErrorCode bodies, per-message batch results. */
export class FakePostmark extends HttpFake {
  /** Recipients Postmark has suppressed (hard bounce, spam complaint): ErrorCode 406. */
  readonly inactive = new Set<string>();

  /** The JSON bodies received on /email and /email/batch (accepted or not). */
  get sent(): PostmarkSent[] {
    return this.requests.map((r) => ({ path: r.path, token: r.headers['x-postmark-server-token'] as string | undefined, body: safeJson(r.rawBody) }));
  }

  protected handle(request: RecordedRequest): Reply {
    if (request.headers['x-postmark-server-token'] !== POSTMARK_TOKEN) {
      return { status: 401, body: { ErrorCode: 10, Message: 'Request does not contain a valid Server token.' } };
    }
    const body = safeJson(request.rawBody);
    if (request.method === 'POST' && request.path === '/email') {
      const result = this.checkMessage(body);
      return { status: result.ErrorCode === 0 ? 200 : 422, body: result };
    }
    if (request.method === 'POST' && request.path === '/email/batch') {
      if (!Array.isArray(body)) return { status: 422, body: { ErrorCode: 402, Message: 'Received invalid JSON input.' } };
      if (body.length > MAX_BATCH) return { status: 422, body: { ErrorCode: 410, Message: `Too many batch messages (${body.length}). You may only send up to ${MAX_BATCH} messages in a batch.` } };
      // The batch call answers 200 even when single messages fail.
      return { status: 200, body: body.map((message) => this.checkMessage(message)) };
    }
    return { status: 404, body: { ErrorCode: 0, Message: 'Not found' } };
  }

  private checkMessage(message: Record<string, any>): Record<string, unknown> {
    const recipients = ['To', 'Cc', 'Bcc'].flatMap((field) => String(message?.[field] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
    if (!message?.From) return { ErrorCode: 300, Message: "Invalid 'From' address: ''." };
    if (recipients.length === 0) return { ErrorCode: 300, Message: 'Zero recipients specified' };
    if (recipients.length > MAX_RECIPIENTS) return { ErrorCode: 300, Message: `Too many recipients (${recipients.length}). You may only send up to ${MAX_RECIPIENTS} recipients.` };
    if (!message.HtmlBody && !message.TextBody) return { ErrorCode: 300, Message: 'Provide either email TextBody or HtmlBody or both.' };
    const bare = recipients.map((r) => (/<([^>]+)>/.exec(r)?.[1] ?? r).toLowerCase());
    const inactive = bare.filter((r) => this.inactive.has(r));
    if (inactive.length === bare.length) {
      return {
        ErrorCode: 406,
        Message: `You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: ${inactive.join(', ')}. Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression.`,
      };
    }
    const Message = inactive.length ? `Message OK, but will not deliver to these inactive addresses: ${inactive.join(', ')}.` : 'OK';
    return { To: message.To, SubmittedAt: new Date().toISOString(), MessageID: randomUUID(), ErrorCode: 0, Message };
  }
}

function safeJson(raw: Buffer): any {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}
