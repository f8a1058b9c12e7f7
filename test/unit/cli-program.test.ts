import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';

const EVERY_COMMAND = ['send', 'queue', 'serve', 'keys', 'suppressions', 'events', 'store', 'failover', 'cost', 'route'];
const commandsFor = (args: string[]) => buildProgram(['node', 'penguinmails', ...args]).commands.map((command) => command.name());

describe('the program a command line gets', () => {
  it('holds only the command it names, after global options', () => {
    expect(commandsFor(['route', 'explain'])).toEqual(['route']);
    expect(commandsFor(['--json', '-c', 'send.yaml', 'send', '--to', 'ada@example.com'])).toEqual(['send']);
    expect(commandsFor(['--config=x.yaml', '--no-color', '-q', 'cost', 'estimate'])).toEqual(['cost']);
    expect(commandsFor(['queue', 'lst'])).toEqual(['queue']);
  });

  it('holds every command for help, an unknown command, or an option it does not know before the command', () => {
    for (const args of [[], ['--help'], ['help', 'send'], ['rout', 'explain'], ['-vc', 'send', 'route'], ['--version'], ['--', 'send']]) {
      expect(commandsFor(args), args.join(' ')).toEqual(EVERY_COMMAND);
    }
    expect(buildProgram().commands.map((command) => command.name())).toEqual(EVERY_COMMAND);
  });
});
