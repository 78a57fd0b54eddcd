-- Several workers (storage.workers): which worker stored an inbox item and is handling it. A
-- worker's start takes over only the unfinished items of workers no longer registered (a
-- crashed one), not those another live worker is handling right now; the lease holder takes
-- over a dead worker's items while it runs (bot/channels/intake.py).
ALTER TABLE inbox ADD COLUMN received_by TEXT;
