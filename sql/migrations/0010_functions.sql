-- Up Migration
-- Seed "Useful Functions" and the trigger functions of "Triggers for Automated Updates",
-- corrected, plus three helpers they use:
--   segment_condition_to_sql / segment_criteria_to_sql  (refresh_segment_memberships)
--   recompute_customer_order_metrics                     (update_customer_metrics)
-- The triggers themselves are created in 0011_triggers.sql.

-- ---------------------------------------------------------------------------
-- calculate_engagement_score(customer_uuid) -> 0..100
-- Correction: CURRENT_DATE - last_seen_at::date is already an integer (days); the seed's
-- EXTRACT(days FROM <integer>) fails at call time. Marked STABLE (reads only).
-- Logic otherwise exactly as the seed: recency of last_seen_at (40), events in the last
-- 30 days (30), total_orders = delivered orders (30).
CREATE OR REPLACE FUNCTION calculate_engagement_score(customer_uuid UUID)
RETURNS INTEGER
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    score INTEGER := 0;
    days_since_last_seen INTEGER;
    recent_events INTEGER;
    recent_orders INTEGER;
BEGIN
    -- Get basic metrics
    SELECT
        CURRENT_DATE - last_seen_at::date,
        total_orders
    INTO days_since_last_seen, recent_orders
    FROM customers
    WHERE id = customer_uuid;

    -- Count recent events (last 30 days)
    SELECT COUNT(*) INTO recent_events
    FROM customer_events
    WHERE customer_id = customer_uuid
    AND occurred_at > CURRENT_DATE - INTERVAL '30 days';

    -- Calculate score (0-100)
    -- Recency (40 points max)
    IF days_since_last_seen <= 1 THEN score := score + 40;
    ELSIF days_since_last_seen <= 7 THEN score := score + 30;
    ELSIF days_since_last_seen <= 30 THEN score := score + 20;
    ELSIF days_since_last_seen <= 90 THEN score := score + 10;
    END IF;

    -- Frequency (30 points max)
    IF recent_events >= 50 THEN score := score + 30;
    ELSIF recent_events >= 20 THEN score := score + 20;
    ELSIF recent_events >= 5 THEN score := score + 10;
    ELSIF recent_events >= 1 THEN score := score + 5;
    END IF;

    -- Purchase activity (30 points max)
    IF recent_orders >= 5 THEN score := score + 30;
    ELSIF recent_orders >= 2 THEN score := score + 20;
    ELSIF recent_orders >= 1 THEN score := score + 10;
    END IF;

    RETURN LEAST(score, 100);
END;
$$;

-- ---------------------------------------------------------------------------
-- Segment criteria -> SQL boolean expression over "customers c".
--
-- Supported criteria shapes (segments.criteria):
--  1. the documented one:
--       {"conditions": [{"field": "total_revenue", "operator": ">=", "value": 500, "type": "number"}, ...],
--        "logic": "AND" | "OR",
--        "nested_conditions": [{"conditions": [...], "logic": "OR"}, ...]}
--     conditions and nested groups are combined with "logic" (default AND);
--  2. the simple one the seed's function tested for:
--       {"customer_type": ["premium", "enterprise"], "country": "US",
--        "custom_attributes": {"plan": ["pro"]}}
--     every key is ANDed; an array value means IN, a scalar means =.
-- field: any column of customers, or "custom_attributes.<key>" (compared as text).
-- operator: = == eq, != <> neq, > gt, >= gte, < lt, <= lte, in, not_in, between ([lo, hi]),
--           contains / not_contains (substring for text, @> for arrays and jsonb),
--           is_null / is_not_null. "type" is accepted but not needed: values are cast to
--           the column's own type. NULL columns count as "not equal" for != and not_in.
-- Empty criteria match every customer. Unknown fields/operators raise an error.
-- Identifiers are quoted with %I and values with %L: criteria cannot inject SQL.
CREATE OR REPLACE FUNCTION segment_condition_to_sql(field TEXT, oper TEXT, val JSONB)
RETURNS TEXT
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    col_expr  TEXT;
    col_type  TEXT;
    elem_type TEXT;
    is_array  BOOLEAN := false;
    op        TEXT := lower(btrim(coalesce(oper, '=')));
    lit       TEXT;
    arr_lit   TEXT;
