-- Contacts: one person on one channel, or known only by an external reference until linked.
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    channel TEXT,
    address TEXT,
    ref TEXT UNIQUE,
    display_name TEXT,
    language TEXT,
    timezone TEXT,
    opted_out_at REAL,
    opt_out_reason TEXT,
    unreachable_at REAL,
    unreachable_reason TEXT,
    last_surveyed_at REAL,
    created_at REAL NOT NULL,
    UNIQUE (channel, address)
);

CREATE TABLE audiences (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    title TEXT,
    created_at REAL NOT NULL
);

CREATE TABLE audience_members (
    audience_id INTEGER NOT NULL REFERENCES audiences(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    joined_at REAL NOT NULL,
    PRIMARY KEY (audience_id, contact_id)
);
CREATE INDEX audience_members_contact ON audience_members (contact_id);

CREATE TABLE touchpoints (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
    occurred_at REAL NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    idempotency_key TEXT UNIQUE,
    created_at REAL NOT NULL
);
CREATE INDEX touchpoints_contact ON touchpoints (contact_id);

CREATE TABLE invitations (
    id INTEGER PRIMARY KEY,
    touchpoint_id INTEGER NOT NULL REFERENCES touchpoints(id) ON DELETE CASCADE,
    contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
    survey_id TEXT NOT NULL,
    touchpoint TEXT NOT NULL,
    channel TEXT,
    state TEXT NOT NULL CHECK (state IN (
        'scheduled', 'sent', 'answering', 'completed', 'expired', 'failed', 'suppressed',
        'unreachable'
    )),
    reason TEXT,
    language TEXT,
    token TEXT UNIQUE,
    due_at REAL NOT NULL,
    remind_at REAL,
    expires_at REAL,
    sent_at REAL,
    reminded_at REAL,
    started_at REAL,
    completed_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX invitations_due ON invitations (state, due_at);
CREATE INDEX invitations_contact ON invitations (contact_id, state);
CREATE INDEX invitations_survey_sent ON invitations (survey_id, sent_at);

-- One row per answered (or skipped) question; survey, touchpoint and channel are copied from the
-- invitation so that score queries read one index.
CREATE TABLE answers (
    id INTEGER PRIMARY KEY,
    invitation_id INTEGER NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
    survey_id TEXT NOT NULL,
    touchpoint TEXT NOT NULL,
    channel TEXT NOT NULL,
    question_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value_num REAL,
    value_text TEXT,
    skipped INTEGER NOT NULL DEFAULT 0,
    answered_at REAL NOT NULL,
    UNIQUE (invitation_id, question_id)
);
CREATE INDEX answers_scores ON answers (survey_id, question_id, answered_at);
CREATE INDEX answers_time ON answers (answered_at);

-- Messages to send, durable so that a restart continues where it stopped.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    invitation_id INTEGER REFERENCES invitations(id) ON DELETE CASCADE,
    priority INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    not_before REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    result TEXT,
    created_at REAL NOT NULL,
    sent_at REAL
);
CREATE INDEX outbox_pending ON outbox (state, priority DESC, not_before, id);

-- Incoming platform updates, stored before the platform is told they arrived.
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at REAL NOT NULL,
    processed_at REAL,
    UNIQUE (channel, external_id)
);
CREATE INDEX inbox_unprocessed ON inbox (processed_at) WHERE processed_at IS NULL;

-- Where a prompt was shown, so that a tap edits the right message.
CREATE TABLE sent_prompts (
    invitation_id INTEGER NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    message_ref TEXT NOT NULL,
    PRIMARY KEY (invitation_id, question_id)
);
