import type { IHeaders, Message } from '../../../shared/src/kafka/client.js';
import { REPLAY_FOR_HEADER } from '../../../shared/src/pipeline/dead-letter.js';
import type { DeadLetter } from './envelope.js';

/** Marks a replayed record with the dead letter it came from: `<dlq topic>:<offset>`. */
export const REPLAYED_FROM_HEADER = 'cdp-replayed-from';

/**
 * The record a replay produces: the original key, headers and payload bytes unchanged, on the
 * original partition while the topic still has it (else the key decides), plus the
 * cdp-replayed-from header and cdp-replay-for (the processor that dead-lettered it: the topic's
 * other consumers skip it). A record replayed, dead-lettered again and replayed again carries only
 * the latest of each.
 */
export function replayMessage(letter: DeadLetter, from: string, partitionsNow: number): Message {
  const headers: IHeaders = {};
  for (const { key, value } of letter.headers) {
    if (key === REPLAYED_FROM_HEADER || key === REPLAY_FOR_HEADER) continue;
    // A header without a value stays one: kafkajs writes undefined as a null value.
    const v = (value ?? undefined) as Buffer;
    const had = headers[key];
    headers[key] =
      had === undefined && !(key in headers) ? v : [...(Array.isArray(had) ? had : [had as Buffer]), v];
  }
  headers[REPLAYED_FROM_HEADER] = Buffer.from(from, 'utf8');
  headers[REPLAY_FOR_HEADER] = Buffer.from(letter.service, 'utf8');
  return {
    key: letter.key,
    value: letter.payload,
    headers,
    ...(letter.partition >= 0 && letter.partition < partitionsNow ? { partition: letter.partition } : {}),
  };
}
