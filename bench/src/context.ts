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
/** Every topic the bench creates starts with this (`cdpbench.<tag>.cdp.events`, ...). */
export const BENCH_TOPIC_PREFIX = 'cdpbench.';

export interface BenchContext {
  opts: BenchOptions;
  /** This run's tag, e.g. 20261125t0412-k3f9. */
  tag: string;
  /** BENCH_PREFIX + tag: customer ids, messageIds, groups and the source name start with it. */
  marker: string;
  /**
   * TOPIC_PREFIX of the collector and processors the bench runs, `cdpbench.<tag>.`: the bench's
   * traffic goes to topics of its own, created at the start and deleted at the end, never to the
   * development topics. The end-to-end phase uses `cdpbench.<tag>.e2e.`, topics of its own.
   */
  prefix: string;
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

/** One HTTP request of the workload. */
export interface HttpRequest {
  path: string;
  body: string;
  /** Items (events or orders) in it. */
  items: number;
  /** Its first event is a freshness probe (batch requests). */
  probe: boolean;
}

/**
 * Request bodies and the request counter that makes their ids unique. Plain: every request a
 * POST /v1/batch. Mixed (`mixed = true`, the end-to-end phase): one request in ORDERS_EVERY is a
 * POST /v1/orders of as many orders as a batch has events, so orders are 1/ORDERS_EVERY of the
 * items (and identify calls IDENTIFY_SHARE of the batch items); one in CAMPAIGNS_EVERY a POST
 * /v1/campaign-events of as many provider events.
 */
export class HttpWorkload {
  static readonly ORDERS_EVERY = 100;
  /** One request in CAMPAIGNS_EVERY (offset from the orders') is a POST /v1/campaign-events. */
  static readonly CAMPAIGNS_EVERY = 100;
  private next = 0;
  /** Mixed traffic: batches and, one request in ORDERS_EVERY, orders. */
  mixed = false;
  /** When set, called with each probe-carrying request's number and send time (the end-to-end probes). */
  onSend: ((n: number, at: number) => void) | undefined;

  constructor(
    readonly templates: BatchTemplates,
    readonly customers: CustomerPool,
    readonly orders?: BatchTemplates,
    readonly campaigns?: BatchTemplates,
  ) {}

  get sent(): number {
    return this.next;
  }

  request(): HttpRequest {
    const n = this.next++;
    if (this.mixed && this.orders && n % HttpWorkload.ORDERS_EVERY === HttpWorkload.ORDERS_EVERY - 1) {
      const body = this.orders.bodies[n % this.orders.bodies.length]!.replaceAll(REQUEST_TOKEN, String(n));
      return { path: '/v1/orders', body, items: this.templates.events, probe: false };
    }
    if (
      this.mixed &&
      this.campaigns &&
      n % HttpWorkload.CAMPAIGNS_EVERY === HttpWorkload.CAMPAIGNS_EVERY / 2
    ) {
      const body = this.campaigns.bodies[n % this.campaigns.bodies.length]!.replaceAll(
        REQUEST_TOKEN,
        String(n),
      );
      return { path: '/v1/campaign-events', body, items: this.templates.events, probe: false };
    }
    this.onSend?.(n, Date.now());
    const body = this.templates.bodies[n % this.templates.bodies.length]!.replaceAll(
      REQUEST_TOKEN,
      String(n),
    );
    return { path: '/v1/batch', body, items: this.templates.events, probe: true };
  }

  /** A /v1/batch body (the collector phase). */
  body(): string {
    return this.request().body;
  }
}
