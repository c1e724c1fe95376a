import { EMPTY_CONTEXT } from '../../shared/src/avro/record-context.js';
import type { EventRecord } from '../src/mapping/event-record.js';

const emptyContext: EventRecord['context'] = EMPTY_CONTEXT;

export function eventRecord(
  overrides: Partial<EventRecord> = {},
  context: Partial<EventRecord['context']> = {},
): EventRecord {
  const now = Date.now();
  return {
    messageId: 'm-1',
    sourceId: null,
    type: 'TRACK',
    event: 'Product Viewed',
    name: null,
    category: null,
    userId: 'u-1',
    anonymousId: null,
    timestamp: now - 1000,
    sentAt: null,
    receivedAt: now,
    propertiesJson: '{}',
    ...overrides,
    context: { ...emptyContext, ...context },
  };
}
