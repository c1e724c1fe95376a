import type { EventRecord } from '../src/mapping/event-record.js';

const emptyContext: EventRecord['context'] = {
  ip: null,
  userAgent: null,
  locale: null,
  timezone: null,
  sessionId: null,
  page: null,
  campaign: null,
  device: null,
  os: null,
  screen: null,
  location: null,
  library: null,
  extraJson: null,
};

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
