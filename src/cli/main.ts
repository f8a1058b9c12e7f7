import { Command, CommanderError, Option } from 'commander';
import { ExitCode, UserError } from '../core/errors.js';
import { redactSecrets } from '../core/secrets.js';
import { Output, type GlobalOptions } from './output.js';
import { stderr, stdout } from './stdio.js';

export { v8FlagsChangedAtRunTime } from './v8-flags.js';
export { enableSdkCodeCaches, requireSdk, sdkCodeCacheReport, writeSdkCodeCaches } from '../providers/sdk-code-cache.js';

/** A command's implementation: loaded only when that command runs, so `--help` stays light. */
type Runner = (options: Record<string, unknown>, output: Output, command: Command, args: string[]) => Promise<number>;

let exitCode: number = ExitCode.ok;

function lazy(load: () => Promise<{ run: Runner }>) {
  return async (...received: unknown[]) => {
    const command = received[received.length - 1] as Command;
    const args = received.slice(0, -2).filter((a): a is string => typeof a === 'string');
    const globals = command.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
    const output = await new Output(globals).init();
    const { run } = await load();
    exitCode = await run(globals, output, command, args);
  };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const VERSION = '0.1.0';

/**
 * The program with every command, or, given the command line, with only the command it names:
 * each command's options cost start-up to build (~2 ms for all of them, #21), and a command's
 * parse, help and errors need only its own. Help for the program, an unknown command (with its
 * "did you mean") and anything unusual before the command get every command.
 */
export function buildProgram(argv?: string[]): Command {
  const program = new Command('penguinmails')
    .description('Send email through Postmark, Mailgun, SendGrid, Amazon SES and SMTP with routing, failover and a durable outbox — and see what it costs.')
    .version(VERSION, '-V, --version')
    .option('-c, --config <path>', 'config file (default: PENGUINMAILS_CONFIG, else search for penguinmails.config.yaml)')
    .option('--json', 'print one JSON document on stdout (for scripts)')
    .option('-q, --quiet', 'no warnings or progress: results and errors only')
    .option('-v, --verbose', 'print every step on stderr')
    .option('--no-color', 'disable colour (also NO_COLOR=1)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const only = argv === undefined ? undefined : commandNamed(argv);
  for (const [name, addCommand] of Object.entries(COMMANDS)) if (only === undefined || name === only) addCommand(program);
  return program;
}

/** The top-level commands, in the order --help lists them. */
const COMMANDS: Record<string, (program: Command) => void> = {
  send: addSendCommand,
  queue: addQueueCommand,
  serve: addServeCommand,
  keys: addKeysCommand,
  suppressions: addSuppressionsCommand,
  events: addEventsCommand,
  store: addStoreCommand,
  failover: addFailoverCommand,
  cost: addCostCommand,
  route: addRouteCommand,
};

/** The global options that may come before the command (-c/--config with its value). */
const GLOBAL_FLAGS = new Set(['--json', '-q', '--quiet', '-v', '--verbose', '--no-color']);

/** The command a command line names, when it is plainly one of COMMANDS after global options only. */
function commandNamed(argv: string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-c' || arg === '--config') i++;
    else if (arg.startsWith('--config=') || GLOBAL_FLAGS.has(arg)) continue;
    else return Object.hasOwn(COMMANDS, arg) ? arg : undefined;
  }
  return undefined;
}

function addSendCommand(program: Command): void {
  program
    .command('send')
    .description('send one message (or a bulk list) through the router and failover chain')
    .option('--to <addr...>', 'recipient(s)')
    .option('--from <addr>', 'sender (default: defaults.from)')
    .option('--cc <addr...>', 'carbon-copy recipient(s)')
    .option('--bcc <addr...>', 'blind-copy recipient(s)')
    .option('--reply-to <addr>', 'Reply-To address')
    .option('--subject <text>', 'subject line')
    .option('--html <html>', 'HTML body')
    .option('--html-file <path>', 'HTML body from a file (- for stdin)')
    .option('--text <text>', 'plain-text body')
    .option('--text-file <path>', 'plain-text body from a file (- for stdin)')
    .addOption(new Option('--type <type>', 'message type (default: defaults.type)').choices(['transactional', 'marketing']))
    .addOption(new Option('--priority <priority>', 'priority').choices(['normal', 'critical']))
    .option('--provider <name>', 'try this provider first')
    .option('--no-failover', 'try only the first provider of the chain')
    .option('--tag <tag>', 'tag (repeatable)', collect)
    .option('--campaign <id>', 'campaign id')
    .option('--metadata <key=value>', 'metadata pair (repeatable)', collect)
    .option('--header <"Name: value">', 'extra header (repeatable)', collect)
    .option('--attach <path>', 'attachment file (repeatable)', collect)
    .option('--track-opens', 'track opens')
    .option('--no-track-opens', 'do not track opens')
    .option('--track-links', 'track link clicks')
    .option('--no-track-links', 'do not track link clicks')
    .option('--idempotency-key <key>', 'deliver at most once per key (default: derived from the content)')
    .option('--payload <file>', 'platform API JSON body instead of flags (- for stdin)')
    .option('--recipients <file>', 'bulk: CSV or JSONL with an email column and merge fields (- for stdin)')
    .option('--concurrency <n>', 'bulk: parallel provider calls', '4')
    .option('--batch-size <n>', 'bulk: at most this many recipients per provider call (default: the provider limit)')
    .option('--resume', 'bulk: accepted for scripts that say it; every run resumes anyway (recipients already delivered are skipped)')
    .option('--ignore-suppressions', 'send even to addresses on the suppression list (said in the result)')
    .option('--dry-run', 'resolve the route and print each provider request without sending')
    .addHelpText('after', '\nExamples:\n  penguinmails send --to ada@example.com --subject Hi --text "Hello"\n  penguinmails send --payload body.json --dry-run\n  penguinmails send --recipients list.csv --subject "Hi {{name}}" --html-file news.html --type marketing\n\nEnvironment:\n  PENGUINMAILS_BULK_MEMORY_RECIPIENTS   bulk: recipients kept in memory; past\n                                        that, on disk under TMPDIR (10000 to\n                                        5000000, default: 250000)')
    .action(lazy(() => import('./commands/send.js')));
}

function addQueueCommand(program: Command): void {
  const queue = program.command('queue').description('messages waiting in the outbox for a later retry');
  queue.command('list').description('list messages in the outbox (waiting, ambiguous, expired)').option('--all', 'include delivered and dropped').action(lazy(() => import('./commands/queue-list.js')));
  queue.command('show <id>').description('show one outbox message with its attempts').action(lazy(() => import('./commands/queue-show.js')));
  queue
    .command('retry [id]')
    .description('retry one message, or --all (probes every provider, even ones marked down)')
    .option('--all', 'retry every pending message')
    .option('--force', 'also resend messages whose earlier outcome was ambiguous (may duplicate)')
    .action(lazy(() => import('./commands/queue-retry.js')));
  queue
    .command('work')
    .description('retry due outbox messages by themselves, with backoff, until stopped (the worker of serve, without the server)')
    .option('--once', 'one pass, then exit (cron, CI); exit 4 if messages still wait')
    .action(lazy(() => import('./commands/queue-work.js')));
  queue.command('drop <id>').description('remove a message from the outbox without sending it').action(lazy(() => import('./commands/queue-drop.js')));
}

function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the platform API (POST /api/v1/emails/send …) and the outbox worker until SIGTERM/SIGINT')
    .option('--listen <host:port>', 'address to listen on (default: server.listen, else 127.0.0.1:8025; port 0 picks a free one)')
    .addHelpText('after', '\nExamples:\n  penguinmails keys create --name my-app\n  penguinmails serve --listen 127.0.0.1:8025')
    .action(lazy(() => import('./commands/serve.js')));
}

