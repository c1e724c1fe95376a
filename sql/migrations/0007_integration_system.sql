-- Up Migration
-- Seed sections 20-23: data_connections, activity_logs, system_settings, scheduled_jobs.
-- activity_logs stays unpartitioned; its derived columns are computed in UTC.

CREATE TABLE data_connections (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    description TEXT,

    -- Connection Type
    connection_type VARCHAR(100) NOT NULL CHECK (connection_type IN (
        'postgresql', 'mysql', 'snowflake', 'redshift', 'bigquery',
        'clickhouse', 'mongodb', 'api_rest', 'api_graphql', 'webhook'
    )),

    -- Connection Details (encrypted)
    connection_config JSONB NOT NULL,
    /*
    Example connection_config (encrypted sensitive fields):
    {
        "host": "db.example.com",
        "port": 5432,
        "database": "analytics",
        "username": "user",
        "password": "ENCRYPTED",
        "ssl_mode": "require",
        "connection_timeout": 30,
        "query_timeout": 300
    }
    */

    -- Authentication
    auth_type VARCHAR(50) DEFAULT 'password' CHECK (auth_type IN ('password', 'api_key', 'oauth', 'service_account')),
    auth_config JSONB, -- Encrypted auth details

    -- Sync Configuration
    sync_enabled BOOLEAN DEFAULT false,
    sync_frequency VARCHAR(50) CHECK (sync_frequency IN ('real_time', 'hourly', 'daily', 'weekly')),
    sync_tables TEXT[] DEFAULT '{}', -- Tables/collections to sync
    last_sync_at TIMESTAMP WITH TIME ZONE,
    next_sync_at TIMESTAMP WITH TIME ZONE,

    -- Status Monitoring
    status VARCHAR(50) DEFAULT 'inactive' CHECK (status IN ('active', 'inactive', 'error', 'testing')),
    last_test_at TIMESTAMP WITH TIME ZONE,
    last_test_success BOOLEAN,
    last_error TEXT,

    -- Performance Metrics
    average_response_time INTEGER, -- milliseconds
    total_queries_executed INTEGER DEFAULT 0,
    total_rows_synced BIGINT DEFAULT 0,

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    created_by UUID NOT NULL REFERENCES platform_users(id),
    updated_by UUID REFERENCES platform_users(id)
);

CREATE INDEX idx_data_connections_type ON data_connections(connection_type);
CREATE INDEX idx_data_connections_status ON data_connections(status);
CREATE INDEX idx_data_connections_sync ON data_connections(sync_enabled, next_sync_at);

CREATE TABLE activity_logs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    -- Actor Information
    user_id UUID REFERENCES platform_users(id),
    user_name VARCHAR(255),
    user_email VARCHAR(255),
    user_role VARCHAR(50),

    -- Activity Details
    activity_type VARCHAR(100) NOT NULL, -- 'create', 'update', 'delete', 'login', 'logout', 'export', 'import'
    resource_type VARCHAR(100) NOT NULL, -- 'customer', 'campaign', 'segment', 'dashboard', 'connection'
    resource_id VARCHAR(255),
    resource_name VARCHAR(255),
    action_description TEXT NOT NULL,

    -- Change Details (for data modifications)
    old_values JSONB,
    new_values JSONB,
    changed_fields TEXT[],

    -- Request Context
    ip_address INET,
    user_agent TEXT,
    session_id UUID,
    request_id VARCHAR(255), -- For tracing requests across services

    -- API/System Context
    api_endpoint VARCHAR(255),
    http_method VARCHAR(10),
    response_status INTEGER,
    processing_time_ms INTEGER,

    -- Metadata
    severity VARCHAR(20) DEFAULT 'info' CHECK (severity IN ('debug', 'info', 'warning', 'error', 'critical')),
    tags TEXT[] DEFAULT '{}',
    additional_context JSONB DEFAULT '{}',

    -- Timing
    occurred_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,

    -- Derived fields for analytics
    -- Correction: computed in UTC; EXTRACT on a timestamptz is not immutable
    hour_of_day INTEGER GENERATED ALWAYS AS (EXTRACT(hour FROM (occurred_at AT TIME ZONE 'UTC'))::int) STORED,
    day_of_week INTEGER GENERATED ALWAYS AS (EXTRACT(dow FROM (occurred_at AT TIME ZONE 'UTC'))::int) STORED
);

