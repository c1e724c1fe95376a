/**
 * What a segment row means for evaluation, decided in one place for the processor, the
 * `segments check` command and the tests: its criteria compiled (or the reason they cannot be),
 * an sql_query to run as the read-only role, or a static segment nobody evaluates.
 */
import { compilePredicate, compileSql, parseCriteria, type CustomerJson } from './criteria/index.js';

export type SegmentKind = 'static' | 'sql_query' | 'criteria';

/** What of a `segments` row decides its members (segment_source() in 0022). */
export interface SegmentSource {
  /** segment_kind() in 0022: decided in SQL only, so every reader agrees. */
  kind: SegmentKind;
  criteria: unknown;
  sql_query: string | null;
  query_parameters: unknown;
  is_active: boolean | null;
}

export type Definition =
  | { kind: 'static' }
  | { kind: 'sql_query' }
  | { kind: 'criteria'; error: string }
  | { kind: 'criteria'; error: null; whereSql: string; params: unknown[]; timeRelative: boolean };

export function defineSegment(s: Pick<SegmentSource, 'kind' | 'criteria'>): Definition {
  if (s.kind !== 'criteria') return { kind: s.kind };
  const parsed = parseCriteria(s.criteria);
  if (!parsed.ok) return { kind: 'criteria', error: parsed.error };
  const sql = compileSql(parsed.criteria);
  return {
    kind: 'criteria',
    error: null,
    whereSql: sql.where,
    params: sql.params,
    timeRelative: sql.timeRelative,
  };
}

export type Predicate = (row: CustomerJson, atMs: number) => boolean;

/** The in-memory twin of a definition's SQL, from the same parse; undefined when it has none. */
export function predicateOf(criteria: unknown): Predicate | undefined {
  const parsed = parseCriteria(criteria);
  return parsed.ok ? compilePredicate(parsed.criteria) : undefined;
}
