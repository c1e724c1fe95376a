import { pino, type Logger } from 'pino';

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

export function createLogger(service: string, level: string): Logger {
  return pino({ name: service, level, redact: { paths: REDACT, censor: '[redacted]' } });
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
