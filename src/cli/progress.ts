import { groupThousands } from '../cost/money.js';
/** A one-line progress bar on a TTY stderr, redrawn at most a few times a second. */
export class ProgressBar {
  private lastDraw = 0;
  private lastDone = 0;
  private readonly started = Date.now();

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly total: number | undefined,
  ) {}

  update(done: number, force = false): void {
    this.lastDone = done;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const rate = done / seconds;
    const width = 24;
    let bar = '';
    let eta = '';
    if (this.total) {
      const filled = Math.min(width, Math.round((done / this.total) * width));
      bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] `;
      eta = rate > 0 ? `  ETA ${Math.ceil((this.total - done) / rate)}s` : '';
    }
    const of = this.total ? `/${groupThousands(this.total)}` : '';
    this.stream.write(`\r${bar}${groupThousands(done)}${of} recipients  ${groupThousands(Math.round(rate))}/s${eta}\x1b[K`);
  }

  /** Writes other lines (a warning) without mangling the bar: clears it, writes, draws it again. */
  above(write: () => void): void {
    this.stream.write('\r\x1b[K');
    write();
    this.update(this.lastDone, true);
  }

  finish(done: number): void {
    this.update(done, true);
    this.stream.write('\n');
  }
}

/** Counts the lines of a file cheaply (for the bar's total); undefined for stdin. */
export async function countLines(file: string): Promise<number | undefined> {
  if (file === '-') return undefined;
  const { createReadStream } = await import('node:fs');
  let lines = 0;
  let last = 10;
  try {
    for await (const chunk of createReadStream(file)) {
      for (const byte of chunk as Buffer) if (byte === 10) lines++;
      last = (chunk as Buffer)[(chunk as Buffer).length - 1] ?? last;
    }
  } catch {
    // Unreadable: the bar goes without a total, and reading the list says what is wrong.
    return undefined;
  }
  return last === 10 ? lines : lines + 1;
}
