import type { ChalkInstance } from 'chalk';
import { redactSecrets } from '../core/secrets.js';
import { stderr as standardError, stdout as standardOutput, type TextSink } from './stdio.js';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
}

const ANSI_CODES = /\x1b\[[0-9;]*m/g;

/**
 * All printing goes through here: secrets are redacted from every line, `--json` keeps stdout
 * for the one JSON document, and colour follows NO_COLOR / --no-color / TTY.
 */
export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly colorEnabled: boolean;
  private chalkInstance?: ChalkInstance;

  constructor(
    options: GlobalOptions,
    private readonly stdout: TextSink = standardOutput,
    private readonly stderr: TextSink = standardError,
  ) {
    this.json = Boolean(options.json);
    this.quiet = Boolean(options.quiet);
    this.verbose = Boolean(options.verbose);
    this.colorEnabled = options.color !== false && !process.env.NO_COLOR && process.env.TERM !== 'dumb' && Boolean(stdout.isTTY || stderr.isTTY);
  }

  async init(): Promise<this> {
    if (this.colorEnabled) {
      const { Chalk } = await import('chalk');
      this.chalkInstance = new Chalk({ level: 1 });
    }
    return this;
  }

  /** Colouring helpers that are identity functions when colour is off. */
  get c() {
    const chalk = this.chalkInstance;
    const wrap = (fn?: (s: string) => string) => (s: string) => (fn ? fn(s) : s);
    return {
      ok: wrap(chalk?.green),
      bad: wrap(chalk?.red),
      warn: wrap(chalk?.yellow),
      dim: wrap(chalk?.dim),
      bold: wrap(chalk?.bold),
      accent: wrap(chalk?.cyan),
    };
  }

  /** The command's main human output (its result, even with --quiet): stdout normally, stderr under --json. */
  line(text = ''): void {
    this.write(this.json ? this.stderr : this.stdout, text);
  }

  /** What happens on the way to the result (each provider attempt): stderr, not with --quiet. */
  progress(text: string): void {
    if (!this.quiet) this.write(this.stderr, text);
  }

  /** Progress and detail: stderr, only with --verbose. */
  detail(text: string): void {
    if (this.verbose && !this.quiet) this.write(this.stderr, text);
  }

  warn(text: string): void {
    if (!this.quiet) this.write(this.stderr, `${this.c.warn('warning:')} ${text}`);
  }

  error(message: string, hint?: string): void {
    this.write(this.stderr, `${this.c.bad('error:')} ${message}`);
    if (hint) this.write(this.stderr, `${this.c.dim('hint:')} ${hint}`);
  }

  /** Every line is redacted; colour codes only reach a stream that is a terminal. */
  private write(stream: TextSink, text: string): void {
    const shown = stream.isTTY ? text : text.replace(ANSI_CODES, '');
    stream.write(redactSecrets(shown) + '\n');
  }

  /** The single JSON document of --json. */
  emitJson(document: unknown): void {
    this.stdout.write(redactSecrets(JSON.stringify(document, null, 2)) + '\n');
  }
}
