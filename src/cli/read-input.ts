// Read synchronously: node:fs is loaded with Node itself, node:fs/promises costs start-up (#21).
import { readFileSync } from 'node:fs';
import { UserError } from '../core/errors.js';
import { stderr } from './stdio.js';

let stdinTaken = false;

/** Reads a file, or stdin for `-` (only once per run). */
export async function readTextInput(pathOrDash: string, what: string): Promise<string> {
  if (pathOrDash === '-') {
    if (stdinTaken) throw new UserError(`${what}: stdin (-) is already used by another option`);
    stdinTaken = true;
    // A terminal would otherwise sit there with no sign that it is waiting for input.
    if (process.stdin.isTTY) stderr.write(`reading ${what} from the terminal: type or paste it, then press Ctrl-D (Ctrl-C to cancel)\n`);
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return readFileSync(pathOrDash, 'utf8');
  } catch (error) {
    throw new UserError(`${what}: cannot read ${pathOrDash} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** An outbox id given on the command line (`queue show 12`); one that is not a number says what an id is. */
export function parseOutboxId(text: string | undefined): number {
  return parseCount(text, 'id', { min: 1, hint: 'an outbox id is the number `queue list` shows (e.g. 12)' })!;
}

export function parseCount(value: unknown, flag: string, options: { min?: number; max?: number; hint?: string } = {}): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const min = options.min ?? 0;
  if (!/^\d+$/.test(text.replace(/_/g, '')) || Number(text.replace(/_/g, '')) < min || (options.max !== undefined && Number(text.replace(/_/g, '')) > options.max)) {
    const digitsOnly = /^\d+$/.test(text.replace(/_/g, ''));
    throw new UserError(`${flag}: "${text}" is not a whole number${options.max !== undefined ? ` from ${min} to ${options.max}` : ` ≥ ${min}`}`, digitsOnly ? undefined : { hint: options.hint ?? 'digits only; _ may group them (100_000)' });
  }
  return Number(text.replace(/_/g, ''));
}
