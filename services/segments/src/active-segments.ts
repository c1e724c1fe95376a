import type { Queryable } from '../../shared/src/pg/gateway.js';
import { predicateOf, type Predicate } from '../../shared/src/segments/definition.js';

export interface ActiveSegment {
  id: string;
  name: string;
  predicate: Predicate;
}

/**
 * The segments the incremental path keeps: active criteria segments whose definition compiled
 * without error and was evaluated in full once. Read in the batch's transaction, so a batch never
 * applies a version older than the last full evaluation. A segment edited a moment ago keeps its
 * previous definition until its re-evaluation, which takes the evaluation lock exclusively and
 * decides every member anew from then on: batches before it may still apply the old criteria, none
 * after. Predicates are cached by definition version.
 */
export class ActiveSegments {
  private readonly predicates = new Map<number, Predicate>();

  async load(tx: Queryable): Promise<ActiveSegment[]> {
    const { rows } = await tx.query<{ id: string; name: string; version: string; criteria: unknown }>(
      'active-segments',
      `SELECT d.segment_id AS id, s.name, d.version::text AS version,
              CASE WHEN d.version = ANY ($1::bigint[]) THEN NULL ELSE d.source -> 'criteria' END AS criteria
       FROM segment_definitions d
       JOIN segments s ON s.id = d.segment_id
       WHERE d.kind = 'criteria' AND d.error IS NULL AND d.evaluated_at IS NOT NULL
         AND s.is_active AND segment_kind(s) = 'criteria'
       ORDER BY d.segment_id`,
      [[...this.predicates.keys()]],
    );
    const live = new Set<number>();
    const segments: ActiveSegment[] = [];
    for (const row of rows) {
      const version = Number(row.version);
      live.add(version);
      let predicate = this.predicates.get(version);
      if (!predicate) {
        // Compiled without error when stored, by this same parser: a failure here is a new
        // parser refusing an old definition, and the next full evaluation records why.
        predicate = predicateOf(row.criteria);
        if (!predicate) continue;
        this.predicates.set(version, predicate);
      }
      segments.push({ id: row.id, name: row.name, predicate });
    }
    for (const version of this.predicates.keys()) if (!live.has(version)) this.predicates.delete(version);
    return segments;
  }
}
