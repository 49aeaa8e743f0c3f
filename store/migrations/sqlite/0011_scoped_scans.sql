-- A scoped scan (a links section read for some drives only) records the
-- stored objects and findings of key ranges: the keys with the prefix
-- 'link:<drive>/' are those >= it and < 'link:<drive>0', in SQLite's
-- bytewise (BINARY) order, which the key columns use.
-- The findings of a section, or of a key range within it.
CREATE INDEX findings_scope ON findings (tenant_id, section, object_key);
-- scoped marks scans that read part of a section; they are not the
-- tenant's whole picture (tenants.last_scan_id skips them).
ALTER TABLE scans ADD COLUMN scoped INTEGER NOT NULL DEFAULT 0;
-- What a scan did to findings (Transitions, after every scan, for its
-- notifications) is found by the scan ids a finding records; without these
-- a notification scan that touched a few findings read every finding of
-- the tenant. Only set ids are indexed: most findings were never reopened,
-- resolved or re-graded.
CREATE INDEX findings_first_scan ON findings (first_scan_id);
CREATE INDEX findings_reopened_scan ON findings (reopened_scan_id) WHERE reopened_scan_id IS NOT NULL;
CREATE INDEX findings_resolved_scan ON findings (resolved_scan_id) WHERE resolved_scan_id IS NOT NULL;
CREATE INDEX findings_severity_scan ON findings (severity_scan_id) WHERE severity_scan_id IS NOT NULL;
