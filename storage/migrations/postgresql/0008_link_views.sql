-- An open link's views, one row per browser: the invitations it offered. An open link creates
-- its invitation at the first answer (so link previews leave no empty responses), which left
-- its response rate at 100 %: 3 browsers opened it, 1 answered, the report said 1/1.
CREATE TABLE link_views (
    key TEXT PRIMARY KEY,  -- the browser's key on the link, the invitation's idempotency key
    survey_id TEXT NOT NULL,
    touchpoint TEXT NOT NULL,
    channel TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    viewed_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX link_views_time ON link_views (viewed_at, survey_id, touchpoint, channel);
