-- A send an organizer asked for in chat and has still to confirm (Slack's `/palaute send`).
-- The confirm button carries only `token`: a button's value holds at most 2000 characters,
-- and the request (touchpoint, target, properties) can be longer. A row is confirmed once, by
-- one click (`confirmed_by`): that click, run again after a crash, may finish the send.
CREATE TABLE pending_sends (
    token TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    request TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    confirmed_at DOUBLE PRECISION,
    confirmed_by TEXT
);
CREATE INDEX pending_sends_created ON pending_sends (created_at);
