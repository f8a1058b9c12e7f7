/**
 * penguinmails as a library (SPEC "Programmatic use"): the same core as the CLI, no second
 * implementation. Importing this module loads no ESP SDK, SQLite or YAML parser: each is loaded
 * by the first call that needs it.
 */
import type { AlertHub } from '../app/alerts/alert-hub.js';
import { openAlerts } from '../app/alerts/open-alerts.js';
import { estimateCostReport, resolveMix, type Volumes } from '../app/cost-report.js';
import { Dispatcher } from '../app/dispatcher.js';
import { bodyPathOfMessageProblem, checkPlatformBody, draftFromBody, problemsOfWellFormedFields, type BodyProblem, type PlatformBodyInput } from '../app/platform-body.js';
import { explainRouteFor, type RouteQuery } from '../route/report.js';
import type { RouteExplanation } from '../route/explain.js';
import { routeMessage, sendMessage, type SendResult } from '../app/send-service.js';
import { configFromObject } from '../config/from-object.js';
import { loadConfig } from '../config/load.js';
import { assertChainResolved } from '../config/unresolved-env.js';
import type { Config } from '../config/types.js';
import { parseAddress } from '../core/address.js';
import { UserError } from '../core/errors.js';
import { finalizeMessage } from '../core/message.js';
import { validateMessage } from '../core/validate-message.js';
import { estimateJson } from '../cost/format.js';
import { buildCostSetup, strategiesShown, type StrategyName } from '../cost/model.js';
import { openExistingStore, openStore } from '../store/open-store.js';
import type { Store } from '../store/ports.js';

export type { SendResult, SendStatus } from '../app/send-service.js';
export type { SuppressedRecipient } from '../app/suppression-check.js';
export type { PlatformBodyInput as SendBody, BodyProblem } from '../app/platform-body.js';
export type { RouteQuery } from '../route/report.js';
export { UserError, ConfigError, MessageValidationError, IdempotencyConflictError } from '../core/errors.js';
/** For a receiver of the alert webhook (`alerts.webhook`): checks `X-Penguinmails-Signature` over the raw body. */
export { verifyAlertSignature } from '../app/alerts/signature.js';
export type { AlertDocument } from '../app/alerts/alert-document.js';

export interface MailerOptions {
  /** A config file path, or the config itself (the YAML's shape, `${VAR}`s allowed). Default: the CLI's discovery. */
  config?: string | Record<string, unknown>;
  /** Where discovery starts and an object config's relative paths (the outbox) resolve. Default: process.cwd(). */
  cwd?: string;
  /** Where `${VAR}` values come from. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Problems that do not stop a send (the alert webhook failing…). Default: process.emitWarning. */
  onWarning?: (message: string) => void;
}

export interface CostQuery extends Volumes {
  /** One strategy ('hybrid' or a provider type), or 'all' of them (default). */
  strategy?: StrategyName | 'all';
}

export interface SendOptions {
  /**
   * Send even to addresses on the suppression list (a deliberate override, as `send
   * --ignore-suppressions`): the result's `ignoredSuppressions` lists the ones it went to anyway.
   */
  ignoreSuppressions?: boolean;
}

export interface Mailer {
  /**
   * Sends one message (the platform API body). Never throws for a delivery outcome: read `status`
   * (`rejected` with `suppressed` when a recipient is on the suppression list).
   */
  send(body: PlatformBodyInput, options?: SendOptions): Promise<SendResult>;
  /** Where a message would go and why: the `route explain --json` document. */
  explainRoute(query?: RouteQuery): Promise<ReturnType<typeof routeDocument>>;
  /** The month's cost per provider and strategy: the `cost estimate --json` document. */
  estimateCost(query: CostQuery): Promise<ReturnType<typeof estimateJson>>;
  /** Closes the outbox and the providers' connections. */
  close(): Promise<void>;
}

/** An invalid body: each problem named by its JSON path (thrown by `send`). */
export class InvalidBodyError extends UserError {
  constructor(readonly details: BodyProblem[]) {
    super(`invalid message body:\n  ${details.map((d) => `${d.path}: ${d.message}`).join('\n  ')}`, { hint: 'nothing was sent' });
    this.name = 'InvalidBodyError';
  }
}

