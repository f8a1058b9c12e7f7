import { sendMessage, type SendResult } from '../app/send-service.js';
import { formatDuration } from '../core/duration.js';
import type { ServerContext } from './context.js';
import type { PreparedSend } from './prepare.js';

/**
 * Sends through the send service, waiting at most server.requestBudget. A send still under way
 * then goes on in the background (tracked, so a shutdown lets it finish) and the answer is
 * `queued` with its outbox entry: the service recorded it before calling any provider, and what it
 * does not deliver stays there for the worker.
 */
export async function sendWithinBudget(context: ServerContext, { message, chain }: PreparedSend, onLateFailure: (error: unknown) => void): Promise<SendResult> {
  const started = process.hrtime.bigint();
  let outboxId: number | null = null;
  // Set the moment the budget ends, before the answer hands the outbox id out.
  let answeredEarly = false;
  const sending = context.inFlight.track(sendMessage(context.dispatcher, message, chain, { onRecorded: (id) => (outboxId = id), keepRecord: () => answeredEarly }));
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  // Counted once it ends, late or not: the duration histogram shows whole sends.
  sending.then(
    ({ result }) => context.metrics.recordResult(result.status, result.provider, result.attempts, seconds()),
    () => undefined,
  );
  let timer: NodeJS.Timeout | undefined;
  let stopWaiting = () => undefined as void;
  // The budget ends early when a shutdown's grace is over: the answer is then 202 like any late send.
  const budget = new Promise<undefined>((resolve) => {
    stopWaiting = () => {
      answeredEarly = true;
      resolve(undefined);
    };
    timer = setTimeout(stopWaiting, context.config.server.requestBudgetMs);
  });
  context.waitingRequests.add(stopWaiting);
  try {
    const report = await Promise.race([sending, budget]);
    if (report) return report.result;
  } finally {
    clearTimeout(timer);
    context.waitingRequests.delete(stopWaiting);
  }
  sending.catch(onLateFailure);
  if (outboxId !== null) context.handedOut.remember(outboxId, message.idempotencyKey);
  const budgetText = formatDuration(context.config.server.requestBudgetMs);
  return {
    status: 'queued',
    provider: null,
    messageId: null,
    attempts: [],
    outboxId,
    idempotencyKey: message.idempotencyKey,
    reason: context.shuttingDown
      ? 'the server is shutting down with this send under way: it stays in the outbox (ambiguous if the provider may have it)'
      : outboxId === null
        ? `another send of this message was still under way after server.requestBudget (${budgetText}); this one waits for it in the background`
        : `still sending after server.requestBudget (${budgetText}): the send goes on in the background and, if not delivered, the worker retries it`,
  };
}
