import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BoundedDigestSet, DigestBloom, type DigestOverflow } from '../../src/lists/bounded-digest-set.js';
import { word } from '../../src/lists/digest-set.js';
import { SortedDigestFile, sortRecords } from '../../src/lists/sorted-digest-file.js';

const digest = (i: number) => createHash('sha256').update(String(i)).digest('hex').slice(0, 24);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => digest(from + i));
const wordsOf = (hex: string) => [word(hex, 0), word(hex, 8), word(hex, 16)] as const;
const recordsOf = (hexes: string[]) => Uint32Array.from(hexes.flatMap((hex) => wordsOf(hex)));

/** Counts how often the disk part is asked, and where its files went. */
function countingRuns(dir: string): { open: () => DigestOverflow; lookups: () => number; opened: () => number } {
  let lookups = 0;
  let opened = 0;
  return {
    open: () => {
      opened++;
      const runs = new SortedDigestFile(dir);
      const has = runs.has.bind(runs);
      runs.has = (a, b, c) => {
        lookups++;
        return has(a, b, c);
      };
      return runs;
    },
    lookups: () => lookups,
    opened: () => opened,
  };
}

describe('BoundedDigestSet', () => {
  it('stays in memory under its limit: no file at all', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pm-digests-'));
    const disk = countingRuns(dir);
    const set = new BoundedDigestSet({ memoryLimit: 1000, openOverflow: disk.open });
    expect(range(0, 999).filter((d) => !set.add(d))).toEqual([]);
    expect(set.hasSpilled).toBe(false);
    expect(disk.opened()).toBe(0);
    set.close();
  });

  it('past its limit keeps every member exactly, across several spills, and says which were there already', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pm-digests-'));
    const disk = countingRuns(dir);
    const set = new BoundedDigestSet({ memoryLimit: 100, openOverflow: disk.open });
    expect(range(0, 1050).filter((d) => !set.add(d))).toEqual([]);
    expect(set.hasSpilled).toBe(true);
    expect(disk.opened()).toBe(1);
    expect(set.size).toBe(1050);
    // Every earlier member, on disk or in memory, in either letter case, is found and not added again.
    expect(range(0, 1050).filter((d) => !set.has(d))).toEqual([]);
    expect(range(0, 1050).filter((d) => set.add(d.toUpperCase()))).toEqual([]);
    expect(set.size).toBe(1050);
    expect(range(1050, 2050).filter((d) => set.has(d))).toEqual([]);
    set.close();
  });

  it('sized for the members expected, it holds them and more, and still spills at its limit', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pm-digests-'));
    const disk = countingRuns(dir);
    const roomy = new BoundedDigestSet({ memoryLimit: 1000, expectedMembers: 100, openOverflow: disk.open });
    expect(range(0, 999).filter((d) => !roomy.add(d))).toEqual([]);
    expect(range(0, 999).filter((d) => roomy.add(d))).toEqual([]);
    expect(roomy.hasSpilled).toBe(false);
    roomy.close();
    // A guess above the limit counts as the limit.
    const capped = new BoundedDigestSet({ memoryLimit: 100, expectedMembers: 1_000_000, openOverflow: disk.open });
    expect(range(0, 150).filter((d) => !capped.add(d))).toEqual([]);
    expect(capped.hasSpilled).toBe(true);
    expect(range(0, 150).filter((d) => !capped.has(d))).toEqual([]);
    capped.close();
  });

  it('answers most digests it never held without reading the disk (Bloom filter)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pm-digests-'));
    const disk = countingRuns(dir);
    const set = new BoundedDigestSet({ memoryLimit: 500, openOverflow: disk.open });
    for (const d of range(0, 5000)) set.add(d);
    const before = disk.lookups();
    expect(range(5000, 15_000).filter((d) => set.has(d))).toEqual([]);
    expect(disk.lookups() - before).toBeLessThan(10);
    set.close();
  });

  it('keeps the all-zero digest through a spill', () => {
    const set = new BoundedDigestSet({ memoryLimit: 2, openOverflow: () => new SortedDigestFile(mkdtempSync(path.join(tmpdir(), 'pm-digests-'))) });
    expect(set.add('0'.repeat(24))).toBe(true);
    expect(set.add(digest(1))).toBe(true);
    expect(set.hasSpilled).toBe(true);
    expect(set.has('0'.repeat(24))).toBe(true);
    expect(set.add('0'.repeat(24))).toBe(false);
    set.close();
  });

  it('refuses a bad limit and bad digests, before and after spilling', () => {
    expect(() => new BoundedDigestSet({ memoryLimit: 0 })).toThrow(/positive whole number/);
    expect(() => new BoundedDigestSet({ memoryLimit: 1.5 })).toThrow(/positive whole number/);
    expect(() => new BoundedDigestSet({ memoryLimit: Infinity })).toThrow(/positive whole number/);
    const set = new BoundedDigestSet({ memoryLimit: 1, openOverflow: () => new SortedDigestFile(mkdtempSync(path.join(tmpdir(), 'pm-digests-'))) });
    expect(() => set.add('xyz')).toThrow(/not a 96-bit hex digest/);
    set.add(digest(1));
    expect(set.hasSpilled).toBe(true);
    expect(() => set.add('g'.repeat(24))).toThrow(/not a 96-bit hex digest/);
    expect(() => set.has('0'.repeat(23))).toThrow(/not a 96-bit hex digest/);
    set.close();
  });
});

