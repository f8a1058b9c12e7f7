import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Slots } from '../../src/app/bulk/rate-gate.js';
import { Output } from '../../src/cli/output.js';
import { countLines, ProgressBar } from '../../src/cli/progress.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

describe('Slots', () => {
  it('runs at most `limit` tasks at once', async () => {
    const slots = new Slots(2);
    let active = 0;
    let peak = 0;
    for (let i = 0; i < 6; i++) {
      await slots.run(async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
      });
    }
    await slots.drain();
    expect(peak).toBe(2);
  });

  it('a failing task is not an unhandled rejection: drain rethrows it after the others finish', async () => {
    const slots = new Slots(2);
    let finished = 0;
    await slots.run(async () => {
      throw new Error('disk full');
    });
    await slots.run(async () => {
      await new Promise((r) => setTimeout(r, 10));
      finished++;
    });
    await new Promise((r) => setTimeout(r, 1));
    expect(slots.failed).toBe(true);
    await expect(slots.drain()).rejects.toThrow('disk full');
    expect(finished).toBe(1);
  });
});

function capture(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = new Writable({ write: (chunk, _enc, done) => (chunks.push(String(chunk)), done()) }) as unknown as NodeJS.WriteStream;
  (stream as { isTTY?: boolean }).isTTY = isTTY;
  return { stream, text: () => chunks.join('') };
}

describe('Output', () => {
  it('keeps colour codes away from a stream that is not a terminal', async () => {
    const stdout = capture(false);
    const stderr = capture(true);
    const previous = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    try {
      const output = await new Output({}, stdout.stream, stderr.stream).init();
      output.line(output.c.bold('ID'));
      output.warn('careful');
      expect(stdout.text()).toBe('ID\n');
      expect(stderr.text()).toContain('\x1b[');
    } finally {
      if (previous !== undefined) process.env.NO_COLOR = previous;
    }
  });

  it('--json sends human lines to stderr and keeps stdout for the document', async () => {
    const stdout = capture(false);
    const stderr = capture(false);
    const output = await new Output({ json: true }, stdout.stream, stderr.stream).init();
    output.line('progress');
    output.emitJson({ ok: true });
    expect(JSON.parse(stdout.text())).toEqual({ ok: true });
    expect(stderr.text()).toBe('progress\n');
  });
});

describe('ProgressBar', () => {
  it('clears itself for a warning, then draws itself again below it', () => {
    let written = '';
    const stream = new Writable({
      write(chunk, _encoding, done) {
        written += String(chunk);
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    const bar = new ProgressBar(stream, 1000);
    bar.update(250, true);
    bar.above(() => stream.write('warning: something\n'));
    const [before, after] = written.split('warning: something\n');
    expect(before).toMatch(/250\/1,000 recipients.*\x1b\[K\r\x1b\[K$/);
    expect(after).toMatch(/^\r\[#{6}-{18}\] 250\/1,000 recipients/);
  });
});

describe('countLines (the progress bar\'s total)', () => {
  it('counts lines, a last one without a newline too; an unreadable list has no total (reading it says why)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'penguinmails-count-'));
    writeFileSync(path.join(dir, 'a.csv'), 'email\na@example.com\nb@example.com');
    expect(await countLines(path.join(dir, 'a.csv'))).toBe(3);
    expect(await countLines(dir)).toBeUndefined();
    expect(await countLines(path.join(dir, 'missing.csv'))).toBeUndefined();
  });
});
