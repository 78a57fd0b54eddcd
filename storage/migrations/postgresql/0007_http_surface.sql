-- A hash of the request an Idempotency-Key was first used with: the same key with another
-- request is refused instead of answered with the first request's invitation.
ALTER TABLE touchpoints ADD COLUMN request_fingerprint TEXT;

-- Dashboard sign-ins, so that signing out (and its end) outlives a restart. The cookie carries
-- the session id; only its SHA-256 is kept here.
CREATE TABLE dashboard_sessions (
    id_hash TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
