/**
 * Realistic tracking traffic: Segment track/page/screen calls from browsers and apps, with the
 * context a real SDK sends (page, user agent, IP, locale, campaign, screen, device), spread over a
 * pool of customers with a few heavy users. Every id the bench creates starts with its marker
 * (`cdpbench-<tag>`), so everything it leaves in PostgreSQL can be found and deleted.
 */
import type { Json } from '../../services/collector/src/mapping/common.js';

/** Replaced in each request body by the request's sequence number, so messageIds never repeat. */
export const REQUEST_TOKEN = '~N~';

/** A small fast PRNG, so the same seed gives the same traffic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: () => number, list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;

const BROWSER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36 Edg/127.0.2651.74',
  'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
];
const APP_AGENTS = [
  {
    ua: 'ShopApp/4.12.0 (iPhone; iOS 17.5; Scale/3.00)',
    device: { type: 'ios', manufacturer: 'Apple', model: 'iPhone15,2' },
    os: { name: 'iOS', version: '17.5' },
  },
  {
    ua: 'ShopApp/4.11.3 (Linux; Android 14; SM-S911B)',
    device: { type: 'android', manufacturer: 'samsung', model: 'SM-S911B' },
    os: { name: 'Android', version: '14' },
  },
];
const PAGES = [
  { path: '/', title: 'Home | Acme Outdoor', name: 'Home', category: 'Landing' },
  { path: '/collections/tents', title: 'Tents | Acme Outdoor', name: 'Tents', category: 'Collection' },
  {
    path: '/collections/backpacks',
    title: 'Backpacks | Acme Outdoor',
    name: 'Backpacks',
    category: 'Collection',
  },
  {
    path: '/products/trail-2p-tent',
    title: 'Trail 2P Tent | Acme Outdoor',
    name: 'Trail 2P Tent',
    category: 'Product',
  },
  {
    path: '/products/summit-45l-pack',
    title: 'Summit 45L Pack | Acme Outdoor',
    name: 'Summit 45L Pack',
    category: 'Product',
  },
  { path: '/cart', title: 'Your cart | Acme Outdoor', name: 'Cart', category: 'Checkout' },
  {
    path: '/checkout/shipping',
    title: 'Checkout | Acme Outdoor',
    name: 'Checkout Shipping',
    category: 'Checkout',
  },
  {
    path: '/blog/how-to-pick-a-sleeping-bag',
    title: 'How to pick a sleeping bag | Acme Journal',
    name: 'Blog Post',
    category: 'Content',
  },
  { path: '/account/orders', title: 'Your orders | Acme Outdoor', name: 'Orders', category: 'Account' },
];
const REFERRERS = [
  'https://www.google.com/',
  'https://www.bing.com/',
  'https://duckduckgo.com/',
  'https://www.instagram.com/',
  '',
  '',
];
const CAMPAIGNS = [
  null,
  null,
  null,
  { name: 'autumn_sale', source: 'newsletter', medium: 'email', content: 'hero_button' },
  { name: 'brand_search', source: 'google', medium: 'cpc', term: 'acme tents' },
  { name: 'retargeting_q4', source: 'facebook', medium: 'paid_social' },
];
const PRODUCTS = [
  {
    product_id: 'SKU-TENT-2P',
    sku: 'TENT-2P-GRN',
    name: 'Trail 2P Tent',
    category: 'Tents',
    brand: 'Acme',
    price: 249.0,
  },
  {
    product_id: 'SKU-PACK-45',
    sku: 'PACK-45-BLK',
    name: 'Summit 45L Pack',
    category: 'Backpacks',
    brand: 'Acme',
    price: 179.5,
  },
  {
    product_id: 'SKU-BAG-0C',
    sku: 'BAG-0C-REG',
    name: 'Alpine 0C Sleeping Bag',
    category: 'Sleeping',
    brand: 'Northfold',
    price: 219.99,
  },
  {
    product_id: 'SKU-STOVE-1',
    sku: 'STOVE-1',
    name: 'Pocket Stove',
    category: 'Cooking',
    brand: 'Acme',
    price: 49.95,
  },
  {
    product_id: 'SKU-LAMP-H',
    sku: 'LAMP-H-300',
    name: 'Headlamp 300',
    category: 'Lighting',
    brand: 'Lumo',
    price: 34.0,
  },
];
const TRACKS = [
  'Product Viewed',
  'Product Viewed',
  'Product Viewed',
  'Product Added',
  'Product List Viewed',
  'Products Searched',
  'Checkout Started',
  'Signed Up',
  'Logged In',
  'Video Played',
  'Order Completed',
];
const PLACES = [
  {
    country: 'US',
    region: 'CA',
    city: 'San Francisco',
    latitude: 37.77,
    longitude: -122.42,
    timezone: 'America/Los_Angeles',
    locale: 'en-US',
  },
  {
    country: 'US',
    region: 'NY',
    city: 'New York',
    latitude: 40.71,
    longitude: -74.01,
    timezone: 'America/New_York',
    locale: 'en-US',
  },
  {
    country: 'GB',
    region: 'ENG',
    city: 'London',
    latitude: 51.51,
    longitude: -0.13,
    timezone: 'Europe/London',
    locale: 'en-GB',
  },
  {
    country: 'DE',
    region: 'BE',
    city: 'Berlin',
    latitude: 52.52,
    longitude: 13.4,
    timezone: 'Europe/Berlin',
    locale: 'de-DE',
  },
  {
    country: 'FR',
    region: 'IDF',
    city: 'Paris',
    latitude: 48.86,
    longitude: 2.35,
    timezone: 'Europe/Paris',
    locale: 'fr-FR',
  },
];
const SCREENS = [
  { width: 1920, height: 1080, density: 1 },
  { width: 1440, height: 900, density: 2 },
  { width: 390, height: 844, density: 3 },
  { width: 412, height: 915, density: 2.625 },
];

export interface CustomerPool {
  /** External ids: userId for known users, anonymousId for visitors. */
  ids: string[];
  isUser: boolean[];
}

