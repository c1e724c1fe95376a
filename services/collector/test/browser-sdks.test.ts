/**
 * The real browser SDKs, unmodified from node_modules, in headless Chromium against the collector
 * wired as in production (real Kafka, registry, PostgreSQL): Segment's analytics-next (one request
 * per call, and its batching delivery) and RudderStack's JS SDK v3 (XHR per call, batching, and
 * beacon). Each scenario opens a shop page with utm_* parameters by following a link from another
 * page (the referrer), makes the SDK send page, track, identify and a track as the identified
 * user, and waits for the stack's event sink to write the rows into customer_events.
 *
 * The pages load exactly the code of the README's "Sending data" snippets (checked below), with
 * the placeholders replaced; bare imports resolve through an import map to node_modules. The
 * collector and the page server listen on different ports, so every request is cross-origin and
 * goes through CORS as on a real site.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { repoPath } from '../../shared/src/repo-path.js';
import { config, randomName, waitFor } from '../../shared/test/support.js';
import { wiredCollector, type WiredCollector } from './wired.js';

// Seven scenarios, each waiting for the SDK's own timers (batch flushes, retry backoff, 35 s on one
// page to prove no telemetry leaves) and then for the rows: about 3 minutes on a quiet machine,
// more on a busy one, past tap's 180 s per file.
t.setTimeout(480_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The README's analytics-next snippet, placeholders and all. */
const SEGMENT_SNIPPET = `import { AnalyticsBrowser } from '@segment/analytics-next';
// cdnSettings replaces the settings Segment's CDN would serve: events go to our collector.
const analytics = AnalyticsBrowser.load({
  writeKey: 'YOUR_WRITE_KEY',
  cdnSettings: {
    integrations: {
      'Segment.io': {
        apiKey: 'YOUR_WRITE_KEY',
        apiHost: 'cdp.example.com/v1',
        protocol: 'https',
        // optional: one POST /v1/b per 10 events or 5 s, instead of one request per call
        // deliveryStrategy: { strategy: 'batching', config: { size: 10, timeout: 5000 } },
      },
    },
    // Otherwise the SDK posts its own usage metrics to https://api.segment.io/v1/m every 30 s.
    metrics: { sampleRate: 0 },
  },
});`;

/** The README's RudderStack snippet, placeholders and all. */
const RUDDERSTACK_SNIPPET = `import { RudderAnalytics } from '@rudderstack/analytics-js/bundled';
// The bundled build carries its plugins: nothing is fetched from RudderStack's CDN.
const rudderanalytics = new RudderAnalytics();
rudderanalytics.load('YOUR_WRITE_KEY', 'https://cdp.example.com', {
  // The source config RudderStack's control plane would serve: no device-mode destinations.
  getSourceConfig: () => ({
    source: { id: 'web', name: 'web', workspaceId: 'cdp', enabled: true, config: {}, destinations: [] },
  }),
  // optional: one POST /v1/batch per 10 events or 2 s, instead of one request per call
  // queueOptions: { batch: { enabled: true, maxItems: 10, flushInterval: 2000 } },
  // optional: navigator.sendBeacon to POST /beacon/v1/batch?writeKey=…, also as the page closes
  // useBeacon: true, beaconQueueOptions: { maxItems: 10, flushQueueInterval: 2000 },
});`;

/** Uncomments the snippet's optional line that starts with `option`. */
const enable = (snippet: string, option: string): string => {
  const out = snippet.replace(`// ${option}`, option);
  if (out === snippet) throw new Error(`the snippet has no optional ${option}`);
  return out;
};

const TITLE = 'Spring Sale | Test Shop';
const UTM = {
  utm_source: 'newsletter',
  utm_medium: 'email',
  utm_campaign: 'spring_sale',
  utm_term: 'shoes',
  utm_content: 'hero',
};

// What the page does after the snippet: the calls of a visit, each reported with the messageId
// and ids the SDK gave it.
const SEGMENT_CALLS = `
window.sdkCalls = async (userId) => {
  const note = (call, ctx) => ({ call, messageId: ctx.event.messageId, anonymousId: ctx.event.anonymousId });
  return [
    note('page', await analytics.page()),
    note('track', await analytics.track('Product Viewed', { sku: 'A1', price: 19.99, currency: 'EUR' })),
    note('identify', await analytics.identify(userId, { email: userId + '@example.com' })),
    note('identified track', await analytics.track('Checkout Started', { value: 19.99 })),
  ];
};`;

