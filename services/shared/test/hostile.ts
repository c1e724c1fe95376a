/**
 * Hostile input for the fuzz tests, and the oracle they judge the pipeline by.
 *
 * - The seed: fixed by default so `make test` is reproducible, FUZZ_SEED overrides it.
 * - Strings and numbers that clients and backends really send or that break parsers and databases:
 *   NUL, lone surrogates, bidi and zero-width characters, 4-byte characters at length limits,
 *   `1e308`, `-0`, `NaN` as text, `__proto__` / `constructor` keys, escape sequences as text.
 * - JSON as a tree that can say what JSON.stringify cannot: duplicate keys, number tokens such as
 *   `1e309` or `-0`, strings written entirely in `\u` escapes.
 * - The normalisation rule as the contract states it (U+0000 and lone surrogates become U+FFFD,
 *   pairs are kept, lengths in code points), written independently of the implementation.
 */
import fc from 'fast-check';

/** The fuzz seed: FUZZ_SEED, else a fixed default. */
export const FUZZ_SEED = seedFrom(process.env.FUZZ_SEED);

function seedFrom(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 20_260_611;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`FUZZ_SEED must be an integer, not ${JSON.stringify(raw)}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// The oracle

export const REPLACEMENT = '\uFFFD';
// eslint-disable-next-line no-control-regex -- NUL is exactly what it looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The contract's rule: every U+0000 and every lone surrogate becomes U+FFFD; pairs stay. */
export const normalised = (s: string): string => s.replace(UNSTORABLE, REPLACEMENT);

export const codePoints = (s: string): number => [...s].length;

/** The first `n` code points of `s` (what a VARCHAR(n) holds of it). */
export const firstCodePoints = (s: string, n: number): string => [...s].slice(0, n).join('');

/** `s` normalised and cut to a column of `width` characters; null for the empty string. */
export const asColumn = (s: string, width: number): string | null => {
  const v = firstCodePoints(normalised(s), width);
  return v === '' ? null : v;
};

/**
 * Canonical JSON of a parsed value after normalisation, keys sorted, numbers as JavaScript writes
 * them (jsonb keeps more digits, JSON.parse of them gives the same double). Undefined when it
 * cannot be predicted: two keys of one object that normalise to the same key (which one wins is
 * not part of the contract), or nesting deeper than `maxDepth`.
 */
export function canonicalJson(v: unknown, maxDepth = 200): string | undefined {
  if (maxDepth < 0) return undefined;
  if (typeof v === 'string') return JSON.stringify(normalised(v));
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return JSON.stringify(v);
  if (Array.isArray(v)) {
    const items: string[] = [];
    for (const item of v) {
      const c = canonicalJson(item, maxDepth - 1);
      if (c === undefined) return undefined;
      items.push(c);
    }
    return `[${items.join(',')}]`;
  }
  if (typeof v === 'object') {
    const entries = new Map<string, string>();
    for (const k of Object.keys(v)) {
      const key = normalised(k);
      if (entries.has(key)) return undefined;
      const c = canonicalJson((v as Record<string, unknown>)[k], maxDepth - 1);
      if (c === undefined) return undefined;
      entries.set(key, c);
    }
    const keys = [...entries.keys()].sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${entries.get(k)}`).join(',')}}`;
  }
  return undefined;
}

/** How deep objects and arrays nest in a parsed value, the value itself counting 1 (`{}` is 1). */
export function nestingDepth(v: unknown): number {
  // Iterative: the bodies tested nest far deeper than a recursive walk could follow.
  let max = 0;
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    max = Math.max(max, d);
    for (const child of Object.values(x)) stack.push([child, d + 1]);
  }
  return max;
}

/**
 * A value for messages, in ASCII: JSON with every other character as a `\u` escape, so that no
 * bidi override, line separator or NUL in hostile data can garble a test report or a terminal.
 */
export const show = (v: unknown, max = 400): string => {
  let s: string;
  try {
    // Buffers reach a replacer already turned into {type: 'Buffer', data}.
    const bytes = (x: unknown) =>
      (x as { type?: unknown })?.type === 'Buffer' && (x as { data?: unknown }).data;
    s =
      JSON.stringify(v, (_k, x: unknown) => {
        const data = bytes(x);
        return Array.isArray(data) ? `<${data.length} bytes>` : x;
      }) ?? String(v);
  } catch {
    s = String(v);
  }
  if (s.length > max) s = `${s.slice(0, max)}...(${s.length} chars)`;
  return s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
};

// ---------------------------------------------------------------------------------------------
// Hostile strings

/** Pieces hostile strings are made of. */
export const HOSTILE_PIECES: readonly string[] = [
  // what PostgreSQL cannot store
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '\udfff\ud800', // a pair in the wrong order: two lone halves
  // 4-byte characters (valid pairs) and the edges of Unicode
  '\ud83d\ude00',
  '\u{1d54f}',
  '\u{10ffff}',
  '\u{1f469}\u200d\u{1f469}\u200d\u{1f467}',
  '\ufffd',
  '\ufffe',
  '\uffff',
  // bidi and zero-width
  '\u202e',
  '\u202d',
  '\u2066',
  '\u2067',
  '\u2069',
  '\u200e',
  '\u200f',
  '\u061c',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u2060',
  '\ufeff',
  '\u00ad',
  // line breaks and controls (COPY text format escapes some of these)
  '\n',
  '\r\n',
  '\t',
  '\u000b',
  '\f',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u009f',
  '\u2028',
  '\u2029',
  '\r\n\\.\r\n',
  // combining marks, case mapping surprises
  'e\u0301',
  '\u0301',
  'İ',
  'ß',
  'ﬃ',
  '\u3000',
  // escapes and injection as text
  '\\',
  '\\.',
  '\\N',
  '\\u0000',
  '\\ud800',
  '\\x00',
  '%00',
  '"',
  "'",
  '`',
  "'); DROP TABLE customer_events;--",
  '${jndi:ldap://x}',
  '{{7*7}}',
  '%s%n',
  '<script>alert(1)</script>',
  // numbers and other literals as text
  'NaN',
  '-0',
  '1e308',
  '-1e308',
  '1e309',
  '5e-324',
  'Infinity',
  '-Infinity',
  '9007199254740993',
  '0x1F',
  'null',
  'undefined',
  'true',
  // names that mean something to JavaScript objects
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  // emptiness
  '',
  ' ',
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** A short string made of hostile pieces, random code points and lone surrogates. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_PIECES) },
  {
    weight: 4,
    arbitrary: fc
      .array(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_PIECES) },
          { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
          { weight: 1, arbitrary: fc.string({ unit: loneSurrogate, maxLength: 2 }) },
          { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
        ),
        { maxLength: 6 },
      )
      .map((parts) => parts.join('')),
  },
);

