-- Up Migration
-- The identities processor's additions (not in the seed): when each profile trait was set, so
-- that newer traits win over older ones by event time and not by arrival; and where group calls
-- (accounts, companies) go.

-- trait_times: {"<column>" | "custom_attributes.<key>": [event time in epoch ms, messageId]} for
-- every trait an identify set or cleared. A trait is written only by a record whose (time,
-- messageId) is greater than the one stored, so the result does not depend on the order records
-- are processed in, and replaying a record changes nothing. See services/identities/README.md.
ALTER TABLE customers ADD COLUMN trait_times JSONB NOT NULL DEFAULT '{}';

-- A group (Segment's `group` call: an account, a company) and its traits, last writer by event
-- time per trait, as for customers. Group traits describe the group, not the person, so they are
-- kept once here rather than copied into every member's custom_attributes.
CREATE TABLE customer_groups (
    group_id VARCHAR(100) PRIMARY KEY,
    traits JSONB NOT NULL DEFAULT '{}',
    trait_times JSONB NOT NULL DEFAULT '{}',
    first_seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

-- Which customers belong to which group; joined_at is the event time of the earliest group call.
-- A profile merge moves the rows of the merged customer to the survivor (before it deletes the
-- merged customer; the cascade only ever finds rows already moved).
CREATE TABLE customer_group_memberships (
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    group_id VARCHAR(100) NOT NULL REFERENCES customer_groups(group_id) ON DELETE CASCADE,
    joined_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (customer_id, group_id)
);

CREATE INDEX idx_customer_group_memberships_group_id ON customer_group_memberships(group_id);

CREATE TRIGGER update_customer_groups_updated_at BEFORE UPDATE ON customer_groups
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- Down Migration
DROP TABLE IF EXISTS customer_group_memberships;
DROP TABLE IF EXISTS customer_groups;
ALTER TABLE customers DROP COLUMN IF EXISTS trait_times;
