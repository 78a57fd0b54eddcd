-- People who said stop and were then erased: a keyed hash (HMAC-SHA256) of each of their
-- normalised identities, so that nobody can read who they were, but the next trigger for the
-- same address finds them opted out (storage/suppressions.py).
CREATE TABLE suppressions (
    digest TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL
);

-- An address as storage/addresses.py normalises it, for lookups that also find one stored
-- otherwise (SQLite has it as a Python function; here it is SQL): NFKC, without the invisible
-- format characters (Unicode category Cf), trimmed of white space, an e-mail lower-cased.
-- (SQLite's 0005 also rewrote the addresses stored before palaute normalised them; every
-- PostgreSQL database was made later, by a palaute that stores them normalised.)
CREATE FUNCTION palaute_normalized(value TEXT) RETURNS TEXT
LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN strpos(visible, '@') > 0 THEN lower(visible COLLATE "und-x-icu")
                ELSE visible END
    FROM (SELECT regexp_replace(
        regexp_replace(
            normalize(value, NFKC),
            '[\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E\u200B-\u200F'
            '\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB\U000110BD\U000110CD'
            '\U00013430-\U0001343F\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0001'
            '\U000E0020-\U000E007F]',
            '', 'g'),
        '^[\u0009-\u000D\u001C-\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+'
        '|[\u0009-\u000D\u001C-\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$',
        '', 'g') AS visible) AS folded
$$;
