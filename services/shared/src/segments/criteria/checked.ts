/** The result of checking one value: the value, or why not (the caller adds where). */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

export const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
export const err = <T = never>(error: string): Checked<T> => ({ ok: false, error });
