/**
 * Child processes of the bench (the collector, the processors, the baseline HTTP server): started with
 * their output in a temporary folder, waited for through their HTTP readiness endpoint, and
 * always stopped: on a normal end, on an error, on SIGINT/SIGTERM, and at process exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../../services/shared/src/retry.js';
import { repoPath } from '../../services/shared/src/repo-path.js';
import { progress } from './log.js';

export const logDir = mkdtempSync(join(tmpdir(), 'cdp-bench-'));

export interface Child {
  name: string;
  proc: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  /** Stops the child: SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const children = new Set<Child>();

export function startChild(
  name: string,
  entry: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Child {
  const logFile = join(logDir, `${name}.log`);
  const out: WriteStream = createWriteStream(logFile);
  const proc = spawn(process.execPath, [...nodeArgs, repoPath(entry)], {
    cwd: repoPath(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.pipe(out, { end: false });
  proc.stderr?.pipe(out, { end: false });
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code, signal) => {
      out.end(`\n[bench] ${name} exited (code ${code}, signal ${signal})\n`);
      resolve(code);
    });
    proc.once('error', (err) => {
      out.end(`\n[bench] ${name} could not start: ${err.message}\n`);
      resolve(-1);
    });
  });
  const child: Child = {
    name,
    proc,
    logFile,
    exited,
    async stop(graceMs = 10_000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
        if (!done) {
          progress(`${name} did not stop within ${graceMs} ms; killing it`);
          proc.kill('SIGKILL');
          await Promise.race([exited, sleep(2_000)]);
        }
      }
      children.delete(child);
    },
  };
  children.add(child);
  return child;
}

/** The last lines of a child's output, for error messages. */
export function tail(child: Child, lines = 15): string {
  try {
    return readFileSync(child.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop(5_000)));
}

/** Last resort, synchronous: at exit nothing asynchronous runs any more. */
function killAllNow(): void {
  for (const c of children) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  }
}
process.on('exit', killAllNow);

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200; fails when the child exits first or `timeoutMs` passes. */
export async function waitReady(child: Child, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void child.exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${child.name} exited before it was ready:\n${tail(child)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${child.name} was not ready at ${url} within ${timeoutMs} ms:\n${tail(child)}`);
}

export { cpuSeconds } from './cpu.js';
