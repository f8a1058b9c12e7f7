import type { Command } from 'commander';
import { ExitCode, UserError } from '../../core/errors.js';
import { loadCommandConfig, openStore } from '../context.js';
import type { Output } from '../output.js';
import { stderr } from '../stdio.js';

const LISTEN = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/**
 * `serve [--listen host:port]`: the platform API and the outbox worker, until SIGTERM/SIGINT.
 * Fastify and the rest of the server are loaded here only, so other commands stay light.
 */
export async function run(options: Record<string, unknown>, output: Output, _command: Command): Promise<number> {
  const config = await loadCommandConfig(options, { requireEnv: true, warn: (message) => output.warn(message) });
  const { host, port } = typeof options.listen === 'string' ? parseListen(options.listen) : config.server;
  // Said once at the start rather than found out by the first message routed through them.
  for (const [provider, missing] of Object.entries(config.unresolvedEnv)) {
    output.warn(`provider "${provider}" cannot send until ${missing.map((m) => m.variable).join(', ')} ${missing.length === 1 ? 'is' : 'are'} set: every message whose route includes it is answered 503, even when an earlier provider of the route could take it`);
  }
  const store = await openStore(config);
  const { startService } = await import('../../server/service.js');
  const logLevel = output.quiet ? 'warn' : output.verbose ? 'debug' : 'info';
  let service;
  try {
    service = await startService({ config, store, host, port, log: stderr.nodeStream(), logLevel });
  } catch (error) {
    await store.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UserError(`cannot listen on ${host}:${port}: the address is in use`, { hint: 'stop whatever listens there, or give another --listen host:port' });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserError(`cannot listen on ${host}:${port}: no such address on this machine`, { hint: 'give --listen 127.0.0.1:8025, or an address of this machine' });
    if (code === 'EACCES') throw new UserError(`cannot listen on ${host}:${port}: permission denied`, { hint: 'ports below 1024 need privileges: use a higher one' });
    throw error;
  }
  stderr.write(`listening on ${service.url}\n`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  // A second signal does not wait for the grace: what is under way stays in the outbox.
  const forceExit = () => {
    output.warn('stopping at once: sends under way stay in the outbox');
    process.exit(ExitCode.interrupted);
  };
  process.once('SIGTERM', forceExit);
  process.once('SIGINT', forceExit);
  output.warn(`${signal}: not accepting new requests; finishing the sends under way (a second signal stops at once)`);
  const { unfinished } = await service.shutdown();
  if (unfinished > 0) output.warn(`${unfinished} send(s) were still under way: they stay in the outbox (\`penguinmails queue list\`)`);
  // Connections of the ESP SDKs may keep the process alive for a while: it has nothing left to do.
  setTimeout(() => process.exit(ExitCode.ok), 1_000).unref();
  return ExitCode.ok;
}

function parseListen(text: string): { host: string; port: number } {
  const match = LISTEN.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new UserError(`--listen "${text}": give host:port, e.g. 127.0.0.1:8025 (port 0 picks a free one)`);
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}
