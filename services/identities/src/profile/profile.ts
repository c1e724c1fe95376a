import { CUSTOM_PREFIX, PROFILE_COLUMNS, type ProfileColumn } from '../traits/customer-traits.js';
import { isVersion, type TraitMap, type Version } from '../traits/trait-map.js';
import { define, isObject } from './json-object.js';
import type { IdentityType } from '../db/identities.js';
import type { CustomerRow, WritableColumn } from '../db/customers.js';
import { canonicalJson } from '../../../shared/src/text/canonical-json.js';

/**
 * A customer's traits as one flat TraitMap: the profile columns by name and custom_attributes
 * keys as `custom_attributes.<key>`, each with its time from customers.trait_times.
 */
export function profileOf(row: CustomerRow): TraitMap {
  const values = new Map<string, unknown>();
  for (const column of PROFILE_COLUMNS) {
    const v = row[column];
    if (v !== null && v !== undefined) values.set(column, v);
  }
  const custom = row.custom_attributes;
  if (isObject(custom)) {
    for (const [k, v] of Object.entries(custom)) if (v !== null) values.set(CUSTOM_PREFIX + k, v);
  }
  const times = new Map<string, Version>();
  if (isObject(row.trait_times)) {
    for (const [k, v] of Object.entries(row.trait_times)) if (isVersion(v)) times.set(k, v);
  }
  return { values, times };
}

/** The columns that hold `profile`, in the shape updateCustomer takes. */
export function profileColumns(
  profile: TraitMap,
): Record<ProfileColumn | 'custom_attributes' | 'trait_times', unknown> {
  const out = {} as Record<ProfileColumn | 'custom_attributes' | 'trait_times', unknown>;
  for (const column of PROFILE_COLUMNS) out[column] = profile.values.get(column) ?? null;
  const custom: Record<string, unknown> = {};
  for (const [k, v] of profile.values) {
    if (k.startsWith(CUSTOM_PREFIX)) define(custom, k.slice(CUSTOM_PREFIX.length), v);
  }
  out.custom_attributes = custom;
  const times: Record<string, Version> = {};
  for (const [k, v] of profile.times) define(times, k, v);
  out.trait_times = times;
  return out;
}

/** external_ids with the identity keys replaced by what customer_identities holds now. */
export function externalIdsWith(current: unknown, ids: Record<IdentityType, string[]> | undefined): unknown {
  const out: Record<string, unknown> = {};
  if (isObject(current)) for (const [k, v] of Object.entries(current)) define(out, k, v);
  for (const type of ['user_id', 'anonymous_id', 'alias'] as const) {
    const list = ids?.[type] ?? [];
    if (list.length > 0) out[type] = list;
    else delete out[type];
  }
  return out;
}

/** The columns of `next` whose value differs from `row`'s (compared as canonical JSON). */
export function changedColumns(
  row: CustomerRow,
  next: Partial<Record<WritableColumn, unknown>>,
): Partial<Record<WritableColumn, unknown>> {
  const out: Partial<Record<WritableColumn, unknown>> = {};
  for (const [column, value] of Object.entries(next) as [WritableColumn, unknown][]) {
    if (canonicalJson(row[column] ?? null) !== canonicalJson(value ?? null)) out[column] = value;
  }
  return out;
}