function addKeysCommand(program: Command): void {
  const keys = program.command('keys').description('API keys of serve (Authorization: Bearer <key>)');
  keys.command('create').description('make a key and print it once (only its hash is stored)').option('--name <name>', 'a name for the key (who uses it)').action(lazy(() => import('./commands/keys-create.js')));
  keys.command('list').description('list the keys by name (the keys themselves are not kept)').action(lazy(() => import('./commands/keys-list.js')));
  keys.command('revoke <name>').description('revoke a key: requests with it get 401 from then on').action(lazy(() => import('./commands/keys-revoke.js')));
}

function addSuppressionsCommand(program: Command): void {
  const suppressions = program
    .command('suppressions')
    .description('addresses no message may go to (hard bounces, complaints, unsubscribes, by hand): sends to them are rejected before any provider');
  suppressions
    .command('list')
    .description('list the suppressed addresses with scope, reason, source and date')
    .addHelpText('after', '\nExamples:\n  penguinmails suppressions list\n  penguinmails suppressions list --json')
    .action(lazy(() => import('./commands/suppressions-list.js')));
  suppressions
    .command('add <address>')
    .description('suppress an address: sends to it are rejected (exit 3) before any provider is called')
    .option('--scope <domain>', 'only for mail from this From domain (default: every sending domain, *)')
    .option('--reason <text>', 'why (default: "added by hand")')
    .addHelpText('after', '\nExamples:\n  penguinmails suppressions add ada@example.com --reason "asked by phone"\n  penguinmails suppressions add ada@example.com --scope news.example.org')
    .action(lazy(() => import('./commands/suppressions-add.js')));
  suppressions
    .command('remove <address>')
    .description('take an address off the list (from every scope, or only --scope)')
    .option('--scope <domain>', 'only the record for this From domain (* for the global one)')
    .addHelpText('after', '\nExample:\n  penguinmails suppressions remove ada@example.com')
    .action(lazy(() => import('./commands/suppressions-remove.js')));
  suppressions
    .command('import <csv>')
    .description('add every address of a CSV (address[,scope,reason], header row optional; - for stdin); a file with a bad row imports nothing')
    .addHelpText('after', '\nExamples:\n  penguinmails suppressions import bounced.csv\n  penguinmails suppressions export > list.csv && penguinmails --config other.yaml suppressions import list.csv\n\nCSV:\n  address,scope,reason\n  ada@example.com,*,hard bounce\n  bob@example.com,news.example.org,unsubscribed')
    .action(lazy(() => import('./commands/suppressions-import.js')));
  suppressions
    .command('export')
    .description('print the list as CSV on stdout (address,scope,reason,source,created_at), which import reads back')
    .addHelpText('after', '\nExample:\n  penguinmails suppressions export > suppressions.csv')
    .action(lazy(() => import('./commands/suppressions-export.js')));
}

