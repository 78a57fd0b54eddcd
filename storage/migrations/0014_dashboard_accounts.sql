-- Named dashboard accounts (`palaute user add`): who signed in, who took a follow-up. Only a
-- salted scrypt hash of the password is kept (bot.passwords).
CREATE TABLE dashboard_accounts (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at REAL NOT NULL,
    last_sign_in_at REAL
);

-- The account a session belongs to; NULL for the shared password or a sign-in link.
ALTER TABLE dashboard_sessions ADD COLUMN account TEXT;
CREATE INDEX dashboard_sessions_account ON dashboard_sessions (account);
