-- People who said stop and were then erased: a keyed hash (HMAC-SHA256) of each of their
-- normalised identities, so that nobody can read who they were, but the next trigger for the
-- same address finds them opted out (storage/suppressions.py).
CREATE TABLE suppressions (
    digest TEXT PRIMARY KEY,
    created_at REAL NOT NULL
) WITHOUT ROWID;
