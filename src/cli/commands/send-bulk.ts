import type { Command } from 'commander';
import { UserError } from '../../core/errors.js';
import type { Output } from '../output.js';

export async function runBulk(_flags: unknown, _output: Output, _command: Command): Promise<number> {
  throw new UserError('--recipients (bulk sending) is not available yet', { hint: 'send one message at a time for now' });
}
