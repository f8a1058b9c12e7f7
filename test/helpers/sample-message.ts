import type { EmailMessage } from '../../src/core/message.js';

/** A complete, valid message with the given idempotency key: for tests and benches of the store and the dispatcher. */
export function sampleMessage(key: string, overrides: Partial<EmailMessage> = {}): EmailMessage {
  return {
    from: 'app@example.com',
    to: ['ada@example.org'],
    cc: [],
    bcc: [],
    subject: 'Hello',
    text: 'Hi',
    type: 'transactional',
    priority: 'normal',
    tags: [],
    metadata: {},
    headers: [],
    attachments: [],
    idempotencyKey: key,
    ...overrides,
  } as EmailMessage;
}
