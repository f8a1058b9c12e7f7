import { verifyAlertSignature } from '../../src/app/alerts/signature.js';
import { HttpFake, type RecordedRequest, type Reply } from './http-fake.js';

export const ALERT_SECRET = 'alert-secret-for-tests-0123456789';

/**
 * A receiver of penguinmails' alert webhook, as an operator would write one: it checks the
 * signature over the raw body and answers 401 to a bad one. Faults (failNext) make it fail first.
 */
export class AlertReceiver extends HttpFake {
  /** The alerts it accepted (signature valid), in order. */
  readonly accepted: any[] = [];

  constructor(private readonly secret = ALERT_SECRET) {
    super();
  }

  protected handle(request: RecordedRequest): Reply {
    const body = request.rawBody.toString('utf8');
    if (!verifyAlertSignature(this.secret, body, request.headers['x-penguinmails-signature'] as string | undefined)) return { status: 401, body: { error: 'bad signature' } };
    this.accepted.push(JSON.parse(body));
    return { status: 204, body: '' };
  }

  override reset(): void {
    super.reset();
    this.accepted.length = 0;
  }

  /** Resolves once `count` alerts were accepted (the sender POSTs beside the send). */
  async waitFor(count: number, timeoutMs = 10_000): Promise<any[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.accepted.length < count) {
      if (Date.now() > deadline) throw new Error(`alert receiver: ${this.accepted.length} of ${count} alerts after ${timeoutMs}ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.accepted;
  }
}
