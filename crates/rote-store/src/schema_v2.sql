-- rote cache index, schema step 2: files a call wrote and closed (its
-- self-contained outputs), kept as blobs and put back on a hit when missing
-- or changed. Rows go with their entry; a blob stays while any entry or
-- output row names it.

CREATE TABLE outputs (
    key BLOB NOT NULL,               -- the entry's key
    path TEXT NOT NULL,              -- absolute
    blob BLOB NOT NULL,              -- blake3 of the file's bytes
    size INTEGER NOT NULL,
    checksum INTEGER NOT NULL,       -- xxh3-64, checked before the file is written back
    PRIMARY KEY (key, path)
) WITHOUT ROWID;
CREATE INDEX outputs_blob ON outputs (blob);
CREATE TRIGGER entries_delete_outputs AFTER DELETE ON entries BEGIN
    DELETE FROM outputs WHERE key = OLD.key;
END;
