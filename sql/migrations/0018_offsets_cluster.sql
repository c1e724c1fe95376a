-- Up Migration
-- Which Kafka cluster a stored offset belongs to. A database pointed at another cluster (a new
-- local stack beside an old database, a cluster rebuilt after a loss) must not skip that
-- cluster's records because an offset of the old one says so: at start a processor resets to 0
-- the offsets of its group stored for another cluster (message de-duplication drops anything
-- already applied) and stamps rows stored before this column existed with its own.
ALTER TABLE consumer_offsets ADD COLUMN kafka_cluster_id VARCHAR(64);

-- Down Migration
ALTER TABLE consumer_offsets DROP COLUMN IF EXISTS kafka_cluster_id;
