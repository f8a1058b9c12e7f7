import path from 'node:path';
import type { Command } from 'commander';
import { applyFailoverChange, checkEditedConfig, diffLines, parseConfigText, renderDiff } from '../../config/edit.js';
import { failoverOrderUsage, onlyFirstTried, orderIsShadowed, routingLines, rulesFromRaw, summariseRouting, type RoutingSummary } from '../../config/effective-routes.js';
import { emptyConfigError } from '../../config/load.js';
import { findEditableConfig, writeFileAtomic } from '../../config/write.js';
import { ExitCode, isSystemErrorCode, UserError } from '../../core/errors.js';
import {
  allAnswered,
  answersFromFlags,
  askApplyToRules,
  askFailoverAnswers,
  changeFrom,
  firstMissingFlag,
  presetFromFlags,
  readCurrentFailover,
  rulesDifferFrom,
  type FailoverAnswers,
  type WizardPrompts,
} from '../failover-wizard.js';
import type { Rule } from '../../core/router.js';
import type { Output } from '../output.js';
import { suggestCommand } from '../suggest-command.js';
import { stdout } from '../stdio.js';

function isPromptExit(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError');
}

async function loadPrompts(): Promise<WizardPrompts> {
  const { confirm, select, input } = await import('@inquirer/prompts');
  return { confirm, select, input } as WizardPrompts;
}

function describe(answers: FailoverAnswers, ruleCount: number): string {
  const chain = answers.order.join(' → ');
  const retry = `${answers.retryAttempts} ${answers.retryAttempts === 1 ? 'try' : 'tries'} per provider, ${answers.retryDelay} apart`;
  const rules = answers.applyToRules ? '; the routing rules use this chain too' : '';
  return answers.enabled ? `failover on: ${chain}; ${retry}${rules}` : `failover off: ${onlyFirstTried(answers.order, ruleCount > 0 && !answers.applyToRules)}; ${retry}${rules}`;
}

/** Where each kind of message goes: routing rules come before failover.order and may shadow it. */
function showRouting(output: Output, summary: RoutingSummary, ruleCount: number): void {
  const { c } = output;
  output.line(`${ruleCount} routing rule${ruleCount === 1 ? ' is' : 's are'} checked before failover.order; with these answers each message gets:`);
  for (const line of routingLines(summary, { chain: c.accent, dim: c.dim })) output.line(`  ${line}`);
  const usage = failoverOrderUsage(summary);
  output.line(`  ${orderIsShadowed(summary) ? c.warn(usage) : c.dim(usage)}`);
}

function withRuleChains(rules: Rule[], answers: FailoverAnswers): Rule[] {
  return answers.applyToRules ? rules.map((rule) => ({ ...rule, use: [...answers.order] })) : rules;
}

