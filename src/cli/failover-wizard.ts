/**
 * The answers of `failover configure`: from flags, from the wizard (prompts injected, so tests can
 * drive them), checked the same way either way. No I/O here.
 */
import { formatDuration, parseDuration } from '../core/duration.js';
import { UserError } from '../core/errors.js';
import { closestMatch } from '../core/suggest.js';
import type { FailoverChange } from '../config/edit.js';

export const MIN_ATTEMPTS = 1;
export const MAX_ATTEMPTS = 10;

export interface ProviderChoice {
  name: string;
  type: string;
}

/** The failover settings in effect now (file values, else the loader's defaults). */
export interface CurrentFailover {
  providers: ProviderChoice[];
  enabled: boolean;
  order: string[];
  retryAttempts: number;
  retryDelay: string;
  /** Each routing rule's `use:` chain, in file order (empty when the file has no rules). */
  ruleChains?: string[][];
}

export interface FailoverAnswers {
  enabled: boolean;
  order: string[];
  retryAttempts: number;
  retryDelay: string;
  /** Every routing rule's `use:` becomes `order` as well. */
  applyToRules: boolean;
}

/** Answers already given as flags; the wizard asks only for the rest. */
export interface PresetAnswers {
  enabled?: boolean;
  primary?: string;
  fallback?: string;
  final?: string;
  retryAttempts?: number;
  retryDelay?: string;
  applyToRules?: boolean;
}

/** The prompt functions the wizard needs: @inquirer/prompts in the CLI, anything alike in tests. */
export interface WizardPrompts {
  confirm(config: { message: string; default?: boolean }): Promise<boolean>;
  select(config: { message: string; choices: { name: string; value: string; description?: string }[]; default?: string }): Promise<string>;
  input(config: { message: string; default?: string; validate?: (value: string) => boolean | string }): Promise<string>;
}

