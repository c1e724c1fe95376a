/**
 * The validated form of segment criteria. Only parseCriteria builds it (the brand says so), and it
 * holds plain JSON data: values are already of their field's kind, timestamps are canonical ISO
 * strings (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), durations are seconds.
 */
import type { ColumnKind, ColumnName } from './fields.js';

export type Logic = 'AND' | 'OR';

/** A custom attribute's kind: from the condition's `type`, else its value; `any` only for is_null. */
export type AttributeKind = 'text' | 'number' | 'boolean' | 'any';

export type Field =
  | { readonly source: 'column'; readonly column: ColumnName; readonly kind: ColumnKind }
  | { readonly source: 'attribute'; readonly key: string; readonly kind: AttributeKind };

export type Scalar = string | number | boolean;

export type NullOp = 'is_null' | 'is_not_null';
export type CompareOp = '=' | '!=' | '>' | '>=' | '<' | '<=';
export type SetOp = 'in' | 'not_in';
export type TextOp = 'contains' | 'starts_with' | 'ends_with';
export type RecencyOp = 'within_last' | 'not_within_last';
export type Operator = NullOp | CompareOp | SetOp | TextOp | RecencyOp | 'between';

export type Condition =
  | { readonly field: Field; readonly op: NullOp }
  | { readonly field: Field; readonly op: CompareOp; readonly value: Scalar }
  | { readonly field: Field; readonly op: 'between'; readonly low: Scalar; readonly high: Scalar }
  | { readonly field: Field; readonly op: SetOp; readonly values: readonly Scalar[] }
  | { readonly field: Field; readonly op: TextOp; readonly value: string }
  | { readonly field: Field; readonly op: RecencyOp; readonly seconds: number };

export interface Group {
  readonly logic: Logic;
  readonly conditions: readonly Condition[];
  readonly groups: readonly Group[];
}

declare const validated: unique symbol;
export type Criteria = Group & { readonly [validated]: true };

export type ParseResult = { ok: true; criteria: Criteria } | { ok: false; error: string };

/** Whether the criteria's result depends on the evaluation time (within_last, not_within_last). */
export function isTimeRelative(c: Criteria): boolean {
  const pending: Group[] = [c];
  for (let g = pending.pop(); g; g = pending.pop()) {
    if (g.conditions.some((leaf) => leaf.op === 'within_last' || leaf.op === 'not_within_last')) return true;
    pending.push(...g.groups);
  }
  return false;
}
