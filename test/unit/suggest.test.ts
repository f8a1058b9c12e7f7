import { describe, expect, it } from 'vitest';
import { closestMatch } from '../../src/core/suggest.js';

const FIELDS = ['from', 'to', 'subject', 'html_body', 'text_body', 'reply_to', 'idempotency_key'];

describe('closestMatch (the "did you mean" of config keys and body fields)', () => {
  it('suggests the field a typo was meant to be: a swap, a letter missing or added', () => {
    expect(closestMatch('subjcet', FIELDS)).toBe('subject');
    expect(closestMatch('htmlbody', FIELDS)).toBe('html_body');
    expect(closestMatch('Replyto', FIELDS)).toBe('reply_to');
  });

  it('suggests nothing for a word unlike every field, however long', () => {
    expect(closestMatch('banana', FIELDS)).toBeUndefined();
    expect(closestMatch('s'.repeat(1_000_000), FIELDS)).toBeUndefined();
    expect(closestMatch(`${'subject'}${'x'.repeat(50)}`, FIELDS)).toBeUndefined();
  });
});
