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

  it('hashes exactly the text JSON.stringify gives, whatever the row holds', () => {
    const sha = (row: { email: string; fields: Record<string, unknown> }) => createHash('sha256').update(JSON.stringify([row.email.toLowerCase(), row.fields])).digest('hex').slice(0, 24);
    const odd = ['', '"', '\\', 'tab\t', 'nl\n', '\u0000', '\u007f', 'é', '😀', '\ud800', '\udc00x', '</script>', ' spaced '];
    const rows: { email: string; fields: Record<string, unknown> }[] = [
      { email: 'A"b\\@Example.com', fields: {} },
      // Integer-like keys come first in JSON.stringify (and Object.keys), whatever the column order.
      { email: 'ann@example.com', fields: { name: 'Ann', 2: 'two', 10: 'ten', plan: 'pro' } },
      { email: 'ann@example.com', fields: JSON.parse('{"__proto__": "x", "b": "y"}') },
      // Not strings: only a caller outside the lists and the API could pass these; they still hash as before.
      { email: 'ann@example.com', fields: { n: 42, t: true, o: { deep: ['x'] }, z: null } },
    ];
    for (const a of odd) for (const b of odd) rows.push({ email: `${a}x@example.com${b}`, fields: { [a]: b, [`${b}k`]: a } });
    for (const row of rows) expect(recipientDigest(row as { email: string; fields: Record<string, string> }), JSON.stringify(row)).toBe(sha(row));
    // A property some other code put on Object.prototype is not a field (JSON.stringify skips it too).
    Object.defineProperty(Object.prototype, 'inherited', { value: 'x', enumerable: true, configurable: true, writable: true });
    try {
      expect(recipientDigest({ email: 'ann@example.com', fields: { name: 'Ann' } })).toBe('989a87cd93fa5d620e65e457');
    } finally {
      delete (Object.prototype as Record<string, unknown>).inherited;
    }
  });

  it('hashes what JSON.stringify gives for fields it would turn into something else (toJSON, arrays, boxed strings, no prototype)', () => {
    const sha = (row: { email: string; fields: unknown }) => createHash('sha256').update(JSON.stringify([row.email.toLowerCase(), row.fields])).digest('hex').slice(0, 24);
    const bare = Object.assign(Object.create(null) as Record<string, string>, { name: 'Ann', toString: 'x' });
    const rows: { email: string; fields: unknown }[] = [
      { email: 'ann@example.com', fields: { name: 'Ann', toJSON: () => ({ other: 'text' }) } },
      { email: 'ann@example.com', fields: { name: 'Ann', toJSON: 'a field named toJSON' } },
      { email: 'ann@example.com', fields: ['Ann', 'Bob'] },
      { email: 'ann@example.com', fields: { name: new String('Ann') } },
      { email: 'ann@example.com', fields: bare },
      { email: 'ann@example.com', fields: Object.defineProperty({ name: 'Ann' }, 'hidden', { value: 'h', enumerable: false }) },
    ];
    for (const row of rows) expect(recipientDigest(row as { email: string; fields: Record<string, string> }), String(Object.keys(row.fields as object))).toBe(sha(row));
    // And a toJSON some other code put on the prototypes JSON.stringify looks through.
    for (const prototype of [Object.prototype, Array.prototype]) {
      Object.defineProperty(prototype, 'toJSON', { value: () => 'replaced', configurable: true, writable: true });
      try {
        const row = { email: 'ann@example.com', fields: { name: 'Ann' } };
        expect(recipientDigest(row)).toBe(sha(row));
      } finally {
        delete (prototype as { toJSON?: unknown }).toJSON;
      }
    }
  });

  it('hashes the text JSON.stringify gives for many generated rows', () => {
    const sha = (row: { email: string; fields: Record<string, string> }) => createHash('sha256').update(JSON.stringify([row.email.toLowerCase(), row.fields])).digest('hex').slice(0, 24);
    const characters = ['a', 'Z', '0', ' ', '"', '\\', '\n', '\u0001', '\u001f', '\u007f', 'é', 'ß', '€', '😀', '\ud800', '\udfff', '<', '&', ',', '{', '}', ':'];
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 48271) + 11) >>> 0) % 2 ** 24;
    const text = () => Array.from({ length: next() % 6 }, () => characters[next() % characters.length]).join('');
    for (let i = 0; i < 3000; i++) {
      const fields: Record<string, string> = {};
      for (let k = next() % 4; k > 0; k--) fields[next() % 5 === 0 ? String(next() % 20) : text()] = text();
      const row = { email: `${text()}@Example.com`, fields };
      expect(recipientDigest(row), JSON.stringify(row)).toBe(sha(row));
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
