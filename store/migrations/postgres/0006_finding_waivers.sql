-- Waivers given where admins work (CLI, API, Slack): an acknowledgement or
-- snooze may say why, and a risk may be accepted on a finding with a
-- reason, an owner and an expiry. An accepted risk covers the value the
-- finding had when it was accepted (accepted_value): scans apply it like a
-- baseline exception, so a finding whose value changes fails again.
ALTER TABLE findings ADD COLUMN ack_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN snooze_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN accepted_value TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN accepted_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN accepted_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN accepted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN accepted_at TIMESTAMPTZ;
ALTER TABLE findings ADD COLUMN accepted_until TIMESTAMPTZ;

CREATE INDEX findings_accepted ON findings (tenant_id, accepted_until);
