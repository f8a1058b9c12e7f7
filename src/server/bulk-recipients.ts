import type { BodyProblem } from '../app/platform-body.js';
import { isRecipientAddress } from '../core/address.js';
import type { RecipientRow } from '../lists/recipient-source.js';
import { BadRequest } from './errors.js';

// The `recipients` of POST /api/v1/emails/bulk: checked as a body, then read as a list file's rows.

/** Problems listed in one answer at most. */
const MAX_DETAILS = 20;
/** Rows handed to the bulk sender at a time (it reads them as a list file's chunks). */
const ROWS_PER_CHUNK = 500;

export interface BulkRecipientInput {
  email: string;
  [field: string]: string;
}

/** Checks `recipients` of a bulk body: a non-empty list of objects with an `email` and string merge fields. */
export function checkRecipients(raw: unknown): BulkRecipientInput[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new BadRequest('invalid bulk request', [{ path: 'recipients', message: raw === undefined ? 'required (a list of {"email", …merge fields})' : 'must be a non-empty list of {"email", …merge fields}' }]);
  // Counted past the ones listed, not kept: a list of a million bad items is one answer, not a million objects.
  const problems: BodyProblem[] = [];
  let count = 0;
  const problem = (path: string, message: string) => {
    if (count++ < MAX_DETAILS) problems.push({ path, message });
  };
  raw.forEach((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) problem(`recipients[${i}]`, 'must be an object with "email" and merge fields');
    else {
      if (typeof (item as Record<string, unknown>).email !== 'string') problem(`recipients[${i}].email`, 'required (a string)');
      for (const field in item) {
        if (typeof (item as Record<string, unknown>)[field] !== 'string') problem(`recipients[${i}].${field}`, 'merge fields must be strings');
      }
    }
  });
  if (count) throw new BadRequest('invalid bulk request', problems, count > MAX_DETAILS ? `${count - MAX_DETAILS} more problems not listed; nothing was sent` : 'nothing was sent');
  return raw as BulkRecipientInput[];
}

/** The rows a list file would give: `line` is the recipient's position in the list (1-based). */
export async function* rowsOf(recipients: BulkRecipientInput[]): AsyncGenerator<RecipientRow[]> {
  for (let start = 0; start < recipients.length; start += ROWS_PER_CHUNK) {
    yield recipients.slice(start, start + ROWS_PER_CHUNK).map(({ email, ...fields }, i): RecipientRow => {
      const line = start + i + 1;
      // The list file's check: the same recipient is refused or taken the same way by both.
      return isRecipientAddress(email) ? { line, email: email.trim(), fields } : { line, error: `"${email}" is not a valid email address` };
    });
  }
}