-- Partitioning by month recommended for large volumes
CREATE INDEX idx_activity_logs_user_id ON activity_logs(user_id);
CREATE INDEX idx_activity_logs_activity_type ON activity_logs(activity_type);
CREATE INDEX idx_activity_logs_resource ON activity_logs(resource_type, resource_id);
CREATE INDEX idx_activity_logs_occurred_at ON activity_logs(occurred_at);
CREATE INDEX idx_activity_logs_severity ON activity_logs(severity);
CREATE INDEX idx_activity_logs_session ON activity_logs(session_id);

CREATE TABLE system_settings (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    setting_key VARCHAR(200) UNIQUE NOT NULL,
    setting_value JSONB NOT NULL,

    -- Setting Classification
    category VARCHAR(100) NOT NULL, -- 'security', 'email', 'integrations', 'features', 'limits'
    setting_type VARCHAR(50) DEFAULT 'config' CHECK (setting_type IN ('config', 'feature_flag', 'limit', 'secret')),
    data_type VARCHAR(50) DEFAULT 'string' CHECK (data_type IN ('string', 'number', 'boolean', 'json', 'array')),

    -- Security
    is_encrypted BOOLEAN DEFAULT false,
    is_sensitive BOOLEAN DEFAULT false,

    -- Validation
    validation_rules JSONB,
    /*
    Example validation_rules:
    {
        "min_value": 0,
        "max_value": 100,
        "allowed_values": ["option1", "option2"],
        "regex_pattern": "^[a-zA-Z0-9]+$"
    }
    */

    -- Environment
    environment VARCHAR(50) DEFAULT 'production',

    -- Documentation
    description TEXT,
    documentation_url TEXT,

    -- Change Management
    requires_restart BOOLEAN DEFAULT false,
    last_changed_by UUID REFERENCES platform_users(id),
    change_reason TEXT,

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
);

-- The seed's default settings rows are inserted by 0012_default_rows.sql.

CREATE INDEX idx_system_settings_key ON system_settings(setting_key);
CREATE INDEX idx_system_settings_category ON system_settings(category);
CREATE INDEX idx_system_settings_type ON system_settings(setting_type);

CREATE TABLE scheduled_jobs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    job_name VARCHAR(255) NOT NULL UNIQUE,
    job_type VARCHAR(100) NOT NULL, -- 'metric_calculation', 'cohort_refresh', 'segment_update', 'data_sync'

    -- Schedule Configuration
    cron_expression VARCHAR(100), -- Standard cron format
    frequency VARCHAR(50), -- 'hourly', 'daily', 'weekly', 'monthly'
    timezone VARCHAR(50) DEFAULT 'UTC',

    -- Job Configuration
    job_config JSONB DEFAULT '{}',
    timeout_seconds INTEGER DEFAULT 3600,
    max_retries INTEGER DEFAULT 3,

    -- Status
    is_enabled BOOLEAN DEFAULT true,

    -- Execution Tracking
    last_run_at TIMESTAMP WITH TIME ZONE,
    last_run_status VARCHAR(50), -- 'success', 'failed', 'timeout', 'cancelled'
    last_run_duration INTERVAL,
    last_error_message TEXT,

    next_run_at TIMESTAMP WITH TIME ZONE,

    -- Performance Stats
    total_runs INTEGER DEFAULT 0,
    successful_runs INTEGER DEFAULT 0,
    failed_runs INTEGER DEFAULT 0,
    average_duration INTERVAL,

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    created_by UUID REFERENCES platform_users(id)
);

-- The seed's default job rows are inserted by 0012_default_rows.sql.

CREATE INDEX idx_scheduled_jobs_next_run ON scheduled_jobs(next_run_at, is_enabled);
CREATE INDEX idx_scheduled_jobs_type ON scheduled_jobs(job_type);

-- Down Migration
DROP TABLE IF EXISTS scheduled_jobs;
DROP TABLE IF EXISTS system_settings;
DROP TABLE IF EXISTS activity_logs;
DROP TABLE IF EXISTS data_connections;
