/**
 * The idempotency key of one recipient's copy of a bulk message: "<message key>/<row digest>".
 * The digest (24 hex digits) never holds a slash; a message key given by the user may.
 */
export function bulkRecipientKey(messageKey: string, digest: string): string {
  return `${messageKey}/${digest}`;
}

/** The two parts of a bulk recipient key; undefined for a key that is not one. */
export function splitBulkRecipientKey(key: string): { messageKey: string; digest: string } | undefined {
  const slash = key.lastIndexOf('/');
  if (slash <= 0) return undefined;
  return { messageKey: key.slice(0, slash), digest: key.slice(slash + 1) };
}
