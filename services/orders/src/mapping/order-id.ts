import { idOf, idTooLong } from '../../../shared/src/ids.js';
import { dlq, ok, type Result } from '../../../shared/src/pipeline/results.js';

/** order_id is the order's identity: required, and never cut. */
export function orderIdOf(raw: unknown, where: string): Result<string> {
  const id = idOf(raw);
  if (id === null) return dlq('schema-invalid', `${where} has no order_id`);
  return idTooLong('order_id', id) ?? ok(id);
}
