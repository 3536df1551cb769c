-- Services gain per-service rules and trend rule members.

-- rules holds the service's ServiceRules as JSON ('{}': the defaults), so
-- new rules need no migration per field.
ALTER TABLE services ADD COLUMN rules TEXT NOT NULL DEFAULT '{}';

-- A member may now be a trend rule (all its series) or a trend rule on one
-- host. SQLite cannot change a CHECK constraint in place, so the table is
-- rebuilt: create, copy, drop, rename, recreate the indexes. Nothing refers
-- to service_members, so dropping it breaks no foreign key.
CREATE TABLE service_members_new (
    id                  INTEGER PRIMARY KEY,
    service_id          BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    redundancy_group_id BIGINT REFERENCES service_redundancy_groups (id) ON DELETE CASCADE,
    host_id             BIGINT REFERENCES hosts (id),
    check_id            BIGINT REFERENCES checks (id),
    plugin_id           BIGINT REFERENCES plugins (id),
    member_service_id   BIGINT REFERENCES services (id),
    trend_rule_id       BIGINT REFERENCES trend_rules (id),
    CHECK (
        -- a host
        (host_id IS NOT NULL AND check_id IS NULL AND plugin_id IS NULL AND member_service_id IS NULL AND trend_rule_id IS NULL) OR
        -- a check's plugin on a host
        (host_id IS NOT NULL AND check_id IS NOT NULL AND plugin_id IS NOT NULL AND member_service_id IS NULL AND trend_rule_id IS NULL) OR
        -- another service
        (host_id IS NULL AND check_id IS NULL AND plugin_id IS NULL AND member_service_id IS NOT NULL AND trend_rule_id IS NULL) OR
        -- a trend rule, optionally narrowed to one host
        (check_id IS NULL AND plugin_id IS NULL AND member_service_id IS NULL AND trend_rule_id IS NOT NULL)
    )
);
INSERT INTO service_members_new (id, service_id, redundancy_group_id, host_id, check_id, plugin_id, member_service_id)
    SELECT id, service_id, redundancy_group_id, host_id, check_id, plugin_id, member_service_id FROM service_members;
DROP TABLE service_members;
ALTER TABLE service_members_new RENAME TO service_members;
CREATE INDEX service_members_service ON service_members (service_id);
CREATE INDEX service_members_group ON service_members (redundancy_group_id);
CREATE INDEX service_members_host ON service_members (host_id);
CREATE INDEX service_members_check ON service_members (check_id);
CREATE INDEX service_members_plugin ON service_members (plugin_id);
CREATE INDEX service_members_member ON service_members (member_service_id);
CREATE INDEX service_members_trend ON service_members (trend_rule_id);
