import { createHash, randomBytes } from 'node:crypto';

/** A new write key: 32 URL-safe characters, 192 bits of randomness. Shown once, stored hashed. */
export function newWriteKey(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * SHA-256 is enough here (no slow KDF): write keys are long random strings, not guessable
 * passwords, and the collector hashes one on every request it has not cached.
 */
export function hashWriteKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The first characters, to recognise a key in a listing without revealing it. */
export function writeKeyHint(key: string): string {
  return key.slice(0, 6);
}
