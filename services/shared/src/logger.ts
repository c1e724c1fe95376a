import { destination, pino, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear: write keys, credentials, connection strings.
 * Event payloads are never passed to the logger in the first place.
 */
const REDACT = [
  'writeKey',
  '*.writeKey',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'databaseUrl',
  '*.databaseUrl',
];

/**
 * A JSON logger on stdout (services), or on stderr for a command-line tool whose stdout is its
 * output (written synchronously, so nothing is lost when the tool exits).
 */
export function createLogger(service: string, level: string, to: 'stdout' | 'stderr' = 'stdout'): Logger {
  const options = { name: service, level, redact: { paths: REDACT, censor: '[redacted]' } };
  return to === 'stderr' ? pino(options, destination({ fd: 2, sync: true })) : pino(options);
}

/** Strips user and password from a URL before it is shown anywhere. */
export function safeUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = url.username ? '***' : '';
    url.password = '';
    return url.toString();
  } catch {
    return '[unparseable url]';
  }
}
