-- 0005: alert modules (issue 5). An alert module is one configured notifier
-- (email, webhook, slack, command, alertmanager) that alert rules name in
-- their modules list. config is the kind's settings as a JSON object; it
-- holds secrets (SMTP passwords, HMAC keys, the Slack URL), which the store
-- keeps and the API never returns (AlertModule.Redacted). Alert rules refer
-- to modules by name inside their JSON spec, without a foreign key.

CREATE TABLE alert_modules (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    kind        TEXT    NOT NULL,
    config      TEXT    NOT NULL DEFAULT '{}',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
