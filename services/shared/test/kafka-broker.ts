/**
 * A private single-node Kafka (KRaft, broker and controller in one JVM) for tests that must stop
 * or kill a broker: never the shared one on 9092, which other tests use at the same time. Same
 * properties as deploy/local/stack.sh, its own ports and temp data dir, a 256 MB heap.
 *
 *   const broker = await startPrivateBroker();   // formatted, started, answering
 *   broker.brokers                                // ['127.0.0.1:<port>'] for KAFKA_BROKERS
 *   await broker.kill();                          // SIGKILL (or broker.kill('SIGTERM'): clean stop)
 *   await broker.start();                         // again, same ports and data
 *   await broker.destroy();                       // kill and delete the data (teardown)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../src/repo-path.js';
import { createKafka } from '../src/kafka/client.js';
import { logger, waitFor } from './support.js';

/** Where the Kafka jars are (what stack.sh collects); KAFKA_LIBS overrides. */
const KAFKA_LIBS = process.env.KAFKA_LIBS ?? repoPath('.stack', 'opt', 'kafka-libs');

export interface PrivateBroker {
  readonly brokers: string[];
  readonly port: number;
  readonly controllerPort: number;
  readonly dir: string;
  /** The broker's own log (stdout and stderr of the JVM), for failure messages. */
  readonly logFile: string;
  readonly pid: number | undefined;
  /** Starts the broker (again) on the same ports and data; resolves when it answers metadata requests. */
  start(timeoutMs?: number): Promise<void>;
  /** Signals the JVM and waits until it has exited. SIGKILL is a crash; SIGTERM a controlled shutdown. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the broker keeps its connections but answers nothing (a hung broker), until resume(). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Kills the broker if running and deletes its data dir. */
  destroy(): Promise<void>;
}

/** A TCP port that was free a moment ago (the OS picked it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function javaArgs(dir: string, mainClass: string, ...args: string[]): string[] {
  return [
    '-Xms256m',
    '-Xmx256m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    // Start fast: the JIT's top tier is not worth it for a broker that lives a few seconds.
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`,
    `-Dkafka.logs.dir=${join(dir, 'logs')}`,
    '-cp',
    `${KAFKA_LIBS}/*`,
    mainClass,
    ...args,
  ];
}

function run(cmd: string, args: string[], logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = createWriteStream(logFile, { flags: 'a' });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.at(-5)} exited ${code} (log: ${logFile})`)),
    );
  });
}

export async function startPrivateBroker(opts: { startTimeoutMs?: number } = {}): Promise<PrivateBroker> {
  if (!existsSync(KAFKA_LIBS))
    throw new Error(
      `no Kafka jars at ${KAFKA_LIBS}: run ./deploy/local/stack.sh up first (or set KAFKA_LIBS)`,
    );
  const dir = await mkdtemp(join(tmpdir(), 'cdp-kafka-'));
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  await mkdir(join(dir, 'logs'));
  const props = join(dir, 'server.properties');
  // As stack.sh writes it, with this broker's ports and data dir.
  await writeFile(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'default.replication.factor=1',
      'min.insync.replicas=1',
      'group.initial.rebalance.delay.ms=0',
      'offsets.topic.num.partitions=1',
      'auto.create.topics.enable=false',
      'num.partitions=1',
      // The one difference from stack.sh: after a kill -9 the controller refuses the restarted
      // broker (DUPLICATE_BROKER_REGISTRATION) until the old incarnation's session expires, 9 s
      // by default. A short session makes a restart after a crash take seconds, not 15.
      'broker.session.timeout.ms=2000',
      'broker.heartbeat.interval.ms=500',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'log4j.properties'),
    [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka.request.logger=WARN',
      'log4j.logger.state.change.logger=WARN',
      'log4j.logger.kafka.log.LogCleaner=WARN',
      '',
    ].join('\n'),
  );
  const logFile = join(dir, 'broker.log');
  // A cluster id is a random 16-byte UUID in URL-safe base64 (what `StorageTool random-uuid`
  // prints), made here to save a JVM start.
  // Like Kafka's own Uuid.randomUuid, never one that starts with '-': the tool's argument parser
  // would take it for an option (and a test would fail one time in 64).
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  await run(
    'java',
    javaArgs(dir, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, '--ignore-formatted'),
    logFile,
  );

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  // If the test process exits without its teardown (a crash), the broker must not outlive it.
  const killOnExit = () => child?.kill('SIGKILL');
  process.on('exit', killOnExit);

  const broker: PrivateBroker = {
    brokers: [`127.0.0.1:${port}`],
    port,
    controllerPort,
    dir,
    logFile,
    get pid() {
      return child?.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },

    async start(timeoutMs = opts.startTimeoutMs ?? 45_000) {
      if (broker.pid !== undefined) throw new Error('the private broker is already running');
      const out = createWriteStream(logFile, { flags: 'a' });
      const proc = spawn('java', javaArgs(dir, 'kafka.Kafka', props), { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      proc.stdout!.pipe(out);
      proc.stderr!.pipe(out);
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      let died = false;
      void exited.then(() => (died = true));
      // Ready when a client gets metadata from it (the log's "Kafka Server started" comes a bit
      // earlier than the listener accepts requests on a slow machine).
      const kafka = createKafka({
        brokers: broker.brokers,
        clientId: 'private-broker-probe',
        logger,
        requestTimeoutMs: 2_000,
        retries: 0,
      });
      await waitFor(
        `the private broker on ${port} to start (log: ${logFile})`,
        async () => {
          if (died)
            throw new Error(`the broker exited (code ${proc.exitCode}); log tail:\n${await tail(logFile)}`);
          const admin = kafka.admin();
          try {
            await admin.connect();
            await admin.listTopics();
            return true;
          } finally {
            await admin.disconnect().catch(() => undefined);
          }
        },
        timeoutMs,
        250,
      ).catch(async (err: Error) => {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(`${err.message}\n${await tail(logFile)}`);
      });
    },

    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (broker.pid === undefined) return;
      child!.kill(signal);
      await exited;
    },

    pause() {
      if (broker.pid === undefined) throw new Error('the private broker is not running');
      child!.kill('SIGSTOP');
    },

    resume() {
      if (broker.pid !== undefined) child!.kill('SIGCONT');
    },

    async destroy() {
      broker.resume();
      await broker.kill('SIGKILL');
      process.off('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    await broker.start();
  } catch (err) {
    await broker.destroy();
    throw err;
  }
  return broker;
}

async function tail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}
