import { ServerClient } from 'postmark';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport } from '../../src/providers/http-transport.js';
import { withNativeAsyncRequests } from '../../src/providers/postmark-native-request.js';
import { FakePostmark, POSTMARK_TOKEN } from '../fakes/fake-postmark.js';
import type { Fault } from '../fakes/http-fake.js';

// The Postmark adapter runs postmark.js's FetchHttpClient.httpRequest as a native async function
// (src/providers/postmark-native-request.ts). Here the SDK's own method and that one answer the
// same requests, against the fake Postmark, through the adapter's transport, one after the other:
// the same results, and errors of the same class with the same message, code and status.
const fake = new FakePostmark();
const transport = new HttpTransport();

function clients(timeoutSeconds = 10): { sdk: ServerClient; native: ServerClient } {
  const options = { requestHost: new URL(fake.url).host, useHttps: false, timeout: timeoutSeconds, fetch: transport.fetch as unknown as typeof fetch };
  const sdk = new ServerClient(POSTMARK_TOKEN, options);
  const native = new ServerClient(POSTMARK_TOKEN, options);
  expect(withNativeAsyncRequests(native)).toBe(true);
  return { sdk, native };
}

/** What a call settles to, comparable between the two clients (message ids are drawn at random). */
async function outcome(call: Promise<unknown>): Promise<unknown> {
  try {
    const result = await call;
    const withoutIds = (value: unknown) => (value && typeof value === 'object' ? { ...value, MessageID: typeof (value as { MessageID?: unknown }).MessageID, SubmittedAt: typeof (value as { SubmittedAt?: unknown }).SubmittedAt } : value);
    return { result: Array.isArray(result) ? result.map(withoutIds) : withoutIds(result) };
  } catch (error) {
    const shaped = error as Error & { code?: number; statusCode?: number };
    return { error: shaped.constructor.name, message: shaped.message, code: shaped.code, statusCode: shaped.statusCode };
  }
}

/** The same request through both clients, each after the same fault (if any). */
async function both(send: (client: ServerClient) => Promise<unknown>, fault?: Fault, timeoutSeconds?: number) {
  const { sdk, native } = clients(timeoutSeconds);
  if (fault) fake.failNext(fault);
  const fromSdk = await outcome(send(sdk));
  if (fault) fake.failNext(fault);
  const fromNative = await outcome(send(native));
  return { fromSdk, fromNative };
}

const message = { From: 'news@example.com', To: 'ada@example.com', Subject: 'Hi', TextBody: 'Hello' };

describe("postmark.js's httpRequest as a native async function", () => {
  beforeAll(async () => {
    await fake.start();
    fake.inactive.add('gone@example.com');
  });
  afterAll(async () => {
    await fake.stop();
  });

  it('is set up on the installed SDK (its client has every helper the steps use)', () => {
    const { native } = clients();
    expect(Object.hasOwn((native as unknown as { httpClient: object }).httpClient, 'httpRequest')).toBe(true);
    // The SDK's prototype is left alone: other clients run the SDK's own method.
    expect(Object.hasOwn((clients().sdk as unknown as { httpClient: object }).httpClient, 'httpRequest')).toBe(false);
  });

  it('leaves a client without those helpers to the SDK', () => {
    expect(withNativeAsyncRequests({ httpClient: { httpRequest: () => undefined } } as unknown as ServerClient)).toBe(false);
    expect(withNativeAsyncRequests({} as unknown as ServerClient)).toBe(false);
  });

  it.each<[string, Fault | undefined, (client: ServerClient) => Promise<unknown>]>([
    ['a message accepted', undefined, (client) => client.sendEmail(message)],
    ['a batch with one message refused (200, ErrorCode 406 in its element)', undefined, (client) => client.sendEmailBatch([message, { ...message, To: 'gone@example.com' }])],
    ['a message refused (422 with an ErrorCode)', { status: 422, body: { ErrorCode: 300, Message: 'Invalid email request' } }, (client) => client.sendEmail(message)],
    ['a wrong token (401)', { status: 401, body: { ErrorCode: 10, Message: 'Request does not contain a valid Server token.' } }, (client) => client.sendEmail(message)],
    ['rate limited (429)', { status: 429, body: { ErrorCode: 429, Message: 'Rate limit exceeded' } }, (client) => client.sendEmail(message)],
    ['a server error with a text body (502)', { status: 502, body: '<html>Bad Gateway</html>' }, (client) => client.sendEmail(message)],
    ['an empty 200', { status: 200, body: '' }, (client) => client.sendEmail(message)],
    ['a connection closed without an answer', { destroy: true }, (client) => client.sendEmail(message)],
  ])('%s: the same outcome', async (_case, fault, send) => {
    const { fromSdk, fromNative } = await both(send, fault);
    expect(fromNative).toEqual(fromSdk);
  });

  it('a timeout: the same error', async () => {
    const { fromSdk, fromNative } = await both((client) => client.sendEmail(message), { status: 200, body: {}, delayMs: 1_500 }, 1);
    expect(fromSdk).toMatchObject({ error: expect.any(String) });
    expect(fromNative).toEqual(fromSdk);
  });
});
