/**
 * segments.criteria JSON to the validated Criteria, or the first error with its path. Two shapes:
 * the documented `{conditions, nested_conditions, logic}` (nested to LIMITS.depth levels) and the
 * legacy flat object `{"<field>": value | [values], "custom_attributes": {"<key>": ...}}`, an AND of
 * `=` (scalar) and `in` (array) conditions. Unknown keys are errors, so a typo cannot widen a
 * segment silently.
 *
 * Inside, a failure is thrown as an Invalid and caught once at the top: the walk is a recursive
 * descent and every level would otherwise unwrap results by hand. Anything else thrown (a hostile
 * getter or Proxy in the input) is caught there too; parseCriteria itself never throws.
 */
import type { Condition, Criteria, Group, Logic, ParseResult } from './ast.js';
import { ATTRIBUTE_PREFIX } from './fields.js';
import { LIMITS } from './limits.js';
import { parseCondition, type RawCondition } from './parse-condition.js';
import { quote, typeName } from './text.js';

class Invalid extends Error {}

interface Budget {
  conditions: number;
  groups: number;
}

const GROUP_KEYS = ['conditions', 'nested_conditions', 'logic'];
// `description` and `name` are notes for people, accepted and ignored.
const CONDITION_KEYS = ['field', 'operator', 'value', 'type', 'description', 'name'];

export function parseCriteria(input: unknown): ParseResult {
  try {
    const budget: Budget = { conditions: 0, groups: 0 };
    const top = plainObject(input, '');
    const legacy = !GROUP_KEYS.some((k) => Object.hasOwn(top, k));
    const group = legacy ? parseLegacy(top, budget) : parseGroup(top, '', 1, budget);
    return { ok: true, criteria: group as Criteria };
  } catch (e) {
    return { ok: false, error: failure(e) };
  }
}

function parseGroup(obj: Record<string, unknown>, path: string, depth: number, budget: Budget): Group {
  onlyKeys(obj, GROUP_KEYS, path);
  const logic = parseLogic(own(obj, 'logic'), join(path, 'logic'));
  const rawConditions = optionalArray(obj, 'conditions', path);
  const rawNested = optionalArray(obj, 'nested_conditions', path);

  // Sizes are checked before anything is walked, so a huge or deep input costs no more than a small one.
  budget.conditions += rawConditions.length;
  if (budget.conditions > LIMITS.conditions) {
    throw new Invalid(`${where(join(path, 'conditions'))}: more than ${LIMITS.conditions} conditions in all`);
  }
  if (rawNested.length > 0 && depth >= LIMITS.depth) {
    throw new Invalid(`${where(join(path, 'nested_conditions'))}: nested deeper than ${LIMITS.depth} levels`);
  }
  budget.groups += rawNested.length;
  if (budget.groups > LIMITS.groups) {
    throw new Invalid(
      `${where(join(path, 'nested_conditions'))}: more than ${LIMITS.groups} nested groups in all`,
    );
  }

  // Index loops, not map: map skips the holes of a sparse array.
  const conditions: Condition[] = [];
  for (let i = 0; i < rawConditions.length; i++) {
    const at = join(path, `conditions[${i}]`);
    const c = plainObject(rawConditions[i], at);
    onlyKeys(c, CONDITION_KEYS, at);
    const raw: RawCondition = {
      field: own(c, 'field'),
      operator: own(c, 'operator'),
      value: own(c, 'value'),
      hasValue: Object.hasOwn(c, 'value'),
      type: own(c, 'type'),
    };
    conditions.push(leaf(raw, at, false));
  }
  const groups: Group[] = [];
  for (let i = 0; i < rawNested.length; i++) {
    const at = join(path, `nested_conditions[${i}]`);
    groups.push(parseGroup(plainObject(rawNested[i], at), at, depth + 1, budget));
  }
  return { logic, conditions, groups };
}

function parseLegacy(obj: Record<string, unknown>, budget: Budget): Group {
  const conditions: Condition[] = [];
  const add = (field: string, value: unknown, path: string) => {
    if (++budget.conditions > LIMITS.conditions) {
      throw new Invalid(`${where(path)}: more than ${LIMITS.conditions} conditions in all`);
    }
    const operator = Array.isArray(value) ? 'in' : '=';
    conditions.push(leaf({ field, operator, value, hasValue: true, type: undefined }, path, true));
  };
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (key === 'custom_attributes' && isPlainObject(value)) {
      for (const attr of Object.keys(value)) {
        add(ATTRIBUTE_PREFIX + attr, value[attr], join('custom_attributes', keySegment(attr)));
      }
    } else {
      add(key, value, keySegment(key));
    }
  }
  return { logic: 'AND', conditions, groups: [] };
}

function leaf(raw: RawCondition, path: string, legacy: boolean): Condition {
  const r = parseCondition(raw);
  if (r.ok) return r.condition;
  // A legacy condition is one key, with no field / operator / value keys to point at.
  const part = legacy ? r.part.replace(/^[a-z]+/, '') : r.part;
  throw new Invalid(`${where(join(path, part))}: ${r.error}`);
}

function parseLogic(v: unknown, path: string): Logic {
  if (v === undefined) return 'AND';
  const logic = typeof v === 'string' ? v.trim().toUpperCase() : undefined;
  if (logic === 'AND' || logic === 'OR') return logic;
  throw new Invalid(`${where(path)}: expected "AND" or "OR", got ${typeName(v)}`);
}

function optionalArray(obj: Record<string, unknown>, key: string, path: string): unknown[] {
  const v = own(obj, key);
  if (v === undefined) return [];
  if (!Array.isArray(v))
    throw new Invalid(`${where(join(path, key))}: expected an array, got ${typeName(v)}`);
  return v;
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new Invalid(`${where(path)}: unknown key ${quote(key)} (one of ${allowed.join(', ')})`);
    }
  }
}

/** Own keys only, from here on: an object whose prototype is not Object's (or none) is refused. */
function plainObject(v: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(v)) throw new Invalid(`${where(path)}: expected a JSON object, got ${typeName(v)}`);
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const own = (obj: Record<string, unknown>, key: string): unknown =>
  Object.hasOwn(obj, key) ? obj[key] : undefined;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const keySegment = (key: string): string => (IDENTIFIER.test(key) ? key : `[${quote(key)}]`);
const join = (path: string, part: string): string =>
  path === '' || part === '' ? path + part : part.startsWith('[') ? path + part : `${path}.${part}`;
const where = (path: string): string => (path === '' ? 'criteria' : path);

/** The message of what was thrown; even instanceof can throw, on a hostile Proxy. */
function failure(e: unknown): string {
  try {
    if (e instanceof Invalid) return e.message;
    return `criteria could not be read (${quote(e instanceof Error ? e.message : String(e))})`;
  } catch {
    return 'criteria could not be read';
  }
}
