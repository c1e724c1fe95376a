import type { Queryable } from '../pg/gateway.js';
import { hashWriteKey, newWriteKey, writeKeyHint } from './write-key.js';

export interface Source {
  id: string;
  name: string;
}

/** Creates a source and returns it with its write key; the key exists nowhere else afterwards. */
export async function createSource(db: Queryable, name: string): Promise<Source & { writeKey: string }> {
  const writeKey = newWriteKey();
  const { rows } = await db.query<{ id: string }>(
    'sources.create',
    'INSERT INTO sources (name, write_key_hash, write_key_hint) VALUES ($1, $2, $3) RETURNING id',
    [name, hashWriteKey(writeKey), writeKeyHint(writeKey)],
  );
  return { id: rows[0]!.id, name, writeKey };
}

/** Gives an existing source a new key (the old one stops working); creates the source if missing. */
export async function rotateSourceKey(db: Queryable, name: string): Promise<Source & { writeKey: string }> {
  const writeKey = newWriteKey();
  const { rows } = await db.query<{ id: string }>(
    'sources.rotate',
    `INSERT INTO sources (name, write_key_hash, write_key_hint) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET write_key_hash = EXCLUDED.write_key_hash,
       write_key_hint = EXCLUDED.write_key_hint, revoked_at = NULL
     RETURNING id`,
    [name, hashWriteKey(writeKey), writeKeyHint(writeKey)],
  );
  return { id: rows[0]!.id, name, writeKey };
}

export async function revokeSource(db: Queryable, name: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'sources.revoke',
    'UPDATE sources SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL',
    [name],
  );
  return (rowCount ?? 0) > 0;
}

/** The active source whose key hashes to `hash`, if any. */
export async function findSourceByKeyHash(db: Queryable, hash: string): Promise<Source | undefined> {
  const { rows } = await db.query<{ id: string; name: string }>(
    'sources.find-by-hash',
    'SELECT id, name FROM sources WHERE write_key_hash = $1 AND revoked_at IS NULL',
    [hash],
  );
  return rows[0];
}
