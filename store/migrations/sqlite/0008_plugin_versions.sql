-- 0008: plugin versions (issue 6). A plugin keeps every version uploaded
-- to the registry side by side: each row is a snapshot of one package
-- (how the agent runs it, its classifier, its manifest as uploaded as
-- JSON text, who uploaded it and whose key signed it). The plugins row
-- stays the plugin's current version, copied from one of these rows, so
-- everything that reads plugins keeps working for checks that follow
-- "latest". A version's rows go with its plugin (ON DELETE CASCADE).
--
-- Checks may pin a plugin to a version and set its parameters: both are
-- JSON objects keyed by plugin name (versions: plugin -> version; params:
-- plugin -> parameter -> value), like alert rule specs, checked by the
-- store when written.

CREATE TABLE plugin_versions (
    id          INTEGER PRIMARY KEY,
    plugin_id   BIGINT  NOT NULL REFERENCES plugins (id) ON DELETE CASCADE,
    version     TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    manifest    TEXT    NOT NULL DEFAULT '{}',
    description TEXT    NOT NULL DEFAULT '',
    kind        TEXT    NOT NULL,
    entrypoint  TEXT    NOT NULL,
    args        TEXT    NOT NULL DEFAULT '[]',
    timeout_ms  BIGINT  NOT NULL DEFAULT 0,
    classifier  TEXT    NOT NULL DEFAULT '',
    history     INTEGER NOT NULL DEFAULT 0,
    signer      TEXT    NOT NULL DEFAULT '',
    signature   TEXT    NOT NULL DEFAULT '',
    size        BIGINT  NOT NULL DEFAULT 0,
    uploaded_at BIGINT  NOT NULL,
    uploaded_by TEXT    NOT NULL DEFAULT '',
    UNIQUE (plugin_id, version)
);
CREATE INDEX plugin_versions_sha256 ON plugin_versions (sha256);

ALTER TABLE checks ADD COLUMN versions TEXT NOT NULL DEFAULT '{}';
ALTER TABLE checks ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
