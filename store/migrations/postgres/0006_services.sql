-- Services gain per-service rules and trend rule members.

-- rules holds the service's ServiceRules as JSON ('{}': the defaults), so
-- new rules need no migration per field.
ALTER TABLE services ADD COLUMN rules TEXT COLLATE "C" NOT NULL DEFAULT '{}';

-- A member may now be a trend rule (all its series) or a trend rule on one
-- host. (SQLite rebuilds the table to change the CHECK; PostgreSQL changes it
-- in place. service_members_check is the name PostgreSQL gave 0001's
-- unnamed CHECK.)
ALTER TABLE service_members ADD COLUMN trend_rule_id BIGINT REFERENCES trend_rules (id);
ALTER TABLE service_members DROP CONSTRAINT service_members_check;
ALTER TABLE service_members ADD CONSTRAINT service_members_check CHECK (
    -- a host
    (host_id IS NOT NULL AND check_id IS NULL AND plugin_id IS NULL AND member_service_id IS NULL AND trend_rule_id IS NULL) OR
    -- a check's plugin on a host
    (host_id IS NOT NULL AND check_id IS NOT NULL AND plugin_id IS NOT NULL AND member_service_id IS NULL AND trend_rule_id IS NULL) OR
    -- another service
    (host_id IS NULL AND check_id IS NULL AND plugin_id IS NULL AND member_service_id IS NOT NULL AND trend_rule_id IS NULL) OR
    -- a trend rule, optionally narrowed to one host
    (check_id IS NULL AND plugin_id IS NULL AND member_service_id IS NULL AND trend_rule_id IS NOT NULL)
);
CREATE INDEX service_members_trend ON service_members (trend_rule_id);