const RUDDERSTACK_CALLS = `
window.sdkCalls = (userId) =>
  new Promise((resolve) => {
    const out = [];
    const note = (call) => (event) => {
      out.push({ call, messageId: event.messageId, anonymousId: event.anonymousId });
      if (out.length === 4) resolve(out);
    };
    rudderanalytics.ready(() => {
      rudderanalytics.page(note('page'));
      rudderanalytics.track('Product Viewed', { sku: 'A1', price: 19.99, currency: 'EUR' }, note('track'));
      rudderanalytics.identify(userId, { email: userId + '@example.com' }, note('identify'));
      rudderanalytics.track('Checkout Started', { value: 19.99 }, note('identified track'));
    });
  });`;

interface Call {
  call: 'page' | 'track' | 'identify' | 'identified track';
  messageId: string;
  anonymousId: string;
}

/** A request as the collector saw and answered it. */
interface Seen {
  method: string;
  route: string;
  status: number;
  origin: string | undefined;
  requestedHeaders: string | undefined;
  allowOrigin: string | undefined;
  allowHeaders: string | undefined;
  allowMethods: string | undefined;
  allowCredentials: string | undefined;
  /** X-Retry-Count (analytics-next) or Rsa-Retry-Attempt (RudderStack), on a retry. */
  retry: string | undefined;
  /** Answered 503 by the test's hook, not by the collector. */
  injected: boolean;
  messageIds: string[];
}

const db = createDb({
  connectionString: config.databaseUrl,
  service: 'browser-sdks-test',
  registry: createRegistry('browser-sdks-test'),
  max: 2,
});
let c: WiredCollector;
let browser: Browser;
let pages: Server;
let collectorHost: string;
let pageOrigin: string;
const seen: Seen[] = [];
/** Answer the next tracking POST with 503, as the collector does when Kafka cannot take it. */
let failNextPost = false;
const injectedRequests = new WeakSet<object>();
/** The script of each page, by scenario name. */
const scripts = new Map<string, string>();

const header = (v: unknown): string | undefined => (v === undefined ? undefined : String(v));

t.before(async () => {
  c = await wiredCollector();
  c.app.addHook('onRequest', async (req, reply) => {
    if (!failNextPost || req.method !== 'POST') return;
    failNextPost = false;
    injectedRequests.add(req);
    await reply
      .code(503)
      .header('retry-after', '1')
      .send({ success: false, error: 'unavailable', message: 'injected by the test' });
  });
  c.app.addHook('onResponse', async (req, reply) => {
    const body = req.body as { messageId?: unknown; batch?: { messageId?: unknown }[] } | undefined;
    const items = Array.isArray(body?.batch) ? body.batch : body ? [body] : [];
    seen.push({
      method: req.method,
      // The path, never the query (the beacon's carries the write key); CORS answers preflights on `*`.
      route: req.url.split('?')[0]!,
      status: reply.statusCode,
      origin: header(req.headers.origin),
      requestedHeaders: header(req.headers['access-control-request-headers']),
      allowOrigin: header(reply.getHeader('access-control-allow-origin')),
      allowHeaders: header(reply.getHeader('access-control-allow-headers')),
      allowMethods: header(reply.getHeader('access-control-allow-methods')),
      allowCredentials: header(reply.getHeader('access-control-allow-credentials')),
      retry: header(req.headers['x-retry-count'] ?? req.headers['rsa-retry-attempt']),
      injected: injectedRequests.has(req),
      messageIds: items.map((i) => i.messageId).filter((id): id is string => typeof id === 'string'),
    });
  });
  await c.app.listen({ port: 0, host: '127.0.0.1' });
  collectorHost = `127.0.0.1:${(c.app.server.address() as AddressInfo).port}`;

  const analyticsNext = readFileSync(repoPath('node_modules/@segment/analytics-next/dist/umd/index.js'));
  const rudderstack = readFileSync(
    repoPath('node_modules/@rudderstack/analytics-js/dist/npm/modern/bundled/esm/index.mjs'),
  );
  const importMap = {
    imports: {
      '@segment/analytics-next': '/sdk/analytics-next.mjs',
      '@rudderstack/analytics-js/bundled': '/sdk/rudderstack-bundled.mjs',
    },
  };
  pages = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const js = 'text/javascript; charset=utf-8';
    const shop = /^\/shop\/([\w-]+)\.html$/.exec(url.pathname);
    if (url.pathname === '/start.html') {
      const target = `/shop/${url.searchParams.get('scenario')}.html?${new URLSearchParams(UTM)}`;
      send('text/html', `<!doctype html><title>Start</title><a id="go" href="${target}">Spring sale</a>`);
    } else if (shop && scripts.has(shop[1]!)) {
      send(
        'text/html; charset=utf-8',
        `<!doctype html><html><head><meta charset="utf-8"><title>${TITLE}</title>` +
          `<script type="importmap">${JSON.stringify(importMap)}</script></head>` +
          `<body><h1>Spring sale</h1><script type="module">\n${scripts.get(shop[1]!)}\n</script></body></html>`,
      );
    } else if (url.pathname === '/sdk/analytics-next.mjs') {
      // The UMD build defines window.AnalyticsNext; this lets the page import it by its package name.
      send(
        js,
        `import '/sdk/analytics-next-umd.js';\nexport const { AnalyticsBrowser } = window.AnalyticsNext;\n`,
      );
    } else if (url.pathname === '/sdk/analytics-next-umd.js') {
      send(js, analyticsNext);
    } else if (url.pathname === '/sdk/rudderstack-bundled.mjs') {
      send(js, rudderstack);
    } else if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
});

