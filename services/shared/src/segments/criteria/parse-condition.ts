/**
 * One leaf condition: its field, operator and value checked against the field's kind. Each check
 * returns an error message for the caller to place at a path; nothing here throws.
 */
import type { AttributeKind, Condition, Field, Operator, Scalar } from './ast.js';
import { err, ok, type Checked } from './checked.js';
import { parseDuration } from './durations.js';
import { ATTRIBUTE_PREFIX, COLUMNS, type ColumnName } from './fields.js';
import { isoFromMicros, parseIsoInstant } from './instants.js';
import { LIMITS } from './limits.js';
import { OPERATOR_NAMES, OPERATORS_BY_KIND, canonicalOperator, type FieldKind } from './operators.js';
import { checkString, foldAscii, quote, typeName } from './text.js';

/** A condition's parts as written; `hasValue` tells an absent value from a null one. */
export interface RawCondition {
  field: unknown;
  operator: unknown;
  value: unknown;
  hasValue: boolean;
  type: unknown;
}

/** A failure names the part it is about (`field`, `operator`, `value`, `type`). */
export type ConditionResult = { ok: true; condition: Condition } | { ok: false; part: string; error: string };

const fail = (part: string, error: string): ConditionResult => ({ ok: false, part, error });

export function parseCondition(raw: RawCondition): ConditionResult {
  const fieldName = raw.field;
  if (fieldName === undefined) return fail('field', 'missing');
  if (typeof fieldName !== 'string')
    return fail('field', `expected a field name, got ${typeName(fieldName)}`);
  const op = parseOperator(raw.operator);
  if (!op.ok) return fail('operator', op.error);
  if (raw.type !== undefined && typeof raw.type !== 'string') {
    return fail('type', `expected "string", "number" or "boolean", got ${typeName(raw.type)}`);
  }

  let field: Field;
  if (fieldName.startsWith(ATTRIBUTE_PREFIX)) {
    const key = checkString(fieldName.slice(ATTRIBUTE_PREFIX.length), LIMITS.keyLength);
    if (!key.ok) return fail('field', `custom attribute key: ${key.error}`);
    if (key.value === '') return fail('field', 'custom attribute key is empty');
    const declared = parseAttributeType(raw.type);
    if (!declared.ok) return fail('type', declared.error);
    const kind = attributeKind(op.value, declared.value, raw.value);
    if (!kind.ok) return fail('type', kind.error);
    field = { source: 'attribute', key: key.value, kind: kind.value };
  } else {
    const column = COLUMNS.get(fieldName);
    if (!column) {
      return fail(
        'field',
        `unknown field ${quote(fieldName)} (a customers column or custom_attributes.<key>)`,
      );
    }
    // `type` is accepted on columns and ignored: the column's own type decides.
    field = { source: 'column', column: column.name as ColumnName, kind: column.kind };
  }
  return conditionFor(field, op.value, raw);
}

function parseOperator(v: unknown): Checked<Operator> {
  const known = `one of ${OPERATOR_NAMES.join(', ')}`;
  if (v === undefined) return err(`missing (${known})`);
  if (typeof v !== 'string') return err(`expected an operator (${known}), got ${typeName(v)}`);
  const op = canonicalOperator(v);
  return op ? ok(op) : err(`unknown operator ${quote(v)} (${known})`);
}

function parseAttributeType(v: string | undefined): Checked<AttributeKind | undefined> {
  if (v === undefined) return ok(undefined);
  const t = v.trim().toLowerCase();
  if (t === 'string') return ok('text');
  if (t === 'number' || t === 'boolean') return ok(t);
  return err(`unknown type ${quote(v)} for a custom attribute (one of string, number, boolean)`);
}

/** A custom attribute's kind: its declared type, else the JSON type of its value. */
function attributeKind(
  op: Operator,
  declared: AttributeKind | undefined,
  value: unknown,
): Checked<AttributeKind> {
  if (declared) return ok(declared);
  if (op === 'is_null' || op === 'is_not_null') return ok('any');
  if (op === 'contains' || op === 'starts_with' || op === 'ends_with') return ok('text');
  if (op === 'within_last' || op === 'not_within_last') {
    return err(`custom attributes hold strings, numbers or booleans; ${op} needs a timestamp column`);
  }
  // A list takes its first element's type; the value check then holds every element to it.
  const sample: unknown = Array.isArray(value) ? value[0] : value;
  if (typeof sample === 'string') return ok('text');
  if (typeof sample === 'number') return ok('number');
  if (typeof sample === 'boolean') return ok('boolean');
  return err(
    `cannot tell the attribute's type from ${typeName(value)}: give "type" (string, number or boolean)`,
  );
}

