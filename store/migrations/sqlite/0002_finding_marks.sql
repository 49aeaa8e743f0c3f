-- last_seen of a still-open finding follows a per-section mark instead of
-- being rewritten on every scan: a scan moves the mark of each section
-- with failing results once, and writes only the findings whose state or
-- content changes. A finding with tracking set was seen failing in every
-- scan up to its section's mark; its stored last_seen and last_scan_id are
-- then only a floor. digest is a hash of the content a scan refreshes
-- (severity, name, actual value, message), so a scan can tell a changed
-- finding without reading it. Existing findings start untracked with no
-- digest (their stored values are exact) and are rewritten once by the
-- next scan that sees them failing.

ALTER TABLE findings ADD COLUMN tracking INTEGER NOT NULL DEFAULT 0;
ALTER TABLE findings ADD COLUMN digest BIGINT NOT NULL DEFAULT 0;

CREATE TABLE finding_marks (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    section   TEXT NOT NULL,
    scan_id   BIGINT NOT NULL,
    seen_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, section)
);
