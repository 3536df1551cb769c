-- 0007: alerting (issue 5): silences, acknowledgements and the alert
-- history.
--
-- Alert rules need no migration: their new fields (condition,
-- escalations, no_recovery, disabled, scope plugins and trend rules) live
-- in the JSON spec column. Silences are configuration like alert rules,
-- with the same kind of spec (scope, one-off start/end or a weekly window,
-- comment, created_by); their scopes refer by name, without foreign keys.
--
-- acks, alert_history and notifications are records, not configuration:
-- written by the alert manager and the API, they outlive what they name.
-- Timestamps are BIGINT milliseconds; subjects, lists and acks JSON as TEXT.

CREATE TABLE silences (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    spec        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- One acknowledgement per subject (rules/alert.SubjectKey); expires 0 means
-- until the subject recovers.
CREATE TABLE acks (
    subject_key TEXT   PRIMARY KEY,
    subject     TEXT   NOT NULL,
    "by"        TEXT   NOT NULL DEFAULT '',
    comment     TEXT   NOT NULL DEFAULT '',
    at          BIGINT NOT NULL,
    expires     BIGINT NOT NULL DEFAULT 0
);

-- Every step of every alert; host repeats subject's host for filtering.
CREATE TABLE alert_history (
    id          INTEGER PRIMARY KEY,
    time        BIGINT  NOT NULL,
    alert_id    TEXT    NOT NULL,
    rule        TEXT    NOT NULL DEFAULT '',
    host        TEXT    NOT NULL DEFAULT '',
    subject     TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'firing', 'resolved')),
    state       TEXT    NOT NULL DEFAULT '',
    from_state  TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    active_at   BIGINT  NOT NULL DEFAULT 0,
    fired_at    BIGINT  NOT NULL DEFAULT 0,
    resolved_at BIGINT  NOT NULL DEFAULT 0,
    notified    TEXT    NOT NULL DEFAULT '[]',
    ack         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX alert_history_time ON alert_history (time);
CREATE INDEX alert_history_alert ON alert_history (alert_id, time);

-- Every attempt to send a notice through a module; retry 1 when another
-- attempt follows; payload what was sent (cut to 64 KiB, no secrets).
CREATE TABLE notifications (
    id       INTEGER PRIMARY KEY,
    time     BIGINT  NOT NULL,
    alert_id TEXT    NOT NULL,
    rule     TEXT    NOT NULL DEFAULT '',
    module   TEXT    NOT NULL,
    try      INTEGER NOT NULL,
    status   TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    error    TEXT    NOT NULL DEFAULT '',
    retry    INTEGER NOT NULL DEFAULT 0,
    payload  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX notifications_time ON notifications (time);
CREATE INDEX notifications_alert ON notifications (alert_id, time);
