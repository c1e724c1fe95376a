/**
 * Summarises a V8 CPU profile (`node --cpu-prof` writes one `.cpuprofile` when the process exits):
 * where the process spent its time, by function (self time: the samples in which that function
 * itself was running) and by where the code comes from (a package under node_modules, a file of
 * this project, Node's own internals, the garbage collector, idle), and by stage of the collector's
 * hot path, added up from the call tree: each sample counted
 * once, for the nearest stage on its stack.
 *
 * `node dist/bench/src/profile.js <file.cpuprofile> [top]` prints the summary of one profile.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface CostLine {
  name: string;
  ms: number;
  /** Share of the non-idle samples. */
  share: number;
}

export interface ProfileSummary {
  file: string;
  /** Wall time the profile covers, ms. */
  wallMs: number;
  /** Samples in which the main thread was busy (not idle), ms. */
  busyMs: number;
  /** By function, self time, biggest first. */
  functions: CostLine[];
  /** By origin (package, project file, node internals, GC), self time, biggest first. */
  origins: CostLine[];
  /** Inclusive time of named stages of the collector's request path. */
  stages: CostLine[];
}

/**
 * Stages of the collector's work, recognised by the frames on the stack: a sample counts for the
 * stage of the frame nearest to the running function that names one (so Buffer copies inside the
 * Kafka client count for the client, JSON.stringify inside the mapping for the mapping). Builtins
 * such as JSON.parse have no frame of their own: they count for the function that called them.
 */
const STAGES: { name: string; match: (f: CallFrame) => boolean }[] = [
  { name: '(garbage collector)', match: (f) => f.functionName === '(garbage collector)' },
  {
    name: 'body parser (JSON.parse, gunzip, depth check, text rule)',
    match: (f) => /collector\/src\/body\.js$/.test(f.url) || /shared\/src\/text\//.test(f.url),
  },
  {
    name: 'Ajv validation',
    match: (f) => /node_modules\/ajv/.test(f.url) || /^validate\d*$/.test(f.functionName),
  },
  { name: 'mapping (mapSegmentMessage & co)', match: (f) => /collector\/src\/mapping\//.test(f.url) },
  {
    name: 'Avro encoding',
    match: (f) =>
      /node_modules\/avsc\//.test(f.url) || /(collector\/src\/encoder|avro\/registry)\.js$/.test(f.url),
  },
  {
    name: 'Kafka client (produce: record batches, CRC, network writes)',
    match: (f) =>
      /node_modules\/(kafkajs|@platformatic\/|@node-rs\/)/.test(f.url) || /shared\/src\/kafka\//.test(f.url),
  },
  {
    name: 'route handler (encodeAll, size check)',
    match: (f) => /collector\/src\/(routes\/v1|event-size)\.js$/.test(f.url),
  },
  { name: 'metrics (prom-client)', match: (f) => /node_modules\/prom-client\//.test(f.url) },
  {
    name: 'Fastify (routing, hooks, schemas, rate limit, CORS)',
    match: (f) =>
      /node_modules\/(fastify|@fastify|find-my-way|fast-json-stringify|avvio|light-my-request)/.test(f.url),
  },
];
/** Node's own code (HTTP parser, sockets, streams, Buffer) counts for the nearest stage above it, else for this. */
const NODE_STAGE = 'Node HTTP, sockets, streams, timers';

function origin(f: CallFrame): string {
  if (f.url === '') {
    if (f.functionName.startsWith('(')) return f.functionName; // (garbage collector), (program), (idle)
    return '(V8 builtins and generated code: JSON, Ajv validators)';
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f.url);
  if (nm) return nm[1]!;
  if (f.url.startsWith('node:')) return `node:${f.url.slice(5).split('/')[0]}`;
  const project = /\/dist\/(.+)$/.exec(f.url);
  if (project) return project[1]!;
  return f.url;
}

function label(f: CallFrame): string {
  const where = f.url === '' ? '' : ` ${origin(f)}:${f.lineNumber + 1}`;
  return `${f.functionName || '(anonymous)'}${where}`;
}

export function summariseProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Time per sample: the delta to the next sample (V8's own attribution).
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const selfUs = new Map<number, number>();
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < deltas.length ? deltas[i + 1]! : 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
  }

  const idleUs = [...selfUs].reduce(
    (s, [id, us]) => (byId.get(id)?.callFrame.functionName === '(idle)' ? s + us : s),
    0,
  );
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const busyUs = totalUs - idleUs;

  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  const functions = new Map<string, number>();
  const origins = new Map<string, number>();
  const stages = new Map<string, number>();
  const stageOf = new Map<number, string | null>();
  const stageFor = (id: number): string | null => {
    if (stageOf.has(id)) return stageOf.get(id)!;
    // the frame nearest to the running one that names a stage
    let found: string | null = null;
    let inNode = false;
    for (let at: number | undefined = id; at !== undefined && found === null; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      found = STAGES.find((s) => s.match(f))?.name ?? null;
      inNode ||= f.url.startsWith('node:');
    }
    if (found === null && inNode) found = NODE_STAGE;
    stageOf.set(id, found);
    return found;
  };
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') continue;
    add(functions, label(f), us);
    add(origins, origin(f), us);
    add(stages, stageFor(id) ?? 'everything else', us);
  }
  const lines = (m: Map<string, number>, n: number): CostLine[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 1000),
        share: busyUs > 0 ? Math.round((us / busyUs) * 1000) / 1000 : 0,
      }));
  return {
    file,
    wallMs: Math.round((profile.endTime - profile.startTime) / 1000),
    busyMs: Math.round(busyUs / 1000),
    functions: lines(functions, top),
    origins: lines(origins, top),
    stages: lines(stages, STAGES.length + 1),
  };
}

export function formatProfile(s: ProfileSummary, top = 5): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(6);
  const block = (title: string, list: CostLine[]) =>
    [
      title,
      ...list.slice(0, top).map((l) => `  ${pct(l.share)}  ${String(l.ms).padStart(6)} ms  ${l.name}`),
    ].join('\n');
  return [
    `profile ${s.file}: ${s.busyMs} ms busy of ${s.wallMs} ms`,
    block('by stage (inclusive):', s.stages),
    block('by origin (self time):', s.origins),
    block('by function (self time):', s.functions),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/bench/src/profile.js <file.cpuprofile> [top]\n');
    process.exit(1);
  }
  const top = Number(process.argv[3] ?? 12);
  process.stdout.write(formatProfile(summariseProfile(file, top), top) + '\n');
}
