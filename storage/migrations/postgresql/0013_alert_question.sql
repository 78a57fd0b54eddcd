-- Which answer raised a follow-up's alert: any scored question can carry a threshold now, and
-- the alert shows that answer's score (a 1 on the event day, not an NPS the survey has not got).
ALTER TABLE followups ADD COLUMN question_id TEXT;
