-- Up Migration
-- Pipeline additions (not in the seed): event sources and their write keys, Kafka
-- offsets committed transactionally with the rows they produced, cross-record
-- de-duplication of client messageIds, and the external-id -> customer map.

-- A source is one sending application. Its write key is shown once at creation and
-- stored only as a SHA-256 hex digest; write_key_hint keeps the first few characters
-- so operators can tell keys apart.
CREATE TABLE sources (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(100) UNIQUE NOT NULL,
    write_key_hash CHAR(64) UNIQUE NOT NULL CHECK (write_key_hash ~ '^[0-9a-f]{64}$'),
    write_key_hint VARCHAR(12) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    revoked_at TIMESTAMP WITH TIME ZONE
);

-- Next offset to read per consumer group / topic / partition. A processor writes its
-- rows and this offset in ONE transaction, so after a crash it resumes exactly after
-- the last batch whose rows are in the database.
CREATE TABLE consumer_offsets (
    consumer_group VARCHAR(200) NOT NULL,
    topic VARCHAR(249) NOT NULL,
    kafka_partition INTEGER NOT NULL CHECK (kafka_partition >= 0),
    next_offset BIGINT NOT NULL CHECK (next_offset >= 0),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, kafka_partition)
);

-- messageIds already applied, per scope ('events', 'orders', ...) and source key: drops
-- duplicates that arrive as different Kafka records (client retries, re-sent batches).
-- seen_at is indexed so old entries can be pruned.
CREATE TABLE message_dedup (
    scope VARCHAR(40) NOT NULL,
    source_key VARCHAR(100) NOT NULL,
    message_id VARCHAR(255) NOT NULL,
    seen_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, source_key, message_id)
);

CREATE INDEX idx_message_dedup_seen_at ON message_dedup(seen_at);

-- Every external id (userId, anonymousId, alias previousId) -> customers.id. When identify
-- or alias merges two profiles, the old ids are re-pointed to the surviving customer,
-- so they keep resolving to it.
CREATE TABLE customer_identities (
    external_id VARCHAR(100) PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    identity_type VARCHAR(20) NOT NULL CHECK (identity_type IN ('user_id', 'anonymous_id', 'alias')),
    linked_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

CREATE INDEX idx_customer_identities_customer_id ON customer_identities(customer_id);

-- Down Migration
DROP TABLE IF EXISTS customer_identities;
DROP TABLE IF EXISTS message_dedup;
DROP TABLE IF EXISTS consumer_offsets;
DROP TABLE IF EXISTS sources;
