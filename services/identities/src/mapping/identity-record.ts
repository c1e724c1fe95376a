import type { RecordContext } from '../../../shared/src/avro/record-context.js';

/** The cdp.identities value as avsc decodes it (schemas/identity.avsc). */
export interface IdentityRecord {
  messageId: string;
  sourceId: string | null;
  type: 'IDENTIFY' | 'ALIAS' | 'GROUP';
  userId: string | null;
  anonymousId: string | null;
  previousId: string | null;
  groupId: string | null;
  timestamp: number;
  sentAt: number | null;
  receivedAt: number;
  traitsJson: string;
  context: RecordContext;
}
