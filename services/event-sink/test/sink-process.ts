/**
 * The event sink as a process of its own (`node --import tsx services/event-sink/src/main.ts`),
 * for tests that must prove it keeps running: its exit is recorded the moment it happens, and the
 * last lines it wrote are kept to say why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { repoPath } from '../../shared/src/repo-path.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SinkProcess {
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
 * Starts the sink with `env` over the test's environment. EVENT_SINK_TOPIC and TOPIC_PREFIX are
 * taken only from `env`, so a value in the caller's environment cannot point it at shared topics.
 */
export function startSink(env: Record<string, string>): SinkProcess {
  const base: Record<string, string | undefined> = { ...process.env };
  delete base.EVENT_SINK_TOPIC;
  delete base.TOPIC_PREFIX;
  const child = spawn(process.execPath, ['--import', 'tsx', repoPath('services/event-sink/src/main.ts')], {
    cwd: repoPath(),
    env: {
      ...base,
      EVENT_SINK_PORT: '0',
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