function routeDocument(explanation: RouteExplanation) {
  return { status: 'ok' as const, currency: 'USD' as const, ...explanation };
}

export async function createMailer(options: MailerOptions = {}): Promise<Mailer> {
  const cwd = options.cwd ?? process.cwd();
  const config: Config =
    typeof options.config === 'object' && options.config !== null
      ? configFromObject(options.config, { baseDir: cwd, env: options.env })
      : await loadConfig({ configPath: options.config, cwd, env: options.env });
  let store: Store | undefined;
  let dispatcher: Dispatcher | undefined;
  let alerts: AlertHub | undefined;
  let closed = false;
  const open = async (): Promise<Dispatcher> => {
    if (closed) throw new UserError('this mailer is closed', { hint: 'create another with createMailer()' });
    store ??= await openStore(config);
    alerts ??= openAlerts(config, store, { warn: options.onWarning ?? ((message) => process.emitWarning(message, 'PenguinmailsWarning')) });
    dispatcher ??= new Dispatcher(config, store, { alerts });
    return dispatcher;
  };

  return {
    async send(body, sendOptions = {}) {
      const checked = checkPlatformBody(body);
      if (!checked.ok) throw new InvalidBodyError([...checked.problems, ...problemsOfWellFormedFields(body, checked.problems, config.defaults, bodyPathOfMessageProblem)]);
      const draft = draftFromBody(checked.body, config.defaults);
      validateMessage(draft);
      const message = finalizeMessage(draft);
      if (sendOptions.ignoreSuppressions === true) message.ignoreSuppressions = true;
      const sender = await open();
      const route = await routeMessage(sender, message, { forceProvider: checked.body.provider, forceProviderField: 'provider' });
      assertChainResolved(config, route.chain);
      return (await sendMessage(sender, message, route.chain)).result;
    },
    async explainRoute(query = {}) {
      // An explanation creates no file: the ledger and health are read only if a send made them.
      checkRouteQuery(query);
      const readOnly = store ?? (await openExistingStore(config));
      try {
        return routeDocument(await explainRouteFor(config, readOnly, query));
      } finally {
        if (readOnly !== store) await readOnly?.close();
      }
    },
    async estimateCost(query) {
      for (const field of ['volume', 'transactional', 'marketing'] as const) checkCount(query[field], field);
      const shown = strategiesShown(query.strategy ?? 'all');
      const setup = buildCostSetup(config);
      const { result, context } = estimateCostReport(setup, resolveMix(query, config.defaults.type), shown);
      return estimateJson(result, context);
    },
    async close() {
      closed = true;
      // Alerts raised by the sends: stored, and POSTed within a short grace.
      await alerts?.close();
      await dispatcher?.close();
      await store?.close();
    },
  };
}

const MAX_VOLUME = 1_000_000_000_000;

/** The same checks the CLI's flags get: a bad query is a UserError, not a nonsense answer. */
function checkCount(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_VOLUME) {
    throw new UserError(`${field}: ${JSON.stringify(value)} is not a whole number from 0 to ${MAX_VOLUME}`);
  }
}

function checkRouteQuery(query: RouteQuery): void {
  const oneOf = (field: string, value: unknown, allowed: readonly string[]) => {
    if (value !== undefined && !allowed.includes(value as string)) throw new UserError(`${field}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  };
  oneOf('type', query.type, ['transactional', 'marketing']);
  oneOf('priority', query.priority, ['normal', 'critical']);
  checkCount(query.monthlyVolume, 'monthlyVolume');
  if (query.to !== undefined && (typeof query.to !== 'string' || !parseAddress(query.to))) throw new UserError(`to: ${JSON.stringify(query.to)} is not an email address`);
  if (query.idempotencyKey !== undefined && (typeof query.idempotencyKey !== 'string' || query.idempotencyKey === '')) throw new UserError(`idempotencyKey: ${JSON.stringify(query.idempotencyKey)} is not a non-empty string`);
}
