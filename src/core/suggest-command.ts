/**
 * How a hint or a text writes a command it names: the CLI's carries the --config it was given
 * (cli/suggest-command.ts), the library's and the server's are plain.
 */
export type SuggestCommand = (command: string) => string;

export const plainCommand: SuggestCommand = (command) => `penguinmails ${command}`;
