-- Up Migration
-- Real-time segments (services/segments). The criteria language has ONE parser, in TypeScript
-- (services/shared/src/segments/criteria): the segments processor compiles each segment's
-- criteria into a parameterized WHERE clause stored here, and both the processor's full
-- evaluation and refresh_segment_memberships() run that clause; the processor's incremental path
-- runs the in-memory predicate compiled from the same parse. No SQL is ever built from the
-- criteria's text: fields map through a fixed table, values travel as parameters.
--
-- 1. segments.criteria_error: why a segment's criteria cannot be evaluated (unknown field or
--    operator, a bad value, an sql_query that failed), NULL when they can.
-- 2. segment_definitions: what the processor compiled, and from which version of the segment.
-- 3. segment_membership_changes: every membership transition (entered, exited), journaled by a
--    trigger in the transaction that made it, whoever made it (the processor, a refresh, a profile
--    merge moving rows, a customer deleted). The segments processor turns the rows into
--    cdp.segment-changes records through the outbox, so each transition is published once.
--    (0022's down migration does not bring back 0010's refresh_segment_memberships(uuid).)
-- 4. NOTIFY cdp_segments when a segment's definition changes, so it is re-evaluated in seconds.
-- 5. sql_query segments run as cdp_segment_reader, a role that can only read customer data,
--    through a SECURITY DEFINER function (inside one, SET ROLE is refused, so the query cannot
--    leave the role). The processor and the scheduler run it on a session of their own, thrown
--    away after; refresh_segment_memberships runs it in the caller's session only under a
--    statement_timeout.
-- 6. refresh_segment_memberships(segment, at) made real, and the segment statistics.

ALTER TABLE segments ADD COLUMN criteria_error TEXT;

-- What decides a segment's members; a change to any of it means a full re-evaluation.
CREATE OR REPLACE FUNCTION segment_source(s segments)
RETURNS JSONB
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT jsonb_build_object(
        'segment_type', s.segment_type, 'criteria', s.criteria, 'sql_query', s.sql_query,
        'query_parameters', s.query_parameters, 'is_active', s.is_active)
$$;

-- How a segment is evaluated, decided here only: 'static' (left alone), 'sql_query' (its query,
-- as cdp_segment_reader) or 'criteria'.
CREATE OR REPLACE FUNCTION segment_kind(s segments)
RETURNS TEXT
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE
        WHEN s.segment_type = 'static' THEN 'static'
        WHEN nullif(btrim(coalesce(s.sql_query, ''), E' \t\r\n'), '') IS NOT NULL THEN 'sql_query'
        ELSE 'criteria' END
$$;

CREATE TABLE segment_definitions (
    segment_id UUID PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
    -- segment_source() of the version compiled; differs from the segment's: not evaluated yet.
    source JSONB NOT NULL,
    -- 'criteria' (where_sql below), 'sql_query' (segments.sql_query), 'static' (left alone)
    kind VARCHAR(20) NOT NULL CHECK (kind IN ('criteria', 'sql_query', 'static')),
    where_sql TEXT,
    params JSONB NOT NULL DEFAULT '[]',
    time_relative BOOLEAN NOT NULL DEFAULT false,
    error TEXT,
    -- bumped on every compile: the processor's predicate cache is keyed by it
    version BIGINT NOT NULL,
    compiled_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    evaluated_at TIMESTAMP WITH TIME ZONE
);
CREATE SEQUENCE segment_definition_versions;

CREATE TABLE segment_membership_changes (
    id BIGSERIAL PRIMARY KEY,
    change_id UUID NOT NULL DEFAULT gen_random_uuid(),
    segment_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    external_id TEXT,
    entered BOOLEAN NOT NULL,
    changed_at TIMESTAMP WITH TIME ZONE NOT NULL
);

