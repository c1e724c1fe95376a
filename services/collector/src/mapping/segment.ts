import { Topics } from '../../../shared/src/topics.js';
import {
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

/** One Segment message (already validated) to the record it becomes on cdp.events or cdp.identities. */
export function mapSegmentMessage(type: string, m: Json, meta: RequestMeta): Outgoing {
  const head = {
    messageId: messageIdFor(m, meta.sourceId),
    sourceId: meta.sourceId,
  };
  const people = { userId: asString(m.userId), anonymousId: asString(m.anonymousId) };
  const times = timesFor(m, meta);

  if (type === 'track' || type === 'page' || type === 'screen') {
    const properties = asObject(m.properties) ?? {};
    return {
      topic: Topics.events,
      key: customerKey(m),
      value: {
        ...head,
        type: EVENT_TYPES[type],
        event: type === 'track' ? asString(m.event) : null,
        name: type === 'track' ? null : (asString(m.name) ?? asString(properties.name)),
        category: type === 'track' ? null : (asString(m.category) ?? asString(properties.category)),
        ...people,
        ...times,
        propertiesJson: JSON.stringify(properties),
        context: mapContext(m.context, meta, type === 'track' ? null : properties),
      },
    };
  }
  if (type === 'identify' || type === 'alias' || type === 'group') {
    return {
      topic: Topics.identities,
      key: customerKey(m),
      value: {
        ...head,
        type: IDENTITY_TYPES[type],
        ...people,
        previousId: asString(m.previousId),
        groupId: asString(m.groupId),
        ...times,
        traitsJson: JSON.stringify(asObject(m.traits) ?? asObject(asObject(m.context)?.traits) ?? {}),
        context: mapContext(m.context, meta, null),
      },
    };
  }
  throw new Error(`not a Segment message type: ${type}`);
}
