import { truncateCodePoints } from '../../../shared/src/text/code-points.js';
import { isoDate, parseBirthday } from './birthday.js';
import type { TraitUpdates } from './trait-map.js';
import { define } from '../profile/json-object.js';

/**
 * identify traits -> the customer's columns and custom_attributes, as flat trait names: a column
 * name, or `custom_attributes.<key>`. Values are already storable (the decode applied the text
 * rule); what is longer than its VARCHAR(n) is cut by characters and named in `truncated`; what
 * cannot be the column's value (a birthday that is no date, an object for an email) is left out
 * and named in `ignored`. Neither stops the record.
 */

/** The VARCHAR(n) of each text column identify fills (0002_customers_orders.sql). */
export const COLUMN_LIMITS = {
  email: 255,
  phone: 20,
  name: 255,
  gender: 20,
  country: 50,
  state: 50,
  city: 100,
  postal_code: 20,
  timezone: 50,
} as const;

export { PROFILE_COLUMNS, type ProfileColumn } from '../../../shared/src/customers/profile-columns.js';

export const CUSTOM_PREFIX = 'custom_attributes.';

/** Traits that fill a column and so are not repeated in custom_attributes. */
const COLUMN_TRAITS = new Set(['email', 'phone', 'name', 'birthday', 'gender', 'address', 'timezone']);

/** address keys -> columns; the keys with no column stay in custom_attributes.address. */
const ADDRESS_COLUMNS: Readonly<Record<string, 'country' | 'state' | 'city' | 'postal_code'>> = {
  country: 'country',
  state: 'state',
  city: 'city',
  postalCode: 'postal_code',
  postal_code: 'postal_code',
};

export interface MappedTraits {
  updates: TraitUpdates;
  truncated: string[];
  ignored: string[];
}

export interface TraitContext {
  /** The record's corrected event time: a birthday after it is no birthday. */
  eventTime: number;
  /** context.timezone, which SDKs fill by themselves: the timezone when the traits carry none. */
  contextTimezone: string | null;
}

export function customerTraitUpdates(traits: Record<string, unknown>, ctx: TraitContext): MappedTraits {
  const updates = new Map<string, unknown>();
  const truncated: string[] = [];
  const ignored: string[] = [];
  const has = (k: string) => Object.prototype.hasOwnProperty.call(traits, k);

  /** A text column: null or blank clears it; a string or number sets it; anything else is ignored. */
  const text = (column: keyof typeof COLUMN_LIMITS, value: unknown): void => {
    const s = textOf(value);
    if (s === undefined) {
      ignored.push(column);
      return;
    }
    if (s === null) {
      updates.set(column, null);
      return;
    }
    const cut = truncateCodePoints(s, COLUMN_LIMITS[column]);
    if (cut !== s) truncated.push(column);
    updates.set(column, cut);
  };

  if (has('email')) text('email', traits.email);
  if (has('phone')) text('phone', traits.phone);
  if (has('gender')) text('gender', traits.gender);

  if (has('name')) text('name', traits.name);
  else {
    // Segment's spec: name is derived from firstName and lastName when it is not given.
    const parts = [traits.firstName ?? traits.first_name, traits.lastName ?? traits.last_name]
      .map((p) => textOf(p))
      .filter((p): p is string => typeof p === 'string');
    if (parts.length > 0) text('name', parts.join(' '));
  }

  // age_group is not set here: the customer metrics derive it from date_of_birth as time passes
  // (an `age` trait stays a custom attribute).
  if (has('birthday')) {
    if (traits.birthday === null || textOf(traits.birthday) === null) {
      updates.set('date_of_birth', null);
    } else {
      const birth = parseBirthday(traits.birthday, ctx.eventTime);
      if (birth === null) ignored.push('date_of_birth');
      else updates.set('date_of_birth', isoDate(birth));
    }
  }

  if (has('address')) address(traits.address, text, updates);

  const timezone = has('timezone') ? traits.timezone : ctx.contextTimezone;
  if (has('timezone') || ctx.contextTimezone !== null) {
    const s = textOf(timezone);
    if (typeof s === 'string' && !isTimeZone(s)) ignored.push('timezone');
    else text('timezone', timezone);
  }

  for (const key of Object.keys(traits)) {
    if (!COLUMN_TRAITS.has(key)) updates.set(CUSTOM_PREFIX + key, traits[key]);
  }
  return { updates, truncated, ignored };
}

function address(
  value: unknown,
  text: (column: 'country' | 'state' | 'city' | 'postal_code', v: unknown) => void,
  updates: Map<string, unknown>,
): void {
  if (value === null) {
    for (const column of ['country', 'state', 'city', 'postal_code'] as const) updates.set(column, null);
    updates.set(`${CUSTOM_PREFIX}address`, null);
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    // An address as one line of text: nothing to split into columns, kept as given.
    updates.set(`${CUSTOM_PREFIX}address`, value);
    return;
  }
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const column = ADDRESS_COLUMNS[k];
    if (column) text(column, v);
    else define(rest, k, v);
  }
  // street and whatever else has no column; the columns' parts are not repeated here.
  if (Object.keys(rest).length > 0) updates.set(`${CUSTOM_PREFIX}address`, rest);
}

/** A trait as column text: null for none (null, blank), undefined for what cannot be text. */
function textOf(value: unknown): string | null | undefined {
  if (value === null) return null;
  if (typeof value === 'string') {
    const s = value.trim();
    return s === '' ? null : s;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

const knownZones = new Map<string, boolean>();

/** Whether `tz` is an IANA zone name (what AT TIME ZONE takes); answers are cached. */
export function isTimeZone(tz: string): boolean {
  let known = knownZones.get(tz);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      known = true;
    } catch {
      known = false;
    }
    if (knownZones.size < 10_000) knownZones.set(tz, known);
  }
  return known;
}
