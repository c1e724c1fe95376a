import { hashWriteKey } from '../../shared/src/sources/write-key.js';
import type { Source } from '../../shared/src/sources/store.js';

export type FindSource = (keyHash: string) => Promise<Source | undefined>;

interface Entry {
  source: Source | undefined;
  expiresAt: number;
}

/**
 * Write key -> source, cached for `ttlMs` (so a revocation is noticed within it) and keyed by the
 * key's hash, so no key is held in memory longer than a request. When PostgreSQL cannot answer,
 * an expired entry is still used: a database blip must not turn every request into a 401 or 503.
 */
export class SourceCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly find: FindSource,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async resolve(writeKey: string): Promise<Source | undefined> {
    const hash = hashWriteKey(writeKey);
    const cached = this.entries.get(hash);
    if (cached && cached.expiresAt > this.now()) return cached.source;
    let source: Source | undefined;
    try {
      source = await this.find(hash);
    } catch (err) {
      if (cached) return cached.source;
      throw err;
    }
    // Unknown keys are cached too (briefly) so a client with a wrong key cannot hammer the database;
    // the map is bounded so random keys cannot grow it without limit.
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(hash, {
      source,
      expiresAt: this.now() + (source ? this.ttlMs : Math.min(this.ttlMs, 5_000)),
    });
    return source;
  }
}

/**
 * The write key from HTTP Basic auth (the user part) or, for browsers, `writeKey` in the body, or
 * (only where the route allows it: RudderStack's beacon) the `writeKey` query parameter.
 */
export function writeKeyOf(
  authorization: string | undefined,
  body: unknown,
  query?: unknown,
): string | undefined {
  if (authorization && /^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const user = decoded.split(':')[0];
    if (user) return user;
  }
  const fromBody = (body as { writeKey?: unknown } | null)?.writeKey;
  if (typeof fromBody === 'string' && fromBody !== '') return fromBody;
  return typeof query === 'string' && query !== '' ? query : undefined;
}
