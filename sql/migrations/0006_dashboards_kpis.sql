-- Up Migration
-- Seed sections 17-19: dashboard_configurations, dashboard_tiles, kpi_definitions.

CREATE TABLE dashboard_configurations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID REFERENCES platform_users(id), -- NULL for global/template dashboards

    -- Dashboard Details
    name VARCHAR(255) NOT NULL,
    description TEXT,
    is_default BOOLEAN DEFAULT false,
    is_template BOOLEAN DEFAULT false, -- Template dashboards for new users

    -- Layout Configuration
    layout_config JSONB NOT NULL,
    /*
    Example layout_config:
    {
        "grid_columns": 12,
        "grid_rows": "auto",
        "tiles": [
            {
                "id": "tile_1",
                "type": "metric_card",
                "x": 0, "y": 0, "width": 3, "height": 2,
                "config": {...}
            }
        ]
    }
    */

    -- Access Control
    is_public BOOLEAN DEFAULT false,
    shared_with_roles VARCHAR(50)[] DEFAULT '{}',

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    last_viewed_at TIMESTAMP WITH TIME ZONE,
    view_count INTEGER DEFAULT 0
);

CREATE INDEX idx_dashboard_configs_user_id ON dashboard_configurations(user_id);
CREATE INDEX idx_dashboard_configs_template ON dashboard_configurations(is_template);

CREATE TABLE dashboard_tiles (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    dashboard_id UUID REFERENCES dashboard_configurations(id) ON DELETE CASCADE,

    -- Tile Configuration
    title VARCHAR(255) NOT NULL,
    tile_type VARCHAR(100) NOT NULL CHECK (tile_type IN (
        'metric_card', 'line_chart', 'bar_chart', 'pie_chart', 'area_chart',
        'funnel_chart', 'table', 'list', 'map', 'gauge', 'progress',
        'cohort_table', 'retention_curve', 'customer_timeline'
    )),

    -- Layout
    position_x INTEGER NOT NULL,
    position_y INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,

    -- Data Configuration
    data_source_type VARCHAR(50) NOT NULL CHECK (data_source_type IN ('internal', 'custom_query', 'external_api')),
    data_config JSONB NOT NULL,
    /*
    Example data_config for different types:

    For metric_card:
    {
        "metric": "total_customers",
        "filters": {"date_range": "30d", "customer_type": "premium"},
        "comparison": {"period": "previous_period", "show_change": true},
        "format": "number"
    }

    For line_chart:
    {
        "query": "SELECT date, COUNT(*) as customers FROM customers GROUP BY date",
        "x_axis": "date",
        "y_axis": "customers",
        "date_range": "30d",
        "granularity": "daily"
    }

    For custom_query:
    {
        "sql": "SELECT ...",
        "parameters": {...},
        "cache_duration": 300
    }
    */

    -- Display Configuration
    display_config JSONB DEFAULT '{}',
    /*
    Example display_config:
    {
        "colors": ["#3b82f6", "#ef4444"],
        "show_legend": true,
        "show_labels": true,
        "number_format": "currency",
        "date_format": "MMM DD",
        "title_position": "top",
        "background_color": "white"
    }
    */

    -- Refresh Configuration
    auto_refresh BOOLEAN DEFAULT true,
    refresh_interval_seconds INTEGER DEFAULT 300,
    last_refreshed_at TIMESTAMP WITH TIME ZONE,
    last_refresh_duration INTERVAL,

    -- Cache Configuration
    cache_enabled BOOLEAN DEFAULT true,
    cache_duration_seconds INTEGER DEFAULT 300,
    cached_data JSONB, -- Store cached results
    cached_at TIMESTAMP WITH TIME ZONE,

    -- Status
    is_active BOOLEAN DEFAULT true,
    has_error BOOLEAN DEFAULT false,
    last_error TEXT,

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX idx_dashboard_tiles_dashboard_id ON dashboard_tiles(dashboard_id);
CREATE INDEX idx_dashboard_tiles_type ON dashboard_tiles(tile_type);
CREATE INDEX idx_dashboard_tiles_refresh ON dashboard_tiles(auto_refresh, refresh_interval_seconds);

CREATE TABLE kpi_definitions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL UNIQUE,
    display_name VARCHAR(255) NOT NULL,
    description TEXT,

    -- KPI Configuration
    category VARCHAR(100) NOT NULL, -- 'revenue', 'engagement', 'retention', 'acquisition'
    calculation_method VARCHAR(50) NOT NULL CHECK (calculation_method IN ('sum', 'count', 'average', 'percentage', 'ratio', 'custom_sql')),

    -- Calculation Details
    base_table VARCHAR(100),
    calculation_field VARCHAR(100),
    calculation_sql TEXT, -- For complex calculations
    filters JSONB DEFAULT '{}',

    -- Time-based Configuration
    time_dimension VARCHAR(100) DEFAULT 'created_at',
    supports_time_comparison BOOLEAN DEFAULT true,
    default_time_range VARCHAR(50) DEFAULT '30d',

    -- Formatting
    format_type VARCHAR(50) DEFAULT 'number' CHECK (format_type IN ('number', 'currency', 'percentage', 'duration')),
    decimal_places INTEGER DEFAULT 0,
    prefix VARCHAR(10),
    suffix VARCHAR(10),

    -- Targets & Benchmarks
    target_value DECIMAL(15,4),
    target_direction VARCHAR(10) CHECK (target_direction IN ('up', 'down', 'neutral')),

    -- Status
    is_active BOOLEAN DEFAULT true,

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    created_by UUID REFERENCES platform_users(id)
);

CREATE INDEX idx_kpi_definitions_category ON kpi_definitions(category);
CREATE INDEX idx_kpi_definitions_active ON kpi_definitions(is_active);

-- Down Migration
DROP TABLE IF EXISTS kpi_definitions;
DROP TABLE IF EXISTS dashboard_tiles;
DROP TABLE IF EXISTS dashboard_configurations;
