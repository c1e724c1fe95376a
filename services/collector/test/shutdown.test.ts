/**
 * The collector process on the real stack: SIGTERM while a request waits for its produce call
 * (a long linger makes the window wide) — the request still gets 200, its record is in Kafka's
 * acknowledgement, and the process exits 0. Its logs hold neither the write key nor the payload.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { createSource } from '../../shared/src/sources/store.js';
import { repoPath } from '../../shared/src/repo-path.js';
import { config, randomName, waitFor } from '../../shared/test/support.js';

t.test('SIGTERM finishes in-flight requests and their produce calls, then exits 0', async (t) => {
  const db = createDb({
    connectionString: config.databaseUrl,
    service: 'shutdown-test',
    registry: createRegistry('shutdown-test'),
  });
  const source = await createSource(db, randomName('shutdown-test'));
  await db.end();

  const child = spawn(process.execPath, ['--import', 'tsx', repoPath('services/collector/src/main.ts')], {
    cwd: repoPath(),
    env: {
      ...process.env,
      COLLECTOR_PORT: '0',
      COLLECTOR_HOST: '127.0.0.1',
      PRODUCE_LINGER_MS: '900',
      LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  const logs: string[] = [];
  let port: number | undefined;
  let ready = false;
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      logs.push(line);
      if (line.includes('collector listening')) port = JSON.parse(line).port;
      if (line.includes('collector ready')) ready = true;
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(
    'collector ready',
    () => {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
      return ready && port !== undefined;
    },
    60_000,
  ).catch((err) => {
    throw new Error(`${err.message}; collector output:\n${logs.join('\n')}`);
  });

  const secret = `payload-${randomUUID()}`;
  const request = fetch(`http://127.0.0.1:${port}/v1/track`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ userId: randomName('u'), event: 'Shutdown Test', properties: { secret } }),
  });
  await new Promise((r) => setTimeout(r, 300)); // the request is now waiting for its produce call
  child.kill('SIGTERM');
  const res = await request;
  t.equal(res.status, 200, 'the in-flight request completed', { body: await res.clone().text() });
  t.equal(await exited, 0, 'clean exit', { logs: logs.filter((l) => /stop|error|warn/i.test(l)) });
  const text = logs.join('\n');
  t.ok(logs.length > 0);
  t.notOk(text.includes(source.writeKey), 'no write key in the logs');
  t.notOk(text.includes(secret), 'no payload in the logs');
});
