let changed = false;

/**
 * Sets a V8 flag while the process runs (the bulk heap rules), and notes that it did: V8 stamps a
 * code cache with the flags it was made under, and refuses it in a process without them. So a run
 * that changed a flag must not write the CLI's code cache (bin/cli-bundle.js): the cache a bulk send
 * wrote was refused by every later `send`, which then compiled the whole command again (~40 ms).
 */
export function setV8FlagAtRunTime(flag: string): void {
  changed = true;
  // Loaded here, not at the top: the CLI's entry re-exports v8FlagsChangedAtRunTime (start-up, #21).
  process.getBuiltinModule('node:v8').setFlagsFromString(flag);
}

/** Whether this process changed a V8 flag since it started (exported by the CLI bundle for bin/cli-bundle.js). */
export function v8FlagsChangedAtRunTime(): boolean {
  return changed;
}
