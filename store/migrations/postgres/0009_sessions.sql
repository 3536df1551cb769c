-- Web UI login sessions. id_hash is SHA-256 of the session id (the cookie's
-- value); the id itself is never stored, so a copy of the database opens no
-- session. Deleting the user deletes its sessions. pw_tag is SHA-256 of the
-- user's password hash at login: a changed password no longer matches, which
-- ends every session opened with the old one.
CREATE TABLE sessions (
    id_hash      BYTEA    PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    pw_tag       BYTEA    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- The server's secret for keys derived from session ids (the CSRF token):
-- one row, made on first use, never leaves the server.
CREATE TABLE server_secrets (
    name   TEXT COLLATE "C" PRIMARY KEY,
    secret BYTEA NOT NULL
);
