import type { BodyProblem } from '../app/platform-body.js';
import { BadRequest } from './errors.js';

/**
 * Items of a list, or entries of a map, past which a field is not checked item by item. Far above
 * what a message holds (50 recipients): a body just over a limit gets every problem named, as the
 * message's own checks word them.
 */
const MAX_ENTRIES = 1_000;

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
    const count = Array.isArray(value) ? value.length : Object.keys(value).length;
    if (count > MAX_ENTRIES) problems.push({ path: field, message: `at most ${MAX_ENTRIES} ${Array.isArray(value) ? 'items' : 'entries'} (it has ${count}); none of them was checked` });
  }
  if (problems.length) throw new BadRequest(error, problems, hint);
}