function addEventsCommand(program: Command): void {
  program
    .command('events')
    .description("what providers' webhooks reported about sent mail (delivered, bounced, complained, …), and our alerts (failover, …)")
    .command('list')
    .description('list stored delivery events and alerts, newest first')
    .addOption(
      new Option('--type <type>', 'only this type').choices(['delivered', 'deferred', 'bounced', 'complained', 'unsubscribed', 'opened', 'clicked', 'rejected', 'failover', 'circuit-opened', 'budget-cap-reached', 'rate-limit-quota-reached']),
    )
    .option('--since <time|duration>', 'only events since a time (2026-01-31, 2026-01-31T12:00:00Z) or that long ago (24h, 7d)')
    .option('--to <address>', 'only events of this recipient')
    .option('--limit <n>', 'at most this many (default: 100)')
    .addHelpText('after', '\nExamples:\n  penguinmails events list --type bounced --since 24h\n  penguinmails events list --type failover --since 7d\n  penguinmails events list --to ada@example.com --json')
    .action(lazy(() => import('./commands/events-list.js')));
}

function addStoreCommand(program: Command): void {
  const store = program.command('store').description('where outbox, ledger, health and keys live (SQLite file or PostgreSQL)');
  store
    .command('migrate')
    .description('bring the store schema up to date (every process does on start; this is for deploy pipelines)')
    .option('--store <url-or-path>', 'the store to migrate (default: store: in the config)')
    .option('--schema <name>', 'PostgreSQL schema (with --store; default: penguinmails)')
    .action(lazy(() => import('./commands/store-migrate.js')));
  store
    .command('copy')
    .description('copy a SQLite outbox and ledger into an empty PostgreSQL store, checking every row arrived')
    .option('--from <path>', 'the SQLite file (e.g. .penguinmails/outbox.db)')
    .option('--to <url>', 'the postgres:// URL (default: store: in the config)')
    .option('--schema <name>', 'PostgreSQL schema (with --to; default: penguinmails)')
    .addHelpText('after', '\nExample:\n  penguinmails store copy --from .penguinmails/outbox.db --to "$DATABASE_URL"')
    .action(lazy(() => import('./commands/store-copy.js')));
}

