-- Named dashboard accounts (`palaute user add`): who signed in, who took a follow-up. Only a
-- salted scrypt hash of the password is kept (bot.passwords).
-- Names compare without case, as SQLite's COLLATE NOCASE: an ICU collation at strength 2
-- ("ks-level2": case is not significant), nondeterministic so that equality uses it too.
-- Named `nocase`, so that the repositories' `COLLATE NOCASE` means the same on both.
CREATE COLLATION IF NOT EXISTS nocase (
    provider = icu, locale = 'und-u-ks-level2', deterministic = false
);
CREATE TABLE dashboard_accounts (
    name TEXT COLLATE nocase PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at DOUBLE PRECISION NOT NULL,
    last_sign_in_at DOUBLE PRECISION
);

-- The account a session belongs to; NULL for the shared password or a sign-in link.
ALTER TABLE dashboard_sessions ADD COLUMN account TEXT;
CREATE INDEX dashboard_sessions_account ON dashboard_sessions (account);
