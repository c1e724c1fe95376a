import { UAParser } from 'ua-parser-js';

export interface ParsedAgent {
  deviceType: string | null;
  browser: string | null;
  os: string | null;
}

const cache = new Map<string, ParsedAgent>();

/**
 * ua-parser-js 1.x (MIT; 2.x moved to AGPL, which a self-hosted product cannot impose on its
 * users). Parsing is regex-heavy and agents repeat a lot, so results are cached (bounded).
 */
export function parseUserAgent(ua: string | null): ParsedAgent {
  if (!ua) return { deviceType: null, browser: null, os: null };
  const hit = cache.get(ua);
  if (hit) return hit;
  const r = new UAParser(ua).getResult();
  const parsed: ParsedAgent = {
    // ua-parser leaves the device type empty for desktops.
    deviceType: r.device.type ?? (r.os.name || r.browser.name ? 'desktop' : null),
    browser: r.browser.name ?? null,
    os: r.os.name ?? null,
  };
  if (cache.size >= 5_000) cache.clear();
  cache.set(ua, parsed);
  return parsed;
}
