/**
 * The broker goes away under the collector: requests get 503 with Retry-After inside the bounded
 * timeout (never 200, never a hang); once the broker is back, the client's retry of the same
 * request succeeds, and Kafka holds every record of it exactly once and the earlier records still.
 *
 * Then the broker hangs instead (SIGSTOP): 503 in time again, and a request accepted after it
 * resumes is really in Kafka (the collector's producer was idempotent, and kafkajs then lost it).
 *
 * A PRIVATE broker (its own ports and data), never the shared one on 9092 that other tests use.
 * The registry and the database are the shared ones.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { ensureTopics, type Kafka } from '../../shared/src/kafka/client.js';
import { Topics, topicSpecs } from '../../shared/src/topics.js';
import { randomName, waitFor } from '../../shared/test/support.js';
import { beginning, readRange, testKafka } from '../../shared/test/kafka-support.js';
import { startPrivateBroker, type PrivateBroker } from '../../shared/test/kafka-broker.js';
import { wiredCollector, type WiredCollector } from './wired.js';

const PRODUCE_TIMEOUT_MS = 3_000;
/** What "bounded" means here: well above PRODUCE_TIMEOUT_MS, far below a hang. */
const ANSWER_BOUND_MS = 8_000;
const INPUTS = [Topics.events, Topics.identities, Topics.orders, Topics.campaignEvents];

let broker: PrivateBroker | undefined;
let kafka: Kafka;
let c: WiredCollector | undefined;

t.before(async () => {
  broker = await startPrivateBroker();
  kafka = testKafka(broker.brokers);
  await ensureTopics(
    kafka,
    topicSpecs.filter((s) => INPUTS.includes(s.topic as (typeof INPUTS)[number])),
  );
  c = await wiredCollector({
    KAFKA_BROKERS: broker.brokers.join(','),
    PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS),
  });
});

t.teardown(async () => {
  await c?.close();
  await broker?.destroy();
});

/** A batch request whose items carry fixed messageIds, so a retry is the same request. */
function batchRequest(userId: string, n: number) {
  const ids = Array.from({ length: n }, () => randomUUID());
  const batch = ids.map((messageId, i) =>
    i === n - 1
      ? { type: 'identify', messageId, userId, traits: { email: `${userId}@example.com` } }
      : { type: 'track', messageId, userId, event: 'Outage Test', properties: { i } },
  );
  return { ids, payload: { batch } };
}

async function send(payload: object) {
  const started = Date.now();
  const res = await c!.app.inject({ method: 'POST', url: '/v1/batch', headers: c!.auth, payload });
  return { res, ms: Date.now() - started };
}

