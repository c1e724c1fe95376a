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
  context: {
    ip: string | null;
    userAgent: string | null;
    locale: string | null;
    timezone: string | null;
    sessionId: string | null;
    page: {
      path: string | null;
      referrer: string | null;
      search: string | null;
      title: string | null;
      url: string | null;
    } | null;
    campaign: {
      name: string | null;
      source: string | null;
      medium: string | null;
      term: string | null;
      content: string | null;
    } | null;
    device: {
      id: string | null;
      type: string | null;
      manufacturer: string | null;
      model: string | null;
      name: string | null;
    } | null;
    os: { name: string | null; version: string | null } | null;
    screen: { width: number | null; height: number | null; density: number | null } | null;
    location: {
      country: string | null;
      region: string | null;
      city: string | null;
      latitude: number | null;
      longitude: number | null;
    } | null;
    library: { name: string | null; version: string | null } | null;
    extraJson: string | null;
  };
}
