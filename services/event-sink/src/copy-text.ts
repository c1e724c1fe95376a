import type { EventRow } from './mapping/event-row.js';

/** customer_events columns in the order the COPY lines carry them. */
export const COPY_COLUMNS = [
  'customer_id',
  'event_type',
  'event_category',
  'event_name',
  'event_properties',
  'event_value',
  'session_id',
  'page_url',
  'page_title',
  'referrer_url',
  'ip_address',
  'user_agent',
  'device_type',
  'browser',
  'os',
  'screen_resolution',
  'country',
  'city',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'occurred_at',
  'data_source',
  'source_system',
  'message_id',
] as const;

export const COPY_SQL = `COPY customer_events (${COPY_COLUMNS.join(', ')}) FROM STDIN`;

const ESCAPE = /[\\\n\r\t]/;

/** A value in PostgreSQL's COPY text format: \N for NULL; backslash, newline, CR and tab escaped. */
export function copyText(v: string | null): string {
  if (v === null) return '\\N';
  if (!ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}

/** One COPY text line (with its newline) for a row whose customer is resolved. */
export function copyLine(row: EventRow, customerId: string): string {
  return (
    [
      customerId,
      row.eventType,
      row.eventCategory,
      row.eventName,
      row.eventProperties,
      row.eventValue,
      row.sessionId,
      row.pageUrl,
      row.pageTitle,
      row.referrerUrl,
      row.ipAddress,
      row.userAgent,
      row.deviceType,
      row.browser,
      row.os,
      row.screenResolution,
      row.country,
      row.city,
      row.utmSource,
      row.utmMedium,
      row.utmCampaign,
      row.utmTerm,
      row.utmContent,
      row.occurredAt.toISOString(),
      row.dataSource,
      row.sourceSystem,
      row.messageId,
    ]
      .map(copyText)
      .join('\t') + '\n'
  );
}
