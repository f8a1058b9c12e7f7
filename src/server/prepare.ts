import { refuseKeyOfOtherBulkContent } from '../app/bulk/bulk-key-check.js';
import type { Dispatcher } from '../app/dispatcher.js';
import { draftFromBody, type PlatformBody } from '../app/platform-body.js';
import { rowRouter } from '../app/bulk/row-routes.js';
import { routeMessage } from '../app/send-service.js';
import { assertChainResolved } from '../config/unresolved-env.js';
import { ConfigError, MessageValidationError } from '../core/errors.js';
import { finalizeMessage, type EmailMessage, type MessageType } from '../core/message.js';
import { validateMessage } from '../core/validate-message.js';
import type { BulkRoute } from './bulk-jobs.js';
import { BadRequest, validationRequest } from './errors.js';

export interface PreparedSend {
  message: EmailMessage;
  chain: string[];
  /** Which routing rule gave the chain. */
  rule: string;
}

/**
 * From a checked body to a routed message, the library's steps (src/lib/index.ts): draft over
 * the config's defaults, validate, give it its idempotency key, route. The `Idempotency-Key`
 * header, when given, is the message's key (it overrides the body's `idempotency_key`).
 */
export async function prepareSend(dispatcher: Dispatcher, body: PlatformBody, keyHeader: string | undefined, options: { defaultType?: MessageType } = {}): Promise<PreparedSend> {
  const { config } = dispatcher;
  const draft = draftFromBody(body, { ...config.defaults, type: body.type ?? options.defaultType ?? config.defaults.type });
  if (keyHeader !== undefined) draft.idempotencyKey = keyHeader;
  try {
    validateMessage(draft);
  } catch (error) {
    if (error instanceof MessageValidationError) throw validationRequest(error, keyHeader !== undefined);
    throw error;
  }
  const message = finalizeMessage(draft);
  const route = await routeChecked(dispatcher, message, body.provider);
  return { message, chain: route.chain, rule: route.source };
}

/** Marketing unless the body says otherwise, as for `send --recipients` (Postmark takes bulk mail on its broadcast stream only). */
const BULK_DEFAULT_TYPE = 'marketing';

/**
 * A bulk body's template and its route: checked and routed as a message to a stand-in recipient
 * (as the CLI does; each row gets its own copy), with the per-row router when rules route rows apart.
 */
export async function prepareBulkSend(dispatcher: Dispatcher, body: PlatformBody, keyHeader: string | undefined): Promise<{ template: EmailMessage; route: BulkRoute }> {
  const { message: template, chain, rule } = await prepareSend(dispatcher, { ...body, to: ['recipient@example.com'] }, keyHeader, { defaultType: BULK_DEFAULT_TYPE });
  // Refused here, answered 409, rather than in the run, after 202 (the run checks again).
  if (dispatcher.store) await refuseKeyOfOtherBulkContent(dispatcher.store, template, dispatcher.config.idempotency, dispatcher.now());
  return { template, route: { chain, source: rule, routeRow: await rowRouter(dispatcher, template, { forceProvider: body.provider }) } };
}

/** A bulk run's template routed again (a run resumed after a stop): its chain, rule and per-row router. */
export async function routeBulkTemplate(dispatcher: Dispatcher, template: EmailMessage, forceProvider?: string): Promise<BulkRoute> {
  const route = await routeChecked(dispatcher, template, forceProvider);
  return { chain: route.chain, source: route.source, routeRow: await rowRouter(dispatcher, template, { forceProvider }) };
}

async function routeChecked(dispatcher: Dispatcher, message: EmailMessage, forceProvider: string | undefined) {
  const { config } = dispatcher;
  const route = await routeMessage(dispatcher, message, { forceProvider, forceProviderField: 'provider' });
  try {
    assertChainResolved(config, route.chain);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The server's own configuration, not the request: 503, and neither its path nor its variables
    // for the client (serve named them on its log when it started).
    const providers = route.chain.filter((name) => config.unresolvedEnv[name]?.length);
    throw new BadRequest(`this server cannot send through ${providers.map((name) => `"${name}"`).join(', ')}: a secret of its configuration is not set; nothing was sent`, [], 'try again later; the server log at start-up names what is missing', 503);
  }
  return route;
}