t.test(
  '503 with Retry-After while the broker is down; the retried request lands exactly once after it returns',
  async (t) => {
    const userId = randomName('user');
    const first = batchRequest(userId, 3);
    const ok = await send(first.payload);
    t.equal(ok.res.statusCode, 200, `before the outage: 200 (${ok.ms} ms) ${ok.res.body}`);

    await broker!.kill('SIGKILL');
    t.equal(broker!.pid, undefined, 'the broker is dead');

    const retried = batchRequest(userId, 4);
    // The same request three times in a row, and then five different ones at once: each must be
    // answered 503 within the bound.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { res, ms } = await send(retried.payload);
      t.equal(res.statusCode, 503, `attempt ${attempt} while down: 503 (${ms} ms) ${res.body}`);
      t.ok(ms < ANSWER_BOUND_MS, `attempt ${attempt} answered in ${ms} ms < ${ANSWER_BOUND_MS} ms`);
      t.match(res.headers['retry-after'], /^\d+$/, 'with a Retry-After header');
      t.match(res.json(), { success: false, error: 'unavailable' });
    }
    const others = await Promise.all(
      Array.from({ length: 5 }, () => send(batchRequest(randomName('user'), 2).payload)),
    );
    t.same(
      others.map((o) => o.res.statusCode),
      [503, 503, 503, 503, 503],
      `concurrent requests while down: all 503 (${others.map((o) => o.ms).join(', ')} ms)`,
    );
    t.ok(
      others.every((o) => o.ms < ANSWER_BOUND_MS),
      'each within the bound',
    );

    await broker!.start();

    // The client retries the same request until it is accepted (a real client would wait the
    // Retry-After; a short pause keeps the test fast).
    const statuses: number[] = [];
    const deadline = Date.now() + 40_000;
    for (;;) {
      const { res, ms } = await send(retried.payload);
      statuses.push(res.statusCode);
      t.ok(ms < ANSWER_BOUND_MS, `retry answered in ${ms} ms`);
      if (res.statusCode === 200) break;
      t.equal(res.statusCode, 503, `a retry before the producer reconnected: 503 ${res.body}`);
      if (Date.now() > deadline) {
        t.fail(`no 200 within 40 s of the broker's return: ${statuses.join(',')}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    t.pass(`after the broker returned: ${statuses.join(',')}`);

    // Every record the broker holds now, from the beginning of each input topic.
    const count = await messageIdCounts();
    for (const id of first.ids) t.equal(count.get(id), 1, `the first request's ${id} is still there, once`);
    for (const id of retried.ids)
      t.equal(count.get(id), 1, `the retried request's ${id} is there exactly once`);
  },
);

t.test(
  'a hung broker (SIGSTOP): 503 in time, and after it resumes a new request is really written',
  async (t) => {
    const userId = randomName('user');
    // Same key and same number of records: the shape in which an idempotent kafkajs producer, after
    // a timed-out produce, reused the sequence numbers of the unanswered batch for the next one and
    // the broker dropped that next batch as a duplicate while acknowledging it (200, nothing written).
    const unanswered = batchRequest(userId, 2);
    const next = batchRequest(userId, 2);
    const flushesBefore = c!.flushes.length;

    broker!.pause();
    const down = await send(unanswered.payload);
    t.equal(down.res.statusCode, 503, `while hung: 503 (${down.ms} ms)`);
    t.ok(down.ms < ANSWER_BOUND_MS, `answered in ${down.ms} ms < ${ANSWER_BOUND_MS} ms`);
    t.match(down.res.headers['retry-after'], /^\d+$/, 'with a Retry-After header');
    // Let the producer give up on that batch (its request is still in the hung broker's socket).
    await waitFor(
      'the producer to give up on the unanswered batch',
      () => c!.flushes.slice(flushesBefore).some((f) => !f.ok),
      30_000,
    );
    broker!.resume();

    const accepted = await sendUntil200(next.payload);
    t.equal(accepted, 200, 'a new request after the broker resumed: 200');
    const again = await sendUntil200(unanswered.payload);
    t.equal(again, 200, "the client's retry of the unanswered request: 200");

    const count = await messageIdCounts();
    for (const id of next.ids) t.equal(count.get(id), 1, `the new request's ${id} is on Kafka exactly once`);
    // The unanswered batch may have been written when the broker resumed, and again by the retry:
    // a 503 means "not acknowledged", and duplicates are dropped downstream by messageId.
    for (const id of unanswered.ids)
      t.ok((count.get(id) ?? 0) >= 1, `the retried request's ${id} is on Kafka (${count.get(id)} times)`);
  },
);

/** Retries `payload` (bounded) until it is accepted; returns the last status. */
async function sendUntil200(payload: object): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { res } = await send(payload);
    if (res.statusCode !== 503 || Date.now() > deadline) return res.statusCode;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** How often each messageId occurs in the private broker's input topics, from the beginning. */
async function messageIdCounts(): Promise<Map<string, number>> {
  const records = await readRange(kafka, await beginning(kafka, INPUTS), 30_000);
  const count = new Map<string, number>();
  for (const r of records) {
    const v = await c!.codec.decode<{ messageId: string }>(r.value!);
    count.set(v.messageId, (count.get(v.messageId) ?? 0) + 1);
  }
  return count;
}
