-- WhatsApp (Cloud API): when each customer last wrote (the 24-hour customer-service window,
-- outside which only an approved template may open the conversation), the question held back
-- behind a template until the customer answers it, and what the platform reported about each
-- message palaute sent (status callbacks: sent, delivered, read, failed with its error).
-- (0017 is reserved for the WhatsApp channel too.)
CREATE TABLE whatsapp_chats (
    address TEXT PRIMARY KEY,            -- E.164, "+358401234567"
    last_inbound_at DOUBLE PRECISION,                -- the customer's last message, unix seconds
    held_prompt TEXT,                    -- JSON of the question waiting for the customer's reply
    held_since DOUBLE PRECISION
);

CREATE TABLE whatsapp_messages (
    wamid TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    kind TEXT NOT NULL,                  -- text, buttons, list, template
    sent_at DOUBLE PRECISION NOT NULL,
    status TEXT,                         -- sent, delivered, read, failed
    status_at DOUBLE PRECISION,
    error_code BIGINT,
    error TEXT,
    copy_of TEXT                         -- a team message re-sent as updated (WhatsApp cannot
                                         -- edit): the first one, which the alert thread names
);
CREATE INDEX whatsapp_messages_address ON whatsapp_messages (address, sent_at);
