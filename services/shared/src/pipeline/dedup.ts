import { createHash } from 'node:crypto';
import type { Tx } from '../pg/gateway.js';

export interface DedupKey {
  sourceKey: string;
  messageId: string;
}

/**
 * Drops items whose (source, messageId) was applied before within `scope`, or appears earlier in
 * this batch. The dedup rows are inserted in the caller's transaction, so they commit or vanish
 * with the work. Items without a key are never duplicates.
 */
export async function dropDuplicates<T>(
  tx: Tx,
  scope: string,
  items: readonly T[],
  keyOf: (item: T) => DedupKey | undefined,
): Promise<T[]> {
  if (items.length === 0) return [];
  const firstSeen = new Map<string, { item: T; key: DedupKey }>();
  const keyless = new Set<T>();
  for (const item of items) {
    const given = keyOf(item);
    if (!given) keyless.add(item);
    else {
      const key = fitted(given);
      const k = `${key.sourceKey}\u0000${key.messageId}`;
      if (!firstSeen.has(k)) firstSeen.set(k, { item, key });
    }
  }
  if (firstSeen.size === 0) return [...items];
  const candidates = [...firstSeen.values()];
  const { rows } = await tx.query<{ source_key: string; message_id: string }>(
    'dedup.insert',
    `INSERT INTO message_dedup (scope, source_key, message_id)
     SELECT $1, s, m FROM unnest($2::text[], $3::text[]) AS t(s, m)
     ON CONFLICT DO NOTHING RETURNING source_key, message_id`,
    [scope, candidates.map((c) => c.key.sourceKey), candidates.map((c) => c.key.messageId)],
  );
  const inserted = new Set(rows.map((r) => `${r.source_key}\u0000${r.message_id}`));
  const unique = new Set(
    candidates.filter((c) => inserted.has(`${c.key.sourceKey}\u0000${c.key.messageId}`)).map((c) => c.item),
  );
  // Keep offset order: `write` sees records as they were in the partition.
  return items.filter((item) => unique.has(item) || keyless.has(item));
}

// message_dedup's columns are VARCHAR(100) / VARCHAR(255); a longer id is stored as its digest,
// which is as unique and always the same for the same id.
const fit = (s: string, max: number): string =>
  s.length <= max ? s : `sha256:${createHash('sha256').update(s).digest('hex')}`;
const fitted = (k: DedupKey): DedupKey => ({
  sourceKey: fit(k.sourceKey, 100),
  messageId: fit(k.messageId, 255),
});
