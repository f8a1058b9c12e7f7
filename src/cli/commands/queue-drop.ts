import type { Command } from 'commander';
import { isLeaseOwnerAlive } from '../../app/lease-owner.js';
import { ExitCode, UserError } from '../../core/errors.js';
import { withOutboxEntry } from '../context.js';
import type { Output } from '../output.js';
import { suggestCommand } from '../suggest-command.js';

export async function run(options: Record<string, unknown>, output: Output, _command: Command, args: string[]): Promise<number> {
  return withOutboxEntry(options, args[0], async (store, id) => {
    const { status, busy } = await store.drop(id, Date.now(), isLeaseOwnerAlive);
    if (!status) throw new UserError(`no outbox entry #${id}`, { hint: `\`${suggestCommand('queue list', options)}\` shows the ids` });
    if (busy) throw new UserError(`#${id} is being retried right now by ${busy}: not dropped`, { hint: 'wait for that retry to finish, then look again with queue show' });
    if (status !== 'dropped') throw new UserError(`#${id} is ${status}, not waiting: nothing to drop`);
    if (output.json) output.emitJson({ id, status });
    else output.line(`#${id} dropped: it will not be retried`);
    return ExitCode.ok;
  });
}