function addFailoverCommand(program: Command): void {
  const failover = program.command('failover').description('the failover chain and retry policy');
  failover
    .command('configure')
    .description('set the failover chain and retry policy (interactive on a TTY, flags in CI)')
    .option('--primary <provider>', 'first provider')
    .option('--fallback <provider>', 'second provider')
    .option('--final <provider>', 'final fallback')
    .option('--retry-attempts <n>', 'tries per provider (1–10)')
    .option('--retry-delay <duration>', 'delay between tries, e.g. 30s')
    .option('--enable', 'enable failover')
    .option('--disable', 'disable failover (only the primary is tried)')
    .option('--apply-to-rules', "also make every routing rule's use: this chain (rules are checked before failover.order)")
    .option('-y, --yes', 'write without asking')
    .action(lazy(() => import('./commands/failover-configure.js')));
  failover.command('show').description('print the current chain and retry policy').action(lazy(() => import('./commands/failover-show.js')));
}

function addCostCommand(program: Command): void {
  const cost = program.command('cost').description('what sending costs');
  // The strategies are 'hybrid' and one per provider type of the registry, which loads every
  // adapter's config schema (zod): read once a `cost` command is on the way (its run, its help,
  // `cost help estimate`), not for `--help`.
  const strategy = new Option('--strategy <strategy>', 'strategies to show (a provider type: all mail through it)').default('all');
  program.hook('preSubcommand', async (_program, subcommand) => {
    if (subcommand !== cost) return;
    const { strategyChoices } = await import('../cost/model.js');
    strategy.choices(strategyChoices());
  });
  cost
    .command('estimate')
    .description('monthly cost per provider and strategy, with the savings of the hybrid routing')
    .option('--volume <n>', 'emails per month in total')
    .option('--transactional <n>', 'of which transactional')
    .option('--marketing <n>', 'of which marketing')
    .addOption(strategy)
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv', 'markdown']).default('table'))
    .option('--sweep <from:to:step>', 'cost of each strategy across volumes, with break-even points; the mix given by --volume/--transactional/--marketing applies as proportions')
    .action(lazy(() => import('./commands/cost-estimate.js')));
}

function addRouteCommand(program: Command): void {
  program
    .command('route')
    .description('where a message would go')
    .command('explain')
    .description('which provider a message would go to, why, and what happens if it fails')
    .addOption(new Option('--type <type>', 'message type').choices(['transactional', 'marketing']))
    .addOption(new Option('--priority <priority>', 'priority').choices(['normal', 'critical']).default('normal'))
    .option('--to <addr>', 'recipient (checked, shown)')
    .option('--monthly-volume <n>', 'emails sent this month so far (default: the usage ledger)')
    .option('--idempotency-key <key>', "the message's idempotency key: which provider of a weighted split it gets")
    .action(lazy(() => import('./commands/route-explain.js')));
}

export async function main(argv: string[]): Promise<number> {
  // `--version --json` (and nothing else): the version as the one JSON document --json promises.
  const args = argv.slice(2);
  if (args.includes('--json') && args.some((arg) => arg === '--version' || arg === '-V') && args.every((arg) => arg === '--version' || arg === '-V' || GLOBAL_FLAGS.has(arg))) {
    stdout.write(JSON.stringify({ version: VERSION }) + '\n');
    return ExitCode.ok;
  }
  const program = buildProgram(argv);
  writeThroughStdio(program);
  exitCode = ExitCode.ok;
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    return reportError(error, argv);
  }
}

/**
 * commander writes help and usage errors through the process's streams, and asks them about the
 * terminal; here it goes through the same sinks as every other line (see stdio.ts), which only
 * build Node's streams for a terminal. commander copies its settings into a subcommand when the
 * subcommand is added, so every command of the tree is configured here.
 */
