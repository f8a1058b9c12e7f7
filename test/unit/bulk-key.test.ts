import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { bulkRecipientKey, recipientDigest, splitBulkRecipientKey } from '../../src/core/bulk-key.js';

describe('recipientDigest', () => {
  // Ledgers written by earlier versions hold these digests: a rerun must compute the same ones.
  it('is the first 24 hex digits of the SHA-256 of the row as JSON, as earlier versions stored it', () => {
    expect(recipientDigest({ email: 'ann@example.com', fields: { name: 'Ann' } })).toBe('989a87cd93fa5d620e65e457');
    for (const row of [{ email: 'Bob@Example.com', fields: {} }, { email: 'zoë@example.com', fields: { name: 'Zoë "Z"', city: 'Köln' } }]) {
      const expected = createHash('sha256').update(JSON.stringify([row.email.toLowerCase(), row.fields])).digest('hex').slice(0, 24);
      expect(recipientDigest(row)).toBe(expected);
    }
  });

  it('ignores the address letter case and tells fields apart', () => {
    expect(recipientDigest({ email: 'ANN@example.com', fields: { name: 'Ann' } })).toBe(recipientDigest({ email: 'ann@example.com', fields: { name: 'Ann' } }));
    expect(recipientDigest({ email: 'ann@example.com', fields: { name: 'Anne' } })).not.toBe(recipientDigest({ email: 'ann@example.com', fields: { name: 'Ann' } }));
  });

  it('makes recipient keys that split back into message key and digest', () => {
    const digest = recipientDigest({ email: 'ann@example.com', fields: {} });
    expect(splitBulkRecipientKey(bulkRecipientKey('news/2026-12', digest))).toEqual({ messageKey: 'news/2026-12', digest });
  });
});
