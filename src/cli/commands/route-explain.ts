import type { Command } from 'commander';
import { parseAddress } from '../../core/address.js';
import { ExitCode, UserError } from '../../core/errors.js';
import type { MessageType, Priority } from '../../core/message.js';
import { explainRouteFor } from '../../route/report.js';
import { formatExplanation } from '../../route/explain.js';
import { loadCommandConfig, openExistingStore } from '../context.js';
import type { Output } from '../output.js';
import { suggestCommand } from '../suggest-command.js';
import { parseCount } from '../read-input.js';

export async function run(options: Record<string, unknown>, output: Output, _command?: Command, _args?: string[]): Promise<number> {
  const monthlyVolume = parseCount(options.monthlyVolume, '--monthly-volume', { max: 1_000_000_000_000 });
  const to = typeof options.to === 'string' ? options.to : undefined;
  if (to !== undefined && !parseAddress(to)) throw new UserError(`--to: "${to}" is not an email address`, { hint: 'give one address, e.g. --to ada@example.com (it only shows the route; nothing is sent)' });

  const config = await loadCommandConfig(options, { requireEnv: false, optional: true });
  if (Object.keys(config.providers).length === 0) {
    throw new UserError('no providers configured: there is no route to explain', { hint: 'copy penguinmails.config.example.yaml to penguinmails.config.yaml, or pass --config <file>' });
  }
  // An explanation must not create files: read the store only if `send` already made it.
  const store = await openExistingStore(config);
  try {
    const idempotencyKey = typeof options.idempotencyKey === 'string' ? options.idempotencyKey : undefined;
    if (idempotencyKey === '') throw new UserError('--idempotency-key: give the message\'s key (it decides which provider of a weighted split it gets)');
    const explanation = await explainRouteFor(config, store, { type: options.type as MessageType | undefined, priority: options.priority as Priority | undefined, to, idempotencyKey, monthlyVolume }, Date.now(), (command) => suggestCommand(command, options));
    if (output.json) output.emitJson({ status: 'ok', currency: 'USD', ...explanation });
    else output.line(formatExplanation(explanation, config.failover));
  } finally {
    await store?.close();
  }
  return ExitCode.ok;
}
