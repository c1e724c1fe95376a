/**
 * Campaign traffic for the end-to-end phase: a few active campaigns of the run (names start with
 * the run's marker, so cleanup.ts finds them), and POST /v1/campaign-events bodies of a sending
 * provider's events for the HTTP customers, REQUEST_TOKEN in every messageId. The mix is what a
 * provider reports for a mail: many sends and deliveries, fewer opens, few clicks, rare bounces
 * and unsubscribes; one campaign in three is an A/B test.
 */
import type { Db } from '../../services/shared/src/pg/gateway.js';
import type { BatchTemplates, CustomerPool } from './workload.js';
import { prng, REQUEST_TOKEN } from './workload.js';

const MIX: readonly (readonly [string, number])[] = [
  ['sent', 0.34],
  ['delivered', 0.3],
  ['opened', 0.2],
  ['clicked', 0.1],
  ['bounced', 0.03],
  ['unsubscribed', 0.02],
  ['complained', 0.01],
];

/** `count` active campaigns of the run; returns their ids. */
export async function createBenchCampaigns(db: Db, marker: string, count: number): Promise<string[]> {
  const { rows: user } = await db.query<{ id: string }>(
    'bench.campaign-owner',
    `INSERT INTO platform_users (email, password_hash, name, role) VALUES ($1, 'x', 'bench', 'viewer')
     ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
    [`${marker}@bench.invalid`],
  );
  const { rows } = await db.query<{ id: string }>(
    'bench.campaigns',
    `INSERT INTO campaigns (name, campaign_type, channel, message_content, created_by, status, budget, start_date, is_ab_test)
     SELECT $1 || '-c' || g, 'email', 'email', '{}', $2, 'active', 1000, now(), g % 3 = 0
     FROM generate_series(1, $3::int) g RETURNING id`,
    [marker, user[0]!.id, count],
  );
  return rows.map((r) => r.id);
}

export function campaignTemplates(opts: {
  marker: string;
  templates: number;
  events: number;
  customers: CustomerPool;
  campaignIds: readonly string[];
  now: number;
}): BatchTemplates {
  const rnd = prng(314);
  const eventOf = () => {
    let x = rnd();
    for (const [event, share] of MIX) if ((x -= share) < 0) return event;
    return 'sent';
  };
  const bodies: string[] = [];
  for (let t = 0; t < opts.templates; t++) {
    const events = Array.from({ length: opts.events }, (_, i) => {
      const k = Math.floor(rnd() * opts.customers.ids.length);
      const c = Math.floor(rnd() * opts.campaignIds.length);
      const event = eventOf();
      return {
        messageId: `${opts.marker}-${REQUEST_TOKEN}-c${i}`,
        campaign_id: opts.campaignIds[c],
        [opts.customers.isUser[k] ? 'userId' : 'anonymousId']: opts.customers.ids[k],
        event,
        ...(c % 3 === 0 ? { variant: k % 2 ? 'B' : 'A' } : {}),
        ...(event === 'clicked' ? { url: 'https://shop.example/spring?utm_source=email' } : {}),
        ...(event === 'bounced' ? { reason: '550 5.1.1 mailbox unavailable' } : {}),
        timestamp: new Date(opts.now - Math.floor(rnd() * 3_600_000)).toISOString(),
      };
    });
    bodies.push(JSON.stringify({ events }));
  }
  const meanBytes = Math.round(bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / bodies.length);
  return { bodies, events: opts.events, meanBytes };
}
