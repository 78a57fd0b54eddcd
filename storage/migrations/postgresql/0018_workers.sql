-- Several `palaute run` workers on one PostgreSQL database (storage.workers): each registers here
-- with its own id and renews its heartbeat; the outbox notes which worker claimed a message, so
-- that only the messages in flight on a worker whose heartbeat lapsed are handed to the others.
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL
);

ALTER TABLE outbox ADD COLUMN claimed_by TEXT;

-- A claim passes over a chat another worker sent to a moment ago (storage.outbox.claim).
CREATE INDEX outbox_chat_sent ON outbox (channel, address, sent_at) WHERE state = 'sent';
