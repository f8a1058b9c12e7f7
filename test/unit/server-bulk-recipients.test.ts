import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readRecipients, type RecipientRow } from '../../src/lists/recipient-source.js';
import { rowsOf } from '../../src/server/bulk-recipients.js';

/** The rows a JSON Lines list of these addresses gives, read as `send --recipients` reads it. */
async function fromListFile(emails: string[]): Promise<RecipientRow[]> {
  const stdin = Readable.from([Buffer.from(emails.map((email) => JSON.stringify({ email })).join('\n') + '\n')]);
  const rows: RecipientRow[] = [];
  for await (const chunk of readRecipients('-', () => stdin)) rows.push(...chunk);
  return rows;
}

async function fromBulkRequest(emails: string[]): Promise<RecipientRow[]> {
  const rows: RecipientRow[] = [];
  for await (const chunk of rowsOf(emails.map((email) => ({ email })))) rows.push(...chunk);
  return rows;
}

describe("a bulk request's recipients (POST /api/v1/emails/bulk)", () => {
  it('are taken or refused as the same addresses in a list file are: spaces trimmed; line breaks, NULs and names refused', async () => {
    const emails = [' ada@example.com ', 'bob@example.com\n', '\r\ncy@example.com', 'Dee <dee@example.com>', 'eve\u0000@example.com', 'not-an-address', 'fay@example.com'];
    const outcome = (row: RecipientRow) => ('error' in row ? `refused: ${row.error}` : `taken: ${row.email}`);
    const fromRequest = (await fromBulkRequest(emails)).map(outcome);
    expect(fromRequest).toEqual((await fromListFile(emails)).map(outcome));
    expect(fromRequest).toEqual([
      'taken: ada@example.com',
      'refused: "bob@example.com\n" is not a valid email address',
      'refused: "\r\ncy@example.com" is not a valid email address',
      'refused: "Dee <dee@example.com>" is not a valid email address',
      'refused: "eve\u0000@example.com" is not a valid email address',
      'refused: "not-an-address" is not a valid email address',
      'taken: fay@example.com',
    ]);
  });
});
