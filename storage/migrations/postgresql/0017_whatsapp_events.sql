-- WhatsApp, completed: the inbox keeps each webhook call's raw body (its signature can be
-- checked again), and the events in it are handled once each, however Meta batches or retries
-- them (whatsapp_events); the reply buttons and list rows each message carried, so a tapped id
-- is taken only from the message it sat on (whatsapp_messages.choices); and team alerts held
-- behind the alert template until the team member replies (whatsapp_chats.held_alerts).
CREATE TABLE whatsapp_events (
    event_key TEXT PRIMARY KEY,          -- m:<wamid> for a message, s:<wamid>:<status>
    call_key TEXT NOT NULL,              -- the inbox item (webhook call) it was handled from
    handled_at DOUBLE PRECISION NOT NULL,
    error TEXT                           -- why its handling failed, if it did
);
CREATE INDEX whatsapp_events_handled ON whatsapp_events (handled_at);

ALTER TABLE whatsapp_messages ADD COLUMN choices TEXT;   -- JSON list of button / row ids
ALTER TABLE whatsapp_chats ADD COLUMN held_alerts TEXT;  -- JSON list of alerts to send on reply
