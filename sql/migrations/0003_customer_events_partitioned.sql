-- Up Migration
-- Seed section 5: customer_events, range-partitioned by month on occurred_at.
--  * primary key is (id, occurred_at): a unique constraint on a partitioned table
--    must include the partition key;
--  * message_id (the client's messageId) is added;
--  * the derived hour/day/week/month columns are computed in UTC, because EXTRACT on a
--    timestamptz depends on the TimeZone setting and is therefore not immutable;
--  * there is NO default partition: an event for a month without a partition fails
--    instead of silently landing in a catch-all. Partitions are created ahead of time
--    (below, and by the pipeline) and on demand with ensure_customer_events_partition().

CREATE TABLE customer_events (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,

    -- Event Classification
    event_type VARCHAR(100) NOT NULL, -- 'page_view', 'purchase', 'login', 'signup', 'add_to_cart', etc.
    event_category VARCHAR(50), -- 'engagement', 'transaction', 'lifecycle'
    event_name VARCHAR(200) NOT NULL,

    -- Event Details
    event_properties JSONB DEFAULT '{}',
    event_value DECIMAL(10,2), -- Monetary value if applicable

    -- Session Context
    session_id VARCHAR(255),
    page_url TEXT,
    page_title VARCHAR(500),
    referrer_url TEXT,

    -- Technical Context
    ip_address INET,
    user_agent TEXT,
    device_type VARCHAR(50),
    browser VARCHAR(100),
    os VARCHAR(100),
    screen_resolution VARCHAR(20),

    -- Location
    country VARCHAR(50),
    city VARCHAR(100),

    -- Attribution
    utm_source VARCHAR(100),
    utm_medium VARCHAR(100),
    utm_campaign VARCHAR(100),
    utm_term VARCHAR(100),
    utm_content VARCHAR(100),

    -- Timing
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,

    -- Derived fields for analytics (UTC; see header)
    hour_of_day INTEGER GENERATED ALWAYS AS (EXTRACT(hour FROM (occurred_at AT TIME ZONE 'UTC'))::int) STORED,
    day_of_week INTEGER GENERATED ALWAYS AS (EXTRACT(dow FROM (occurred_at AT TIME ZONE 'UTC'))::int) STORED,
    week_of_year INTEGER GENERATED ALWAYS AS (EXTRACT(week FROM (occurred_at AT TIME ZONE 'UTC'))::int) STORED,
    month_of_year INTEGER GENERATED ALWAYS AS (EXTRACT(month FROM (occurred_at AT TIME ZONE 'UTC'))::int) STORED,

    -- Data lineage
    data_source VARCHAR(50) DEFAULT 'api',
    source_system VARCHAR(100),
    batch_id UUID, -- For bulk imports

    -- Pipeline addition: the client's messageId (Segment spec)
    message_id VARCHAR(255),

    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- Seed indexes, created on the partitioned parent (each partition gets its own copy).
CREATE INDEX idx_customer_events_customer_id ON customer_events(customer_id);
CREATE INDEX idx_customer_events_type ON customer_events(event_type);
CREATE INDEX idx_customer_events_occurred_at ON customer_events(occurred_at);
CREATE INDEX idx_customer_events_session ON customer_events(session_id);
CREATE INDEX idx_customer_events_customer_occurred ON customer_events(customer_id, occurred_at);
CREATE INDEX idx_customer_events_type_occurred ON customer_events(event_type, occurred_at);

-- ensure_customer_events_partition(ts): creates the monthly partition that contains ts
-- (UTC month bounds) unless it exists; returns its name, customer_events_pYYYYMM.
-- Concurrency: the fast path only reads pg_class; creation is serialised with a
-- transaction-scoped advisory lock on the fixed key 1667526757 ('cdpe'), the catalog is
-- re-checked under the lock, and CREATE TABLE IF NOT EXISTS is the last line of defence
-- (it also covers REPEATABLE READ callers, whose snapshot predates the other session's
-- commit).
-- Locking: the partition is created as a plain table (LIKE the parent) and then
-- attached. ATTACH PARTITION takes only SHARE UPDATE EXCLUSIVE on customer_events, so it
-- neither waits for nor blocks readers and writers of customer_events (CREATE TABLE ...
-- PARTITION OF would take ACCESS EXCLUSIVE on the parent and queue behind every open
-- query on it). Indexes, the primary key and the foreign key of the parent are added to
-- the new table by the ATTACH; cloning the foreign key takes SHARE ROW EXCLUSIVE on
-- customers, so creation waits for transactions that are writing customers at that
-- moment. Callers should therefore create partitions ahead of time, and call this
-- function in its own short transaction before the transaction that inserts the events
-- (see sql/README.md).
CREATE OR REPLACE FUNCTION ensure_customer_events_partition(ts timestamptz)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    month_start timestamp;
    month_end   timestamp;
    part_name   text;
    parent_oid  oid;
    parent_nsp  name;
BEGIN
    IF ts IS NULL OR NOT isfinite(ts) THEN
        RAISE EXCEPTION 'ensure_customer_events_partition: timestamp must be finite and not NULL (got %)', ts;
    END IF;

    month_start := date_trunc('month', ts AT TIME ZONE 'UTC');
    month_end   := month_start + interval '1 month';
    part_name   := 'customer_events_p' || to_char(month_start, 'YYYYMM');

    SELECT c.oid, n.nspname INTO parent_oid, parent_nsp
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = 'customer_events'::regclass;

    -- fast path: already there
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relname = part_name AND n.nspname = parent_nsp) THEN
        RETURN part_name;
    END IF;

    PERFORM pg_advisory_xact_lock(1667526757);

    -- re-check under the lock (in READ COMMITTED a new statement sees rows committed
    -- while we waited)
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relname = part_name AND n.nspname = parent_nsp) THEN
        RETURN part_name;
    END IF;

    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING GENERATED'
        ' INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION)',
        parent_nsp, part_name, parent_nsp, 'customer_events');

    -- IF NOT EXISTS skipped it: another session created and attached it after our
    -- snapshot was taken (REPEATABLE READ / SERIALIZABLE callers). The catalog cache is
    -- current again after CREATE TABLE, so this lookup sees it.
    IF pg_partition_root(to_regclass(format('%I.%I', parent_nsp, part_name))) IS NOT NULL THEN
        RETURN part_name;
    END IF;

    EXECUTE format(
        'ALTER TABLE %I.%I ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
        parent_nsp, 'customer_events', parent_nsp, part_name,
        to_char(month_start, 'YYYY-MM-DD HH24:MI:SS') || '+00',
        to_char(month_end,   'YYYY-MM-DD HH24:MI:SS') || '+00');

    RETURN part_name;
