-- A scoped scan (a links section read for some drives only) records the
-- stored objects and findings of key ranges: the keys with the prefix
-- 'link:<drive>/' are those >= it and < 'link:<drive>0', in SQLite's
-- bytewise (BINARY) order, which the key columns use.
-- The findings of a section, or of a key range within it.
CREATE INDEX findings_scope ON findings (tenant_id, section, object_key);
-- scoped marks scans that read part of a section; they are not the
-- tenant's whole picture (tenants.last_scan_id skips them).
ALTER TABLE scans ADD COLUMN scoped INTEGER NOT NULL DEFAULT 0;
