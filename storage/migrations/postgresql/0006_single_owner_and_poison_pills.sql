-- One `palaute run` per database: the process sending the outbox holds this lease and renews it
-- with a heartbeat; a second one is refused while it is fresh (storage.lease).
CREATE TABLE run_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL
);

-- Inbox items that could not be handled: why, and how many starts replayed one left unfinished
-- (one that never finishes is given up after a few, instead of at every start).
ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN error TEXT;
