-- Up Migration
-- Seed sections 12-16: cohorts, cohort_memberships, cohort_retention_data, segments, segment_memberships.

CREATE TABLE cohorts (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    description TEXT,

    -- Cohort Definition
    cohort_type VARCHAR(50) DEFAULT 'time_based' CHECK (cohort_type IN ('time_based', 'behavior_based', 'attribute_based', 'custom')),
    time_period VARCHAR(50) DEFAULT 'monthly' CHECK (time_period IN ('daily', 'weekly', 'monthly', 'quarterly')),

    -- Time-based Cohort Configuration
    date_field VARCHAR(100) DEFAULT 'first_seen_at', -- 'first_seen_at', 'first_order_date', 'activated_at'
    start_date DATE,
    end_date DATE,

    -- Cohort Inclusion Criteria
    inclusion_criteria JSONB NOT NULL,
    /*
    Example inclusion_criteria:
    {
        "customer_type": ["premium", "regular"],
        "acquisition_channel": ["organic", "paid_search"],
        "min_order_value": 50.00,
        "has_made_purchase": true,
        "country": ["US", "CA", "UK"],
        "custom_attributes": {
            "subscription_plan": ["pro", "enterprise"]
        }
    }
    */

    -- Analysis Configuration
    retention_periods INTEGER DEFAULT 12, -- How many periods to track
    success_event VARCHAR(100) DEFAULT 'any_activity', -- What counts as "retained"
    success_criteria JSONB,
    /*
    Example success_criteria:
    {
        "event_type": "purchase",
        "min_events": 1,
        "min_value": 25.00,
        "time_window_days": 30
    }
    */

    -- Computed Statistics (updated by scheduled jobs)
    total_customers INTEGER DEFAULT 0,
    cohort_periods_data JSONB, -- Store pre-computed cohort table

    -- Status
    is_active BOOLEAN DEFAULT true,
    auto_refresh BOOLEAN DEFAULT true,
    refresh_frequency VARCHAR(50) DEFAULT 'daily' CHECK (refresh_frequency IN ('hourly', 'daily', 'weekly')),
    last_refreshed_at TIMESTAMP WITH TIME ZONE,
    last_calculation_duration INTERVAL,

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    created_by UUID NOT NULL REFERENCES platform_users(id),
    updated_by UUID REFERENCES platform_users(id)
);

CREATE INDEX idx_cohorts_type ON cohorts(cohort_type);
CREATE INDEX idx_cohorts_active ON cohorts(is_active);
CREATE INDEX idx_cohorts_created_by ON cohorts(created_by);
CREATE INDEX idx_cohorts_last_refreshed ON cohorts(last_refreshed_at);

CREATE TABLE cohort_memberships (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    cohort_id UUID NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,

    -- Cohort Assignment
    cohort_period VARCHAR(50) NOT NULL, -- '2024-01', 'Week 1', etc.
    period_start_date DATE NOT NULL,
    period_end_date DATE NOT NULL,
    joined_cohort_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,

    -- Customer Context at Join
    customer_attributes_snapshot JSONB, -- Customer attributes when they joined

    UNIQUE(cohort_id, customer_id)
);

CREATE INDEX idx_cohort_memberships_cohort_id ON cohort_memberships(cohort_id);
CREATE INDEX idx_cohort_memberships_customer_id ON cohort_memberships(customer_id);
CREATE INDEX idx_cohort_memberships_period ON cohort_memberships(cohort_period);

CREATE TABLE cohort_retention_data (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    cohort_id UUID NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,

    -- Period Information
    cohort_period VARCHAR(50) NOT NULL, -- The cohort period (e.g., '2024-01')
    analysis_period INTEGER NOT NULL, -- 0 = initial period, 1 = period 1, etc.
    analysis_date DATE NOT NULL,

    -- Size Metrics
    cohort_size INTEGER NOT NULL, -- Total customers in this cohort
    active_customers INTEGER NOT NULL, -- Customers active in this analysis period

    -- Retention Metrics
    retention_rate DECIMAL(8,6) NOT NULL, -- Percentage retained (0.234567 = 23.4567%)
    cumulative_retention_rate DECIMAL(8,6) NOT NULL,

    -- Revenue Metrics
    period_revenue DECIMAL(12,2) DEFAULT 0.00,
    cumulative_revenue DECIMAL(12,2) DEFAULT 0.00,
    average_revenue_per_user DECIMAL(10,2) DEFAULT 0.00,

    -- Activity Metrics
    total_orders INTEGER DEFAULT 0,
    total_sessions INTEGER DEFAULT 0,
    total_events INTEGER DEFAULT 0,

    -- Metadata
    calculated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    calculation_version INTEGER DEFAULT 1, -- For tracking calculation logic changes

    UNIQUE(cohort_id, cohort_period, analysis_period)
);

