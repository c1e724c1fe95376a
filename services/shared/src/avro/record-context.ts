/**
 * The `Context` record every input schema shares (schemas/event.avsc defines it, identity.avsc
 * reuses it by name), as avsc decodes it: Segment's context, the parts the CDP schema uses.
 */
export interface RecordContext {
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
}

/** A context with nothing in it (tests and fixtures start from it). */
export const EMPTY_CONTEXT: Readonly<RecordContext> = Object.freeze({
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
});
