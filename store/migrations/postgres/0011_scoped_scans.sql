-- A scoped scan (a links section read for some drives only) records the
-- stored objects and findings of key ranges: the keys with the prefix
-- 'link:<drive>/' are those >= it and < 'link:<drive>0'. That holds in
-- bytewise order only; a database's collation may order text by other
-- rules (most locales weigh punctuation last), so both key columns
-- compare bytewise. Changing a column's collation rebuilds its indexes,
-- not the table.
ALTER TABLE object_versions ALTER COLUMN object_key TYPE TEXT COLLATE "C";
ALTER TABLE findings ALTER COLUMN object_key TYPE TEXT COLLATE "C";
-- The findings of a section, or of a key range within it.
CREATE INDEX findings_scope ON findings (tenant_id, section, object_key);
-- scoped marks scans that read part of a section; they are not the
-- tenant's whole picture (tenants.last_scan_id skips them).
ALTER TABLE scans ADD COLUMN scoped BOOLEAN NOT NULL DEFAULT FALSE;
-- What a scan did to findings (Transitions, after every scan, for its
-- notifications) is found by the scan ids a finding records; without these
-- a notification scan that touched a few findings read every finding of
-- the tenant. Only set ids are indexed: most findings were never reopened,
-- resolved or re-graded.
CREATE INDEX findings_first_scan ON findings (first_scan_id);
CREATE INDEX findings_reopened_scan ON findings (reopened_scan_id) WHERE reopened_scan_id IS NOT NULL;
CREATE INDEX findings_resolved_scan ON findings (resolved_scan_id) WHERE resolved_scan_id IS NOT NULL;
CREATE INDEX findings_severity_scan ON findings (severity_scan_id) WHERE severity_scan_id IS NOT NULL;
