import type { BodyProblem } from '../app/platform-body.js';
import { MAX_RECIPIENTS } from '../core/validate-message.js';
import { BadRequest } from './errors.js';

/** Items of a list, or entries of a map, that a message's field may hold (tags, headers, metadata, attachments). */
const MAX_ENTRIES = 1_000;
const RECIPIENT_FIELDS = new Set(['to', 'cc', 'bcc']);

/**
 * Refuses, with one problem each, the fields of a body that hold more items than any valid message
 * has, before the body is checked field by field: the checks list a problem per bad item, and a
 * body under server.bodyLimit of three million bad recipients held the event loop for 18 s and
 * took 2.6 GB to say so. A bulk body's `recipients` are left to checkRecipients, which is bounded.
 */
export function refuseOversizedFields(body: unknown, error: string, hint: string): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const problems: BodyProblem[] = [];
  for (const [field, value] of Object.entries(body)) {
    if (field === 'recipients' || typeof value !== 'object' || value === null) continue;
    const limit = RECIPIENT_FIELDS.has(field) ? MAX_RECIPIENTS : MAX_ENTRIES;
    const count = Array.isArray(value) ? value.length : Object.keys(value).length;
    if (count > limit) problems.push({ path: field, message: `at most ${limit} ${Array.isArray(value) ? 'items' : 'entries'} (it has ${count}); none of them was checked` });
  }
  if (problems.length) throw new BadRequest(error, problems, hint);
}
