/** Operator spellings, and which operators each kind of field takes. */
import type { AttributeKind, Operator } from './ast.js';
import type { ColumnKind } from './fields.js';

export type FieldKind = ColumnKind | Exclude<AttributeKind, 'any'>;

const ALIASES: ReadonlyMap<string, Operator> = new Map<string, Operator>([
  ['=', '='],
  ['==', '='],
  ['eq', '='],
  ['equals', '='],
  ['!=', '!='],
  ['<>', '!='],
  ['neq', '!='],
  ['not_equals', '!='],
  ['>', '>'],
  ['gt', '>'],
  ['>=', '>='],
  ['gte', '>='],
  ['<', '<'],
  ['lt', '<'],
  ['<=', '<='],
  ['lte', '<='],
  ['between', 'between'],
  ['in', 'in'],
  ['not_in', 'not_in'],
  ['not in', 'not_in'],
  ['contains', 'contains'],
  ['starts_with', 'starts_with'],
  ['ends_with', 'ends_with'],
  ['is_null', 'is_null'],
  ['is null', 'is_null'],
  ['is_not_null', 'is_not_null'],
  ['is not null', 'is_not_null'],
  ['within_last', 'within_last'],
  ['not_within_last', 'not_within_last'],
]);

export const OPERATOR_NAMES: readonly Operator[] = [...new Set(ALIASES.values())];

/** The canonical operator for a spelling (case-insensitive, trimmed), or undefined. */
export function canonicalOperator(spelling: string): Operator | undefined {
  return ALIASES.get(spelling.trim().toLowerCase());
}

// Text has no ordering operators: PostgreSQL orders by collation, which JS cannot reproduce.
const TEXT: readonly Operator[] = [
  '=',
  '!=',
  'in',
  'not_in',
  'contains',
  'starts_with',
  'ends_with',
  'is_null',
  'is_not_null',
];
const INSTANT: readonly Operator[] = [
  '=',
  '!=',
  '>',
  '>=',
  '<',
  '<=',
  'between',
  'is_null',
  'is_not_null',
  'within_last',
  'not_within_last',
];

export const OPERATORS_BY_KIND: Readonly<Record<FieldKind, readonly Operator[]>> = {
  text: TEXT,
  uuid: TEXT,
  number: ['=', '!=', '>', '>=', '<', '<=', 'between', 'in', 'not_in', 'is_null', 'is_not_null'],
  timestamp: INSTANT,
  date: INSTANT,
  boolean: ['=', '!=', 'is_null', 'is_not_null'],
  text_array: ['contains', 'in', 'not_in', 'is_null', 'is_not_null'],
  json: ['is_null', 'is_not_null'],
};