/** A hostile string that is not empty (for fields that require one). */
export const hostileNonEmpty = hostileString.filter((s) => s !== '');

const WIDE = ['\ud83d\ude00', '\u{1d54f}', '\u{10ffff}', '\u4e2d', 'a'] as const;

/**
 * Strings at a length limit of `n` characters, most of them 4-byte characters (2 UTF-16 units
 * each, 4 bytes of UTF-8): exactly `n` (four times in five), else one over, with variants where
 * cutting by UTF-16 units would split a pair, or a lone surrogate or NUL sits at an edge. `head`
 * (a unique tag) is kept at the start.
 */
export function atLimit(n: number, head = ''): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom(...WIDE),
      fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }),
      fc.constantFrom('', 'a', '\ud800', '\u0000'),
      fc.constantFrom('', '\ud83d\ude00', '\udc00'),
    )
    .map(([wide, over, lead, tail]) => {
      const fill = n + over - codePoints(head) - codePoints(lead) - codePoints(tail);
      return head + lead + wide.repeat(Math.max(0, fill)) + tail;
    });
}

// ---------------------------------------------------------------------------------------------
// Hostile numbers: JSON number tokens, some of which JSON.stringify cannot write

export const NUMBER_TOKENS: readonly string[] = [
  '0',
  '-0',
  '1',
  '-1',
  '0.1',
  '1e308',
  '-1e308',
  '1.7976931348623157e308',
  '1e309',
  '-1e309',
  '5e-324',
  '1e-400',
  '1E2',
  '9007199254740993',
  '-9007199254740993',
  '123456789012345678901234567890',
  '99999999.99',
  '100000000',
  '2147483648',
  '-2147483649',
  '0.000000000000000000000000000001',
];

export const hostileNumberToken = fc.oneof(
  fc.constantFrom(...NUMBER_TOKENS),
  fc
    .double()
    .filter(Number.isFinite)
    .map((d) => JSON.stringify(d)),
  fc.integer().map(String),
);

/** Numbers in JavaScript (for Avro doubles): NaN and the infinities included. */
export const hostileDouble = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, Number.MAX_VALUE, Number.MIN_VALUE, 1e308, -1e308),
  fc.double(),
);

export const hostileInt32 = fc.oneof(
  fc.constantFrom(0, -1, 1, 2 ** 31 - 1, -(2 ** 31)),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
);

