-- The findings list pages in its order (tenant, severity, rule, object,
-- fingerprint) by walking this index one severity at a time, so a page of
-- a tenant with 100k findings reads about one page of rows, not all of them.
CREATE INDEX findings_page ON findings (tenant_id, severity, rule_id, object_key, fingerprint);
