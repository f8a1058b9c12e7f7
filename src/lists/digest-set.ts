/** Membership of 96-bit digests written as 24 hex digits (either letter case). */
export interface DigestMembership {
  readonly size: number;
  has(hex: string): boolean;
  /** Adds the digest; false when it was there already. */
  add(hex: string): boolean;
}

/**
 * A set of 96-bit digests written as 24 hex digits, kept in one flat typed array: 12 bytes per
 * member (24 with the table's free room) instead of a string object each, so the garbage
 * collector has no per-recipient objects to copy. It grows with its members: a bulk run keeps at
 * most a bounded number in one (see BoundedDigestSet).
 */
export class DigestSet implements DigestMembership {
  private words: Uint32Array;
  private capacity: number;
  private count = 0;
  /** The all-zero digest marks an empty slot, so it is kept aside. */
  private hasZero = false;

  constructor(initialCapacity = 65_536) {
    this.capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.words = new Uint32Array(this.capacity * 3);
  }

  get size(): number {
    return this.count + (this.hasZero ? 1 : 0);
  }

  has(hex: string): boolean {
    const a = word(hex, 0);
    const b = word(hex, 8);
    const c = word(hex, 16);
    if ((a | b | c) === 0) return this.hasZero;
    return this.slotOf(a, b, c) >= 0;
  }

  /** Adds the digest; false when it was there already. */
  add(hex: string): boolean {
    const a = word(hex, 0);
    const b = word(hex, 8);
    const c = word(hex, 16);
    if ((a | b | c) === 0) {
      const added = !this.hasZero;
      this.hasZero = true;
      return added;
    }
    const slot = this.slotOf(a, b, c);
    if (slot >= 0) return false;
    this.put(~slot, a, b, c);
    this.count++;
    if (this.count * 2 > this.capacity) this.grow();
    return true;
  }

  /** Every member as three 32-bit words (a digest's 24 hex digits, 8 by 8), in no particular order. */
  memberWords(): Uint32Array {
    const found = new Uint32Array(this.size * 3);
    let next = this.hasZero ? 3 : 0;
    const { words } = this;
    for (let i = 0; i < words.length; i += 3) {
      if ((words[i] | words[i + 1] | words[i + 2]) === 0) continue;
      found[next] = words[i];
      found[next + 1] = words[i + 1];
      found[next + 2] = words[i + 2];
      next += 3;
    }
    return found;
  }

  /** The slot holding the digest, or ~(the empty slot where it would go). */
  private slotOf(a: number, b: number, c: number): number {
    const mask = this.capacity - 1;
    const { words } = this;
    // The digest's bits are uniformly random: its first word is a good enough hash.
    for (let slot = a & mask; ; slot = (slot + 1) & mask) {
      const i = slot * 3;
      if (words[i] === a && words[i + 1] === b && words[i + 2] === c) return slot;
      if ((words[i] | words[i + 1] | words[i + 2]) === 0) return ~slot;
    }
  }

  private put(slot: number, a: number, b: number, c: number): void {
    const i = slot * 3;
    this.words[i] = a;
    this.words[i + 1] = b;
    this.words[i + 2] = c;
  }

  private grow(): void {
    const old = this.words;
    this.capacity *= 2;
    this.words = new Uint32Array(this.capacity * 3);
    for (let i = 0; i < old.length; i += 3) {
      if ((old[i] | old[i + 1] | old[i + 2]) !== 0) this.put(~this.slotOf(old[i], old[i + 1], old[i + 2]), old[i], old[i + 1], old[i + 2]);
    }
  }
}

/**
 * The 32-bit word written by the eight hex digits at `start` (a digest has 24). Read digit by
 * digit through a table, not with a regex and slices: a bulk run does this three times a row.
 */
export function word(hex: string, start: number): number {
  if (hex.length !== 24) throw new Error(`not a 96-bit hex digest: ${hex}`);
  let value = 0;
  // A digit that is not hex is -1 in the table: OR-ed together, any of them makes this negative.
  let invalid = 0;
  for (let i = start; i < start + 8; i++) {
    const code = hex.charCodeAt(i);
    const digit = code < 128 ? HEX_DIGITS[code] : -1;
    invalid |= digit;
    value = (value << 4) | digit;
  }
  if (invalid < 0) throw new Error(`not a 96-bit hex digest: ${hex}`);
  return value >>> 0;
}

/** The value of each ASCII character as a hex digit (either letter case), -1 for the others. */
const HEX_DIGITS = new Int8Array(128).fill(-1);
for (let digit = 0; digit < 16; digit++) {
  const text = digit.toString(16);
  HEX_DIGITS[text.charCodeAt(0)] = digit;
  HEX_DIGITS[text.toUpperCase().charCodeAt(0)] = digit;
}