t.teardown(async () => {
  await browser?.close().catch(() => undefined);
  await new Promise((resolve) => (pages ? pages.close(resolve) : resolve(undefined)));
  await c?.close();
  await db.end();
});

async function bounded<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

type EventRow = {
  message_id: string;
  customer_id: string;
  event_type: string;
  event_name: string;
  event_properties: Record<string, unknown>;
  page_url: string | null;
  page_title: string | null;
  referrer_url: string | null;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  utm_term: string | null;
  utm_content: string | null;
  ip: string | null;
};

const rowsOf = async (messageIds: string[]) =>
  (
    await db.query<EventRow>(
      'test.browser-rows',
      `SELECT e.message_id, c.customer_id, e.event_type, e.event_name, e.event_properties, e.page_url,
              e.page_title, e.referrer_url, e.utm_source, e.utm_medium, e.utm_campaign, e.utm_term,
              e.utm_content, host(e.ip_address) AS ip
         FROM customer_events e JOIN customers c ON c.id = e.customer_id
        WHERE e.message_id = ANY($1)`,
      [messageIds],
    )
  ).rows;

interface Scenario {
  name: string;
  /** The page's script: a README snippet with its placeholders filled, then the calls. */
  script: (writeKey: string, collectorHost: string) => string;
  /** The path every POST of the SDK must go to. */
  path: string | ((call: Call['call']) => string);
  /** One request per call (false: batches). */
  perCall: boolean;
  /** The first POST is answered 503 (Retry-After: 1): the SDK must retry it, through a new preflight. */
  failFirst?: boolean;
  /** Stay on the page this long after it loaded before the last checks (timers of the SDK). */
  stayMs?: number;
  timeoutMs?: number;
}