/** `count` customers under `prefix`: 70% known users, 30% anonymous visitors. */
export function customerPool(prefix: string, count: number, seed = 7): CustomerPool {
  const rnd = prng(seed);
  const ids: string[] = [];
  const isUser: boolean[] = [];
  for (let i = 0; i < count; i++) {
    const user = rnd() < 0.7;
    ids.push(`${prefix}-${user ? 'u' : 'a'}${i}`);
    isUser.push(user);
  }
  return { ids, isUser };
}

/** A customer index with a long tail: a few customers send many events, most send a few. */
const skewedIndex = (rnd: () => number, n: number): number => Math.min(n - 1, Math.floor(n * rnd() * rnd()));

export interface EventOptions {
  messageId: string;
  customer: { id: string; isUser: boolean };
  /** Event time by the client's clock (epoch ms). */
  timestamp: number;
  /** Batch or item sentAt (epoch ms); when equal to timestamp, occurred_at equals the receive time. */
  sentAt?: number;
  forceType?: 'track' | 'page' | 'screen';
}

/** One Segment message as an SDK sends it. */
export function segmentEvent(rnd: () => number, o: EventOptions): Json {
  const roll = rnd();
  const type = o.forceType ?? (roll < 0.45 ? 'page' : roll < 0.9 ? 'track' : 'screen');
  const place = pick(rnd, PLACES);
  const ip = `203.0.113.${1 + Math.floor(rnd() * 250)}`;
  const who: Json = o.customer.isUser
    ? { userId: o.customer.id, anonymousId: `${o.customer.id}-anon` }
    : { anonymousId: o.customer.id };
  const base: Json = {
    type,
    messageId: o.messageId,
    ...who,
    timestamp: new Date(o.timestamp).toISOString(),
    ...(o.sentAt !== undefined ? { sentAt: new Date(o.sentAt).toISOString() } : {}),
    integrations: {},
  };
  const session = `s-${o.customer.id.slice(-6)}-${Math.floor(rnd() * 4)}`;

  if (type === 'screen') {
    const app = pick(rnd, APP_AGENTS);
    const product = pick(rnd, PRODUCTS);
    return {
      ...base,
      name: pick(rnd, ['Home', 'Product Detail', 'Cart', 'Search Results']),
      properties: { product_id: product.product_id, session_id: session },
      context: {
        ip,
        userAgent: app.ua,
        locale: place.locale,
        timezone: place.timezone,
        app: { name: 'ShopApp', version: '4.12.0', build: '4120' },
        device: { ...app.device, id: `dev-${o.customer.id.slice(-8)}` },
        os: app.os,
        screen: pick(rnd, SCREENS),
        location: place,
        network: { wifi: rnd() < 0.6, carrier: 'T-Mobile' },
        library: { name: app.os.name === 'iOS' ? 'analytics-ios' : 'analytics-android', version: '4.1.8' },
      },
    };
  }

  const page = pick(rnd, PAGES);
  const campaign = pick(rnd, CAMPAIGNS);
  const search = campaign
    ? `?utm_source=${campaign.source}&utm_medium=${campaign.medium}&utm_campaign=${campaign.name}`
    : '';
  const url = `https://shop.acme-outdoor.example${page.path}${search}`;
  const context: Json = {
    ip,
    userAgent: pick(rnd, BROWSER_AGENTS),
    locale: place.locale,
    timezone: place.timezone,
    page: { path: page.path, referrer: pick(rnd, REFERRERS), search, title: page.title, url },
    ...(campaign ? { campaign } : {}),
    screen: pick(rnd, SCREENS),
    library: { name: 'analytics.js', version: 'npm:next-1.70.0' },
  };
  if (type === 'page') {
    return {
      ...base,
      name: page.name,
      category: page.category,
      properties: { ...(context.page as Json), session_id: session },
      context,
    };
  }

  const event = pick(rnd, TRACKS);
  const product = pick(rnd, PRODUCTS);
  const quantity = 1 + Math.floor(rnd() * 3);
  let properties: Json;
  switch (event) {
    case 'Order Completed':
      properties = {
        order_id: `ord-${o.messageId.slice(-12)}`,
        total: Math.round(product.price * quantity * 108) / 100,
        revenue: product.price * quantity,
        tax: Math.round(product.price * quantity * 8) / 100,
        currency: 'USD',
        products: [{ ...product, quantity }],
        session_id: session,
      };
      break;
    case 'Products Searched':
      properties = {
        query: pick(rnd, ['tent', 'ultralight pack', 'stove', 'headlamp']),
        session_id: session,
      };
      break;
    case 'Video Played':
      properties = { video_id: 'vid-setup-tent', position: Math.floor(rnd() * 120), session_id: session };
      break;
    case 'Signed Up':
    case 'Logged In':
      properties = { method: pick(rnd, ['email', 'google', 'apple']), session_id: session };
      break;
    default:
      properties = { ...product, quantity, currency: 'USD', value: product.price, session_id: session };
  }
  return { ...base, event, properties, context };
}

