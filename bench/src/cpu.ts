/**
 * CPU time of every process of the pipeline, read from /proc: the bench's children (collector,
 * processors) by pid, the stack's Kafka broker and schema registry by their pid files under
 * .stack/run/, PostgreSQL as every process named `postgres` (postmaster, backends, background
 * workers) plus what its postmaster collected from children that exited (a backend that ends
 * inside a window still counts), and the bench itself. A snapshot before and after a window gives
 * each one's CPU seconds in it.
 *
 * `postgresql` is the whole server, so on a shared machine it includes the work of everything
 * else that uses the same PostgreSQL (other sessions' tests). `postgresql-pipeline` is only the
 * backends serving the bench's children: a backend's client port (pg_stat_activity) matched to
 * the local port of a TCP socket the child holds (/proc/<pid>/fd and /proc/net/tcp), backends that
 * connect during a window counted whole, those that end inside it not at all.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Db } from '../../services/shared/src/pg/gateway.js';
import { repoPath } from '../../services/shared/src/repo-path.js';

const USER_HZ = 100; // Linux reports ticks of 1/100 s in /proc/<pid>/stat

interface Stat {
  comm: string;
  ppid: number;
  /** utime + stime, seconds. */
  own: number;
  /** cutime + cstime (children waited for), seconds. */
  children: number;
}

function stat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const f = text.slice(close + 2).split(' ');
    // after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return {
      comm,
      ppid: Number(f[1]),
      own: (Number(f[11]) + Number(f[12])) / USER_HZ,
      children: (Number(f[13]) + Number(f[14])) / USER_HZ,
    };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far; NaN when it is not there. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  return stat(pid)?.own ?? NaN;
}

function pidFile(name: string): number | undefined {
  try {
    const pid = Number(readFileSync(repoPath('.stack', 'run', `${name}.pid`), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && stat(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** All of PostgreSQL: every `postgres` process, and the postmaster's reaped children. */
function postgresSeconds(): number {
  let total = 0;
  let found = false;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (!s || s.comm !== 'postgres') continue;
    found = true;
    total += s.own;
    const parent = stat(s.ppid);
    if (!parent || parent.comm !== 'postgres') total += s.children; // the postmaster
  }
  return found ? total : NaN;
}

/** Local TCP ports of the sockets each process holds, port -> the process's name. */
function socketPorts(procs: Record<string, number | undefined>): Map<number, string> {
  const inodes = new Map<string, string>();
  for (const [name, pid] of Object.entries(procs)) {
    if (pid === undefined) continue;
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.set(m[1]!, name);
      } catch {
        // closed meanwhile
      }
    }
  }
  const ports = new Map<number, string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const owner = f.length > 9 ? inodes.get(f[9]!) : undefined;
      if (owner) ports.set(parseInt(f[1]!.split(':')[1]!, 16), owner);
    }
  }
  return ports;
}

/** PostgreSQL backends serving the named processes (by client port): backend pid -> process name. */
export async function backendsOf(
  db: Db,
  procs: Record<string, number | undefined>,
): Promise<Map<number, string>> {
  const ports = socketPorts(procs);
  const { rows } = await db.query<{ pid: number; client_port: number }>(
    'bench.backends',
    'SELECT pid, client_port FROM pg_stat_activity WHERE client_port IS NOT NULL AND pid <> pg_backend_pid()',
  );
  const out = new Map<number, string>();
  for (const r of rows) {
    const owner = ports.get(r.client_port);
    if (owner) out.set(r.pid, owner);
  }
  return out;
}

const BACKEND = 'pg-backend:';

export type CpuSnapshot = Record<string, number>;

/**
 * CPU seconds so far of each named process: `children` maps a name to the pid of a process the
 * bench started; kafka, schema-registry, postgresql and bench are added.
 */
export function cpuSnapshot(
  children: Record<string, number | undefined>,
  backends: Map<number, string> = new Map(),
): CpuSnapshot {
  const own = process.cpuUsage();
  const out: CpuSnapshot = {};
  for (const [name, pid] of Object.entries(children)) out[name] = cpuSeconds(pid);
  for (const [pid, owner] of backends) out[`${BACKEND}${owner}:${pid}`] = cpuSeconds(pid);
  out.kafka = cpuSeconds(pidFile('kafka'));
  out['schema-registry'] = cpuSeconds(pidFile('schema-registry'));
  out.postgresql = postgresSeconds();
  out.bench = (own.user + own.system) / 1e6;
  return out;
}

/**
 * CPU seconds used between two snapshots, per process; the backends of the pipeline added up as
 * `postgresql-pipeline` and, per process they serve, as `postgresql:<process>`.
 */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot {
  const out: CpuSnapshot = {};
  const backends: Record<string, number> = {};
  for (const [name, v] of Object.entries(after)) {
    if (name.startsWith(BACKEND)) {
      const owner = name.slice(BACKEND.length, name.lastIndexOf(':'));
      const used = Number.isFinite(v) ? v - (before[name] ?? 0) : 0;
      backends['postgresql-pipeline'] = (backends['postgresql-pipeline'] ?? 0) + used;
      backends[`postgresql:${owner}`] = (backends[`postgresql:${owner}`] ?? 0) + used;
    } else {
      out[name] = v - (before[name] ?? NaN);
    }
  }
  return { ...out, ...backends };
}