function scenario(s: Scenario): void {
  t.test(s.name, { timeout: s.timeoutMs ?? 90_000 }, async (t) => {
    seen.length = 0;
    failNextPost = s.failFirst ?? false;
    scripts.set(s.name, s.script(c.writeKey, collectorHost));
    const context = await browser.newContext();
    t.teardown(() => context.close().catch(() => undefined));
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    const elsewhere: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) =>
      problems.push(`failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`),
    );
    page.on('request', (r) => {
      const host = new URL(r.url()).host;
      if (`http://${host}` !== pageOrigin && host !== collectorHost) elsewhere.push(r.url());
    });

    await page.goto(`${pageOrigin}/start.html?scenario=${s.name}`);
    await Promise.all([page.waitForURL(/\/shop\//), page.click('#go')]);
    const loadedAt = Date.now();
    await page.waitForFunction(() => typeof (globalThis as { sdkCalls?: unknown }).sdkCalls === 'function');
    const shopUrl = page.url();
    const userId = randomName('browser-user');
    const calls = await bounded(
      'the SDK calls',
      page.evaluate(
        (u) => (globalThis as unknown as { sdkCalls: (u: string) => Promise<Call[]> }).sdkCalls(u),
        userId,
      ),
      20_000,
    );
    const byCall = new Map(calls.map((x) => [x.call, x]));
    t.same([...byCall.keys()].sort(), ['identified track', 'identify', 'page', 'track']);
    const anonymousId = byCall.get('page')!.anonymousId;
    t.ok(anonymousId, 'the SDK made an anonymousId');

    // The collector acknowledged every call (200 only after Kafka did), identify included.
    const ids = calls.map((x) => x.messageId);
    const acknowledged = () =>
      ids.every((id) =>
        seen.some((r) => r.method === 'POST' && r.status === 200 && r.messageIds.includes(id)),
      );
    await waitFor('the collector acknowledging every call', acknowledged, 30_000).catch((err: Error) => {
      const saw = seen.map((r) => `${r.method} ${r.route} ${r.status}`).join(', ') || 'nothing';
      throw new Error(
        `${err.message}; the collector saw: ${saw}; the page: ${problems.join(' | ') || 'no error'}`,
      );
    });

    // The three events (identify is no event) in customer_events, written by the stack's sink, and
    // the identify (userId with the SDK's anonymousId) merged by the stack's identities processor:
    // the anonymous page and track end on the user's profile.
    const eventIds = calls.filter((x) => x.call !== 'identify').map((x) => x.messageId);
    const rows = await waitFor(
      'the rows in customer_events, all on the identified user',
      async () => {
        const r = await rowsOf(eventIds);
        return r.length >= eventIds.length && r.every((x) => x.customer_id === userId) ? r : undefined;
      },
      30_000,
    );
    const resolved = await db.query<{ customer_id: string }>(
      'test.browser-identity',
      `SELECT c.customer_id FROM customer_identities i JOIN customers c ON c.id = i.customer_id
        WHERE i.external_id = $1`,
      [anonymousId],
    );
    t.equal(resolved.rows[0]?.customer_id, userId, "the SDK's anonymousId resolves to the user");
    t.equal(rows.length, eventIds.length, 'each event once');
    const row = (call: Call['call']) => rows.find((r) => r.message_id === byCall.get(call)!.messageId)!;
    const context_ = {
      page_url: shopUrl,
      page_title: TITLE,
      referrer_url: `${pageOrigin}/start.html?scenario=${s.name}`,
      utm_source: UTM.utm_source,
      utm_medium: UTM.utm_medium,
      utm_campaign: UTM.utm_campaign,
      utm_term: UTM.utm_term,
      utm_content: UTM.utm_content,
      ip: '127.0.0.1',
    };
    t.match(row('page'), { event_type: 'page_view', ...context_ }, 'page');
    // The anonymous events: the anonymous profile's, or, once the identities processor has merged
    // that profile into the user identified right after (the contract: events follow the merge),
    // the user's. (analytics-next also re-normalizes a retried event with `userId ||= user.id()`.)
    const anonymousOrMerged = [anonymousId, userId];
    t.ok(
      anonymousOrMerged.includes(row('page').customer_id),
      `page, anonymous or merged into the user (${row('page').customer_id})`,
    );
    t.match(
      row('track'),
      {
        event_type: 'product_viewed',
        event_name: 'Product Viewed',
        event_properties: { sku: 'A1', price: 19.99, currency: 'EUR' },
        ...context_,
      },
      'track',
    );
    t.ok(
      anonymousOrMerged.includes(row('track').customer_id),
      `track, anonymous or merged into the user (${row('track').customer_id})`,
    );
    t.match(
      row('identified track'),
      { event_type: 'checkout_started', event_name: 'Checkout Started', customer_id: userId, ...context_ },
      'track after identify, as the user',
    );

    // How it travelled: the paths, every answer 2xx, every preflight allowing what was asked.
    const injected = seen.filter((r) => r.injected);
    t.equal(injected.length, s.failFirst ? 1 : 0, s.failFirst ? 'the first POST got the 503' : 'no 503');
    const posts = seen.filter((r) => r.method === 'POST' && !r.injected);
    if (s.failFirst) {
      const retried = posts.filter((r) => r.retry !== undefined);
      t.ok(retried.length >= 1, 'the SDK retried, saying so in a header');
      t.ok(
        retried.every((r) => r.status === 200),
        'the retries were accepted (their preflight allowed the retry headers)',
      );
    }
    const expected = calls.map((x) => (typeof s.path === 'string' ? s.path : s.path(x.call)));
    if (s.perCall) t.same(posts.map((r) => r.route).sort(), expected.sort(), 'one request per call');
    else {
      t.ok(
        posts.every((r) => r.route === s.path),
        `batches to ${String(s.path)}: ${posts.map((r) => r.route).join(', ')}`,
      );
      t.ok(posts.length < calls.length, `${calls.length} calls in ${posts.length} request(s)`);
    }
    t.same(
      seen
        .filter((r) => (r.status < 200 || r.status >= 300) && !r.injected)
        .map((r) => `${r.method} ${r.route} ${r.status}`),
      [],
      'nothing answered non-2xx (but the injected 503)',
    );
    for (const r of seen)
      t.equal(r.origin, pageOrigin, `${r.method} ${r.route}: cross-origin, from the page`);
    for (const pre of seen.filter((r) => r.method === 'OPTIONS')) {
      t.equal(pre.allowOrigin, pageOrigin, `preflight of ${pre.route}: the origin reflected`);
      t.match(pre.allowMethods, /\bPOST\b/, 'POST allowed');
      t.equal(pre.allowCredentials, 'true');
      const allowed = (pre.allowHeaders ?? '').toLowerCase().split(/\s*,\s*/);
      for (const h of (pre.requestedHeaders ?? '')
        .toLowerCase()
        .split(/\s*,\s*/)
        .filter(Boolean))
        t.ok(allowed.includes(h), `preflight of ${pre.route} allows ${h} (asked: ${pre.requestedHeaders})`);
    }
    t.comment(
      `preflights asked for: ${[...new Set(seen.filter((r) => r.method === 'OPTIONS').map((r) => r.requestedHeaders))].join(' | ') || 'none'}`,
    );
    if (s.stayMs) await page.waitForTimeout(Math.max(0, loadedAt + s.stayMs - Date.now()));
    // Chromium logs every non-2xx answer to the console, the injected one too.
    const logged503 = 'console: Failed to load resource: the server responded with a status of 503';
    t.same(
      problems.filter((p) => !(s.failFirst && p.startsWith(logged503))),
      [],
      'no console error, page error or failed request',
    );
    t.same(elsewhere, [], 'the SDK fetched nothing from anywhere but the page server and the collector');
  });
}

const segment = (batching: boolean) => (writeKey: string, host: string) => {
  let code = SEGMENT_SNIPPET.replaceAll('YOUR_WRITE_KEY', writeKey)
    .replace("'cdp.example.com/v1'", `'${host}/v1'`)
    .replace("protocol: 'https'", "protocol: 'http'");
  if (batching) code = enable(code, 'deliveryStrategy');
  return code + SEGMENT_CALLS;
};
const rudderstack = (option?: string) => (writeKey: string, host: string) => {
  let code = RUDDERSTACK_SNIPPET.replaceAll('YOUR_WRITE_KEY', writeKey).replace(
    "'https://cdp.example.com'",
    `'http://${host}'`,
  );
  if (option) code = enable(code, option);
  return code + RUDDERSTACK_CALLS;
};
const segmentPaths = { page: '/v1/p', track: '/v1/t', identify: '/v1/i', 'identified track': '/v1/t' };
const rudderPaths = {
  page: '/v1/page',
  track: '/v1/track',
  identify: '/v1/identify',
  'identified track': '/v1/track',
};

t.test('the README shows exactly the snippets these pages run', async (t) => {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  t.ok(readme.includes(SEGMENT_SNIPPET), 'analytics-next');
  t.ok(readme.includes(RUDDERSTACK_SNIPPET), 'RudderStack');
});

scenario({
  name: 'analytics-next-default',
  script: segment(false),
  path: (call) => segmentPaths[call],
  perCall: true,
  // Past the 30 s after which analytics-next would post its metrics to api.segment.io.
  stayMs: 35_000,
});
scenario({
  name: 'analytics-next-batching',
  script: segment(true),
  path: '/v1/b',
  perCall: false,
});
scenario({
  name: 'rudderstack-xhr',
  script: rudderstack(),
  path: (call) => rudderPaths[call],
  perCall: true,
});
scenario({
  name: 'rudderstack-batching',
  script: rudderstack('queueOptions'),
  path: '/v1/batch',
  perCall: false,
});
scenario({
  name: 'rudderstack-beacon',
  script: rudderstack('useBeacon'),
  path: '/beacon/v1/batch',
  perCall: false,
});
// Retries carry headers of their own (X-Retry-Count, Rsa-*), so they need a preflight of their own.
scenario({
  name: 'analytics-next-retry',
  script: segment(false),
  path: (call) => segmentPaths[call],
  perCall: true,
  failFirst: true,
});
scenario({
  name: 'rudderstack-batching-retry',
  script: rudderstack('queueOptions'),
  path: '/v1/batch',
  perCall: false,
  failFirst: true,
});