describe('BoundedDigestSet when the disk fails', () => {
  it('cannot open its overflow (no temporary directory): says so once and keeps every member in memory', () => {
    const failures: unknown[] = [];
    const set = new BoundedDigestSet({ memoryLimit: 10, openOverflow: () => new SortedDigestFile('/nonexistent/penguinmails-test'), onSpillFailure: (error) => failures.push(error) });
    expect(range(0, 100).filter((d) => !set.add(d))).toEqual([]);
    expect(failures).toHaveLength(1);
    expect(String(failures[0])).toMatch(/ENOENT/);
    expect(set.hasSpilled).toBe(false);
    expect(set.size).toBe(100);
    expect(range(0, 100).filter((d) => set.add(d))).toEqual([]);
    set.close();
  });

  it('fails to write a later run (disk full): what is on disk stays found, the rest stays in memory', () => {
    const failures: unknown[] = [];
    let runsWritten = 0;
    const set = new BoundedDigestSet({
      memoryLimit: 10,
      openOverflow: () => {
        const runs = new SortedDigestFile(mkdtempSync(path.join(tmpdir(), 'pm-digests-')));
        const addRun = runs.addRun.bind(runs);
        runs.addRun = (words) => {
          if (++runsWritten > 2) throw new Error('ENOSPC: no space left on device');
          addRun(words);
        };
        return runs;
      },
      onSpillFailure: (error) => failures.push(error),
    });
    expect(range(0, 200).filter((d) => !set.add(d))).toEqual([]);
    expect(failures).toHaveLength(1);
    expect(set.size).toBe(200);
    expect(range(0, 200).filter((d) => !set.has(d))).toEqual([]);
    expect(range(0, 200).filter((d) => set.add(d))).toEqual([]);
    expect(range(200, 300).filter((d) => set.has(d))).toEqual([]);
    set.close();
  });

  it('refuses to be used after close()', () => {
    const set = new BoundedDigestSet({ memoryLimit: 2, openOverflow: () => new SortedDigestFile(mkdtempSync(path.join(tmpdir(), 'pm-digests-'))) });
    set.add(digest(1));
    set.add(digest(2));
    set.close();
    expect(() => set.has(digest(1))).toThrow(/after close/);
    expect(() => set.add(digest(3))).toThrow(/after close/);
  });
});

