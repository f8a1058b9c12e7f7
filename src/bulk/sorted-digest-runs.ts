import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DigestOverflow } from './bounded-digest-set.js';

/** A digest is three 32-bit words; a record on disk is those words, 12 bytes. */
const RECORD_WORDS = 3;
const RECORD_BYTES = RECORD_WORDS * 4;
/** A look-up reads one block (3 KB) of each run. */
const BLOCK_RECORDS = 256;

interface Run {
  firstRecord: number;
  count: number;
  /** The first record of each of the run's blocks. */
  blockStarts: Uint32Array;
}

/**
 * Digests kept on disk in sorted runs, one run per spill of a BoundedDigestSet: writing a run is one
 * sequential write, finding a digest reads one block of each run. Memory: the first digest of every
 * block (12 bytes per 256 digests). The file lives in the system's temporary directory (TMPDIR),
 * private to the process, and is unlinked at once where the OS allows it (Linux, macOS): a killed
 * run leaves nothing behind. Elsewhere close() removes it.
 */
export class SortedDigestRuns implements DigestOverflow {
  private readonly dir: string;
  private fd: number | undefined;
  private removed = false;
  private readonly runs: Run[] = [];
  private records = 0;
  private readonly block = new Uint32Array(BLOCK_RECORDS * RECORD_WORDS);

  constructor(parentDir = tmpdir()) {
    this.dir = mkdtempSync(path.join(parentDir, 'penguinmails-recipients-'));
    const file = path.join(this.dir, 'digests');
    try {
      this.fd = openSync(file, 'w+', 0o600);
    } catch (error) {
      rmSync(this.dir, { recursive: true, force: true });
      throw error;
    }
    try {
      unlinkSync(file);
      rmSync(this.dir, { recursive: true });
      this.removed = true;
    } catch {
      // An open file cannot be unlinked here (Windows): close() removes it.
    }
  }

  get size(): number {
    return this.records;
  }

  addRun(words: Uint32Array): void {
    const count = words.length / RECORD_WORDS;
    if (count === 0) return;
    const sorted = sortRecords(words);
    const bytes = new Uint8Array(sorted.buffer, sorted.byteOffset, sorted.byteLength);
    const position = this.records * RECORD_BYTES;
    for (let written = 0; written < bytes.length; ) written += writeSync(this.openFd(), bytes, written, bytes.length - written, position + written);
    const blocks = Math.ceil(count / BLOCK_RECORDS);
    const blockStarts = new Uint32Array(blocks * RECORD_WORDS);
    for (let block = 0; block < blocks; block++) {
      const at = block * BLOCK_RECORDS * RECORD_WORDS;
      blockStarts.set(sorted.subarray(at, at + RECORD_WORDS), block * RECORD_WORDS);
    }
    this.runs.push({ firstRecord: this.records, count, blockStarts });
    this.records += count;
  }

  has(a: number, b: number, c: number): boolean {
    return this.runs.some((run) => this.runHas(run, a, b, c));
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    if (!this.removed) rmSync(this.dir, { recursive: true, force: true });
  }

  private runHas(run: Run, a: number, b: number, c: number): boolean {
    // The digest can only be in the last block that starts at or before it.
    const block = lastAtOrBefore(run.blockStarts, run.blockStarts.length / RECORD_WORDS, a, b, c);
    if (block < 0) return false;
    const first = block * BLOCK_RECORDS;
    const count = Math.min(BLOCK_RECORDS, run.count - first);
    const bytes = new Uint8Array(this.block.buffer, 0, count * RECORD_BYTES);
    const position = (run.firstRecord + first) * RECORD_BYTES;
    for (let read = 0; read < bytes.length; ) {
      const got = readSync(this.openFd(), bytes, read, bytes.length - read, position + read);
      if (got === 0) throw new Error('the temporary recipient file is shorter than what was written to it');
      read += got;
    }
    const at = lastAtOrBefore(this.block, count, a, b, c);
    return at >= 0 && compareRecord(this.block, at, a, b, c) === 0;
  }

  private openFd(): number {
    if (this.fd === undefined) throw new Error('SortedDigestRuns used after close()');
    return this.fd;
  }
}

/** Index of the last of `count` sorted records that is ≤ (a, b, c); -1 when all are greater. */
function lastAtOrBefore(records: Uint32Array, count: number, a: number, b: number, c: number): number {
  let low = 0;
  let high = count - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (compareRecord(records, middle, a, b, c) <= 0) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

/** Negative, zero or positive as record `index` sorts before, with or after (a, b, c). */
function compareRecord(records: Uint32Array, index: number, a: number, b: number, c: number): number {
  const at = index * RECORD_WORDS;
  return records[at] - a || records[at + 1] - b || records[at + 2] - c;
}

/** The records (three words each) in ascending order, as a new array. */
export function sortRecords(words: Uint32Array): Uint32Array {
  const count = words.length / RECORD_WORDS;
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((x, y) => compareRecord(words, x, words[y * 3], words[y * 3 + 1], words[y * 3 + 2]));
  const sorted = new Uint32Array(words.length);
  order.forEach((from, to) => sorted.set(words.subarray(from * RECORD_WORDS, from * RECORD_WORDS + RECORD_WORDS), to * RECORD_WORDS));
  return sorted;
}