function writeThroughStdio(program: Command): void {
  const defaults = program.configureOutput();
  // Colour asked of commander's own rules only when it could be on: a terminal, or FORCE_COLOR and the like.
  const colourSettings = () => process.env.NO_COLOR !== undefined || process.env.FORCE_COLOR !== undefined || process.env.CLICOLOR_FORCE !== undefined;
  const configuration = {
    writeOut: (text: string) => stdout.write(text),
    writeErr: (text: string) => stderr.write(text),
    // commander's own defaults give undefined when not a terminal too (its types say number).
    getOutHelpWidth: () => stdout.columns as number,
    getErrHelpWidth: () => stderr.columns as number,
    getOutHasColors: () => (stdout.isTTY || colourSettings() ? defaults.getOutHasColors!() : false),
    getErrHasColors: () => (stderr.isTTY || colourSettings() ? defaults.getErrHasColors!() : false),
  };
  const configure = (command: Command) => {
    command.configureOutput(configuration);
    command.commands.forEach(configure);
  };
  configure(program);
}

function reportError(error: unknown, argv: string[]): number {
  const wantsJson = argv.includes('--json');
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
    // 'commander.help': help shown because no (sub)command was given — a usage error.
    if (error.code === 'commander.help') {
      if (error.exitCode === 0) return ExitCode.ok;
      if (wantsJson) stdout.write(JSON.stringify({ status: 'error', exitCode: ExitCode.usage, error: 'no command given', hint: 'the help above lists the commands' }) + '\n');
      return ExitCode.usage;
    }
    // commander has already printed the message (with its own "did you mean", where it has one).
    if (wantsJson) {
      // An unknown command names its parent's help (the commands there), not a help it does not have.
      const path = commandPath(argv);
      const hint = error.code === 'commander.unknownCommand' ? `see \`penguinmails ${path.replace(/[^ ]+ $/, '')}--help\` for the commands` : `see \`penguinmails ${path}--help\` for the options`;
      stdout.write(JSON.stringify({ status: 'error', exitCode: ExitCode.usage, error: error.message.replace(/^error: /, '').replace(/\n/g, ' '), hint }) + '\n');
    }
    return ExitCode.usage;
  }
  const output = new Output({ json: wantsJson, color: !argv.includes('--no-color') });
  if (error instanceof UserError) {
    output.error(error.message, error.hint);
    if (wantsJson) output.emitJson({ status: 'error', exitCode: error.exitCode, error: error.message, hint: error.hint ?? null });
    return error.exitCode;
  }
  if (isDatabaseContention(error)) {
    const message = 'the outbox stayed busy: other penguinmails processes held it for longer than the wait allows';
    const hint = 'run the command again; a message it had delivered is not sent twice';
    output.error(message, hint);
    if (wantsJson) output.emitJson({ status: 'error', exitCode: ExitCode.usage, error: message, hint });
    return ExitCode.usage;
  }
  if (isStoreConnectionLost(error)) {
    const message = `lost the connection to the store: ${redactSecrets((error as Error).message)}`;
    const hint = 'check that PostgreSQL is up, then run the command again; a message it had delivered is not sent twice';
    output.error(message, hint);
    if (wantsJson) output.emitJson({ status: 'error', exitCode: ExitCode.usage, error: message, hint });
    return ExitCode.usage;
  }
  const err = error as Error;
  output.error(`internal error: ${err?.message ?? String(error)}`, 'this is a bug in penguinmails; run with --verbose and report it');
  if (argv.includes('--verbose') || argv.includes('-v')) stderr.write(`${err?.stack ?? ''}\n`);
  if (wantsJson) output.emitJson({ status: 'error', exitCode: ExitCode.internal, error: err?.message ?? String(error) });
  return ExitCode.internal;
}

/**
 * The store gave up waiting for another process (SQLite's busy lock; PostgreSQL's statement
 * timeout or a lock it could not get): contention, not a bug.
 */
function isDatabaseContention(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === '57014' || code === '55P03';
}

/** PostgreSQL went away mid-run (restart, network): the environment's problem, not a bug. */
function isStoreConnectionLost(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && /^(08|57P0)/.test(code)) return true;
  return typeof message === 'string' && /Connection terminated|connection to the database was lost/i.test(message);
}

/** The command words of argv ("queue retry "), for a hint pointing at that command's --help. */
function commandPath(argv: string[]): string {
  const words: string[] = [];
  for (const arg of argv.slice(2)) {
    if (arg.startsWith('-')) break;
    words.push(arg);
    if (words.length === 2) break;
  }
  return words.map((w) => `${w} `).join('');
}
