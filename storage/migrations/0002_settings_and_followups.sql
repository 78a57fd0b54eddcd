-- Instance settings, e.g. the generated key that signs survey links when none is configured.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The oldest waiting message of each chat is found without scanning the whole outbox.
CREATE INDEX outbox_chat ON outbox (channel, address, id) WHERE state IN ('pending', 'sending');

-- Detractor alerts posted to the team, and who follows them up.
CREATE TABLE followups (
    id INTEGER PRIMARY KEY,
    invitation_id INTEGER NOT NULL UNIQUE REFERENCES invitations(id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    owner TEXT,
    claimed_at REAL,
    resolved_by TEXT,
    resolved_at REAL
);

CREATE TABLE followup_messages (
    followup_id INTEGER NOT NULL REFERENCES followups(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    message_ref TEXT,
    PRIMARY KEY (followup_id, channel, address)
);

-- Team reports posted, so that a summary is never posted twice for the same day.
CREATE TABLE team_reports (
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    posted_at REAL NOT NULL,
    late INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, period)
);
