import type { Command } from 'commander';
import { ExitCode } from '../../core/errors.js';
import { loadStoreSettings } from '../store-option.js';
import { openStoreAt } from '../context.js';
import type { Output } from '../output.js';

/**
 * `store migrate`: brings the store's schema up to date and says what it did. Every process
 * migrates on open anyway; this is for deploy pipelines that migrate once, before starting servers.
 */
export async function run(options: Record<string, unknown>, output: Output, _command: Command): Promise<number> {
  const settings = await loadStoreSettings(options, options.store);
  const store = await openStoreAt(settings);
  try {
    const { version, applied } = store.schema;
    if (output.json) {
      output.emitJson({ status: 'ok', store: settings.kind, location: settings.label, version, applied });
      return ExitCode.ok;
    }
    if (applied.length === 0) output.line(`${settings.label}: schema up to date (version ${version})`);
    else for (const migration of applied) output.line(`${settings.label}: applied migration ${migration.version} (${migration.name})`);
    return ExitCode.ok;
  } finally {
    await store.close();
  }
}