export async function run(options: Record<string, unknown>, output: Output, _command?: Command, _args?: string[]): Promise<number> {
  const target = await findEditableConfig({ configPath: options.config as string | undefined });
  const shownPath = path.relative(process.cwd(), target.filePath) || target.filePath;
  const raw = await parseConfigText(target.text, target.filePath);
  if (target.exists && (raw === null || raw === undefined)) throw emptyConfigError(target.filePath);
  const current = readCurrentFailover(raw);
  if (current.providers.length === 0) {
    throw new UserError(`no providers are configured in ${shownPath}`, { hint: 'add at least one under providers: (see penguinmails.config.example.yaml), then run this again' });
  }
  const preset = presetFromFlags(options, current);
  const canPrompt = Boolean(process.stdin.isTTY && stdout.isTTY) && !output.json;
  if (!target.exists) output.line(`No config file found: ${target.filePath} will be created from penguinmails.config.example.yaml.`);

  let prompts: WizardPrompts | undefined;
  try {
    let answers: FailoverAnswers;
    if (canPrompt && !allAnswered(preset, current)) {
      prompts = await loadPrompts();
      output.line(output.c.dim(`Failover settings in ${shownPath} (Ctrl-C to cancel; nothing is written until you confirm)`));
      answers = await askFailoverAnswers(prompts, current, preset);
    } else {
      const missing = firstMissingFlag(preset, current);
      if (missing) {
        throw new UserError(`missing ${missing}: ${canPrompt ? 'give it' : 'there is no terminal to ask on, so give the answers'} as flags`, {
          hint: `e.g. ${suggestCommand('failover configure --primary postmark --fallback mailgun --final smtp --retry-attempts 3 --retry-delay 30s --yes', options)}`,
        });
      }
      answers = answersFromFlags(preset, current);
    }

    // Rules the schema refuses are reported with the other problems below; there is nothing to analyse then.
    const rules = rulesFromRaw(raw) ?? [];
    let routingShown = false;
    const orderChanged = answers.order.join('\n') !== current.order.join('\n');
    if (prompts && rules.length > 0 && preset.applyToRules === undefined && orderChanged && rulesDifferFrom(answers.order, current)) {
      const before = summariseRouting(rules, answers.order, answers.enabled);
      showRouting(output, before, rules.length);
      routingShown = true;
      answers.applyToRules = await askApplyToRules(prompts, answers.order, rules.length);
    }
    const routing = summariseRouting(withRuleChains(rules, answers), answers.order, answers.enabled);
    if (rules.length > 0) {
      if (!routingShown) showRouting(output, routing, rules.length);
      // Said when the user changed the order: that is when it matters that the change reaches no message.
      if (orderChanged && orderIsShadowed(routing)) {
        const remedy = prompts ? 'routing.rules are left as they are' : 'add --apply-to-rules to use it for the rules too, or edit routing.rules';
        output.warn(`failover.order (${answers.order.join(' → ')}) is used by no message: the routing rules give every message its chain; ${remedy}`);
      }
    }

    // A provider the chain had and no longer has is no fallback any more: said, not done silently.
    const dropped = current.order.filter((name) => !answers.order.includes(name));
    if (target.exists && dropped.length > 0) {
      output.warn(`${dropped.join(', ')} ${dropped.length === 1 ? 'is' : 'are'} no longer in failover.order${answers.applyToRules ? ' or the routing rules' : ''}: give --final ${dropped[0]} (or list it) to keep ${dropped.length === 1 ? 'it' : 'them'} as a fallback`);
    }
    const edit = await applyFailoverChange(target.text, changeFrom(answers, current), target.filePath);
    const { preexisting } = await checkEditedConfig(target.text, edit.text, { filePath: target.filePath, baseDir: path.dirname(target.filePath) });
    for (const problem of preexisting) output.warn(`${shownPath} already has a problem this command leaves alone: ${problem}`);
    const summary = {
      config: target.filePath,
      created: !target.exists,
      changed: edit.changedKeys,
      failover: answers,
      routes: routing.routes,
      failoverOrderUsedFor: routing.failoverOrderUsedFor,
    };

    if (target.exists && edit.changedKeys.length === 0) {
      output.line(`Nothing to change: ${shownPath} already has ${describe(answers, rules.length)}.`);
      if (output.json) output.emitJson({ status: 'unchanged', ...summary, diff: '' });
      return ExitCode.ok;
    }
    const diff = renderDiff(diffLines(target.text, edit.text), {
      context: 2,
      paint: (kind, line) => (kind === '+' ? output.c.ok(line) : kind === '-' ? output.c.bad(line) : line),
    });
    output.line(output.c.bold(`--- ${target.exists ? shownPath : 'penguinmails.config.example.yaml'}`));
    output.line(output.c.bold(`+++ ${shownPath}${target.exists ? ' (new)' : ' (new file)'}`));
    for (const line of diff) output.line(line);
    if (edit.reformatted) output.warn('this file layout needed a full rewrite by the YAML library: comments are kept, spacing may change');

    if (!options.yes) {
      if (!canPrompt) {
        output.error(`not written: ${shownPath} is unchanged`, 'without a terminal to confirm on, pass --yes to write the change shown above');
        if (output.json) output.emitJson({ status: 'not-written', exitCode: ExitCode.usage, ...summary, diff: diff.join('\n'), hint: 'pass --yes to write' });
        return ExitCode.usage;
      }
      prompts ??= await loadPrompts();
      if (!(await prompts.confirm({ message: `Write these changes to ${shownPath}?`, default: true }))) {
        output.line(`Not written; ${shownPath} is unchanged.`);
        return ExitCode.ok;
      }
    }

    await writeFileAtomic(target.filePath, edit.text).catch((error: NodeJS.ErrnoException) => {
      if (!isSystemErrorCode(error.code)) throw error;
      throw new UserError(`cannot write ${target.filePath} (${error.code}): ${target.exists ? 'it is unchanged' : 'it was not created'}`, { hint: 'run where you may write that file, or point --config at one you may' });
    });
    output.line(`${target.exists ? 'Updated' : 'Created'} ${target.filePath}: ${describe(answers, rules.length)}.`);
    if (!target.exists) output.line(output.c.dim('Fill in the provider settings; ${VAR} values are read from the environment.'));
    if (output.json) output.emitJson({ status: 'written', ...summary, diff: diff.join('\n') });
    return ExitCode.ok;
  } catch (error) {
    if (isPromptExit(error)) {
      output.error(`cancelled: ${shownPath} ${target.exists ? 'is unchanged' : 'was not created'}`);
      return ExitCode.interrupted;
    }
    throw error;
  }
}
