import type { DeadLetter, DlqEntry, Position } from './envelope.js';
import { samePosition } from './envelope.js';

/** Which dead letters a command looks at; an empty filter takes every one. */
export interface Filter {
  /** Exactly this reason. */
  reason?: string;
  /** Dead-lettered at or after this time (epoch ms). */
  sinceMs?: number;
}

/** What `replay` replays: these positions, or every dead letter the filter takes (`--all`: none). */
export type Selection = { kind: 'positions'; positions: Position[] } | { kind: 'filter'; filter: Filter };

export function matches(letter: DeadLetter, filter: Filter): boolean {
  if (filter.reason !== undefined && letter.reason !== filter.reason) return false;
  if (filter.sinceMs !== undefined && letter.failedAt < filter.sinceMs) return false;
  return true;
}

export const isEmptyFilter = (filter: Filter): boolean =>
  filter.reason === undefined && filter.sinceMs === undefined;

/**
 * Whether `selection` takes `entry`. An envelope that cannot be read has no reason or time, so
 * only a position or an empty filter selects it.
 */
export function selects(selection: Selection, entry: DlqEntry): boolean {
  if (selection.kind === 'positions') return selection.positions.some((p) => samePosition(p, entry.position));
  return 'letter' in entry ? matches(entry.letter, selection.filter) : isEmptyFilter(selection.filter);
}
