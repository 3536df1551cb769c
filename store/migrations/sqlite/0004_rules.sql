-- 0004: classification and trend rules (issue 4).
--
-- Plugins carry their classifier (Lua source, '' for the built-in default of
-- the plugin's kind) and how many previous results it sees (0 for the
-- default, 10). Checks carry the soft/hard confirmation count, flapping
-- detection settings (0 for the server's defaults) and per-plugin classifier
-- overrides. Trend rules are configuration like alert rules.
--
-- events, system_log and current_states are written by the rules engine, not
-- by users: state changes as an audit trail, the engine's own log (classifier
-- errors, trend rule failures) and the last known state of every subject, so
-- a restart resumes where it stopped. They refer to hosts, plugins and checks
-- by name, without foreign keys: an event outlives the host it was about.
-- Timestamps are BIGINT milliseconds, labels JSON objects as TEXT.

ALTER TABLE plugins ADD COLUMN classifier TEXT NOT NULL DEFAULT '';
ALTER TABLE plugins ADD COLUMN history INTEGER NOT NULL DEFAULT 0;

ALTER TABLE checks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE checks ADD COLUMN flap_window INTEGER NOT NULL DEFAULT 0;
ALTER TABLE checks ADD COLUMN flap_start REAL NOT NULL DEFAULT 0;
ALTER TABLE checks ADD COLUMN flap_stop REAL NOT NULL DEFAULT 0;

-- A check's classifier for one of its plugins, overriding the plugin's.
CREATE TABLE check_classifiers (
    check_id  BIGINT NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    plugin_id BIGINT NOT NULL REFERENCES plugins (id),
    source    TEXT   NOT NULL,
    PRIMARY KEY (check_id, plugin_id)
);
CREATE INDEX check_classifiers_plugin ON check_classifiers (plugin_id);

CREATE TABLE trend_rules (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    selector    TEXT    NOT NULL,
    window_ms   BIGINT  NOT NULL,
    interval_ms BIGINT  NOT NULL DEFAULT 0,
    expr        TEXT    NOT NULL,
    disabled    INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- kind: state, flapping_start, flapping_stop. subject_kind: check, host,
-- trend, service. States: -1 unknown, 0 ok, 1 minor, 2 major, 3 critical
-- (services 0 ok, 1 degraded, 2 failed).
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    time         BIGINT  NOT NULL,
    kind         TEXT    NOT NULL,
    subject_kind TEXT    NOT NULL,
    host         TEXT    NOT NULL DEFAULT '',
    plugin       TEXT    NOT NULL DEFAULT '',
    check_name   TEXT    NOT NULL DEFAULT '',
    rule         TEXT    NOT NULL DEFAULT '',
    service      TEXT    NOT NULL DEFAULT '',
    labels       TEXT    NOT NULL DEFAULT '{}',
    from_state   INTEGER NOT NULL,
    to_state     INTEGER NOT NULL,
    reason       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX events_time ON events (time);
CREATE INDEX events_host_time ON events (host, time);

-- level: info, warn, error.
CREATE TABLE system_log (
    id         INTEGER PRIMARY KEY,
    time       BIGINT  NOT NULL,
    level      TEXT    NOT NULL,
    component  TEXT    NOT NULL DEFAULT '',
    host       TEXT    NOT NULL DEFAULT '',
    plugin     TEXT    NOT NULL DEFAULT '',
    check_name TEXT    NOT NULL DEFAULT '',
    message    TEXT    NOT NULL
);
CREATE INDEX system_log_time ON system_log (time);

-- key is the rules engine's name for the subject; the other columns say
-- what it is, so the states can be read without the engine.
CREATE TABLE current_states (
    key          TEXT    PRIMARY KEY,
    subject_kind TEXT    NOT NULL,
    host         TEXT    NOT NULL DEFAULT '',
    plugin       TEXT    NOT NULL DEFAULT '',
    check_name   TEXT    NOT NULL DEFAULT '',
    rule         TEXT    NOT NULL DEFAULT '',
    service      TEXT    NOT NULL DEFAULT '',
    labels       TEXT    NOT NULL DEFAULT '{}',
    state        INTEGER NOT NULL,
    since        BIGINT  NOT NULL,
    flapping     INTEGER NOT NULL DEFAULT 0,
    reason       TEXT    NOT NULL DEFAULT '',
    updated_at   BIGINT  NOT NULL
);
