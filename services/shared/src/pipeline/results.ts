/**
 * What a step returns instead of throwing: the value to pass on, or why the record goes to the
 * dead-letter topic. Only `ok` values reach the next step; the runner counts the rest by reason.
 */
export type Result<T> = { ok: true; value: T } | { ok: false; reason: string; errors: string[] };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const dlq = (reason: string, ...errors: string[]): Result<never> => ({ ok: false, reason, errors });

/** A record the processor has nothing to do with (an event another processor owns): skipped, counted. */
export type Step<T> = Result<T> | { ok: false; drop: true; reason: string };

export const drop = (reason: string): Step<never> => ({ ok: false, drop: true, reason });
