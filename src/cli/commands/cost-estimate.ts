import type { Command } from 'commander';
import type { MessageType } from '../../core/message.js';
import { ExitCode, UserError } from '../../core/errors.js';
import { commonNotes, estimateCostReport, pricesShown, resolveMix, type Volumes } from '../../app/cost-report.js';
import { estimateJson, formatEstimate, formatSweep, sweepJson, type CostFormat } from '../../cost/format.js';
import type { ProviderPricing } from '../../cost/pricing.js';
import { buildCostSetup, strategiesShown, type CostSetup, type Mix, type StrategyName } from '../../cost/model.js';
import { parseSweep, sweep } from '../../cost/sweep.js';
import { loadCommandConfig } from '../context.js';
import type { Output } from '../output.js';
import { parseCount } from '../read-input.js';
import { stdout } from '../stdio.js';

const MAX_VOLUME = 1_000_000_000_000;

/** The sweep keeps the mix's proportions at every volume. */
function mixAtVolume(base: Mix | undefined, defaultType: MessageType): (volume: number) => Mix {
  const total = base ? base.transactional + base.marketing : 0;
  return (volume) => {
    if (!base || total === 0) return defaultType === 'marketing' ? { transactional: 0, marketing: volume } : { transactional: volume, marketing: 0 };
    const transactional = Number((BigInt(volume) * BigInt(base.transactional)) / BigInt(total));
    return { transactional, marketing: volume - transactional };
  };
}

/**
 * With --sweep the volumes come from the range; the other flags only give the mix's proportions,
 * so a count without what it is a part of cannot be read.
 */
function checkSweepMix(given: Volumes, output: Output): void {
  const parts = [given.transactional, given.marketing].filter((part) => part !== undefined).length;
  if (given.volume === undefined && parts === 1) {
    const flag = given.transactional !== undefined ? '--transactional' : '--marketing';
    throw new UserError(`with --sweep, ${flag} alone does not say what share of each volume it is`, {
      hint: 'give both --transactional and --marketing (e.g. 5 and 95 for 5%), or --volume with one of them',
    });
  }
  if (given.volume !== undefined && parts === 0) output.warn('--volume has no effect with --sweep unless --transactional or --marketing is given too: the volumes come from the range');
}

export async function run(options: Record<string, unknown>, output: Output, command?: Command, _args?: string[]): Promise<number> {
  const given: Volumes = {
    volume: parseCount(options.volume, '--volume', { max: MAX_VOLUME }),
    transactional: parseCount(options.transactional, '--transactional', { max: MAX_VOLUME }),
    marketing: parseCount(options.marketing, '--marketing', { max: MAX_VOLUME }),
  };
  const range = typeof options.sweep === 'string' ? parseSweep(options.sweep) : undefined;
  if (options.json && command?.getOptionValueSource('format') === 'cli' && options.format !== 'json') {
    throw new UserError(`--json and --format ${String(options.format)} ask for two outputs`, { hint: 'give one: --json (one JSON document) or --format table|json|csv|markdown' });
  }
  const format: CostFormat = options.json ? 'json' : ((options.format as CostFormat | undefined) ?? 'table');
  const strategyOption = (options.strategy as string | undefined) ?? 'all';
  const shown: readonly StrategyName[] = strategiesShown(strategyOption);

  const config = await loadCommandConfig(options, { requireEnv: false, optional: true });
  const defaultType = config.defaults.type;
  const setup = buildCostSetup(config);
  const noMix = given.volume === undefined && (given.transactional === undefined || given.marketing === undefined);
  if (range) checkSweepMix(given, output);
  const mix = range && noMix ? undefined : resolveMix(given, defaultType);

  if (range) {
    const result = sweep(setup, range, mixAtVolume(mix, defaultType), shown);
    const used = (s: StrategyName) => result.points.flatMap((p) => p.totals.filter((t) => t.strategy === s).flatMap((t) => t.providers));
    const prices = pricesShown(setup, shown, used);
    const context = { prices, notes: sweepNotes(setup, shown, prices) };
    if (format === 'json') output.emitJson(sweepJson(result, context));
    else output.line(formatSweep(result, context, format));
    return ExitCode.ok;
  }

  const { result, costs, context } = estimateCostReport(setup, mix!, shown, { chart: format === 'table' && stdout.isTTY });
  if (format === 'json') {
    output.emitJson(estimateJson(result, context));
    for (const cost of costs) for (const problem of cost.problems) output.warn(`${cost.label} is not possible: ${problem}`);
  } else {
    output.line(formatEstimate(result, context, format));
  }
  return ExitCode.ok;
}

function sweepNotes(setup: CostSetup, shown: readonly StrategyName[], prices: readonly ProviderPricing[]): string[] {
  return [...commonNotes(setup, prices), ...(shown.includes('hybrid') ? ['each volume keeps the transactional/marketing proportions given'] : [])];
}
