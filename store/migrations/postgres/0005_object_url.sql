-- object_url links a result and a finding to the object where an admin
-- acts on it (a file's, folder's or site's web URL, or the admin-center
-- page of a tenant setting). Rows written before it link nowhere until a
-- scan sees them again.
ALTER TABLE rule_results ADD COLUMN object_url TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN object_url TEXT NOT NULL DEFAULT '';
