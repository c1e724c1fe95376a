/** The seed's own vocabulary for Segment's spec'd names; everything else is snake_cased. */
// A Map, not an object literal: an event named `constructor` or `__proto__` must not find
// Object.prototype's members.
const VOCABULARY = new Map<string, string>([
  ['Signed Up', 'signup'],
  ['Logged In', 'login'],
  ['Product Added', 'add_to_cart'],
  ['Order Completed', 'purchase'],
]);

export function snakeCase(name: string): string {
  return name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

export function eventTypeOf(type: 'TRACK' | 'PAGE' | 'SCREEN', name: string | null): string {
  if (type === 'PAGE') return 'page_view';
  if (type === 'SCREEN') return 'screen_view';
  const key = (name ?? '').trim();
  return VOCABULARY.get(key) ?? (snakeCase(key) || 'unnamed_event');
}

/** The seed's event_category: 'transaction', 'lifecycle' or 'engagement'. */
export function eventCategoryOf(eventType: string): string {
  if (eventType === 'purchase' || eventType.startsWith('order_') || eventType === 'checkout_started')
    return 'transaction';
  if (
    eventType === 'signup' ||
    eventType === 'login' ||
    eventType === 'logged_out' ||
    eventType === 'account_deleted'
  ) {
    return 'lifecycle';
  }
  return 'engagement';
}
