-- 0010: dashboards (issue 7), until now kept in each browser's localStorage.
-- A dashboard is configuration like the other entities: a unique name, a
-- title and a description, and two JSON documents the store validates
-- (store/dashboards.go): variables (host, group, check) and panels. Nothing
-- refers to a dashboard and a dashboard refers to nothing by id: its
-- queries name hosts and checks only inside PromQL.
CREATE TABLE dashboards (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    title       TEXT    NOT NULL DEFAULT '',
    description TEXT    NOT NULL DEFAULT '',
    variables   TEXT    NOT NULL DEFAULT '[]',
    panels      TEXT    NOT NULL DEFAULT '[]',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