END;
$$;

-- ensure_customer_events_partitions(from_ts, to_ts): every month from the month containing
-- from_ts to the month containing to_ts (both inclusive, UTC); returns how many were created.
CREATE OR REPLACE FUNCTION ensure_customer_events_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    m          timestamp;
    last_month timestamp;
    part_name  text;
    parent_nsp name;
    created    integer := 0;
BEGIN
    IF from_ts IS NULL OR to_ts IS NULL OR NOT isfinite(from_ts) OR NOT isfinite(to_ts) THEN
        RAISE EXCEPTION 'ensure_customer_events_partitions: bounds must be finite and not NULL';
    END IF;
    IF to_ts < from_ts THEN
        RAISE EXCEPTION 'ensure_customer_events_partitions: to_ts (%) is before from_ts (%)', to_ts, from_ts;
    END IF;

    m          := date_trunc('month', from_ts AT TIME ZONE 'UTC');
    last_month := date_trunc('month', to_ts AT TIME ZONE 'UTC');
    IF m + interval '1200 months' < last_month THEN
        RAISE EXCEPTION 'ensure_customer_events_partitions: range of more than 100 years refused';
    END IF;

    SELECT n.nspname INTO parent_nsp
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = 'customer_events'::regclass;

    -- hold the same lock as ensure_customer_events_partition() for the whole loop so the
    -- "did not exist before" check below cannot race with another session
    PERFORM pg_advisory_xact_lock(1667526757);

    WHILE m <= last_month LOOP
        part_name := 'customer_events_p' || to_char(m, 'YYYYMM');
        IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE c.relname = part_name AND n.nspname = parent_nsp) THEN
            PERFORM ensure_customer_events_partition(m AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
        m := m + interval '1 month';
    END LOOP;

    RETURN created;
END;
$$;

-- Partitions for the current month and the next 3 months (UTC) at apply time.
SELECT ensure_customer_events_partitions(
    now(),
    (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months') AT TIME ZONE 'UTC');

-- Down Migration
DROP FUNCTION IF EXISTS ensure_customer_events_partitions(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS ensure_customer_events_partition(timestamptz);
-- dropping the partitioned parent drops every partition with it
DROP TABLE IF EXISTS customer_events;
