-- People who said stop and were then erased: a keyed hash (HMAC-SHA256) of each of their
-- normalised identities, so that nobody can read who they were, but the next trigger for the
-- same address finds them opted out (storage/suppressions.py).
CREATE TABLE suppressions (
    digest TEXT PRIMARY KEY,
    created_at REAL NOT NULL
) WITHOUT ROWID;

-- Addresses and refs stored before palaute normalised them (storage/addresses.py) take their
-- normal form, unless another contact already has it (`palaute forget` finds both anyway).
UPDATE OR IGNORE contacts SET address = palaute_normalized(address)
WHERE address IS NOT NULL AND address != palaute_normalized(address);
UPDATE OR IGNORE contacts SET ref = palaute_normalized(ref)
WHERE ref IS NOT NULL AND ref != palaute_normalized(ref);