-- A membership is active unless is_active is false (the seed's NULL counts as active). The time
-- of a return is never before the exit it follows (a merge keeps the earlier added_at).
CREATE OR REPLACE FUNCTION journal_segment_membership()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
DECLARE
    moved BOOLEAN := TG_OP = 'UPDATE'
        AND (NEW.customer_id <> OLD.customer_id OR NEW.segment_id <> OLD.segment_id);
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.is_active IS NOT FALSE
       AND (TG_OP = 'DELETE' OR moved OR NEW.is_active IS FALSE) THEN
        INSERT INTO segment_membership_changes (segment_id, customer_id, external_id, entered, changed_at)
        VALUES (OLD.segment_id, OLD.customer_id,
                (SELECT customer_id FROM customers WHERE id = OLD.customer_id), false,
                CASE WHEN TG_OP = 'UPDATE' AND NOT moved THEN coalesce(NEW.removed_at, now()) ELSE now() END);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.is_active IS NOT FALSE
       AND (TG_OP = 'INSERT' OR moved OR OLD.is_active IS FALSE) THEN
        INSERT INTO segment_membership_changes (segment_id, customer_id, external_id, entered, changed_at)
        VALUES (NEW.segment_id, NEW.customer_id,
                (SELECT customer_id FROM customers WHERE id = NEW.customer_id), true,
                CASE WHEN moved THEN now()
                     WHEN TG_OP = 'UPDATE' THEN greatest(coalesce(NEW.added_at, now()), OLD.removed_at)
                     ELSE coalesce(NEW.added_at, now()) END);
    END IF;
    -- One notification per transaction (PostgreSQL folds identical ones): wakes the relay.
    PERFORM pg_notify('cdp_segment_changes', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER journal_segment_membership
AFTER INSERT OR UPDATE OR DELETE ON segment_memberships
FOR EACH ROW EXECUTE FUNCTION journal_segment_membership();

CREATE OR REPLACE FUNCTION notify_segment_changed()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_notify('cdp_segments', CASE TG_OP WHEN 'DELETE' THEN OLD.id ELSE NEW.id END::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER notify_segment_created
AFTER INSERT OR DELETE ON segments
FOR EACH ROW EXECUTE FUNCTION notify_segment_changed();

-- Only a change of what decides the members: the statistics the processor writes do not wake it.
CREATE TRIGGER notify_segment_changed
AFTER UPDATE ON segments
FOR EACH ROW WHEN (segment_source(OLD) IS DISTINCT FROM segment_source(NEW))
EXECUTE FUNCTION notify_segment_changed();

-- The role sql_query segments run as: it reads customer data and nothing else.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cdp_segment_reader') THEN
        CREATE ROLE cdp_segment_reader NOLOGIN;
    END IF;
END;
$$;
GRANT USAGE ON SCHEMA public TO cdp_segment_reader;
GRANT SELECT ON customers, customer_orders, customer_order_items, customer_events, customer_sessions,
    customer_activity_days, segment_memberships, campaign_sends TO cdp_segment_reader;

-- The members an sql_query selects: its `id` column, as customers.id. `params` is $1.
-- SECURITY DEFINER owned by cdp_segment_reader: the query runs with that role's rights only, and
-- PostgreSQL refuses SET ROLE / set_config('role') inside such a function. The query is wrapped
-- as a subquery, so it is one SELECT (a data-modifying WITH must be at the top level).
CREATE OR REPLACE FUNCTION segment_query_members(query TEXT, params JSONB)
RETURNS SETOF UUID
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT DISTINCT (q.id)::uuid FROM (%s) q', query) USING params;
END;
$$;
ALTER FUNCTION segment_query_members(TEXT, JSONB) OWNER TO cdp_segment_reader;
REVOKE ALL ON FUNCTION segment_query_members(TEXT, JSONB) FROM PUBLIC;
DO $$
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION segment_query_members(TEXT, JSONB) TO %I', current_user);
END;
$$;

-- The key of the lock that orders full evaluations (exclusive) against incremental updates
-- (shared): an evaluation's snapshot of customers is never overwritten by an older decision.
CREATE OR REPLACE FUNCTION segment_evaluation_lock_key()
RETURNS BIGINT
LANGUAGE sql
IMMUTABLE
AS $$ SELECT 7305431142001::bigint $$;

-- Makes a segment's active members exactly member_ids, at `at`: those not in it are made
-- inactive (removed_at = at; the row and its first_qualified_at stay), the others active
-- (added_at = at when they enter or return). Ids that are not customers are ignored.
CREATE OR REPLACE FUNCTION apply_segment_members(segment_uuid UUID, member_ids UUID[], at TIMESTAMPTZ)
RETURNS VOID
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE segment_memberships m
    SET is_active = false, removed_at = at
    FROM (
        SELECT sm.id
        FROM segment_memberships sm
        LEFT JOIN unnest(member_ids) AS x(id) ON x.id = sm.customer_id
        WHERE sm.segment_id = segment_uuid AND sm.is_active IS NOT FALSE AND x.id IS NULL
    ) gone
    WHERE m.id = gone.id;

    INSERT INTO segment_memberships (segment_id, customer_id, added_at, first_qualified_at, is_active)
    SELECT segment_uuid, c.id, at, at, true
    FROM (SELECT DISTINCT id FROM unnest(member_ids) AS x(id)) x
    JOIN customers c ON c.id = x.id
    ORDER BY c.id
    ON CONFLICT (segment_id, customer_id) DO UPDATE
        SET is_active = true, added_at = EXCLUDED.added_at, removed_at = NULL
        WHERE segment_memberships.is_active IS FALSE;
END;
$$;

-- The members' statistics of each segment: count, averages of lifetime value, order value and
-- engagement, and the share whose lifecycle stage is churned; rows are written only where a
-- figure moved. Returns the number of segments updated.
CREATE OR REPLACE FUNCTION refresh_segment_stats(segment_ids UUID[])
RETURNS INTEGER
LANGUAGE plpgsql
AS $$
DECLARE
    updated INTEGER;
BEGIN
    -- Locked first, aggregated in the next statement: an UPDATE that waited for a row held by an
    -- evaluation would write the aggregate of its own older snapshot over the evaluation's.
    PERFORM 1 FROM segments WHERE id = ANY (segment_ids) ORDER BY id FOR NO KEY UPDATE;
    UPDATE segments s
    SET customer_count = f.members,
        average_ltv = f.avg_ltv,
        average_order_value = f.avg_aov,
        average_engagement_score = f.avg_engagement,
        churn_rate = f.churn_rate
    FROM (
        SELECT x.id,
               st.members,
               -- the columns are DECIMAL(10,2): an average past them is held at the maximum
               least(round(coalesce(st.avg_ltv, 0), 2), 99999999.99) AS avg_ltv,
               least(round(coalesce(st.avg_aov, 0), 2), 99999999.99) AS avg_aov,
               round(coalesce(st.avg_engagement, 0), 2) AS avg_engagement,
               round(coalesce(st.churned::numeric / nullif(st.members, 0), 0), 4) AS churn_rate
        FROM (SELECT DISTINCT unnest(segment_ids) AS id) x
        CROSS JOIN LATERAL (
            SELECT count(*)::int AS members,
                   avg(c.lifetime_value) AS avg_ltv,
                   avg(c.average_order_value) AS avg_aov,
                   avg(c.engagement_score) AS avg_engagement,
                   count(*) FILTER (WHERE c.lifecycle_stage = 'churned') AS churned
            FROM segment_memberships sm
            JOIN customers c ON c.id = sm.customer_id
            WHERE sm.segment_id = x.id AND sm.is_active IS NOT FALSE
        ) st
    ) f
    WHERE s.id = f.id
      AND (s.customer_count, s.average_ltv, s.average_order_value, s.average_engagement_score, s.churn_rate)
          IS DISTINCT FROM (f.members, f.avg_ltv, f.avg_aov, f.avg_engagement, f.churn_rate);
    GET DIAGNOSTICS updated = ROW_COUNT;
    RETURN updated;
END;
$$;

-- The seed's stub made real (sql/README.md, "Segments (0022)"). Evaluates the segment from
-- scratch at `at` and makes its memberships equal the result (apply_segment_members), then
-- refreshes the statistics: last_customer_count / customer_count_change compare with the count
-- before. 'static' segments keep their members (statistics only). A criteria segment needs the
-- processor to have compiled its current criteria (segment_definitions). An sql_query segment
-- takes `query_members` when the caller ran the query on a session of its own (the processor and
-- the scheduler do, services/shared/src/segments/sql-query.ts); without them the query runs here,
-- in the caller's session, and only under a statement_timeout. Transitions are journaled by the
-- trigger and published by the processor.
DROP FUNCTION IF EXISTS refresh_segment_memberships(UUID);
CREATE OR REPLACE FUNCTION refresh_segment_memberships(
    segment_uuid UUID,
    at TIMESTAMPTZ DEFAULT now(),
    query_members UUID[] DEFAULT NULL
)
RETURNS INTEGER
LANGUAGE plpgsql
AS $$
DECLARE
    s segments%ROWTYPE;
    d segment_definitions%ROWTYPE;
    member_ids UUID[];
    before INTEGER;
    members INTEGER;
    started TIMESTAMPTZ := clock_timestamp();
BEGIN
    -- The segment row first, then the evaluation lock: the processor's evaluation takes them in
    -- this order too. NO KEY UPDATE, so a batch inserting a membership (whose foreign key takes
    -- KEY SHARE on this row) while holding the evaluation lock shared is not blocked by it.
    SELECT * INTO s FROM segments WHERE id = segment_uuid FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Segment not found: %', segment_uuid;
    END IF;
    PERFORM pg_advisory_xact_lock(segment_evaluation_lock_key());
    before := coalesce(s.customer_count, 0);

    IF segment_kind(s) = 'sql_query' THEN
        IF query_members IS NOT NULL THEN
            member_ids := query_members;
        ELSE
            IF current_setting('statement_timeout') = '0' THEN
                RAISE EXCEPTION 'segment %: an sql_query segment is refreshed only under a statement_timeout (SET LOCAL statement_timeout = ''30s'' first)', segment_uuid;
            END IF;
            SELECT coalesce(array_agg(m), '{}') INTO member_ids
            FROM segment_query_members(s.sql_query, s.query_parameters) m;
        END IF;
    ELSIF segment_kind(s) = 'criteria' THEN
        SELECT * INTO d FROM segment_definitions WHERE segment_id = segment_uuid;
        IF NOT FOUND OR d.source IS DISTINCT FROM segment_source(s) THEN
            RAISE EXCEPTION 'segment %: its current criteria are not compiled yet (the segments processor compiles them within seconds)', segment_uuid;
        END IF;
        IF d.error IS NOT NULL THEN
            RAISE EXCEPTION 'segment %: %', segment_uuid, d.error;
        END IF;
        EXECUTE 'SELECT coalesce(array_agg(c.id), ''{}'') FROM customers c WHERE ' || d.where_sql
        INTO member_ids USING d.params, at;
    END IF;
    IF member_ids IS NOT NULL THEN
        PERFORM apply_segment_members(segment_uuid, member_ids, at);
        UPDATE segment_definitions SET evaluated_at = at WHERE segment_id = segment_uuid;
    END IF;

    PERFORM refresh_segment_stats(ARRAY[segment_uuid]);
    SELECT coalesce(customer_count, 0) INTO members FROM segments WHERE id = segment_uuid;
    UPDATE segments
    SET last_customer_count = before,
        customer_count_change = members - before,
        last_refreshed_at = at,
        -- the next run of hourly_segment_refresh at its seed schedule (0 * * * *)
        next_refresh_at = date_trunc('hour', at) + interval '1 hour',
        refresh_duration = clock_timestamp() - started,
        -- evaluated: whatever failed before (an sql_query's error) is past
        criteria_error = NULL
    WHERE id = segment_uuid;
    RETURN members;
END;
$$;

-- Down Migration
DROP FUNCTION IF EXISTS refresh_segment_memberships(UUID, TIMESTAMPTZ, UUID[]);
DROP FUNCTION IF EXISTS refresh_segment_stats(UUID[]);
DROP FUNCTION IF EXISTS apply_segment_members(UUID, UUID[], TIMESTAMPTZ);
DROP FUNCTION IF EXISTS segment_evaluation_lock_key();
DROP FUNCTION IF EXISTS segment_query_members(TEXT, JSONB);
DROP TRIGGER IF EXISTS notify_segment_changed ON segments;
DROP TRIGGER IF EXISTS notify_segment_created ON segments;
DROP FUNCTION IF EXISTS notify_segment_changed();
DROP TRIGGER IF EXISTS journal_segment_membership ON segment_memberships;
DROP FUNCTION IF EXISTS journal_segment_membership();
DROP TABLE IF EXISTS segment_membership_changes;
DROP SEQUENCE IF EXISTS segment_definition_versions;
DROP TABLE IF EXISTS segment_definitions;
DROP FUNCTION IF EXISTS segment_kind(segments);
DROP FUNCTION IF EXISTS segment_source(segments);
ALTER TABLE segments DROP COLUMN IF EXISTS criteria_error;