// ---------------------------------------------------------------------------------------------
// JSON as a tree

/**
 * JSON text as a tree: `s` a string (`esc` writes it entirely in `\u` escapes, surrogates one by
 * one), `n` a number token as written, `o` an object whose entries may repeat a key, `a` an array.
 */
export type JNode =
  null | boolean | { s: string; esc?: boolean } | { n: string } | { a: JNode[] } | { o: [string, JNode][] };

export const str = (s: string): JNode => ({ s });
export const num = (n: string | number): JNode => ({ n: String(n) });
/** An object from entries; undefined values leave the key out. */
export const obj = (entries: [string, JNode | undefined][]): JNode => ({
  o: entries.filter((e): e is [string, JNode] => e[1] !== undefined),
});
export const arr = (items: JNode[]): JNode => ({ a: items });

const escapeAll = (s: string): string =>
  `"${[...Array(s.length).keys()].map((i) => `\\u${s.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`;

/** The JSON text of a tree, exactly as written (duplicate keys and number tokens kept). */
export function jsonText(node: JNode): string {
  if (node === null) return 'null';
  if (typeof node === 'boolean') return String(node);
  if ('s' in node) return node.esc ? escapeAll(node.s) : JSON.stringify(node.s);
  if ('n' in node) return node.n;
  if ('a' in node) return `[${node.a.map(jsonText).join(',')}]`;
  return `{${node.o.map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`;
}

/** `n` levels of nesting around `inner` (objects, arrays or both), as text. */
export function nestedText(n: number, shape: 'object' | 'array' | 'mixed', inner = '1'): string {
  let open = '';
  let close = '';
  for (let i = 0; i < n; i++) {
    const asArray = shape === 'array' || (shape === 'mixed' && i % 2 === 1);
    open += asArray ? '[' : '{"a":';
    close = (asArray ? ']' : '}') + close;
  }
  return open + inner + close;
}

const hostileKey = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'name', 'revenue') },
);

const stringNode = fc.oneof(
  { weight: 5, arbitrary: hostileString.map(str) },
  { weight: 1, arbitrary: hostileString.map((s): JNode => ({ s, esc: true })) },
);

/** Any JSON value, hostile throughout, a few levels deep. */
export const hostileJson: fc.Arbitrary<JNode> = fc.letrec<{ value: JNode }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    { weight: 4, arbitrary: stringNode },
    { weight: 2, arbitrary: hostileNumberToken.map(num) },
    { weight: 1, arbitrary: fc.constantFrom<JNode>(null, true, false) },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }).map(arr) },
    { weight: 2, arbitrary: hostileEntries(tie('value')).map((o): JNode => ({ o })) },
  ),
})).value;

/** Object entries with hostile keys, sometimes a key twice (the later one counts in JSON.parse). */
function hostileEntries(value: fc.Arbitrary<JNode>): fc.Arbitrary<[string, JNode][]> {
  return fc
    .tuple(fc.array(fc.tuple(hostileKey, value), { maxLength: 5 }), fc.option(fc.tuple(hostileKey, value)))
    .map(([entries, dup]) => {
      if (!dup || entries.length === 0) return entries;
      // The same key again, later: a duplicate key.
      return [...entries, [entries[0]![0], dup[1]]];
    });
}

/** A hostile JSON object (properties, traits, context extras). */
export const hostileObject: fc.Arbitrary<JNode> = hostileEntries(hostileJson).map((o): JNode => ({ o }));

/**
 * JSON texts a backend might put in a `...Json` field: not JSON, not an object, NUL raw or
 * escaped, escape sequences as text, numbers jsonb cannot hold, nesting past every limit.
 */
export const RAW_JSON_TEXTS: readonly string[] = [
  '',
  'not json',
  'null',
  '[]',
  '"a string"',
  '1e309',
  '{',
  '{"a":1,}',
  '{"a":"b\u0000c"}',
  '{"a":"b\\u0000c"}',
  '{"\\u0000":"\\ud800"}',
  '{"k\\ud800":"\\udfff"}',
  '{"pair":"\\ud83d\\ude00","reversed":"\\ude00\\ud83d"}',
  '{"text":"\\\\u0000"}',
  '{"text":"\\\\\\u0000"}',
  '{"a":1,"a":"\\u0000"}',
  '{"n":1e999999}',
  '{"n":-0,"m":1e308,"k":5e-324}',
  '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
  '\ufeff{"bom":true}',
  `{"deep":${nestedText(100, 'mixed')}}`,
  `{"deep":${nestedText(20_000, 'array', '0')}}`,
];
