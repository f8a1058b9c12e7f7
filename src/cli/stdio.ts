import { fstatSync, statSync, writeSync } from 'node:fs';
import { ExitCode, UserError } from '../core/errors.js';

/** Where a command's text goes: the process's stdout or stderr, or a stand-in in tests. */
export interface TextSink {
  readonly isTTY: boolean;
  write(text: string): unknown;
}

/**
 * stdout or stderr, written with a plain write(2) instead of through `process.stdout`.
 *
 * Why: the first touch of `process.stdout` builds a stream (Node's stream modules, and a net
 * socket for a pipe), ~5 ms of every command's start-up (issue #21), for text a CLI writes once.
 * The write is synchronous, which is what a short-lived command wants anyway: nothing is left
 * unflushed at exit.
 *
 * Falls back to the streams for good when a descriptor is non-blocking and full (EAGAIN): the
 * stream queues the rest in order, and the other sink switches too (stdout and stderr may be one
 * pipe, whose text must not overtake what is queued). A closed reader (`… | head -1`, EPIPE) drops
 * the rest of the output silently, as the exit code is the command's own; any other failure
 * (a full disk) is an error of its own, not a bug.
 */
export class StandardSink implements TextSink {
  private tty?: boolean;
  private closed = false;
  private stream?: NodeJS.WriteStream;

  constructor(private readonly fd: 1 | 2) {}

  get isTTY(): boolean {
    return (this.tty ??= isTerminal(this.fd));
  }

  /** The terminal's width, for help text; undefined when not a terminal (asking a terminal builds its stream, used from then on). */
  get columns(): number | undefined {
    return this.isTTY ? this.nodeStream().columns : undefined;
  }

  write(text: string): void {
    if (this.closed) return;
    if (this.stream || streamsOnly) return void this.nodeStream().write(text);
    let bytes = Buffer.from(text);
    try {
      while (bytes.length > 0) bytes = bytes.subarray(writeSync(this.fd, bytes));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') this.closed = true;
      else if (code === 'EAGAIN') {
        streamsOnly = true;
        this.nodeStream().write(bytes);
      } else throw new UserError(`cannot write to ${this.fd === 1 ? 'stdout' : 'stderr'}: ${code ?? (error as Error).message}`, { exitCode: ExitCode.internal, hint: 'check where the output goes (a full disk, a closed file)' });
    }
  }

  /** Node's own stream of this descriptor, from now on used for every write. */
  nodeStream(): NodeJS.WriteStream {
    if (!this.stream) {
      const stream = this.fd === 1 ? process.stdout : process.stderr;
      stream.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
        this.closed = true;
      });
      this.stream = stream;
    }
    return this.stream;
  }
}

/**
 * isatty(3), asked of node:tty only for a descriptor that could be a terminal: that module loads
 * Node's net and stream modules (~3 ms of start-up, #21). A pipe or a file is not a character
 * device, and /dev/null (where scripts and CI send output) is one but never a terminal.
 */
function isTerminal(fd: number): boolean {
  let stats;
  try {
    stats = fstatSync(fd);
  } catch {
    return false;
  }
  if (!stats.isCharacterDevice() || stats.rdev === devNull()) return false;
  return process.getBuiltinModule('node:tty').isatty(fd);
}

function devNull(): number | undefined {
  try {
    return statSync('/dev/null').rdev;
  } catch {
    return undefined;
  }
}

/** Set once a write met a full non-blocking descriptor: from then on both sinks write through their streams. */
let streamsOnly = false;

export const stdout = new StandardSink(1);
export const stderr = new StandardSink(2);
