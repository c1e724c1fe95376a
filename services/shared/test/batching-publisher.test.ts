/** The batching logic alone, over a stand-in for the producer whose sends the test settles. */
import t from 'tap';
import { BatchingPublisher } from '../src/kafka/batching-publisher.js';
import { RetryableError } from '../src/errors.js';
import type { Producer } from '../src/kafka/client.js';

function fakeProducer() {
  const sends: { records: number; settle: (err?: Error) => void }[] = [];
  const producer = {
    sendBatch: ({ topicMessages }: { topicMessages: { messages: unknown[] }[] }) =>
      new Promise<void>((resolve, reject) => {
        const records = topicMessages.reduce((n, tm) => n + tm.messages.length, 0);
        sends.push({ records, settle: (err) => (err ? reject(err) : resolve()) });
      }),
  } as unknown as Producer;
  return { producer, sends };
}

const rec = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ topic: i % 2 ? 'a' : 'b', key: 'k', value: Buffer.from('v') }));
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

t.test('concurrent callers share one produce request, each settles on its ack', async (t) => {
  const { producer, sends } = fakeProducer();
  const p = new BatchingPublisher(producer, { lingerMs: 2, maxBatchRecords: 1000, timeoutMs: 1000 });
  let done = 0;
  const a = p.publish(rec(3)).then(() => done++);
  const b = p.publish(rec(4)).then(() => done++);
  await tick();
  t.equal(sends.length, 1, 'one sendBatch for both');
  t.equal(sends[0]!.records, 7);
  t.equal(done, 0, 'nobody is answered before the ack');
  sends[0]!.settle();
  await Promise.all([a, b]);
  t.equal(done, 2);
});

t.test('a failed or slow produce is a RetryableError for every caller in it', async (t) => {
  const { producer, sends } = fakeProducer();
  const p = new BatchingPublisher(producer, { lingerMs: 0, maxBatchRecords: 1000, timeoutMs: 50 });
  const failed = p.publish(rec(2));
  await tick();
  sends[0]!.settle(new Error('broker gone'));
  await t.rejects(failed, RetryableError);
  await t.rejects(p.publish(rec(2)), /within 50 ms/, 'never acknowledged: times out');
});

t.test('past maxPendingRecords a caller is refused at once; capacity returns with the ack', async (t) => {
  const { producer, sends } = fakeProducer();
  const p = new BatchingPublisher(producer, {
    lingerMs: 0,
    maxBatchRecords: 1000,
    timeoutMs: 1000,
    maxPendingRecords: 10,
  });
  const first = p.publish(rec(8));
  await t.rejects(p.publish(rec(5)), /queue full/);
  t.equal(p.pendingRecords, 8);
  await tick();
  sends[0]!.settle();
  await first;
  t.equal(p.pendingRecords, 0);
  const again = p.publish(rec(5));
  await tick();
  sends[1]!.settle();
  await t.resolves(again);
  const big = p.publish(rec(50));
  await tick();
  t.equal(sends[2]!.records, 50, 'one request larger than the bound still goes when nothing waits');
  sends[2]!.settle();
  await big;
});
