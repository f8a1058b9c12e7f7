import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestSet } from '../../src/lists/digest-set.js';

const digest = (i: number) => createHash('sha256').update(String(i)).digest('hex').slice(0, 24);

describe('DigestSet', () => {
  it('remembers every digest added, through many doublings, and nothing else', () => {
    const set = new DigestSet(16);
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => digest(from + i));
    expect(range(0, 20_000).filter((d) => !set.add(d))).toEqual([]);
    expect(set.size).toBe(20_000);
    expect(range(0, 20_000).filter((d) => !set.has(d))).toEqual([]);
    expect(range(20_000, 21_000).filter((d) => set.has(d))).toEqual([]);
  });

  it('says when a digest was there already, in any letter case', () => {
    const set = new DigestSet();
    expect(set.add('00000000ffffffff12345678')).toBe(true);
    expect(set.add('00000000FFFFFFFF12345678')).toBe(false);
    expect(set.has('00000000ffffffff12345679')).toBe(false);
  });

  it('keeps the all-zero digest, which cannot live in a slot', () => {
    const set = new DigestSet();
    expect(set.has('0'.repeat(24))).toBe(false);
    expect(set.add('0'.repeat(24))).toBe(true);
    expect(set.add('0'.repeat(24))).toBe(false);
    expect(set.has('0'.repeat(24))).toBe(true);
    expect(set.size).toBe(1);
  });

  it('lists its members as words, the all-zero digest included, for moving them to disk', () => {
    const set = new DigestSet(16);
    const members = [...Array.from({ length: 100 }, (_, i) => digest(i)), '0'.repeat(24)];
    for (const member of members) set.add(member.toUpperCase());
    const words = set.memberWords();
    expect(words.length).toBe(members.length * 3);
    const listed = Array.from({ length: members.length }, (_, i) => [...words.subarray(i * 3, i * 3 + 3)].map((w) => w.toString(16).padStart(8, '0')).join(''));
    expect(listed.sort()).toEqual(members.sort());
  });

  it('refuses what is not a 24-digit hex digest', () => {
    const set = new DigestSet();
    expect(() => set.add('xyz')).toThrow(/not a 96-bit hex digest/);
    expect(() => set.has('0'.repeat(25))).toThrow(/not a 96-bit hex digest/);
    // Characters right next to the digit and letter ranges, anywhere in the digest.
    for (const bad of ['/', ':', '@', 'G', '`', 'g', ' ', 'é']) {
      for (const at of [0, 11, 23]) expect(() => set.add(`${'a'.repeat(at)}${bad}${'a'.repeat(23 - at)}`), `${bad} at ${at}`).toThrow(/not a 96-bit hex digest/);
    }
    expect(set.size).toBe(0);
  });
});
