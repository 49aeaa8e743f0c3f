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