BEGIN
    IF field IS NULL OR field = '' THEN
        RAISE EXCEPTION 'segment condition without a field';
    END IF;

    IF field LIKE 'custom\_attributes.%' THEN
        col_expr := format('(c.custom_attributes ->> %L)', substr(field, 19));
        col_type := 'text';
    ELSE
        SELECT format_type(a.atttypid, NULL), t.typcategory = 'A', format_type(t.typelem, NULL)
        INTO col_type, is_array, elem_type
        FROM pg_attribute a
        JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = 'customers'::regclass
          AND a.attname = field
          AND a.attnum > 0
          AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown customers field in segment criteria: %', field;
        END IF;
        col_expr := format('c.%I', field);
    END IF;

    -- normalise operator spellings
    op := CASE op
        WHEN '==' THEN '=' WHEN 'eq' THEN '=' WHEN 'equals' THEN '='
        WHEN '!=' THEN '<>' WHEN 'neq' THEN '<>' WHEN 'not_equals' THEN '<>'
        WHEN 'gt' THEN '>' WHEN 'gte' THEN '>=' WHEN 'lt' THEN '<' WHEN 'lte' THEN '<='
        WHEN 'not in' THEN 'not_in' WHEN 'is null' THEN 'is_null' WHEN 'is not null' THEN 'is_not_null'
        ELSE op END;

    -- = null / != null
    IF (val IS NULL OR jsonb_typeof(val) = 'null') AND op IN ('=', '<>') THEN
        op := CASE op WHEN '=' THEN 'is_null' ELSE 'is_not_null' END;
    END IF;

    IF op = 'is_null' THEN
        RETURN format('%s IS NULL', col_expr);
    ELSIF op = 'is_not_null' THEN
        RETURN format('%s IS NOT NULL', col_expr);
    END IF;

    IF val IS NULL OR jsonb_typeof(val) = 'null' THEN
        RAISE EXCEPTION 'segment condition on % with operator % needs a value', field, op;
    END IF;

    IF op IN ('in', 'not_in') THEN
        IF jsonb_typeof(val) <> 'array' THEN
            val := jsonb_build_array(val);
        END IF;
        IF jsonb_array_length(val) = 0 THEN
            RETURN CASE op WHEN 'in' THEN 'FALSE' ELSE 'TRUE' END;
        END IF;
        IF is_array OR col_type = 'jsonb' THEN
            RAISE EXCEPTION 'operator % is not supported on % column %', op, col_type, field;
        END IF;
        SELECT array_agg(e)::text INTO arr_lit FROM jsonb_array_elements_text(val) e;
        IF op = 'in' THEN
            RETURN format('%s = ANY (%L::%s[])', col_expr, arr_lit, col_type);
        ELSE
            RETURN format('(%s IS NULL OR NOT (%s = ANY (%L::%s[])))', col_expr, col_expr, arr_lit, col_type);
        END IF;
    END IF;

    IF op = 'between' THEN
        IF jsonb_typeof(val) <> 'array' OR jsonb_array_length(val) <> 2 THEN
            RAISE EXCEPTION 'between on % needs a [low, high] array', field;
        END IF;
        RETURN format('%s BETWEEN %L::%s AND %L::%s', col_expr,
                      val ->> 0, col_type, val ->> 1, col_type);
    END IF;

    IF op IN ('contains', 'not_contains') THEN
        IF is_array THEN
            IF jsonb_typeof(val) <> 'array' THEN
                val := jsonb_build_array(val);
            END IF;
            SELECT coalesce(array_agg(e), '{}')::text INTO arr_lit FROM jsonb_array_elements_text(val) e;
            lit := format('%s @> %L::%s', col_expr, arr_lit, col_type);
        ELSIF col_type = 'jsonb' THEN
            lit := format('%s @> %L::jsonb', col_expr, val::text);
        ELSE
            lit := format('strpos(lower(%s::text), lower(%L)) > 0', col_expr, val #>> '{}');
        END IF;
        IF op = 'contains' THEN
            RETURN lit;
        END IF;
        RETURN format('(%s IS NULL OR NOT (%s))', col_expr, lit);
    END IF;

    IF op NOT IN ('=', '<>', '>', '>=', '<', '<=') THEN
        RAISE EXCEPTION 'unknown operator in segment criteria: %', oper;
    END IF;

    IF is_array THEN
        IF jsonb_typeof(val) <> 'array' THEN
            RAISE EXCEPTION 'comparison on array column % needs an array value', field;
        END IF;
        SELECT coalesce(array_agg(e), '{}')::text INTO lit FROM jsonb_array_elements_text(val) e;
    ELSIF col_type = 'jsonb' THEN
        lit := val::text;
    ELSIF jsonb_typeof(val) IN ('object', 'array') THEN
        RAISE EXCEPTION 'segment condition on % needs a scalar value', field;
    ELSE
        lit := val #>> '{}';
    END IF;

    IF op = '<>' THEN
        RETURN format('%s IS DISTINCT FROM %L::%s', col_expr, lit, col_type);
    END IF;
    RETURN format('%s %s %L::%s', col_expr, op, lit, col_type);
END;
$$;

CREATE OR REPLACE FUNCTION segment_criteria_to_sql(criteria JSONB)
RETURNS TEXT
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    parts TEXT[] := '{}';
    logic TEXT;
    cond  JSONB;
    k     TEXT;
    v     JSONB;
    k2    TEXT;
    v2    JSONB;
BEGIN
    IF criteria IS NULL OR jsonb_typeof(criteria) <> 'object' THEN
        RAISE EXCEPTION 'segment criteria must be a JSON object, got %', criteria;
    END IF;

    IF criteria ? 'conditions' OR criteria ? 'nested_conditions' THEN
        logic := upper(coalesce(criteria ->> 'logic', 'AND'));
        IF logic NOT IN ('AND', 'OR') THEN
            RAISE EXCEPTION 'segment criteria logic must be AND or OR, got %', criteria ->> 'logic';
        END IF;
        IF jsonb_typeof(coalesce(criteria -> 'conditions', '[]')) <> 'array'
           OR jsonb_typeof(coalesce(criteria -> 'nested_conditions', '[]')) <> 'array' THEN
            RAISE EXCEPTION 'segment criteria conditions / nested_conditions must be arrays';
        END IF;
        FOR cond IN SELECT value FROM jsonb_array_elements(coalesce(criteria -> 'conditions', '[]')) LOOP
            parts := parts || segment_condition_to_sql(cond ->> 'field', cond ->> 'operator', cond -> 'value');
        END LOOP;
        FOR cond IN SELECT value FROM jsonb_array_elements(coalesce(criteria -> 'nested_conditions', '[]')) LOOP
            parts := parts || segment_criteria_to_sql(cond);
        END LOOP;
    ELSE
        logic := 'AND';
        FOR k, v IN SELECT key, value FROM jsonb_each(criteria) LOOP
            IF k = 'custom_attributes' AND jsonb_typeof(v) = 'object' THEN
                FOR k2, v2 IN SELECT key, value FROM jsonb_each(v) LOOP
                    parts := parts || segment_condition_to_sql('custom_attributes.' || k2,
                        CASE WHEN jsonb_typeof(v2) = 'array' THEN 'in' ELSE '=' END, v2);
                END LOOP;
            ELSE
                parts := parts || segment_condition_to_sql(k,
                    CASE WHEN jsonb_typeof(v) = 'array' THEN 'in' ELSE '=' END, v);
            END IF;
        END LOOP;
    END IF;

    IF cardinality(parts) = 0 THEN
        RETURN 'TRUE';
    END IF;
    RETURN '(' || array_to_string(parts, ' ' || logic || ' ') || ')';
END;
$$;

-- ---------------------------------------------------------------------------
-- refresh_segment_memberships(segment_uuid) -> number of members
-- Correction: the seed's version deleted every membership, built a query string it
-- never executed (and whose rtrim(' AND ') strips a character set, not a suffix), so
-- every segment ended up empty. Same name and signature; now it evaluates the
-- criteria (see segment_criteria_to_sql) against customers and makes
-- segment_memberships equal the result: non-qualifying rows are deleted, new members
-- inserted, continuing members keep their added_at / first_qualified_at.
-- 'static' segments keep their hand-maintained members (only the statistics refresh).
-- segments.sql_query is never executed here (stored SQL text would be an injection path).
CREATE OR REPLACE FUNCTION refresh_segment_memberships(segment_uuid UUID)
RETURNS INTEGER
LANGUAGE plpgsql
AS $$
DECLARE
    segment_record segments%ROWTYPE;
    where_sql TEXT;
    member_ids UUID[];
    affected_rows INTEGER;
    started TIMESTAMPTZ := clock_timestamp();
BEGIN
    -- Get segment configuration (row lock: one refresh of a segment at a time)
    SELECT * INTO segment_record FROM segments WHERE id = segment_uuid FOR UPDATE;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'Segment not found: %', segment_uuid;
    END IF;

    IF segment_record.segment_type IS DISTINCT FROM 'static' THEN
        where_sql := segment_criteria_to_sql(segment_record.criteria);

        EXECUTE format('SELECT coalesce(array_agg(c.id), ''{}'') FROM customers c WHERE %s', where_sql)
        INTO member_ids;

        DELETE FROM segment_memberships sm
        WHERE sm.segment_id = segment_uuid
          AND NOT EXISTS (SELECT 1 FROM unnest(member_ids) AS m(id) WHERE m.id = sm.customer_id);

        INSERT INTO segment_memberships (segment_id, customer_id)
        SELECT segment_uuid, m.id FROM unnest(member_ids) AS m(id)
        ON CONFLICT (segment_id, customer_id) DO UPDATE
            SET is_active = true, removed_at = NULL
            WHERE segment_memberships.is_active IS DISTINCT FROM true
               OR segment_memberships.removed_at IS NOT NULL;
    END IF;

    -- Update segment statistics
    SELECT COUNT(*) INTO affected_rows
    FROM segment_memberships
    WHERE segment_id = segment_uuid AND is_active IS NOT FALSE;

    UPDATE segments s
    SET last_customer_count = s.customer_count,
        customer_count = affected_rows,
        customer_count_change = affected_rows - coalesce(s.customer_count, 0),
        average_ltv = coalesce(st.avg_ltv, 0),
        average_order_value = coalesce(st.avg_aov, 0),
        average_engagement_score = coalesce(st.avg_engagement, 0),
        last_refreshed_at = CURRENT_TIMESTAMP,
        refresh_duration = clock_timestamp() - started
    FROM (
        SELECT avg(c.lifetime_value) AS avg_ltv,
               avg(c.average_order_value) AS avg_aov,
               avg(c.engagement_score) AS avg_engagement
        FROM segment_memberships sm
        JOIN customers c ON c.id = sm.customer_id
        WHERE sm.segment_id = segment_uuid AND sm.is_active IS NOT FALSE
    ) st
    WHERE s.id = segment_uuid;

    RETURN affected_rows;
END;
$$;

-- ---------------------------------------------------------------------------
-- update_updated_at_column(): BEFORE UPDATE row trigger, unchanged from the seed.
CREATE OR REPLACE FUNCTION update_updated_at_column()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at = CURRENT_TIMESTAMP;
    RETURN NEW;
END;
$$;

-- ---------------------------------------------------------------------------
-- recompute_customer_order_metrics(customer_ids) -> number of customers rows changed
-- Recomputes the order-derived columns of customers from customer_orders, from scratch:
--   total_orders        = count of 'delivered' orders
--   total_revenue       = sum(order_total) of 'delivered' orders
--   average_order_value = round(total_revenue / total_orders, 2), 0 when no orders
--   lifetime_value      = total_revenue - sum(order_total) of 'refunded' orders
-- Rows are locked in id order first (no deadlock between two recomputations) and only
-- rows whose values actually change are updated. Also usable for backfills/repairs:
--   SELECT recompute_customer_order_metrics(array_agg(id)) FROM customers;
CREATE OR REPLACE FUNCTION recompute_customer_order_metrics(customer_ids UUID[])
RETURNS INTEGER
LANGUAGE plpgsql
AS $$
DECLARE
    changed INTEGER;
BEGIN
    IF customer_ids IS NULL OR cardinality(customer_ids) = 0 THEN
        RETURN 0;
    END IF;

    PERFORM 1 FROM customers WHERE id = ANY (customer_ids) ORDER BY id FOR NO KEY UPDATE;

    UPDATE customers c
    SET total_orders = m.total_orders,
        total_revenue = m.total_revenue,
        average_order_value = m.average_order_value,
        lifetime_value = m.lifetime_value
    FROM (
        SELECT x.id,
               o.delivered_count AS total_orders,
               o.delivered_revenue AS total_revenue,
               CASE WHEN o.delivered_count > 0
                    THEN round(o.delivered_revenue / o.delivered_count, 2)
                    ELSE 0 END AS average_order_value,
               o.delivered_revenue - o.refunded_total AS lifetime_value
        FROM (SELECT DISTINCT unnest(customer_ids) AS id) x
        CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE co.order_status = 'delivered')::int AS delivered_count,
                   coalesce(sum(co.order_total) FILTER (WHERE co.order_status = 'delivered'), 0) AS delivered_revenue,
                   coalesce(sum(co.order_total) FILTER (WHERE co.order_status = 'refunded'), 0) AS refunded_total
            FROM customer_orders co
            WHERE co.customer_id = x.id
        ) o
    ) m
    WHERE c.id = m.id
      AND (c.total_orders, c.total_revenue, c.average_order_value, c.lifetime_value)
          IS DISTINCT FROM (m.total_orders, m.total_revenue, m.average_order_value, m.lifetime_value);

    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END;
