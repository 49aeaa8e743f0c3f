-- verified_at records when remediation read a change back and found the
-- value it wrote; NULL for rows that changed nothing or were not verified.
ALTER TABLE remediations ADD COLUMN verified_at TIMESTAMPTZ;
