-- SQLite widens findings_page with the state and the object name so that
-- a search reads no table rows. PostgreSQL keeps the narrower index: a
-- B-tree entry is limited to about 2.7 kB, which a long object name could
-- exceed, failing the scan that writes it.
SELECT 1;
