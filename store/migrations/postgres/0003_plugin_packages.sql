-- 0003: plugin packages. A plugin may have a package, a .tar.gz the server
-- keeps content-addressed on disk (DATA/plugins/<sha256>.tar.gz); the row
-- records the package's lowercase hex SHA-256, '' for none. The agents
-- download a package by that hash and check it before use.

ALTER TABLE plugins ADD COLUMN package_sha256 TEXT COLLATE "C" NOT NULL DEFAULT '';
