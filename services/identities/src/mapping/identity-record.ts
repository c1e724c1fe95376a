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
  context: {
    ip: string | null;
    userAgent: string | null;
    locale: string | null;
    timezone: string | null;
    sessionId: string | null;
    page: Record<string, string | null> | null;
    campaign: Record<string, string | null> | null;
    device: Record<string, string | null> | null;
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