describe('SortedDigestFile', () => {
  it('finds every digest of every run, first and last of each block included, and no other', () => {
    const runs = new SortedDigestFile(mkdtempSync(path.join(tmpdir(), 'pm-digests-')));
    // Runs of odd sizes: partial last blocks, a run of one.
    const batches = [range(0, 700), range(700, 701), range(701, 1213)];
    for (const batch of batches) runs.addRun(recordsOf(batch));
    expect(runs.size).toBe(1213);
    expect(range(0, 1213).filter((d) => !runs.has(...wordsOf(d)))).toEqual([]);
    expect(range(1213, 3000).filter((d) => runs.has(...wordsOf(d)))).toEqual([]);
    // The extremes of the word range.
    expect(runs.has(0, 0, 0)).toBe(false);
    expect(runs.has(0xffffffff, 0xffffffff, 0xffffffff)).toBe(false);
    runs.addRun(Uint32Array.from([0, 0, 0, 0xffffffff, 0xffffffff, 0xffffffff]));
    expect(runs.has(0, 0, 0)).toBe(true);
    expect(runs.has(0xffffffff, 0xffffffff, 0xffffffff)).toBe(true);
    runs.close();
  });

  it('merges spills bigger than its read and write buffers, ranges interleaved', () => {
    const runs = new SortedDigestFile(mkdtempSync(path.join(tmpdir(), 'pm-digests-')));
    const first = range(0, 70_000);
    const second = range(70_000, 140_000);
    runs.addRun(recordsOf(first));
    runs.addRun(recordsOf(second));
    expect(runs.size).toBe(140_000);
    const sample = [...first.filter((_, i) => i % 97 === 0), ...second.filter((_, i) => i % 89 === 0), first[0], first.at(-1)!, second[0], second.at(-1)!];
    expect(sample.filter((d) => !runs.has(...wordsOf(d)))).toEqual([]);
    expect(range(140_000, 142_000).filter((d) => runs.has(...wordsOf(d)))).toEqual([]);
    runs.close();
  });

  it('keeps what it had when a merge cannot get a new file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pm-digests-'));
    const runs = new SortedDigestFile(dir);
    runs.addRun(recordsOf(range(0, 300)));
    rmSync(dir, { recursive: true });
    expect(() => runs.addRun(recordsOf(range(300, 600)))).toThrow(/ENOENT/);
    expect(runs.size).toBe(300);
    expect(range(0, 300).filter((d) => !runs.has(...wordsOf(d)))).toEqual([]);
    expect(range(300, 600).filter((d) => runs.has(...wordsOf(d)))).toEqual([]);
    runs.close();
  });

  it('tells apart digests that share their first words', () => {
    const runs = new SortedDigestFile(mkdtempSync(path.join(tmpdir(), 'pm-digests-')));
    const records: number[] = [];
    for (let i = 0; i < 600; i++) records.push(7, i % 3, i);
    runs.addRun(Uint32Array.from(records));
    for (let i = 0; i < 600; i++) expect(runs.has(7, i % 3, i)).toBe(true);
    expect(runs.has(7, 1, 0)).toBe(false);
    expect(runs.has(7, 0, 600)).toBe(false);
    expect(runs.has(6, 0, 0)).toBe(false);
    runs.close();
  });

  it('leaves no file behind when closed, and refuses to be used after', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pm-digests-'));
    const runs = new SortedDigestFile(dir);
    runs.addRun(recordsOf(range(0, 10)));
    runs.close();
    runs.close();
    expect(readdirSync(dir)).toEqual([]);
    expect(() => runs.has(...wordsOf(digest(0)))).toThrow(/after close/);
  });
});

describe('sortRecords', () => {
  it('orders records by their first, then second, then third word, as unsigned numbers', () => {
    const sorted = sortRecords(Uint32Array.from([2, 0, 0, 1, 5, 9, 1, 5, 3, 0xffffffff, 0, 0, 1, 4, 0xffffffff]));
    expect([...sorted]).toEqual([1, 4, 0xffffffff, 1, 5, 3, 1, 5, 9, 2, 0, 0, 0xffffffff, 0, 0]);
  });
});

describe('DigestBloom', () => {
  it('never misses a member', () => {
    const bloom = new DigestBloom();
    const members = range(0, 20_000).map(wordsOf);
    for (const [a, b, c] of members) bloom.add(a, b, c);
    expect(members.filter(([a, b, c]) => !bloom.mightHave(a, b, c))).toEqual([]);
  });
});
