/**
 * A processor as a process of its own (`node --import tsx services/<name>/src/main.ts`), for tests
 * that must prove it keeps running, or kill it: its exit is recorded the moment it happens, and the
 * last lines it wrote are kept to say why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createKafka, ensureTopics } from '../src/kafka/client.js';
import { repoPath } from '../src/repo-path.js';
import { dlqSpec, Topics } from '../src/topics.js';
import { config, logger } from './support.js';

/**
 * The derived topics of a test's TOPIC_PREFIX: a processor's outbox rows for a topic that does not
 * exist would wait in the shared outbox for ever (retried by every relay of that processor).
 */
const derivedTopicsMade = new Map<string, Promise<unknown>>();
function ensureDerivedTopics(prefix: string): void {
  if (derivedTopicsMade.has(prefix)) return;
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'test-derived-topics', logger });
  const made = ensureTopics(kafka, [
    ...[Topics.customerChanges, Topics.segmentChanges].map((t) => ({ topic: prefix + t, partitions: 1 })),
    dlqSpec(prefix + Topics.customerChanges),
  ]).catch(() => undefined);
  derivedTopicsMade.set(prefix, made);
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessorProcess {
  child: ChildProcess;
  /** How it ended, once it has: undefined while it runs. */
  exited(): Exit | undefined;
  /** Resolves when it has exited, however. */
  exit: Promise<Exit>;
  /** Its last output lines (stdout and stderr), for assertions and failure messages. */
  lines(): readonly string[];
  lastLines(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `entry` (a path from the repository root) with `env` over the test's environment. The
 * variables in `isolate` and TOPIC_PREFIX are taken only from `env`, so a value in the caller's
 * environment cannot point the process at shared topics.
 */
export function startProcessor(
  entry: string,
  env: Record<string, string>,
  isolate: readonly string[] = [],
): ProcessorProcess {
  if (env.TOPIC_PREFIX) ensureDerivedTopics(env.TOPIC_PREFIX);
  const base: Record<string, string | undefined> = { ...process.env };
  for (const name of ['TOPIC_PREFIX', ...isolate]) delete base[name];
  const child = spawn(process.execPath, ['--import', 'tsx', repoPath(entry)], {
    cwd: repoPath(),
    env: {
      ...base,
      LOG_LEVEL: 'warn',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(line.slice(0, 2_000));
    if (lines.length > 500) lines.splice(0, lines.length - 500);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let ended: Exit | undefined;
  const exit = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = { code, signal };
      resolve(ended);
    });
  });
  return {
    child,
    exited: () => ended,
    exit,
    lines: () => lines,
    lastLines: () => lines.slice(-40).join('\n'),
    async stop(graceMs = 10_000) {
      if (ended) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** The event sink on `env` (EVENT_SINK_TOPIC only from it), its ops port chosen by the OS. */
export const startSink = (env: Record<string, string>): ProcessorProcess =>
  startProcessor('services/event-sink/src/main.ts', { EVENT_SINK_PORT: '0', ...env }, ['EVENT_SINK_TOPIC']);
