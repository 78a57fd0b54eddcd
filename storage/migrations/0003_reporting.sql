-- Messages relayed between the team (replying to an alert) and the customer it is about.
CREATE TABLE followup_replies (
    id INTEGER PRIMARY KEY,
    followup_id INTEGER NOT NULL REFERENCES followups(id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction IN ('to_customer', 'from_customer')),
    author TEXT,
    text TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX followup_replies_followup ON followup_replies (followup_id, id);

-- A reply in a team chat names the alert it answers by its message ref.
CREATE INDEX followup_messages_ref ON followup_messages (channel, message_ref);

-- Open follow-ups are listed in every summary and on the dashboard.
CREATE INDEX followups_open ON followups (created_at) WHERE resolved_at IS NULL;
