/** `--since`: an ISO 8601 time or a duration back from now. */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `90s`, `15m`, `1h30m`, `2d`, `1w` in milliseconds; undefined when it is not such a duration. */
export function parseDuration(raw: string): number | undefined {
  const text = raw.trim();
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(n) * UNIT_MS[unit!]!;
  return Number.isSafeInteger(total) && total > 0 ? total : undefined;
}

/**
 * The epoch ms `raw` means: a duration back from `now` (`1h`), or an ISO 8601 date or time
 * (`2026-11-20`, `2026-11-20T10:00:00Z`, `2026-11-20T11:00+01:00`; without a zone, UTC).
 * Throws an Error saying what is accepted.
 */
export function parseSince(raw: string, now: number): number {
  const duration = parseDuration(raw);
  if (duration !== undefined) return now - duration;
  const text = raw.trim();
  const iso =
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(text);
  if (iso) {
    const [, date, time, zone] = iso;
    const [y, mo, d] = date!.split('-').map(Number) as [number, number, number];
    const day = new Date(Date.UTC(y, mo - 1, d));
    const realDay = day.getUTCMonth() === mo - 1 && day.getUTCDate() === d; // not 2026-02-30
    const ms = Date.parse(time === undefined ? `${date}T00:00:00Z` : `${date}T${time}${zone ?? 'Z'}`);
    if (realDay && Number.isFinite(ms)) return ms;
  }
  throw new Error(
    `--since ${JSON.stringify(raw)} is neither a duration (90s, 15m, 1h30m, 2d) nor an ISO 8601 time (2026-11-20T10:00:00Z)`,
  );
}
