/**
 * The campaigns process (main.ts) on private topics: kill -9 while a batch transaction is open,
 * restart, and the sends and counters are what the events say; an event naming no campaign is on
 * the dead-letter topic with its reason; then a replay from offset 0 changes nothing.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { readSchemaFile } from '../../shared/src/avro/registry.js';
import { createProducer, ensureTopics } from '../../shared/src/kafka/client.js';
import { dlqSpec, dlqTopic, Topics, valueSubject } from '../../shared/src/topics.js';
import { beginning, readRange, testKafka } from '../../shared/test/kafka-support.js';
import { startProcessor } from '../../shared/test/processor-process.js';
import { waitFor } from '../../shared/test/support.js';
import type { CampaignEventType } from '../../shared/src/campaigns/send-status.js';
import { at, campaignEvent, codec, db, invariantViolations, makeCampaign, randomName } from './support.js';

t.teardown(() => db.end());

const CUSTOMERS = 40;
const LIFE: readonly CampaignEventType[] = ['sent', 'delivered', 'opened', 'clicked', 'clicked'];

async function snapshot(campaigns: readonly string[]): Promise<string> {
  const { rows } = await db.query(
    'test.snapshot',
    `SELECT (SELECT json_agg(json_build_array(c.customer_id, s.variant, s.send_status, s.total_clicks, s.opened_at,
               s.last_click_at) ORDER BY c.customer_id, s.campaign_id)
             FROM campaign_sends s JOIN customers c ON c.id = s.customer_id WHERE s.campaign_id = ANY($1::uuid[])) AS sends,
            (SELECT json_agg(json_build_array(total_sent, total_delivered, total_opened, total_clicked, open_rate)
               ORDER BY id) FROM campaigns WHERE id = ANY($1::uuid[])) AS counters`,
    [campaigns],
  );
  return JSON.stringify(rows[0]);
}

t.test(
  'kill -9 mid-stream, restart, an unknown campaign dead-lettered, replay from 0',
  { timeout: 170_000 },
  async (t) => {
    const prefix = `${randomName('test-ckr')}.`;
    const topic = prefix + Topics.campaignEvents;
    const kafka = testKafka();
    await ensureTopics(kafka, [{ topic, partitions: 2 }, dlqSpec(topic)]);
    const schema = await codec.register(
      valueSubject(Topics.campaignEvents),
      await readSchemaFile('campaign-event.avsc'),
    );
    const campaigns = [await makeCampaign({ ab: true }), await makeCampaign()];
    const unknown = randomUUID();

    const messages: { key: string; value: Buffer }[] = [];
    for (let i = 0; i < CUSTOMERS; i++) {
      const userId = `${prefix}u${String(i).padStart(2, '0')}`;
      const campaign = campaigns[i % 2]!;
      const variant = i % 2 === 0 ? (i % 4 === 0 ? 'A' : 'B') : null;
      // The life of each send backwards: the provider reports the click before the send.
      for (const [k, event] of [...LIFE].reverse().entries())
        messages.push({
          key: userId,
          value: await codec.encode(
            schema,
            campaignEvent({ campaign_id: campaign, userId, variant, event, timestamp: at(10 - k) }),
          ),
        });
    }
    const stray = campaignEvent({
      campaign_id: unknown,
      userId: `${prefix}stray`,
      event: 'opened',
      timestamp: at(0),
    });
    messages.splice(7, 0, { key: `${prefix}stray`, value: await codec.encode(schema, stray) });

    const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();

    const group = randomName('campaigns-group');
    const run = (env: Record<string, string> = {}) =>
      startProcessor('services/campaigns/src/main.ts', {
        TOPIC_PREFIX: prefix,
        CAMPAIGNS_GROUP: group,
        CAMPAIGNS_PORT: '0',
        CAMPAIGNS_MAX_BATCH: '10',
        ...env,
      });
    const sent = async () =>
      (
        await db.query<{ n: number }>(
          'test.count',
          'SELECT coalesce(sum(total_sent), 0)::int AS n FROM campaigns WHERE id = ANY($1::uuid[])',
          [campaigns],
        )
      ).rows[0]!.n;
    const caughtUp = async () => {
      const { rows } = await db.query<{ n: number }>(
        'test.offsets',
        'SELECT coalesce(sum(next_offset), 0)::int AS n FROM consumer_offsets WHERE consumer_group = $1',
        [group],
      );
      return rows[0]!.n >= messages.length;
    };

    const first = run({ FAULT_PAUSE_BEFORE_COMMIT_MS: '400' });
    t.teardown(() => void first.child.kill('SIGKILL'));
    await waitFor('some sends committed', async () => (await sent()) > 2, 60_000, 50);
    first.child.kill('SIGKILL');
    t.match(await first.exit, { signal: 'SIGKILL' });
    t.ok((await sent()) < CUSTOMERS, 'killed mid-stream');

    const second = run();
    t.teardown(() => void second.child.kill('SIGKILL'));
    await waitFor('every record applied', caughtUp, 90_000, 200);
    await second.stop();
    t.equal(second.exited()?.code, 0, second.lastLines());
    t.equal(await sent(), CUSTOMERS, 'every send, once');
    t.same(await invariantViolations(db, campaigns), []);
    const after = await snapshot(campaigns);
    const sends = JSON.parse(after).sends as [string, string | null, string, number][];
    t.ok(
      sends.every(([, , status, clicks]) => status === 'delivered' && clicks === 2),
      'delivered, two clicks each',
    );

    const dead = await readRange(kafka, await beginning(kafka, [dlqTopic(topic)]));
    const envelopes = await Promise.all(
      dead.map((d) => codec.decode(d.value!) as Promise<{ reason: string; errors: string[] }>),
    );
    t.ok(envelopes.length >= 1, 'the unknown campaign is dead-lettered (at least once)');
    t.ok(
      envelopes.every((e) => e.reason === 'unknown-campaign' && e.errors[0]!.includes(unknown)),
      'with its reason',
    );

    await db.query('test.rewind', 'UPDATE consumer_offsets SET next_offset = 0 WHERE consumer_group = $1', [
      group,
    ]);
    const third = run();
    t.teardown(() => void third.child.kill('SIGKILL'));
    await waitFor('the replay applied', caughtUp, 90_000, 200);
    await third.stop();
    t.equal(await snapshot(campaigns), after, 'the replay changed nothing');
    t.same(await invariantViolations(db, campaigns), []);
  },
);
