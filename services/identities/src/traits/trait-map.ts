/**
 * Last writer wins, per trait, by event time. Each trait remembers the version of the record that
 * set it (its corrected event time, then its messageId to break ties), and a record writes a trait
 * only when its version is greater. Applying records is then commutative and idempotent: any
 * arrival order, any replay, any split into batches gives the same map. A record that clears a
 * trait (null) is a write like any other, so an older record cannot bring the value back.
 */

/** When a trait was set: event time in epoch ms, then the messageId. Stored as a JSON pair. */
export type Version = readonly [time: number, messageId: string];

/**
 * The version of a value that is there without a recorded time (set before this processor
 * existed, or by another writer): older than anything a record carries, so any record replaces it.
 */
export const UNTIMED: Version = [0, ''];

export const isVersion = (v: unknown): v is Version =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string';

export function compareVersions(a: Version, b: Version): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

/** Traits by name; an absent value is no value (a NULL column, a missing key). */
export interface TraitMap {
  readonly values: ReadonlyMap<string, unknown>;
  readonly times: ReadonlyMap<string, Version>;
}

export const emptyTraitMap = (): TraitMap => ({ values: new Map(), times: new Map() });

/** What one record says: trait -> new value, or null to clear it. */
export type TraitUpdates = ReadonlyMap<string, unknown>;

function versionOf(map: TraitMap, key: string): Version | undefined {
  return map.times.get(key) ?? (map.values.has(key) ? UNTIMED : undefined);
}

/** `map` with the updates of one record of `version` applied where it is newer; `map` is not changed. */
export function applyTraits(map: TraitMap, updates: TraitUpdates, version: Version): TraitMap {
  const values = new Map(map.values);
  const times = new Map(map.times);
  for (const [key, value] of updates) write(values, times, key, value, version);
  return { values, times };
}

/**
 * `survivor` with every trait of `merged` that is newer, as if merged's records had been applied
 * to it: the profile two merged customers would have had as one. Commutative up to ties of
 * untimed values, where the survivor's stays.
 */
export function mergeTraitMaps(survivor: TraitMap, merged: TraitMap): TraitMap {
  const values = new Map(survivor.values);
  const times = new Map(survivor.times);
  const keys = new Set([...merged.values.keys(), ...merged.times.keys()]);
  for (const key of keys) {
    const version = versionOf(merged, key)!;
    write(values, times, key, merged.values.has(key) ? merged.values.get(key) : null, version);
  }
  return { values, times };
}

function write(
  values: Map<string, unknown>,
  times: Map<string, Version>,
  key: string,
  value: unknown,
  version: Version,
): void {
  const current = versionOf({ values, times }, key);
  if (current !== undefined && compareVersions(version, current) <= 0) return;
  if (value === null || value === undefined) values.delete(key);
  else values.set(key, value);
  if (compareVersions(version, UNTIMED) === 0) times.delete(key);
  else times.set(key, version);
}

/** Whether two maps hold the same values and versions (values compared as JSON). */
export function sameTraitMaps(a: TraitMap, b: TraitMap): boolean {
  if (a.values.size !== b.values.size || a.times.size !== b.times.size) return false;
  for (const [k, v] of a.values) {
    if (!b.values.has(k) || JSON.stringify(v) !== JSON.stringify(b.values.get(k))) return false;
  }
  for (const [k, v] of a.times) {
    const w = b.times.get(k);
    if (!w || compareVersions(v, w) !== 0) return false;
  }
  return true;
}
