-- A browser that answered an open link (its touchpoint keyed `web:<touchpoint>:<params>:<browser>`)
-- is nobody palaute can write to. Contacts made that way before palaute said so at once are
-- marked now, so a survey of their audience counts them as unreachable, not as sent.
UPDATE contacts
SET unreachable_at = EXTRACT(EPOCH FROM now())::DOUBLE PRECISION,
    unreachable_reason = 'known only by a browser that answered an open link: no address to write to'
WHERE channel = 'web'
  AND unreachable_at IS NULL
  AND length(address) = 32 AND address !~ '[^0-9a-f]'  -- a browser id, not an address
  AND id IN (SELECT contact_id FROM touchpoints WHERE idempotency_key LIKE 'web:%');
