/**
 * The one table of what a segment condition may name: every column of `customers`, each with the
 * kind that decides its operators, its value type and how JS and SQL read it. SQL text for a
 * field comes from here and nowhere else, so a field name in criteria never reaches SQL.
 * A test compares this table with information_schema: a migration adding a column fails it until
 * the column is listed here.
 */

export type ColumnKind = 'text' | 'uuid' | 'number' | 'timestamp' | 'date' | 'text_array' | 'json';

export interface Column {
  readonly name: string;
  readonly kind: ColumnKind;
  /** The SQL expression over `customers c`; uuid is compared as its canonical text. */
  readonly sql: string;
}

const KINDS = {
  id: 'uuid',
  customer_id: 'text',
  email: 'text',
  phone: 'text',
  name: 'text',
  date_of_birth: 'date',
  gender: 'text',
  age_group: 'text',
  country: 'text',
  state: 'text',
  city: 'text',
  postal_code: 'text',
  timezone: 'text',
  customer_type: 'text',
  customer_status: 'text',
  lifecycle_stage: 'text',
  first_seen_at: 'timestamp',
  last_seen_at: 'timestamp',
  activated_at: 'timestamp',
  churned_at: 'timestamp',
  acquisition_channel: 'text',
  acquisition_campaign: 'text',
  acquisition_source: 'text',
  referrer_url: 'text',
  utm_parameters: 'json',
  total_orders: 'number',
  total_revenue: 'number',
  average_order_value: 'number',
  lifetime_value: 'number',
  days_since_last_order: 'number',
  total_sessions: 'number',
  total_page_views: 'number',
  engagement_score: 'number',
  churn_risk_score: 'number',
  custom_attributes: 'json',
  tags: 'text_array',
  data_source: 'text',
  external_ids: 'json',
  created_at: 'timestamp',
  updated_at: 'timestamp',
  imported_at: 'timestamp',
  last_calculated_at: 'timestamp',
  trait_times: 'json',
  reactivated_at: 'timestamp',
} as const satisfies Record<string, ColumnKind>;

export type ColumnName = keyof typeof KINDS;

/** A Map, not an object: `__proto__` or `constructor` must not look like a column. */
export const COLUMNS: ReadonlyMap<string, Column> = new Map(
  Object.entries(KINDS).map(([name, kind]) => [
    name,
    { name, kind, sql: kind === 'uuid' ? `c.${name}::text` : `c.${name}` },
  ]),
);

/** Conditions on one key of custom_attributes are written `custom_attributes.<key>`. */
export const ATTRIBUTE_PREFIX = 'custom_attributes.';
