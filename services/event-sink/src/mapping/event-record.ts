import type { RecordContext } from '../../../shared/src/avro/record-context.js';

/** The cdp.events value as avsc decodes it (schemas/event.avsc). */
export interface EventRecord {
  messageId: string;
  sourceId: string | null;
  type: 'TRACK' | 'PAGE' | 'SCREEN';
  event: string | null;
  name: string | null;
  category: string | null;
  userId: string | null;
  anonymousId: string | null;
  timestamp: number;
  sentAt: number | null;
  receivedAt: number;
  propertiesJson: string;
  context: RecordContext;
}
