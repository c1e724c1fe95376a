import { asNumber, asObject, asString, type Json, type RequestMeta } from './common.js';

const pick = (o: Json | null, keys: readonly string[]): Record<string, string | null> | null => {
  if (!o) return null;
  const out: Record<string, string | null> = {};
  let any = false;
  for (const k of keys) {
    out[k] = asString(o[k]);
    any ||= out[k] !== null;
  }
  return any ? out : null;
};

const MAPPED = new Set([
  'ip',
  'userAgent',
  'locale',
  'timezone',
  'sessionId',
  'page',
  'campaign',
  'device',
  'os',
  'screen',
  'location',
  'library',
]);

/** Segment's context object to the Avro Context record; unmapped keys are kept as JSON. */
export function mapContext(raw: unknown, meta: RequestMeta, properties: Json | null): Json {
  const ctx = asObject(raw) ?? {};
  const screen = asObject(ctx.screen);
  const location = asObject(ctx.location);
  const extra: Json = {};
  for (const [k, v] of Object.entries(ctx)) if (!MAPPED.has(k)) extra[k] = v;
  // page/screen calls from analytics.js carry the page in properties as well; context wins.
  const page = pick(asObject(ctx.page) ?? properties, ['path', 'referrer', 'search', 'title', 'url']);
  const isBrowser = asString(asObject(ctx.library)?.name) === 'analytics.js';
  return {
    ip: asString(ctx.ip) ?? meta.ip ?? null,
    userAgent: asString(ctx.userAgent) ?? (isBrowser ? (meta.userAgent ?? null) : null),
    locale: asString(ctx.locale),
    timezone: asString(ctx.timezone),
    sessionId: asString(ctx.sessionId) ?? asString(properties?.session_id) ?? asString(properties?.sessionId),
    page,
    campaign: pick(asObject(ctx.campaign), ['name', 'source', 'medium', 'term', 'content']),
    device: pick(asObject(ctx.device), ['id', 'type', 'manufacturer', 'model', 'name']),
    os: pick(asObject(ctx.os), ['name', 'version']),
    screen: screen
      ? { width: int(screen.width), height: int(screen.height), density: asNumber(screen.density) }
      : null,
    location: location
      ? {
          country: asString(location.country),
          region: asString(location.region),
          city: asString(location.city),
          latitude: asNumber(location.latitude),
          longitude: asNumber(location.longitude),
        }
      : null,
    library: pick(asObject(ctx.library), ['name', 'version']),
    extraJson: Object.keys(extra).length > 0 ? JSON.stringify(extra) : null,
  };
}

function int(v: unknown): number | null {
  const n = asNumber(v);
  return n !== null && Number.isInteger(n) && Math.abs(n) < 2 ** 31 ? n : null;
}
