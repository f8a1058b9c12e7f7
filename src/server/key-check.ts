import { hashApiKey, verifyApiKey } from '../app/api-keys.js';
import type { ApiKeyRecord, KeyRepository } from '../store/ports.js';

/**
 * How long a key found valid is trusted without asking the store again. A revoked key is
 * refused within this time (by every server on the store); a new key works at once (unknown keys
 * are not remembered).
 */
export const KEY_TRUST_MS = 1_000;
/** A key's lastUsedAt is written at most this often: a write per request would cost more than the check. */
export const LAST_USED_EVERY_MS = 60_000;

/**
 * Checks presented API keys for one server process (see verifyApiKey), asking the store at most
 * once per KEY_TRUST_MS per key, and keeps each key's lastUsedAt up to date within LAST_USED_EVERY_MS.
 */
export class ApiKeyCheck {
  /** Valid keys by the hash of the key (never the key itself), until when they are trusted. */
  private readonly trusted = new Map<string, { record: ApiKeyRecord; until: number }>();
  /** When this process last wrote each key's lastUsedAt (by key name). */
  private readonly usedNoted = new Map<string, number>();

  constructor(
    private readonly store: KeyRepository,
    private readonly options: { now?: () => number; onNoteFailure?: (error: unknown) => void } = {},
  ) {}

  /** The live key record a presented key belongs to, or undefined (unknown or revoked). */
  async check(presented: string): Promise<ApiKeyRecord | undefined> {
    const now = (this.options.now ?? Date.now)();
    const hash = hashApiKey(presented);
    let record = this.trusted.get(hash);
    if (!record || record.until <= now) {
      const found = await verifyApiKey(this.store, presented);
      if (!found) {
        this.trusted.delete(hash);
        return undefined;
      }
      record = { record: found, until: now + KEY_TRUST_MS };
      this.trusted.set(hash, record);
    }
    this.noteUse(record.record, now);
    return record.record;
  }

  /** Writes lastUsedAt when this process has not for a minute (nor the store, for the first request). */
  private noteUse(record: ApiKeyRecord, now: number): void {
    const last = this.usedNoted.get(record.name) ?? (record.lastUsedAt ? Date.parse(record.lastUsedAt) : 0);
    if (now - last < LAST_USED_EVERY_MS) return;
    this.usedNoted.set(record.name, now);
    // Not awaited: the request need not wait for a bookkeeping write.
    this.store.noteKeyUsed(record.name, now).catch((error: unknown) => this.options.onNoteFailure?.(error));
  }
}