function conditionFor(field: Field, op: Operator, raw: RawCondition): ConditionResult {
  // `any` (an attribute without a type) only ever comes with is_null / is_not_null.
  if (field.kind !== 'any') {
    const allowed = OPERATORS_BY_KIND[field.kind];
    if (!allowed.includes(op)) {
      const why =
        (field.kind === 'text' || field.kind === 'uuid') && ['>', '>=', '<', '<=', 'between'].includes(op)
          ? '; text has no ordering operators, as PostgreSQL orders text by collation, which JS cannot match'
          : '';
      return fail(
        'operator',
        `${quote(op)} is not supported for ${describeField(field)} (one of ${allowed.join(', ')})${why}`,
      );
    }
  }
  const v = raw.value;
  const kind = field.kind as FieldKind;
  switch (op) {
    case 'is_null':
    case 'is_not_null':
      if (raw.hasValue && v !== null) return fail('value', `${op} takes no value, got ${typeName(v)}`);
      return { ok: true, condition: { field, op } };
    case '=':
    case '!=':
    case '>':
    case '>=':
    case '<':
    case '<=': {
      const value = scalar(kind, v, raw.hasValue);
      return value.ok
        ? { ok: true, condition: { field, op, value: value.value } }
        : fail('value', value.error);
    }
    case 'between': {
      if (!Array.isArray(v) || v.length !== 2)
        return fail('value', `between takes [low, high], got ${typeName(v)}`);
      const low = scalar(kind, v[0], true);
      if (!low.ok) return fail('value[0]', low.error);
      const high = scalar(kind, v[1], true);
      if (!high.ok) return fail('value[1]', high.error);
      if (low.value > high.value) return fail('value', 'between: low is greater than high');
      return { ok: true, condition: { field, op, low: low.value, high: high.value } };
    }
    case 'in':
    case 'not_in': {
      if (!Array.isArray(v) || v.length === 0)
        return fail('value', `${op} takes a non-empty array, got ${typeName(v)}`);
      if (v.length > LIMITS.listLength) return fail('value', `more than ${LIMITS.listLength} elements`);
      const values: Scalar[] = [];
      for (let i = 0; i < v.length; i++) {
        const e = scalar(kind === 'text_array' ? 'text' : kind, v[i], true);
        if (!e.ok) return fail(`value[${i}]`, e.error);
        values.push(e.value);
      }
      return { ok: true, condition: { field, op, values } };
    }
    case 'contains':
    case 'starts_with':
    case 'ends_with': {
      const needle = checkString(v, LIMITS.stringLength);
      return needle.ok
        ? { ok: true, condition: { field, op, value: needle.value } }
        : fail('value', needle.error);
    }
    case 'within_last':
    case 'not_within_last': {
      const seconds = parseDuration(v);
      return seconds.ok
        ? { ok: true, condition: { field, op, seconds: seconds.value } }
        : fail('value', seconds.error);
    }
  }
}

/** One value of the field's kind; timestamps and dates become canonical ISO strings. */
function scalar(kind: FieldKind, v: unknown, present: boolean): Checked<Scalar> {
  if (!present) return err('missing: this operator needs a value');
  const hint = v === null ? ' (use is_null / is_not_null for missing values)' : '';
  switch (kind) {
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v))
        return err(`expected a finite JSON number, got ${typeName(v)}${hint}`);
      return ok(v === 0 ? 0 : v); // -0 is 0, as in SQL
    case 'boolean':
      return typeof v === 'boolean' ? ok(v) : err(`expected true or false, got ${typeName(v)}${hint}`);
    case 'timestamp':
    case 'date': {
      if (typeof v !== 'string')
        return err(`expected an ISO 8601 date or datetime string, got ${typeName(v)}${hint}`);
      const micros = parseIsoInstant(v);
      return micros.ok ? ok(isoFromMicros(micros.value)) : err(`${quote(v)}: ${micros.error}`);
    }
    case 'uuid': {
      // c.id::text is always lower case, so upper-case hex in a value is folded to match it.
      const s = checkString(v, LIMITS.stringLength);
      return s.ok ? ok(foldAscii(s.value)) : err(s.error + hint);
    }
    case 'text':
    case 'text_array':
    case 'json': {
      const s = checkString(v, LIMITS.stringLength);
      return s.ok ? s : err(s.error + hint);
    }
  }
}

function describeField(f: Field): string {
  return f.source === 'column' ? `${f.kind} field ${f.column}` : `${f.kind} custom attribute ${quote(f.key)}`;
}
