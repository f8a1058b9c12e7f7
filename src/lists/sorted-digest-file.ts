import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DigestOverflow } from './bounded-digest-set.js';

/** A digest is three 32-bit words; a record on disk is those words, 12 bytes. */
const RECORD_WORDS = 3;
const RECORD_BYTES = RECORD_WORDS * 4;
/** A look-up reads one block: 256 records, 3 KB. */
const BLOCK_RECORDS = 256;
/** A merge reads and writes this many records at a time (768 KB). */
const CHUNK_RECORDS = 65_536;

/**
 * Digests kept on disk in one sorted file: each spill of a BoundedDigestSet is merged into it (a
 * sequential read and write of the whole file, so spills cost more as the file grows), and finding
 * a digest reads one block, however many spills there were. Memory: the first digest of every block (12 bytes per 256 digests) and the merge buffers.
 * The file lives in the system's temporary directory (TMPDIR), private to the process, and is
 * unlinked at once where the OS allows it (Linux, macOS): a killed run leaves nothing behind.
 * Elsewhere close() removes it.
 */
export class SortedDigestFile implements DigestOverflow {
  private file: TempFile | undefined;
  private count = 0;
  /** The first record of each block. */
  private blockStarts: Uint32Array = new Uint32Array(0);
  private readonly block = new Uint32Array(BLOCK_RECORDS * RECORD_WORDS);

  constructor(private readonly parentDir = tmpdir()) {
    this.file = openTempFile(parentDir);
  }

  get size(): number {
    return this.count;
  }

  addRun(words: Uint32Array): void {
    if (words.length === 0) return;
    const current = this.openFile();
    const incoming = sortRecords(words);
    // The merged file is complete before the current one is given up: a failure leaves the set as it was.
    const merged = openTempFile(this.parentDir);
    let blockStarts: Uint32Array;
    try {
      blockStarts = merge(current.fd, this.count, incoming, merged.fd);
    } catch (error) {
      closeTempFile(merged);
      throw error;
    }
    this.file = merged;
    this.blockStarts = blockStarts;
    this.count += incoming.length / RECORD_WORDS;
    try {
      closeTempFile(current);
    } catch {
      // The old file is no longer needed; where it cannot be removed now (Windows), the OS's temp cleanup takes it.
    }
  }

  has(a: number, b: number, c: number): boolean {
    const { fd } = this.openFile();
    // The digest can only be in the last block that starts at or before it.
    const block = lastAtOrBefore(this.blockStarts, this.blockStarts.length / RECORD_WORDS, a, b, c);
    if (block < 0) return false;
    const first = block * BLOCK_RECORDS;
    const count = Math.min(BLOCK_RECORDS, this.count - first);
    readRecords(fd, this.block, first, count);
    const at = lastAtOrBefore(this.block, count, a, b, c);
    return at >= 0 && compareRecord(this.block, at, a, b, c) === 0;
  }

  close(): void {
    if (this.file) closeTempFile(this.file);
    this.file = undefined;
  }

  private openFile(): TempFile {
    if (!this.file) throw new Error('SortedDigestFile used after close()');
    return this.file;
  }
}

interface TempFile {
  fd: number;
  dir: string;
  removed: boolean;
}

function openTempFile(parentDir: string): TempFile {
  const dir = mkdtempSync(path.join(parentDir, 'penguinmails-recipients-'));
  const file = path.join(dir, 'digests');
  let fd: number;
  try {
    fd = openSync(file, 'w+', 0o600);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  try {
    unlinkSync(file);
    rmSync(dir, { recursive: true });
    return { fd, dir, removed: true };
  } catch {
    // An open file cannot be unlinked here (Windows): closeTempFile removes it.
    return { fd, dir, removed: false };
  }
}

function closeTempFile(file: TempFile): void {
  closeSync(file.fd);
  if (!file.removed) rmSync(file.dir, { recursive: true, force: true });
}

/**
 * Writes the `oldCount` sorted records of `oldFd` and the sorted `incoming` records, merged, to
 * `outFd`; returns the first record of each block of the result.
 */
function merge(oldFd: number, oldCount: number, incoming: Uint32Array, outFd: number): Uint32Array {
  const incomingCount = incoming.length / RECORD_WORDS;
  const total = oldCount + incomingCount;
  const blockStarts = new Uint32Array(Math.ceil(total / BLOCK_RECORDS) * RECORD_WORDS);
  const old = new Uint32Array(Math.min(CHUNK_RECORDS, Math.max(oldCount, 1)) * RECORD_WORDS);
  const out = new Uint32Array(Math.min(CHUNK_RECORDS, total) * RECORD_WORDS);
  let oldRead = 0;
  let oldAt = 0;
  let oldHeld = 0;
  let next = 0;
  let outHeld = 0;
  let written = 0;
  const take = (from: Uint32Array, record: number) => {
    const at = record * RECORD_WORDS;
    const to = outHeld * RECORD_WORDS;
    out[to] = from[at];
    out[to + 1] = from[at + 1];
    out[to + 2] = from[at + 2];
    const position = written + outHeld;
    if (position % BLOCK_RECORDS === 0) blockStarts.set(out.subarray(to, to + RECORD_WORDS), (position / BLOCK_RECORDS) * RECORD_WORDS);
    if (++outHeld === out.length / RECORD_WORDS) {
      writeRecords(outFd, out, written, outHeld);
      written += outHeld;
      outHeld = 0;
    }
  };
  for (;;) {
    if (oldAt === oldHeld && oldRead < oldCount) {
      oldHeld = Math.min(old.length / RECORD_WORDS, oldCount - oldRead);
      readRecords(oldFd, old, oldRead, oldHeld);
      oldRead += oldHeld;
      oldAt = 0;
    }
    const haveOld = oldAt < oldHeld;
    const haveIncoming = next < incomingCount;
    if (!haveOld && !haveIncoming) break;
    const at = next * RECORD_WORDS;
    if (haveOld && (!haveIncoming || compareRecord(old, oldAt, incoming[at], incoming[at + 1], incoming[at + 2]) <= 0)) take(old, oldAt++);
    else take(incoming, next++);
  }
  writeRecords(outFd, out, written, outHeld);
  return blockStarts;
}

/** Reads `count` records starting at record `first` of the file into the start of `into`. */
function readRecords(fd: number, into: Uint32Array, first: number, count: number): void {
  const bytes = new Uint8Array(into.buffer, into.byteOffset, count * RECORD_BYTES);
  for (let read = 0; read < bytes.length; ) {
    const got = readSync(fd, bytes, read, bytes.length - read, first * RECORD_BYTES + read);
    if (got === 0) throw new Error('the temporary recipient file is shorter than what was written to it');
    read += got;
  }
}

/** Writes the first `count` records of `from` at record `first` of the file. */
function writeRecords(fd: number, from: Uint32Array, first: number, count: number): void {
  const bytes = new Uint8Array(from.buffer, from.byteOffset, count * RECORD_BYTES);
  for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written, first * RECORD_BYTES + written);
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
