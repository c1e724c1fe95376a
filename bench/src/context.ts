/** What every phase of the bench shares: options, clients, the run's marker, and its findings. */
import type { Db } from '../../services/shared/src/pg/gateway.js';
import type { Kafka } from '../../services/shared/src/kafka/client.js';
import type { AvroCodec } from '../../services/shared/src/avro/registry.js';
import type { Logger } from '../../services/shared/src/logger.js';
import type { BenchOptions } from './options.js';
import type { BatchTemplates, CustomerPool } from './workload.js';
import { REQUEST_TOKEN } from './workload.js';

/** Every id the bench writes starts with this, so leftovers of any run can be found. */
export const BENCH_PREFIX = 'cdpbench-';

export interface BenchContext {
  opts: BenchOptions;
  /** This run's tag, e.g. 20261125t0412-k3f9. */
  tag: string;
  /** BENCH_PREFIX + tag: customer ids, messageIds, groups and the source name start with it. */
  marker: string;
  db: Db;
  kafka: Kafka;
  codec: AvroCodec;
  logger: Logger;
  /** Things that make the figures less clean (another sink running, a rate the box could not give). */
  warnings: string[];
  /** Correctness problems seen under load (lost rows, duplicates, errors): reported, and exit non-zero. */
  findings: string[];
  /** Bench source for HTTP traffic. */
  source?: { id: string; name: string; writeKey: string };
  /** Probe customers (external id -> customers.id) for the end-to-end freshness measurement. */
  probes?: Map<string, string>;
  http?: HttpWorkload;
}

/** Request bodies for POST /v1/batch and the request counter that makes their messageIds unique. */
export class HttpWorkload {
  private next = 0;
  /** When set, called with each request's number and send time (the end-to-end probes need it). */
  onSend: ((n: number, at: number) => void) | undefined;

  constructor(
    readonly templates: BatchTemplates,
    readonly customers: CustomerPool,
  ) {}

  get sent(): number {
    return this.next;
  }

  body(): string {
    const n = this.next++;
    this.onSend?.(n, Date.now());
    return this.templates.bodies[n % this.templates.bodies.length]!.replaceAll(REQUEST_TOKEN, String(n));
  }
}
