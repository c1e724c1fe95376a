/**
 * Configuration is parsed once, at start, from an environment passed in as a parameter.
 * Every bad variable is reported at once, by name; values are never echoed (they may hold secrets).
 */

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface Field<T> {
  readonly variable: string;
  /** Returns the value, or throws an Error whose message says what is wrong (without the value). */
  parse(raw: string | undefined): T;
}

type Values<S> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

export function loadConfig<S extends Record<string, Field<unknown>>>(spec: S, env: Env): Values<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(spec)) {
    const raw = env[field.variable];
    try {
      out[key] = field.parse(raw === '' ? undefined : raw);
    } catch (err) {
      problems.push(`${field.variable} ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as Values<S>;
}

function required<T>(variable: string, fallback: T | undefined, parse: (raw: string) => T): Field<T> {
  return {
    variable,
    parse(raw) {
      if (raw === undefined) {
        if (fallback === undefined) throw new Error('is required');
        return fallback;
      }
      return parse(raw.trim());
    },
  };
}

export const field = {
  string(variable: string, fallback?: string): Field<string> {
    return required(variable, fallback, (raw) => raw);
  },

  int(
    variable: string,
    fallback: number | undefined,
    range: { min?: number; max?: number } = {},
  ): Field<number> {
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
    return required(variable, fallback, (raw) => {
      if (!/^-?\d+$/.test(raw)) throw new Error('must be a whole number');
      const n = Number(raw);
      if (n < min || n > max) throw new Error(`must be between ${min} and ${max}`);
      return n;
    });
  },

  bool(variable: string, fallback: boolean): Field<boolean> {
    return required(variable, fallback, (raw) => {
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new Error('must be true or false');
    });
  },

  oneOf<T extends string>(variable: string, values: readonly T[], fallback: T): Field<T> {
    return required(variable, fallback, (raw) => {
      if (!(values as readonly string[]).includes(raw))
        throw new Error(`must be one of ${values.join(', ')}`);
      return raw as T;
    });
  },

  url(variable: string, protocols: readonly string[], fallback?: string): Field<string> {
    return required(variable, fallback, (raw) => {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new Error('must be a URL');
      }
      if (!protocols.includes(url.protocol)) throw new Error(`must be a ${protocols.join(' or ')} URL`);
      return raw;
    });
  },

  /** Characters Kafka allows in a topic name; empty by default. */
  topicPrefix(variable: string): Field<string> {
    return required(variable, '', (raw) => {
      if (!/^[A-Za-z0-9._-]{0,100}$/.test(raw))
        throw new Error('may hold only letters, digits, ".", "_" and "-" (at most 100)');
      return raw;
    });
  },

  /** Comma-separated host:port list, as Kafka clients take it. */
  hostPorts(variable: string, fallback: string): Field<string[]> {
    return required(variable, fallback.split(','), (raw) => {
      const list = raw.split(',').map((s) => s.trim());
      for (const hp of list) {
        if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(hp))
          throw new Error('must be a comma-separated list of host:port');
      }
      return list;
    });
  },
};

/** The variables every service shares, with the contract's defaults. */
export const commonConfig = {
  databaseUrl: field.url(
    'DATABASE_URL',
    ['postgres:', 'postgresql:'],
    'postgres://postgres@127.0.0.1:5432/cdp',
  ),
  kafkaBrokers: field.hostPorts('KAFKA_BROKERS', '127.0.0.1:9092'),
  schemaRegistryUrl: field.url(
    'SCHEMA_REGISTRY_URL',
    ['http:', 'https:'],
    'http://127.0.0.1:8081/apis/ccompat/v7',
  ),
  logLevel: field.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'info'),
  /**
   * Put before every topic name a service produces to or consumes (`bench.` makes `bench.cdp.events`),
   * so benchmarks and tests run on topics of their own. Schema subjects keep the unprefixed names.
   */
  topicPrefix: field.topicPrefix('TOPIC_PREFIX'),
};

export type CommonConfig = Values<typeof commonConfig>;

/**
 * For a service's main: the loaded configuration, or one line on stderr naming what is wrong and
 * exit code 1 (a ConfigError names every bad variable; values are never shown).
 */
export function configOrExit<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    process.stderr.write(`${service}: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
