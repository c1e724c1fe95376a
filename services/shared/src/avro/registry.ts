import { readFile } from 'node:fs/promises';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { repoPath } from '../repo-path.js';
import { PoisonError, RetryableError } from '../errors.js';
import { valueSubject } from '../topics.js';

/** An Avro schema as stored in schemas/*.avsc. */
export type AvroSchema = Record<string, unknown>;

export async function readSchemaFile(file: string): Promise<AvroSchema> {
  return JSON.parse(await readFile(repoPath('schemas', file), 'utf8')) as AvroSchema;
}

/**
 * The encoder of a topic's values: `schemaFile` registered under the topic's value subject
 * (idempotent; `topic` unprefixed, as subjects are), for a writer that publishes to it.
 */
export async function topicEncoder(
  codec: AvroCodec,
  topic: string,
  schemaFile: string,
): Promise<(value: unknown) => Buffer> {
  const schemaId = await codec.register(valueSubject(topic), await readSchemaFile(schemaFile));
  return codec.encoderFor(schemaId);
}

type Middleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];

/**
 * The registry client sets no timeout of its own, and a request the registry never answers (seen
 * with Apicurio on a kept-alive connection) would wait for ever; this one fails and is retried.
 */
const REGISTRY_TIMEOUT_MS = 10_000;
const requestTimeout =
  (ms: number): Middleware =>
  () => ({
    async prepareRequest(next) {
      return (await next()).enhance({ timeout: ms });
    },
  });

/**
 * Avro in the Confluent wire format (magic byte, 4-byte schema id, Avro body) through a
 * Confluent-compatible registry. Schemas are cached by id after the first look-up.
 */
export class AvroCodec {
  private readonly registry: SchemaRegistry;
  private readonly encoders = new Map<number, Promise<(value: unknown) => Buffer>>();

  constructor(url: string) {
    this.registry = new SchemaRegistry({
      host: url,
      retry: { retries: 2 },
      middlewares: [requestTimeout(REGISTRY_TIMEOUT_MS)],
    });
  }

  /** Registers (or finds) `schema` under `subject`; returns its id. Idempotent. */
  async register(subject: string, schema: AvroSchema): Promise<number> {
    const { id } = await this.registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject },
    );
    return id;
  }

  /** The id of the latest version registered under `subject`. */
  async latestId(subject: string): Promise<number> {
    return this.registry.getLatestSchemaId(subject);
  }

  /**
   * A synchronous encoder for one schema id, for hot paths: the schema is fetched once, then each
   * value costs one Avro serialisation and no promise. Throws PoisonError when a value does not fit.
   */
  encoderFor(schemaId: number): Promise<(value: unknown) => Buffer> {
    let encoder = this.encoders.get(schemaId);
    if (!encoder) {
      encoder = this.buildEncoder(schemaId);
      // A failed look-up (registry down) is not cached: the next call asks again.
      encoder.catch(() => this.encoders.delete(schemaId));
      this.encoders.set(schemaId, encoder);
    }
    return encoder;
  }

  private async buildEncoder(schemaId: number): Promise<(value: unknown) => Buffer> {
    let schema: { toBuffer(v: unknown): Buffer; isValid(v: unknown, o?: object): boolean };
    try {
      schema = (await this.registry.getSchema(schemaId)) as unknown as typeof schema;
    } catch (err) {
      if (isRegistryUnavailable(err)) throw new RetryableError('schema registry unavailable', { cause: err });
      throw err;
    }
    const header = Buffer.alloc(5);
    header.writeInt32BE(schemaId, 1); // byte 0 is the magic byte, 0
    return (value) => {
      let body: Buffer;
      try {
        body = schema.toBuffer(value);
      } catch (err) {
        const paths: string[] = [];
        schema.isValid(value, { errorHook: (path: string[]) => paths.push(path.join('.')) });
        throw new PoisonError(
          'schema-invalid',
          `does not fit the schema${paths.length ? ` at ${paths.join(', ')}` : ''}`,
          {
            cause: err,
          },
        );
      }
      return Buffer.concat([header, body], header.length + body.length);
    };
  }

  /** Encodes `value` (through the same cached encoder); throws PoisonError when it does not fit. */
  async encode(schemaId: number, value: unknown): Promise<Buffer> {
    return (await this.encoderFor(schemaId))(value);
  }

  /**
   * Decodes a framed record. A registry outage is retryable; anything else about the bytes
   * (no magic byte, unknown id, truncated body) means this record can never be read.
   */
  async decode<T = unknown>(buffer: Buffer): Promise<T> {
    try {
      return (await this.registry.decode(buffer)) as T;
    } catch (err) {
      if (isRegistryUnavailable(err)) throw new RetryableError('schema registry unavailable', { cause: err });
      throw new PoisonError('undecodable', (err as Error).message, { cause: err });
    }
  }
}

/**
 * Whether a registry call failed because the registry could not answer (down, overloaded,
 * misconfigured), as opposed to answering that the schema does not exist. The client library
 * reports a refused connection as "status 400" with the socket error in the message, so the
 * message is read first; of the answers, only 404 (no such schema id) is the record's fault.
 */
function isRegistryUnavailable(err: unknown): boolean {
  const e = err as { status?: number; code?: string; message?: string };
  const text = `${e?.code ?? ''} ${e?.message ?? ''}`;
  if (
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|socket hang up|network|timeout/i.test(
      text,
    )
  )
    return true;
  if (typeof e?.status === 'number') return e.status !== 404;
  return false;
}
