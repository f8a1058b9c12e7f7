import { describe, expect, it } from 'vitest';
import { classifyMailgunError } from '../../src/providers/mailgun.js';
import { classifyPostmarkError } from '../../src/providers/postmark.js';
import { classifySmtpError } from '../../src/providers/smtp.js';

describe('Postmark errors', () => {
  it.each([
    [{ statusCode: 401, code: 10, message: 'bad token' }, 'provider-unusable'],
    [{ statusCode: 422, code: 406, message: 'inactive' }, 'permanent'],
    [{ statusCode: 422, code: 300, message: "Invalid 'To' address: 'x'." }, 'permanent'],
    [{ statusCode: 422, code: 300, message: "The 'From' address you supplied (a@b.com) is not a Sender Signature on your account." }, 'provider-unusable'],
    // Sender signature not found / not confirmed: told by the code, whatever the wording.
    [{ statusCode: 422, code: 400, message: 'Sender Signature not found' }, 'provider-unusable'],
    [{ statusCode: 422, code: 401, message: 'Not confirmed' }, 'provider-unusable'],
    [{ statusCode: 422, code: 405, message: 'no credits' }, 'provider-unusable'],
    [{ statusCode: 422, code: 412, message: 'pending' }, 'provider-unusable'],
    [{ statusCode: 422, code: 413, message: 'may not send' }, 'provider-unusable'],
    [{ statusCode: 422, code: 411, message: 'forbidden attachment' }, 'permanent'],
    [{ statusCode: 429, code: 0, message: 'rate' }, 'transient'],
    [{ statusCode: 500, code: 0, message: 'ise' }, 'transient'],
    [{ statusCode: 503, code: 100, message: 'maintenance' }, 'transient'],
    [{ statusCode: 403, code: 0, message: '<html>blocked</html>' }, 'provider-unusable'],
    [{ statusCode: 0, code: 0, message: 'The operation was aborted due to timeout' }, 'ambiguous'],
  ])('%j → %s', (error, expected) => {
    expect(classifyPostmarkError(error).errorClass).toBe(expected);
  });

  const networkFailure = (code: string) => ({ networkError: Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) }) });
  it.each([
    ['ECONNREFUSED', 'transient'],
    ['ENOTFOUND', 'transient'],
    ['UND_ERR_CONNECT_TIMEOUT', 'transient'],
    ['CONNECT_TIMEOUT', 'transient'],
    ['UND_ERR_SOCKET', 'ambiguous'],
    ['ECONNRESET', 'ambiguous'],
  ])('fetch failed with %s → %s (only never-connected failures are safe to resend)', (code, expected) => {
    expect(classifyPostmarkError({ statusCode: 0, code: 0, message: 'fetch failed' }, networkFailure(code)).errorClass).toBe(expected);
  });
});

describe('Mailgun errors (network failures arrive as status 400)', () => {
  it.each([
    [{ status: 400, message: 'ECONNREFUSED' }, 'transient'],
    [{ status: 400, message: 'ERR_NETWORK' }, 'transient'],
    [{ status: 400, message: 'ECONNABORTED' }, 'ambiguous'],
    [{ status: 400, message: 'Bad Request', details: "'from' parameter is missing" }, 'permanent'],
    [{ status: 401, message: 'Unauthorized', details: 'Forbidden' }, 'provider-unusable'],
    [{ status: 404, message: 'Not Found', details: 'Domain not found: x' }, 'provider-unusable'],
    [{ status: 429, message: 'Too Many Requests' }, 'transient'],
    [{ status: 502, message: 'Bad Gateway' }, 'transient'],
    [{ status: 400, message: 'Incorrect url' }, 'provider-unusable'],
  ])('%j → %s', (error, expected) => {
    expect(classifyMailgunError(error).errorClass).toBe(expected);
  });
});

describe('SMTP errors', () => {
  const err = (fields: Record<string, unknown>) => Object.assign(new Error('x'), fields);
  it.each([
    [{ code: 'EAUTH', responseCode: 535 }, 'provider-unusable'],
    [{ code: 'ESOCKET', command: 'CONN', message: 'connect ECONNREFUSED 127.0.0.1:25' }, 'transient'],
    [{ code: 'ESOCKET', command: 'CONN', message: 'read ECONNRESET' }, 'ambiguous'],
    [{ code: 'ECONNECTION', command: 'CONN', message: 'Connection closed unexpectedly' }, 'ambiguous'],
    [{ code: 'EDNS', message: 'getaddrinfo ENOTFOUND smtp.invalid' }, 'transient'],
    [{ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT' }, 'transient'],
    [{ code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT' }, 'ambiguous'],
    [{ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' }, 'permanent'],
    [{ code: 'EENVELOPE', responseCode: 451, command: 'RCPT TO' }, 'transient'],
    [{ code: 'EENVELOPE', responseCode: 553, command: 'MAIL FROM' }, 'provider-unusable'],
    [{ code: 'EMESSAGE', responseCode: 552, command: 'DATA' }, 'permanent'],
    [{ code: 'ECONNECTION', command: 'DATA' }, 'ambiguous'],
  ])('%j → %s', (fields, expected) => {
    expect(classifySmtpError(err(fields)).errorClass).toBe(expected);
  });
});
