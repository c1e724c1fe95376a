import { EMPTY_CONTEXT } from '../../shared/src/avro/record-context.js';
import type { IdentityRecord } from '../src/mapping/identity-record.js';

const emptyContext: IdentityRecord['context'] = EMPTY_CONTEXT;

/** A cdp.identities value as the collector writes it; an identify of u-1 a second ago by default. */
export function identityRecord(
  overrides: Partial<Omit<IdentityRecord, 'traitsJson'>> & { traits?: Record<string, unknown> } = {},
  context: Partial<IdentityRecord['context']> = {},
): IdentityRecord {
  const now = Date.now();
  const { traits, ...rest } = overrides;
  return {
    messageId: 'm-1',
    sourceId: null,
    type: 'IDENTIFY',
    userId: 'u-1',
    anonymousId: null,
    previousId: null,
    groupId: null,
    timestamp: now - 1000,
    sentAt: null,
    receivedAt: now,
    traitsJson: JSON.stringify(traits ?? {}),
    ...rest,
    context: { ...emptyContext, ...context },
  };
}
