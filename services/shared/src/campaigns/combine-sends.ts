/**
 * Two sends of one campaign and variant that turn out to be one person's (a profile merge) become
 * one: the furthest status, the earliest of each first time and the latest of each last time (with
 * the reason that goes with it), and the clicks, attempts and conversion value of both (their
 * events and orders are disjoint: each was applied to one profile). Pure, so it is the same rule
 * whichever send is the survivor's.
 */
import { furtherStatus, isSendStatus, type SendStatus } from './send-status.js';

/** campaign_sends as row_to_json gives it (timestamps as ISO text, numerics as numbers or text). */
export type SendRowJson = Record<string, unknown> & {
  send_status: string | null;
};

const EARLIEST = [
  'sent_at',
  'delivered_at',
  'opened_at',
  'first_click_at',
  'unsubscribed_at',
  'complained_at',
  'converted_at',
  'created_at',
] as const;
const LATEST_WITH_REASON = [
  ['last_click_at', null],
  ['bounced_at', 'bounce_reason'],
  ['failed_at', 'failure_reason'],
] as const;
const SUMMED = ['total_clicks', 'delivery_attempt'] as const;

const time = (v: unknown): number | null => (typeof v === 'string' ? Date.parse(v) : null);
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const status = (v: unknown): SendStatus => (typeof v === 'string' && isSendStatus(v) ? v : 'queued');

/** `keep`'s row with `other` combined into it (`keep`'s id, campaign, customer and variant). */
export function combineSends(keep: SendRowJson, other: SendRowJson): SendRowJson {
  const out: SendRowJson = { ...keep };
  for (const [k, v] of Object.entries(other)) if (out[k] === null || out[k] === undefined) out[k] = v;
  out.id = keep.id;
  out.customer_id = keep.customer_id;
  out.send_status = furtherStatus(status(keep.send_status), status(other.send_status));
  for (const c of EARLIEST) {
    const a = time(keep[c]);
    const b = time(other[c]);
    out[c] = a === null ? other[c] : b === null || a <= b ? keep[c] : other[c];
  }
  for (const [c, reason] of LATEST_WITH_REASON) {
    const a = time(keep[c]);
    const b = time(other[c]);
    const fromOther = a === null ? b !== null : b !== null && b > a;
    out[c] = fromOther ? other[c] : keep[c];
    if (reason !== null) out[reason] = (fromOther ? other[reason] : keep[reason]) ?? out[reason] ?? null;
  }
  for (const c of SUMMED) out[c] = (num(keep[c]) ?? 0) + (num(other[c]) ?? 0);
  const a = num(keep.conversion_value);
  const b = num(other.conversion_value);
  out.conversion_value = a === null && b === null ? null : Math.round(((a ?? 0) + (b ?? 0)) * 100) / 100;
  return out;
}