const STOP = '';
const CHAIN_FLAGS = ['--primary', '--fallback', '--final'] as const;
const ROLES = ['primary', 'fallback', 'final fallback'];

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function readCurrentFailover(raw: unknown): CurrentFailover {
  const file = asRecord(raw);
  const providers = Object.entries(asRecord(file.providers)).map(([name, entry]) => {
    const type = asRecord(entry).type;
    return { name, type: typeof type === 'string' ? type : '?' };
  });
  const failover = asRecord(file.failover);
  const retry = asRecord(failover.retry);
  const delayMs = parseDuration(retry.delay as string | number) ?? parseDuration('30s')!;
  const rules = asRecord(file.routing).rules;
  return {
    providers,
    enabled: typeof failover.enabled === 'boolean' ? failover.enabled : true,
    order: Array.isArray(failover.order) ? failover.order.filter((name): name is string => typeof name === 'string') : providers.map((p) => p.name),
    retryAttempts: Number.isInteger(retry.attempts) ? (retry.attempts as number) : 3,
    retryDelay: formatDuration(delayMs),
    ruleChains: Array.isArray(rules) ? rules.map((rule) => stringList(asRecord(rule).use)) : [],
  };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** Whether applying `order` to the rules would change any of them. */
export function rulesDifferFrom(order: string[], current: CurrentFailover): boolean {
  return (current.ruleChains ?? []).some((chain) => chain.join('\n') !== order.join('\n'));
}

export function attemptsProblem(text: string): string | undefined {
  const value = Number(text.trim());
  if (/^\d+$/.test(text.trim()) && value >= MIN_ATTEMPTS && value <= MAX_ATTEMPTS) return undefined;
  return `must be a whole number from ${MIN_ATTEMPTS} to ${MAX_ATTEMPTS} (tries per provider, the first try included)`;
}

export function delayProblem(text: string): string | undefined {
  return parseDuration(text) === undefined ? 'not a duration (use e.g. 500ms, 30s, 2m, 1h)' : undefined;
}

function providerProblem(name: string, known: string[], earlier: string[]): string | undefined {
  if (!known.includes(name)) {
    const suggestion = closestMatch(name, known);
    return `unknown provider "${name}" (known: ${known.join(', ')})${suggestion ? ` — did you mean "${suggestion}"?` : ''}`;
  }
  const index = earlier.indexOf(name);
  if (index >= 0) return `"${name}" is already the ${ROLES[index]}; a provider can appear only once in the chain`;
  return undefined;
}

/** Reads and checks the answer flags; a bad value is a UserError naming its flag. */
export function presetFromFlags(options: Record<string, unknown>, current: CurrentFailover): PresetAnswers {
  if (options.enable && options.disable) throw new UserError('--enable and --disable cannot be used together');
  const preset: PresetAnswers = {};
  if (options.applyToRules) preset.applyToRules = true;
  if (options.enable) preset.enabled = true;
  if (options.disable) preset.enabled = false;
  const known = current.providers.map((p) => p.name);
  const chain: string[] = [];
  (['primary', 'fallback', 'final'] as const).forEach((key, i) => {
    const value = options[key];
    if (typeof value !== 'string') return;
    const problem = providerProblem(value, known, chain);
    if (problem) throw new UserError(`${CHAIN_FLAGS[i]}: ${problem}`, { hint: 'nothing was written' });
    chain.push(value);
    preset[key] = value;
  });
  if (options.retryAttempts !== undefined) {
    const text = String(options.retryAttempts);
    const problem = attemptsProblem(text);
    if (problem) throw new UserError(`--retry-attempts ${text}: ${problem}`, { hint: 'nothing was written' });
    preset.retryAttempts = Number(text);
  }
  if (options.retryDelay !== undefined) {
    const text = String(options.retryDelay);
    const problem = delayProblem(text);
    if (problem) throw new UserError(`--retry-delay ${text}: ${problem}`, { hint: 'nothing was written' });
    preset.retryDelay = formatDuration(parseDuration(text)!);
  }
  return preset;
}

/** A chain needs a fallback when failover is on and there is a second provider to fall back to. */
function needsFallback(enabled: boolean, current: CurrentFailover): boolean {
  return enabled && current.providers.length > 1;
}

/** The first flag a non-interactive run still needs, if any. */
export function firstMissingFlag(preset: PresetAnswers, current: CurrentFailover): string | undefined {
  if (Object.values(preset).every((value) => value === undefined)) return '--primary';
  if ((preset.fallback || preset.final) && !preset.primary) return '--primary';
  if (preset.final && !preset.fallback) return '--fallback';
  if (preset.primary && !preset.fallback && needsFallback(preset.enabled ?? current.enabled, current)) return '--fallback';
  return undefined;
}

/**
 * Every question has a flag answer, so there is nothing to ask (a missing --final means a shorter
 * chain, a missing --apply-to-rules leaves the rules alone).
 */
export function allAnswered(preset: PresetAnswers, current: CurrentFailover): boolean {
  return firstMissingFlag(preset, current) === undefined && preset.enabled !== undefined && preset.primary !== undefined && preset.retryAttempts !== undefined && preset.retryDelay !== undefined;
}

function presetChain(preset: PresetAnswers): string[] {
  return [preset.primary, preset.fallback, preset.final].filter((name): name is string => name !== undefined);
}

/** Non-interactive: flags over the current settings. The chain flags replace the whole order. */
export function answersFromFlags(preset: PresetAnswers, current: CurrentFailover): FailoverAnswers {
  const chain = presetChain(preset);
  return {
    enabled: preset.enabled ?? current.enabled,
    order: chain.length > 0 ? chain : current.order,
    retryAttempts: preset.retryAttempts ?? current.retryAttempts,
    retryDelay: preset.retryDelay ?? current.retryDelay,
    applyToRules: preset.applyToRules ?? false,
  };
}

function positionMessage(position: number): string {
  if (position === 0) return 'Primary provider';
  if (position === 1) return 'Fallback provider (tried when the primary fails)';
  if (position === 2) return 'Final fallback';
  return `Fallback #${position}`;
}

/** The wizard: asks every question the preset does not answer. */
export async function askFailoverAnswers(prompts: WizardPrompts, current: CurrentFailover, preset: PresetAnswers = {}): Promise<FailoverAnswers> {
  const enabled = preset.enabled ?? (await prompts.confirm({ message: 'Enable failover? (when a provider fails, try the next one in the chain)', default: current.enabled }));

  const order = presetChain(preset);
  const chainDecided = preset.primary !== undefined && (preset.fallback !== undefined || !needsFallback(enabled, current));
  while (!chainDecided && order.length < current.providers.length) {
    const position = order.length;
    const remaining = current.providers.filter((p) => !order.includes(p.name));
    const mayStop = position >= 2 || (position === 1 && !enabled);
    const choices = remaining.map((p) => ({ name: p.name === p.type ? p.name : `${p.name} (${p.type})`, value: p.name }));
    if (mayStop) choices.push({ name: 'no more — end the chain here', value: STOP });
    // Suggest the current chain; a chain as long as today's stays that long unless the user ends it.
    const suggested = current.order[position];
    const keepLength = position < current.order.length || !mayStop;
    const picked = await prompts.select({
      message: positionMessage(position),
      choices,
      default: remaining.some((p) => p.name === suggested) ? suggested : keepLength ? remaining[0].name : STOP,
    });
    if (picked === STOP) break;
    order.push(picked);
  }

  const retryAttempts =
    preset.retryAttempts ??
    Number(
      await prompts.input({
        message: `Tries per provider before moving on (${MIN_ATTEMPTS}–${MAX_ATTEMPTS})`,
        default: String(current.retryAttempts),
        validate: (value) => attemptsProblem(value) ?? true,
      }),
    );
  const retryDelay =
    preset.retryDelay ??
    formatDuration(
      parseDuration(
        await prompts.input({
          message: 'Delay between tries (e.g. 500ms, 30s, 2m)',
          default: current.retryDelay,
          validate: (value) => delayProblem(value) ?? true,
        }),
      )!,
    );
  return { enabled, order, retryAttempts, retryDelay, applyToRules: preset.applyToRules ?? false };
}

/**
 * Asked after a new chain when the file has routing rules that do not already use it: rules come
 * first, so without this the new order may govern few messages or none. No is the default: yes
 * replaces every rule's own chain, which the diff then shows before anything is written.
 */
export async function askApplyToRules(prompts: WizardPrompts, order: string[], ruleCount: number): Promise<boolean> {
  const rules = ruleCount === 1 ? 'the routing rule' : `all ${ruleCount} routing rules`;
  return prompts.confirm({
    message: `Use ${order.join(' → ')} for ${rules} too? (each rule's use: becomes this chain; its when: stays)`,
    default: false,
  });
}

/** Only what differs from the settings in effect, so an unchanged answer never touches the file. */
export function changeFrom(answers: FailoverAnswers, current: CurrentFailover): FailoverChange {
  const change: FailoverChange = {};
  if (answers.enabled !== current.enabled) change.enabled = answers.enabled;
  if (answers.order.join('\n') !== current.order.join('\n')) change.order = answers.order;
  if (answers.retryAttempts !== current.retryAttempts) change.retryAttempts = answers.retryAttempts;
  if (parseDuration(answers.retryDelay) !== parseDuration(current.retryDelay)) change.retryDelay = answers.retryDelay;
  if (answers.applyToRules && rulesDifferFrom(answers.order, current)) change.ruleChains = (current.ruleChains ?? []).map(() => answers.order);
  return change;
}

