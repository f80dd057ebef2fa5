-- rote cache index, schema version 1.
-- Keys, blob ids and digests are 32-byte blake3 values; times are ns since the epoch.

CREATE TABLE entries (
    key BLOB PRIMARY KEY NOT NULL,
    function TEXT NOT NULL,          -- <module>.<qualname>
    blob BLOB NOT NULL,              -- blake3 of the value bytes, names the blob file
    serializer TEXT NOT NULL,
    size INTEGER NOT NULL,           -- value bytes
    checksum INTEGER NOT NULL,       -- xxh3-64 of the value bytes, checked on every read
    compute_ns INTEGER NOT NULL,
    created_ns INTEGER NOT NULL,
    last_used_ns INTEGER NOT NULL,
    deps BLOB NOT NULL               -- msgpack list of dependencies
) WITHOUT ROWID;
CREATE INDEX entries_function ON entries (function);
CREATE INDEX entries_blob ON entries (blob);

-- Running totals, kept exact by triggers so a size check costs one row read.
CREATE TABLE totals (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    entries INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT INTO totals (id, entries, bytes) VALUES (0, 0, 0);
CREATE TRIGGER entries_insert AFTER INSERT ON entries BEGIN
    UPDATE totals SET entries = entries + 1, bytes = bytes + NEW.size;
END;
CREATE TRIGGER entries_delete AFTER DELETE ON entries BEGIN
    UPDATE totals SET entries = entries - 1, bytes = bytes - OLD.size;
END;
CREATE TRIGGER entries_update AFTER UPDATE OF size ON entries BEGIN
    UPDATE totals SET bytes = bytes - OLD.size + NEW.size;
END;

-- Stat-validated content digests of files calls read.
CREATE TABLE files (
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    digest BLOB NOT NULL,
    hashed_ns INTEGER NOT NULL,
    PRIMARY KEY (dev, ino)
) WITHOUT ROWID;

-- Lifetime statistics.
CREATE TABLE counters (name TEXT PRIMARY KEY NOT NULL, value REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE reasons (reason TEXT PRIMARY KEY NOT NULL, count INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE function_totals (
    function TEXT PRIMARY KEY NOT NULL,
    hits INTEGER NOT NULL,
    time_saved_s REAL NOT NULL
) WITHOUT ROWID;

-- Per-run records; workers of one run add to the same run_id.
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY NOT NULL,
    script TEXT NOT NULL,
    started_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE run_functions (
    run_id TEXT NOT NULL,
    function TEXT NOT NULL,
    hits INTEGER NOT NULL,
    misses INTEGER NOT NULL,
    stored INTEGER NOT NULL,
    time_saved_s REAL NOT NULL,
    PRIMARY KEY (run_id, function)
) WITHOUT ROWID;
CREATE TABLE run_reasons (
    run_id TEXT NOT NULL,
    function TEXT NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (run_id, function, reason)
) WITHOUT ROWID;
