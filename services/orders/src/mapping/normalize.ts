/**
 * Values of one record made storable, field by field, by the column table (fields.ts): the text
 * rule (NUL and lone surrogates become U+FFFD), text cut to its VARCHAR(n) and counted, money
 * rounded to cents and checked against its column, times checked like event times, JSON checked for
 * depth. A value that cannot be stored at all makes the whole record a dead letter.
 */
import { dlq, ok, type Result } from '../../../shared/src/pipeline/results.js';
import { checkTime, type TimeLimits } from '../../../shared/src/time/occurred-at.js';
import {
  jsonTooDeepAt,
  MAX_JSON_DEPTH,
  storableJson,
  storableString,
} from '../../../shared/src/text/storable.js';
import { codePointLength, truncateCodePoints } from '../../../shared/src/text/code-points.js';
import { ORDER_FIELDS, isOrderStatus, MONEY_10_2, type FieldName, type FieldValue } from './fields.js';
import { roundMoney } from '../../../shared/src/records/money.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Collects what one record's values needed: cuts (for the metric) and the first impossible value. */
export class Normalizer {
  readonly truncated: string[] = [];
  private error: { reason: string; message: string } | null = null;

  constructor(
    private readonly limits: TimeLimits,
    private readonly receivedAt: number,
  ) {}

  /** The first impossible value seen, as a dead letter; or ok. */
  result<T>(value: T): Result<T> {
    return this.error ? dlq(this.error.reason, this.error.message) : ok(value);
  }

  /** The noted failure as a dead letter; only after one was noted. */
  failed(): Result<never> {
    return dlq(this.error?.reason ?? 'mapping-failed', this.error?.message ?? 'no failure noted');
  }

  fail(reason: string, message: string): void {
    this.error ??= { reason, message };
  }

  /** Storable text cut to `length` characters (null: no limit); a cut is noted under `column`. */
  text(column: string, raw: string, length: number | null): string {
    const s = storableString(raw);
    if (length === null) return s;
    const out = truncateCodePoints(s, length);
    if (out !== s) this.truncated.push(column);
    return out;
  }

  money(column: string, raw: number, max: number): number | undefined {
    if (!Number.isFinite(raw)) {
      this.fail('impossible-value', `${column} is not a finite number`);
      return undefined;
    }
    // Checked before rounding too: toCents' decimal-text shift only holds below 1e21, and past
    // that a value would come back NaN (and `NaN > max` is false).
    const v = Math.abs(raw) > max + 0.005 ? Number.POSITIVE_INFINITY : roundMoney(raw);
    if (!(Math.abs(v) <= max)) {
      this.fail('impossible-value', `${column} ${raw} does not fit DECIMAL(${max > MONEY_10_2 ? 12 : 10},2)`);
      return undefined;
    }
    return v;
  }

  /** An explicit time of the order (ordered_at, shipped_at, ...): plausible like an event time. */
  time(column: string, raw: number): number | undefined {
    const check = checkTime(raw, this.receivedAt, this.limits);
    if (!check.ok) {
      this.fail(check.reason, `${column}: ${check.error.replace(/^occurred_at /, '')}`);
      return undefined;
    }
    return raw;
  }

  /** A JSON object: not nested too deep, every string storable. */
  json(column: string, value: unknown): Record<string, unknown> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail('schema-invalid', `${column} is not a JSON object`);
      return undefined;
    }
    const deepAt = jsonTooDeepAt(value);
    if (deepAt !== null) {
      this.fail('too-deep', `${column} nests deeper than ${MAX_JSON_DEPTH} levels at ${deepAt}`);
      return undefined;
    }
    return storableJson(value as Record<string, unknown>);
  }

  jsonText(column: string, text: string): Record<string, unknown> | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.fail('schema-invalid', `${column} is not JSON`);
      return undefined;
    }
    return this.json(column, parsed);
  }

  /**
   * One order field from the record's raw value. undefined: not given (or impossible, noted).
   * An empty string clears a text field (null), where a missing one leaves it unchanged.
   */
  field(name: FieldName, raw: unknown): FieldValue | undefined {
    if (raw === null || raw === undefined) return undefined;
    const spec = ORDER_FIELDS[name];
    switch (spec.kind) {
      case 'status':
        return isOrderStatus(raw) ? raw : undefined;
      case 'text':
        if (typeof raw !== 'string') return undefined;
        if (raw === '') return null;
        // ISO 4217 codes are upper case; the collector upper-cases them too.
        return this.text(name, name === 'currency' ? raw.toUpperCase() : raw, spec.length);
      case 'code': {
        if (typeof raw !== 'string') return undefined;
        if (raw === '') return null;
        // Kept whole; the row's column gets it cut (orderColumns), counted here like any cut.
        const s = storableString(raw);
        if (codePointLength(s) > spec.length) this.truncated.push(name);
        return s;
      }
      case 'money':
        return typeof raw === 'number' ? this.money(name, raw, spec.max) : undefined;
      case 'time':
        return typeof raw === 'number' ? this.time(name, raw) : undefined;
      case 'bool':
        return typeof raw === 'boolean' ? raw : undefined;
      case 'uuid':
        if (typeof raw !== 'string') return undefined;
        if (raw === '') return null;
        if (!UUID.test(raw)) {
          this.fail('impossible-value', `${name} is not a UUID`);
          return undefined;
        }
        return raw.toLowerCase();
      case 'json':
        return this.json(name, raw);
    }
  }
}
