/** Turns Ajv's errors into the 400 body: each bad field once, batch items by index. */

export interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

export interface FieldError {
  field: string;
  message: string;
}

/** `/batch/3/context/ip` -> `batch[3].context.ip` */
export function fieldPath(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (child !== undefined) parts.push(child);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(body)' : out;
}

export function formatValidationErrors(errors: readonly AjvError[]): FieldError[] {
  const out = new Map<string, FieldError>();
  const add = (field: string, message: string) => {
    if (!out.has(`${field}\0${message}`)) out.set(`${field}\0${message}`, { field, message });
  };
  for (const e of errors) {
    // The anyOf(userId | anonymousId) rule reports each branch's errors and the anyOf itself; say it once.
    if (/\/anyOf\/\d+\//.test(e.schemaPath)) continue;
    if (e.keyword === 'anyOf') {
      add(fieldPath(e.instancePath), 'needs userId or anonymousId');
    } else if (e.keyword === 'required') {
      add(fieldPath(e.instancePath, String(e.params.missingProperty)), 'is required');
    } else if (e.keyword === 'discriminator') {
      add(fieldPath(e.instancePath, 'type'), 'must be one of track, page, screen, identify, group, alias');
    } else if (e.keyword === 'if' || e.keyword === 'oneOf') {
      continue; // the errors of the branch that applied say what is wrong
    } else if (e.keyword === 'enum') {
      add(fieldPath(e.instancePath), `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`);
    } else {
      add(fieldPath(e.instancePath), e.message ?? e.keyword);
    }
  }
  return [...out.values()];
}