/** A Segment identify of a known user, linking the anonymous id its browser used, with traits. */
export function identifyEvent(
  rnd: () => number,
  o: { messageId: string; userId: string; timestamp: number },
): Json {
  const place = pick(rnd, PLACES);
  const first = pick(rnd, ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances']);
  const last = pick(rnd, ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen']);
  return {
    type: 'identify',
    messageId: o.messageId,
    userId: o.userId,
    anonymousId: `${o.userId}-anon`,
    timestamp: new Date(o.timestamp).toISOString(),
    traits: {
      email: `${o.userId}@example.com`,
      firstName: first,
      lastName: last,
      name: `${first} ${last}`,
      phone: `+1555${String(Math.floor(rnd() * 1e7)).padStart(7, '0')}`,
      address: { city: place.city, country: place.country },
      plan: pick(rnd, ['free', 'plus', 'pro']),
    },
    context: {
      ip: `203.0.113.${1 + Math.floor(rnd() * 250)}`,
      userAgent: pick(rnd, BROWSER_AGENTS),
      locale: place.locale,
      timezone: place.timezone,
      library: { name: 'analytics.js', version: 'npm:next-1.70.0' },
    },
    integrations: {},
  };
}

/** One /v1/orders order (the seed's column names) of a known user, with its items. */
export function orderRecord(
  rnd: () => number,
  o: { orderId: string; messageId: string; userId: string; at: number },
): Json {
  const items = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => {
    const p = pick(rnd, PRODUCTS);
    const quantity = 1 + Math.floor(rnd() * 2);
    return {
      product_id: p.product_id,
      product_name: p.name,
      product_category: p.category,
      product_sku: p.sku,
      product_brand: p.brand,
      unit_price: p.price,
      quantity,
      total_price: Math.round(p.price * quantity * 100) / 100,
    };
  });
  const subtotal = Math.round(items.reduce((s, i) => s + i.total_price, 0) * 100) / 100;
  const tax = Math.round(subtotal * 8) / 100;
  return {
    messageId: o.messageId,
    userId: o.userId,
    order_id: o.orderId,
    order_status: pick(rnd, ['confirmed', 'confirmed', 'shipped', 'delivered']),
    order_total: Math.round((subtotal + tax) * 100) / 100,
    subtotal,
    tax_amount: tax,
    currency: 'USD',
    ordered_at: new Date(o.at).toISOString(),
    shipping_country: pick(rnd, PLACES).country,
    payment_method: pick(rnd, ['card', 'paypal', 'apple_pay']),
    order_source: 'web',
    items,
  };
}

/** Share of the batch items that are identify calls (the rest: page, track, screen). */
export const IDENTIFY_SHARE = 0.02;

export interface BatchTemplates {
  /** JSON bodies with REQUEST_TOKEN in every messageId. */
  bodies: string[];
  /** Items (events, orders) per body. */
  events: number;
  /** Average body size in bytes. */
  meanBytes: number;
}

/**
 * Request bodies for POST /v1/batch, `events` per batch, as templates. The first event of every
 * batch is a probe for the end-to-end freshness measurement: a page view of one of the probe
 * customers whose timestamp equals its sentAt, so its occurred_at in PostgreSQL is exactly the
 * collector's receive time. The others are ordinary traffic queued by the SDK up to 30 s before
 * the batch was sent.
 */
export function batchTemplates(opts: {
  marker: string;
  templates: number;
  events: number;
  customers: CustomerPool;
  probes: string[];
  now: number;
}): BatchTemplates {
  const rnd = prng(42);
  const bodies: string[] = [];
  for (let t = 0; t < opts.templates; t++) {
    const batch: Json[] = [];
    for (let i = 0; i < opts.events; i++) {
      if (i === 0) {
        batch.push(
          segmentEvent(rnd, {
            messageId: `${opts.marker}-${REQUEST_TOKEN}-p`,
            customer: { id: opts.probes[t % opts.probes.length]!, isUser: true },
            timestamp: opts.now,
            sentAt: opts.now,
            forceType: 'page',
          }),
        );
        continue;
      }
      const k = skewedIndex(rnd, opts.customers.ids.length);
      const messageId = `${opts.marker}-${REQUEST_TOKEN}-${i}`;
      const timestamp = opts.now - Math.floor(rnd() * 30_000);
      if (opts.customers.isUser[k] && rnd() < IDENTIFY_SHARE / 0.7) {
        batch.push(identifyEvent(rnd, { messageId, userId: opts.customers.ids[k]!, timestamp }));
        continue;
      }
      batch.push(
        segmentEvent(rnd, {
          messageId,
          customer: { id: opts.customers.ids[k]!, isUser: opts.customers.isUser[k]! },
          timestamp,
        }),
      );
    }
    bodies.push(JSON.stringify({ batch, sentAt: new Date(opts.now).toISOString() }));
  }
  const meanBytes = Math.round(bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / bodies.length);
  return { bodies, events: opts.events, meanBytes };
}

/**
 * Bodies for POST /v1/orders, `{"orders": [...]}` of `orders` orders each, with REQUEST_TOKEN in
 * every order id and messageId. Orders are of known users (70% of the pool).
 */
export function orderTemplates(opts: {
  marker: string;
  templates: number;
  orders: number;
  customers: CustomerPool;
  now: number;
}): BatchTemplates {
  const rnd = prng(99);
  const users = opts.customers.ids.filter((_, i) => opts.customers.isUser[i]);
  const bodies: string[] = [];
  for (let t = 0; t < opts.templates; t++) {
    const orders = Array.from({ length: opts.orders }, (_, i) =>
      orderRecord(rnd, {
        orderId: `${opts.marker}-o${REQUEST_TOKEN}-${i}`,
        messageId: `${opts.marker}-${REQUEST_TOKEN}-o${i}`,
        userId: users[skewedIndex(rnd, users.length)]!,
        at: opts.now - Math.floor(rnd() * 30_000),
      }),
    );
    bodies.push(JSON.stringify({ orders }));
  }
  const meanBytes = Math.round(bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / bodies.length);
  return { bodies, events: opts.orders, meanBytes };
}

/** `count` Segment events for the sink bench (produced straight to Kafka, no HTTP). */
export function* sinkEvents(opts: {
  marker: string;
  count: number;
  customers: CustomerPool;
  now: number;
}): Generator<Json> {
  const rnd = prng(1234);
  for (let i = 0; i < opts.count; i++) {
    const k = skewedIndex(rnd, opts.customers.ids.length);
    yield segmentEvent(rnd, {
      messageId: `${opts.marker}-k${i}`,
      customer: { id: opts.customers.ids[k]!, isUser: opts.customers.isUser[k]! },
      // spread over the last hour, as a backlog would be
      timestamp: opts.now - Math.floor(rnd() * 3_600_000),
    });
  }
}
