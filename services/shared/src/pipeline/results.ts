/**
 * What a step returns instead of throwing: the value to pass on, or why the record goes to the
 * dead-letter topic. Only `ok` values reach the next step; the runner counts the rest by reason.
 */
export type Result<T> = { ok: true; value: T } | { ok: false; reason: string; errors: string[] };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const dlq = (reason: string, ...errors: string[]): Result<never> => ({ ok: false, reason, errors });