$$;

-- ---------------------------------------------------------------------------
-- update_customer_metrics(): statement-level AFTER trigger on customer_orders.
-- Correction of the seed's row trigger, which used NEW on DELETE (NULL: the customer
-- losing the order was never recomputed) and ignored the old customer when an UPDATE
-- moved an order to another customer (profile merges). It also only maintained
-- total_orders/total_revenue, leaving average_order_value and lifetime_value stale.
-- This trigger is the ONLY writer of those four columns. It recomputes, once per
-- statement, every affected customer:
--   INSERT   -> customers of the new rows
--   UPDATE   -> old and new customers of rows whose customer_id, order_status or
--               order_total changed
--   DELETE   -> customers of the deleted rows
--   TRUNCATE -> every customer with non-zero order metrics
-- The transition tables are named new_orders / old_orders by the triggers (0011).
CREATE OR REPLACE FUNCTION update_customer_metrics()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
DECLARE
    affected UUID[];
BEGIN
    IF TG_TABLE_NAME <> 'customer_orders' OR TG_LEVEL <> 'STATEMENT' THEN
        RAISE EXCEPTION 'update_customer_metrics() must be a statement-level trigger on customer_orders';
    END IF;

    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.customer_id) INTO affected FROM new_orders n;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(DISTINCT x.customer_id) INTO affected
        FROM (
            SELECT o.customer_id AS old_customer, n.customer_id AS new_customer
            FROM old_orders o
            FULL JOIN new_orders n ON n.id = o.id
            WHERE o.id IS NULL OR n.id IS NULL
               OR o.customer_id IS DISTINCT FROM n.customer_id
               OR o.order_status IS DISTINCT FROM n.order_status
               OR o.order_total IS DISTINCT FROM n.order_total
        ) ch
        CROSS JOIN LATERAL (VALUES (ch.old_customer), (ch.new_customer)) AS x(customer_id)
        WHERE x.customer_id IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT o.customer_id) INTO affected FROM old_orders o;
    ELSIF TG_OP = 'TRUNCATE' THEN
        SELECT array_agg(c.id) INTO affected
        FROM customers c
        WHERE c.total_orders IS DISTINCT FROM 0 OR c.total_revenue IS DISTINCT FROM 0
           OR c.average_order_value IS DISTINCT FROM 0 OR c.lifetime_value IS DISTINCT FROM 0;
    END IF;

    PERFORM recompute_customer_order_metrics(affected);
    RETURN NULL;
END;
$$;

-- Down Migration
DROP FUNCTION IF EXISTS update_customer_metrics();
DROP FUNCTION IF EXISTS recompute_customer_order_metrics(UUID[]);
DROP FUNCTION IF EXISTS update_updated_at_column();
DROP FUNCTION IF EXISTS refresh_segment_memberships(UUID);
DROP FUNCTION IF EXISTS segment_criteria_to_sql(JSONB);
DROP FUNCTION IF EXISTS segment_condition_to_sql(TEXT, TEXT, JSONB);
DROP FUNCTION IF EXISTS calculate_engagement_score(UUID);
