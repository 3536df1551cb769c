-- 0002: agents. Enrolment tokens (one-time, short-lived, stored as SHA-256
-- of a 256-bit secret), per-agent credentials (salted argon2id hashes: a
-- credential lives for years on a host's disk, so its hash must resist
-- guessing even if the database leaks), what each agent reported about
-- itself, and how plugins run.

CREATE TABLE enrollment_tokens (
    id         INTEGER PRIMARY KEY,
    host       TEXT    NOT NULL,
    hash       BLOB    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    host_id       BIGINT  NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    credential    TEXT    NOT NULL,
    version       TEXT    NOT NULL DEFAULT '',
    os            TEXT    NOT NULL DEFAULT '',
    arch          TEXT    NOT NULL DEFAULT '',
    enrolled_at   BIGINT  NOT NULL,
    last_seen_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX agents_host ON agents (host_id);

ALTER TABLE plugins ADD COLUMN kind TEXT NOT NULL DEFAULT 'builtin';
ALTER TABLE plugins ADD COLUMN entrypoint TEXT NOT NULL DEFAULT '';
ALTER TABLE plugins ADD COLUMN args TEXT NOT NULL DEFAULT '[]';
ALTER TABLE plugins ADD COLUMN timeout_ms BIGINT NOT NULL DEFAULT 0;