CREATE INDEX idx_cohort_retention_cohort_period ON cohort_retention_data(cohort_id, cohort_period);
CREATE INDEX idx_cohort_retention_analysis_period ON cohort_retention_data(cohort_id, analysis_period);

CREATE TABLE segments (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    description TEXT,

    -- Segment Type
    segment_type VARCHAR(50) DEFAULT 'dynamic' CHECK (segment_type IN ('dynamic', 'static', 'calculated')),

    -- Segment Definition
    criteria JSONB NOT NULL,
    /*
    Example criteria structure:
    {
        "conditions": [
            {
                "field": "total_revenue",
                "operator": ">=",
                "value": 500.00,
                "type": "number"
            },
            {
                "field": "last_seen_at",
                "operator": ">=",
                "value": "2024-01-01",
                "type": "date"
            },
            {
                "field": "customer_type",
                "operator": "in",
                "value": ["premium", "enterprise"],
                "type": "string_array"
            }
        ],
        "logic": "AND", // "AND" or "OR"
        "nested_conditions": [
            {
                "conditions": [...],
                "logic": "OR"
            }
        ]
    }
    */

    -- SQL Query (for complex segments)
    sql_query TEXT, -- Custom SQL for advanced segments
    query_parameters JSONB, -- Parameters for the SQL query

    -- Computed Statistics (updated by jobs)
    customer_count INTEGER DEFAULT 0,
    last_customer_count INTEGER DEFAULT 0,
    customer_count_change INTEGER DEFAULT 0,

    -- Segment Performance
    average_ltv DECIMAL(10,2) DEFAULT 0.00,
    average_order_value DECIMAL(10,2) DEFAULT 0.00,
    average_engagement_score DECIMAL(5,2) DEFAULT 0.00,
    churn_rate DECIMAL(5,4) DEFAULT 0.0000,

    -- Refresh Configuration
    auto_refresh BOOLEAN DEFAULT true,
    refresh_frequency VARCHAR(50) DEFAULT 'daily' CHECK (refresh_frequency IN ('real_time', 'hourly', 'daily', 'weekly')),
    last_refreshed_at TIMESTAMP WITH TIME ZONE,
    next_refresh_at TIMESTAMP WITH TIME ZONE,
    refresh_duration INTERVAL,

    -- Status
    is_active BOOLEAN DEFAULT true,

    -- Usage Tracking
    times_used_in_campaigns INTEGER DEFAULT 0,
    last_used_at TIMESTAMP WITH TIME ZONE,

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    created_by UUID NOT NULL REFERENCES platform_users(id),
    updated_by UUID REFERENCES platform_users(id)
);

CREATE INDEX idx_segments_type ON segments(segment_type);
CREATE INDEX idx_segments_active ON segments(is_active);
CREATE INDEX idx_segments_refresh ON segments(next_refresh_at, auto_refresh);
CREATE INDEX idx_segments_created_by ON segments(created_by);

CREATE TABLE segment_memberships (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    segment_id UUID NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,

    -- Membership Details
    added_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    first_qualified_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    qualification_score DECIMAL(8,4), -- How strongly they match (for fuzzy segments)

    -- Tracking
    is_active BOOLEAN DEFAULT true,
    removed_at TIMESTAMP WITH TIME ZONE,

    UNIQUE(segment_id, customer_id)
);

CREATE INDEX idx_segment_memberships_segment_id ON segment_memberships(segment_id);
CREATE INDEX idx_segment_memberships_customer_id ON segment_memberships(customer_id);
CREATE INDEX idx_segment_memberships_active ON segment_memberships(is_active);

-- Down Migration
DROP TABLE IF EXISTS segment_memberships;
DROP TABLE IF EXISTS segments;
DROP TABLE IF EXISTS cohort_retention_data;
DROP TABLE IF EXISTS cohort_memberships;
DROP TABLE IF EXISTS cohorts;
