import pg from 'pg';
import type { Logger } from '../logger.js';
import { backoffMs, sleep } from '../retry.js';

export interface Listener {
  stop(): Promise<void>;
}

/**
 * LISTENs on `channels` on a session of its own (a pooled one would be handed back), reconnecting
 * with backoff when it drops. `onNotify` is also called after each (re)connect, since what was
 * notified while the session was down is lost: the caller re-reads the state it tracks.
 */
export function listen(opts: {
  connectionString: string;
  applicationName: string;
  channels: readonly string[];
  onNotify: (channel: string, payload: string) => void;
  logger: Logger;
}): Listener {
  let client: pg.Client | undefined;
  let stopping = false;
  let closed: (() => void) | undefined;

  const session = async (): Promise<void> => {
    const c = new pg.Client({
      connectionString: opts.connectionString,
      application_name: opts.applicationName,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    const ended = new Promise<void>((resolve) => {
      closed = resolve;
      c.on('error', (err) => {
        opts.logger.warn({ err: { message: err.message } }, 'listen session failed');
        resolve();
      });
      c.on('end', () => resolve());
    });
    c.on('notification', (n) => opts.onNotify(n.channel, n.payload ?? ''));
    try {
      await c.connect();
      client = c;
      for (const channel of opts.channels) await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      opts.onNotify('', '');
      await ended;
    } finally {
      client = undefined;
      await c.end().catch(() => {});
    }
  };

  const loop = (async () => {
    for (let attempt = 0; !stopping; attempt++) {
      const started = Date.now();
      try {
        await session();
      } catch (err) {
        if (!stopping)
          opts.logger.warn({ err: { message: (err as Error).message } }, 'listen connect failed');
      }
      if (Date.now() - started > 30_000) attempt = 0;
      if (!stopping) await sleep(backoffMs(attempt));
    }
  })();

  return {
    async stop() {
      stopping = true;
      closed?.();
      await client?.end().catch(() => {});
      await loop;
    },
  };
}
