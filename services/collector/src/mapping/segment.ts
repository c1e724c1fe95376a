import { Topics } from '../../../shared/src/topics.js';
import {
  asId,
  asObject,
  asString,
  customerKey,
  messageIdFor,
  timesFor,
  type Json,
  type RequestMeta,
} from './common.js';
import { mapContext } from './context.js';

/** A record ready to encode: its topic, its key, and the Avro value as a plain object. */
export interface Outgoing {
  topic: string;
  key: string | null;
  value: Json;
}

const EVENT_TYPES = { track: 'TRACK', page: 'PAGE', screen: 'SCREEN' } as const;
const IDENTITY_TYPES = { identify: 'IDENTIFY', alias: 'ALIAS', group: 'GROUP' } as const;

/**
 * One Segment message (already validated) to the record it becomes on cdp.events or
 * cdp.identities. The values are written as plain literals in schema order, not assembled
 * with spreads: spreading into a 16-field object made V8 build slow dictionary-mode objects,
 * which cost ~20 µs per event here and in the Avro encoder after it.
 */
export function mapSegmentMessage(type: string, m: Json, meta: RequestMeta): Outgoing {
  const { timestamp, sentAt, receivedAt } = timesFor(m, meta);
  const messageId = messageIdFor(m, meta.sourceId);
  const userId = asId(m.userId);
  const anonymousId = asId(m.anonymousId);

  if (type === 'track' || type === 'page' || type === 'screen') {
    const properties = asObject(m.properties) ?? {};
    const isTrack = type === 'track';
    return {
      topic: Topics.events,
      key: customerKey(m),
      value: {
        messageId,
        sourceId: meta.sourceId,
        type: EVENT_TYPES[type],
        event: isTrack ? asString(m.event) : null,
        name: isTrack ? null : (asString(m.name) ?? asString(properties.name)),
        category: isTrack ? null : (asString(m.category) ?? asString(properties.category)),
        userId,
        anonymousId,
        timestamp,
        sentAt,
        receivedAt,
        propertiesJson: JSON.stringify(properties),
        context: mapContext(m.context, meta, isTrack ? null : properties),
      },
    };
  }
  if (type === 'identify' || type === 'alias' || type === 'group') {
    return {
      topic: Topics.identities,
      key: customerKey(m),
      value: {
        messageId,
        sourceId: meta.sourceId,
        type: IDENTITY_TYPES[type],
        userId,
        anonymousId,
        previousId: asId(m.previousId),
        groupId: asId(m.groupId),
        timestamp,
        sentAt,
        receivedAt,
        traitsJson: JSON.stringify(asObject(m.traits) ?? asObject(asObject(m.context)?.traits) ?? {}),
        context: mapContext(m.context, meta, null),
      },
    };
  }
  throw new Error(`not a Segment message type: ${type}`);
}
