/**
 * Segment criteria: one validated parser, and from its result a JS predicate and parameterized
 * SQL that select exactly the same customers.
 *
 *   const r = parseCriteria(segment.criteria);           // never throws
 *   if (!r.ok) ... r.error                               // e.g. `conditions[2].operator: unknown operator "LIKE" (...)`
 *   const { where, params } = compileSql(r.criteria);
 *   db.query(tag, `SELECT c.id FROM customers c WHERE ${where}`, [JSON.stringify(params), at.toISOString()]);
 *   compilePredicate(r.criteria)(to_jsonb_row, at.getTime());
 *
 * Semantics (both sides):
 * - Every condition is true or false, never unknown. A NULL column, a missing custom attribute, a
 *   JSON null or a value of another JSON type makes a condition false, except that `!=` and
 *   `not_in` are exactly NOT `=` / NOT `in` (so NULL counts as "not equal"), and is_null is true
 *   for NULL, a missing key and JSON null (is_not_null is its negation). not_within_last is false
 *   for NULL. Groups combine with AND / OR; an empty AND group is true, an empty OR group false.
 * - Text `=` / `in` are exact (code point for code point). contains / starts_with / ends_with
 *   ignore case for A-Z only; an empty needle matches every non-NULL value. Text has no ordering
 *   operators (collation order cannot be reproduced in JS). uuid (`id`) is compared as its
 *   canonical lower-case text; = / in values are lower-cased (A-Z) to match.
 * - Numbers compare as exact decimals (SQL numeric) and as doubles (JS); they agree for every
 *   value the numeric and integer columns hold and for every JSON number a double can write
 *   back (custom attributes written by JS). A jsonb number with more digits than a double keeps
 *   (0.1000000000000000000001) may compare differently. Numeric NaN is above every number.
 * - Timestamps compare at microsecond precision; infinity / -infinity are above / below all.
 *   date_of_birth compares as midnight UTC of its day. within_last d: value >= at - d;
 *   not_within_last d: value < at - d. Values in criteria are ISO 8601 with Z or an offset (or a
 *   bare date, midnight UTC); nothing depends on the session TimeZone.
 * - tags: contains = has this element; in = has any of these; not_in = has none (true for NULL
 *   tags); NULL elements match nothing. Case-sensitive.
 */
export type { Criteria, ParseResult } from './ast.js';
export { isTimeRelative } from './ast.js';
export { parseCriteria } from './parse.js';
export { compilePredicate, type CustomerJson } from './predicate.js';
export { compileSql, type CompiledSql } from './sql.js';
