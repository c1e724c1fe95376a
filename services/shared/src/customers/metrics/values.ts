/**
 * The computed columns of `customers`, as values the rules and the comparisons use: counts and
 * money as numbers, times as ms, dates as YYYY-MM-DD. Rows come from to_jsonb(customers), the
 * same representation the change feed publishes.
 */
import type { LifecycleStage } from './rules.js';

export type CustomerRow = Record<string, unknown> & { id: string; customer_id: string };

/** Written by the update_customer_metrics trigger on customer_orders (0010, 0019), nothing else. */
export const ORDER_METRIC_COLUMNS = [
  'total_orders',
  'total_revenue',
  'average_order_value',
  'lifetime_value',
] as const;

/** Written by the metrics writer (incremental.ts, repair.ts), nothing else. */
export const WRITER_METRIC_COLUMNS = [
  'first_seen_at',
  'last_seen_at',
  'total_page_views',
  'total_sessions',
  'days_since_last_order',
  'engagement_score',
  'churn_risk_score',
  'lifecycle_stage',
  'activated_at',
  'churned_at',
  'reactivated_at',
  'age_group',
] as const;

/** Every column invariant 2 checks. last_calculated_at (when) and updated_at are not among them. */
export const METRIC_COLUMNS = [...ORDER_METRIC_COLUMNS, ...WRITER_METRIC_COLUMNS] as const;

export type MetricColumn = (typeof METRIC_COLUMNS)[number];
export type WriterColumn = (typeof WRITER_METRIC_COLUMNS)[number];

export interface WriterMetrics {
  first_seen_at: number;
  last_seen_at: number | null;
  total_page_views: number;
  total_sessions: number;
  days_since_last_order: number | null;
  engagement_score: number;
  churn_risk_score: number;
  lifecycle_stage: LifecycleStage;
  activated_at: number | null;
  churned_at: number | null;
  reactivated_at: number | null;
  age_group: string | null;
}

export interface OrderMetrics {
  total_orders: number;
  total_revenue: number;
  average_order_value: number;
  lifetime_value: number;
}

export type CustomerMetrics = WriterMetrics & OrderMetrics;

const TIME_COLUMNS = new Set<string>([
  'first_seen_at',
  'last_seen_at',
  'activated_at',
  'churned_at',
  'reactivated_at',
]);

const timeOf = (v: unknown): number | null => (v === null || v === undefined ? null : Date.parse(String(v)));
const numberOf = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** The computed columns of a to_jsonb(customers) row. */
export function metricsOfRow(row: CustomerRow): CustomerMetrics {
  return {
    total_orders: numberOf(row.total_orders),
    total_revenue: numberOf(row.total_revenue),
    average_order_value: numberOf(row.average_order_value),
    lifetime_value: numberOf(row.lifetime_value),
    first_seen_at: timeOf(row.first_seen_at)!,
    last_seen_at: timeOf(row.last_seen_at),
    total_page_views: numberOf(row.total_page_views),
    total_sessions: numberOf(row.total_sessions),
    days_since_last_order: row.days_since_last_order === null ? null : numberOf(row.days_since_last_order),
    engagement_score: numberOf(row.engagement_score),
    churn_risk_score: numberOf(row.churn_risk_score),
    lifecycle_stage: (row.lifecycle_stage ?? 'new') as LifecycleStage,
    activated_at: timeOf(row.activated_at),
    churned_at: timeOf(row.churned_at),
    reactivated_at: timeOf(row.reactivated_at),
    age_group: (row.age_group as string | null) ?? null,
  };
}

/** The columns whose values differ (money compared in cents). */
export function differingColumns<C extends MetricColumn>(
  columns: readonly C[],
  a: Pick<CustomerMetrics, C>,
  b: Pick<CustomerMetrics, C>,
): C[] {
  return columns.filter((c) => {
    const x = a[c] as unknown;
    const y = b[c] as unknown;
    if (typeof x === 'number' && typeof y === 'number') return Math.round(x * 100) !== Math.round(y * 100);
    return x !== y;
  });
}

/** A value as a query parameter: times as Date. */
export function paramOf(column: WriterColumn, value: unknown): unknown {
  return TIME_COLUMNS.has(column) && value !== null ? new Date(value as number) : value;
}

/** The cast each writer column's parameter array takes. */
export const WRITER_COLUMN_TYPES: Readonly<Record<WriterColumn, string>> = {
  first_seen_at: 'timestamptz',
  last_seen_at: 'timestamptz',
  total_page_views: 'int',
  total_sessions: 'int',
  days_since_last_order: 'int',
  engagement_score: 'int',
  churn_risk_score: 'int',
  lifecycle_stage: 'text',
  activated_at: 'timestamptz',
  churned_at: 'timestamptz',
  reactivated_at: 'timestamptz',
  age_group: 'text',
};
