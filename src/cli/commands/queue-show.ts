import type { Command } from 'commander';
import { ExitCode, UserError } from '../../core/errors.js';
import { withOutboxEntry } from '../context.js';
import type { Output } from '../output.js';
import { suggestCommand } from '../suggest-command.js';
import { renderAttempt } from '../render-attempts.js';

export async function run(options: Record<string, unknown>, output: Output, _command: Command, args: string[]): Promise<number> {
  return withOutboxEntry(options, args[0], async (store, id) => {
    const entry = await store.getEntry(id);
    if (!entry) throw new UserError(`no outbox entry #${id}`, { hint: `\`${suggestCommand('queue list', options)}\` shows the ids` });
    if (output.json) {
      output.emitJson(entry);
      return ExitCode.ok;
    }
    const m = entry.message;
    output.line(`#${entry.id} ${output.c.bold(entry.status)} — ${entry.reason ?? ''}`);
    output.line(`  to:       ${[...m.to, ...m.cc.map((a) => `cc:${a}`), ...m.bcc.map((a) => `bcc:${a}`)].join(', ')}`);
    output.line(`  subject:  ${m.subject}`);
    output.line(`  type:     ${m.type}, priority ${m.priority}`);
    output.line(`  chain:    ${entry.chain.join(' → ')}`);
    output.line(`  key:      ${entry.idempotencyKey}`);
    output.line(`  created:  ${entry.createdAt}, updated ${entry.updatedAt}, ${entry.tries} run(s)`);
    if (entry.provider) output.line(`  sent by:  ${entry.provider} (${entry.messageId})`);
    output.line('  attempts:');
    for (const attempt of entry.attempts) output.line(`    ${renderAttempt(output, attempt)}`);
    return ExitCode.ok;
  });
}
