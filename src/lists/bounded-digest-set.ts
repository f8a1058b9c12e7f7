import { DigestSet, word, type DigestMembership } from './digest-set.js';
import { SortedDigestFile } from './sorted-digest-file.js';

/** Where a BoundedDigestSet keeps what does not fit in memory: see SortedDigestFile. */
export interface DigestOverflow {
  readonly size: number;
  /** A digest as its three 32-bit words. */
  has(a: number, b: number, c: number): boolean;
  /** Digests it does not hold yet, three words each, in any order. */
  addRun(words: Uint32Array): void;
  close(): void;
}

/** Up to this many recipients a bulk run keeps in memory (~6 MB a set); past it, on disk. */
export const DEFAULT_DIGESTS_IN_MEMORY = 250_000;

/** Room made up front for at most this many members (~6 MB): past it, a set grows as it fills. */
const MOST_EXPECTED_MEMBERS = 262_144;

export interface BoundedDigestSetOptions {
  memoryLimit?: number;
  /**
   * How many members the set will likely get: it starts with room for that many (up to
   * memoryLimit, and ~260,000) instead of growing to it, each growth copying every member into a
   * table twice the size (~14 ms over 100,000 recipients, #21). A wrong guess costs only memory
   * (~6 MB at most) or growths.
   */
  expectedMembers?: number;
  openOverflow?: () => DigestOverflow;
  /**
   * Told once if the overflow cannot be opened or written (no usable temporary directory, a full
   * disk): the set then keeps growing in memory instead of failing.
   */
  onSpillFailure?: (error: unknown) => void;
}

/**
 * A digest set whose memory does not grow with its size: the latest members (at most
 * `memoryLimit`) live in a DigestSet; when that is full they move to an overflow on disk, with a
 * fixed-size Bloom filter in front of it so that a digest not there — most of them — is answered
 * without reading the disk. Sets that stay under the limit never touch the disk. Sized for up to
 * ~10 million members: past that, false positives and merges make it slower, never wrong.
 */
export class BoundedDigestSet implements DigestMembership {
  private recent: DigestSet;
  private spilled?: { overflow: DigestOverflow; bloom: DigestBloom };
  private memoryLimit: number;
  private closed = false;
  private readonly openOverflow: () => DigestOverflow;
  private readonly onSpillFailure: (error: unknown) => void;

  constructor(options: BoundedDigestSetOptions = {}) {
    const { memoryLimit = DEFAULT_DIGESTS_IN_MEMORY } = options;
    if (!Number.isSafeInteger(memoryLimit) || memoryLimit < 1) throw new Error(`memoryLimit must be a positive whole number, not ${memoryLimit}`);
    this.memoryLimit = memoryLimit;
    this.openOverflow = options.openOverflow ?? (() => new SortedDigestFile());
    this.onSpillFailure = options.onSpillFailure ?? (() => {});
    const expected = Math.max(32_768, Math.min(options.expectedMembers ?? 0, memoryLimit, MOST_EXPECTED_MEMBERS));
    this.recent = new DigestSet(Math.min(2 * expected, 2 * memoryLimit));
  }

  get size(): number {
    return this.recent.size + (this.spilled?.overflow.size ?? 0);
  }

  /** Whether members have moved to disk. */
  get hasSpilled(): boolean {
    return this.spilled !== undefined;
  }

  has(hex: string): boolean {
    this.assertOpen();
    return this.recent.has(hex) || this.spilledHas(hex);
  }

  add(hex: string): boolean {
    this.assertOpen();
    if (this.spilledHas(hex) || !this.recent.add(hex)) return false;
    if (this.recent.size >= this.memoryLimit) this.spill();
    return true;
  }

  /** Closes the overflow, which removes its file. The set cannot be used after. */
  close(): void {
    this.closed = true;
    this.spilled?.overflow.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('BoundedDigestSet used after close()');
  }

  private spilledHas(hex: string): boolean {
    if (!this.spilled) return false;
    const [a, b, c] = [word(hex, 0), word(hex, 8), word(hex, 16)];
    return this.spilled.bloom.mightHave(a, b, c) && this.spilled.overflow.has(a, b, c);
  }

  private spill(): void {
    const words = this.recent.memberWords();
    try {
      const spilled = this.spilled ?? { overflow: this.openOverflow(), bloom: new DigestBloom() };
      this.spilled = spilled;
      // A run that fails to be written is not recorded: the members stay in memory, nothing is lost.
      spilled.overflow.addRun(words);
      for (let i = 0; i < words.length; i += 3) spilled.bloom.add(words[i], words[i + 1], words[i + 2]);
    } catch (error) {
      this.memoryLimit = Infinity;
      this.onSpillFailure(error);
      return;
    }
    // Room for a full set from the start: it does not double while it fills.
    this.recent = new DigestSet(2 * this.memoryLimit);
  }
}

/**
 * A Bloom filter of 2^25 bits (4 MB) with three probes. A digest's bits are uniformly random, so
 * its three words serve as the three hashes. False positives (~0.06% at a million members, ~5% at
 * five million, ~20% at ten million) only cost a read from disk, never a wrong answer.
 */
export class DigestBloom {
  private static readonly MASK = 2 ** 25 - 1;
  private readonly bits = new Uint32Array(2 ** 25 / 32);

  add(a: number, b: number, c: number): void {
    for (const bit of [a & DigestBloom.MASK, b & DigestBloom.MASK, c & DigestBloom.MASK]) this.bits[bit >>> 5] |= 1 << (bit & 31);
  }

  mightHave(a: number, b: number, c: number): boolean {
    for (const bit of [a & DigestBloom.MASK, b & DigestBloom.MASK, c & DigestBloom.MASK]) if ((this.bits[bit >>> 5] & (1 << (bit & 31))) === 0) return false;
    return true;
  }
}
