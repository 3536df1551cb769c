-- The agent mesh's settings, handed to agents in their plans (docs/mesh.md):
-- one row (id 1), absent until an admin first sets them. keys holds the
-- mesh's secret keys, base64, one per line, the first used to send; they
-- leave the server only in agents' plans.
CREATE TABLE mesh_settings (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    enabled       INTEGER NOT NULL DEFAULT 0,
    cluster       TEXT    NOT NULL DEFAULT '',
    port          INTEGER NOT NULL DEFAULT 7946,
    keys          TEXT    NOT NULL DEFAULT '',
    allow_ranges  TEXT    NOT NULL DEFAULT '',
    status_listen TEXT    NOT NULL DEFAULT '',
    status_allow  TEXT    NOT NULL DEFAULT '',
    interval_ms   BIGINT  NOT NULL DEFAULT 60000,
    down_ms       BIGINT  NOT NULL DEFAULT 1800000,
    remove_ms     BIGINT  NOT NULL DEFAULT 864000000,
    updated_at    BIGINT  NOT NULL DEFAULT 0
);
