-- Initial schema. Times are timestamptz; documents the store reads back
-- byte for byte (payloads, plans) are text, object documents are jsonb so
-- operators can query them.

CREATE TABLE tenants (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    entra_id     TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    last_scan_id BIGINT
);

CREATE TABLE scans (
    id                BIGSERIAL PRIMARY KEY,
    tenant_id         BIGINT NOT NULL REFERENCES tenants (id),
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ NOT NULL,
    collected_at      TIMESTAMPTZ NOT NULL,
    status            TEXT NOT NULL,
    baseline          TEXT NOT NULL DEFAULT '',
    sections          TEXT NOT NULL,
    stats             TEXT NOT NULL,
    objects_seen      BIGINT NOT NULL DEFAULT 0,
    objects_written   BIGINT NOT NULL DEFAULT 0,
    changes           BIGINT NOT NULL DEFAULT 0,
    results_written   BIGINT NOT NULL DEFAULT 0,
    findings_new      BIGINT NOT NULL DEFAULT 0,
    findings_reopened BIGINT NOT NULL DEFAULT 0,
    findings_resolved BIGINT NOT NULL DEFAULT 0,
    findings_open     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX scans_tenant_started ON scans (tenant_id, started_at);

-- The scan whose complete collection of a section is the current state.
CREATE TABLE section_state (
    tenant_id             BIGINT NOT NULL REFERENCES tenants (id),
    section               TEXT NOT NULL,
    last_complete_scan_id BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, section)
);

-- One row per object per scan in which it appeared, changed or vanished
-- (deleted = tombstone). Unchanged objects get no row.
CREATE TABLE object_versions (
    tenant_id  BIGINT NOT NULL,
    section    TEXT NOT NULL,
    object_key TEXT NOT NULL,
    scan_id    BIGINT NOT NULL,
    hash       BYTEA NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    doc        JSONB,
    deleted    BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, section, object_key, scan_id)
);

CREATE TABLE changes (
    id           BIGSERIAL PRIMARY KEY,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    scan_id      BIGINT NOT NULL,
    prev_scan_id BIGINT NOT NULL,
    detected_at  TIMESTAMPTZ NOT NULL,
    section      TEXT NOT NULL,
    object_key   TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    fields       TEXT,
    object       TEXT
);
CREATE INDEX changes_tenant_detected ON changes (tenant_id, detected_at);
CREATE INDEX changes_scan ON changes (scan_id);

-- Non-pass (and excepted) results; passes are only counted in rule_summary.
CREATE TABLE rule_results (
    scan_id     BIGINT NOT NULL,
    rule_id     TEXT NOT NULL,
    section     TEXT NOT NULL,
    object_key  TEXT NOT NULL,
    object_name TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL,
    severity    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    expected    TEXT NOT NULL DEFAULT '',
    actual      TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    exception   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX rule_results_scan ON rule_results (scan_id);

CREATE TABLE rule_summary (
    scan_id BIGINT NOT NULL,
    rule_id TEXT NOT NULL,
    section TEXT NOT NULL,
    outcome TEXT NOT NULL,
    count   BIGINT NOT NULL,
    PRIMARY KEY (scan_id, rule_id, outcome)
);

-- No foreign key to tenants: a per-row check would dominate bulk loads of
-- findings, and tenants are never deleted.
CREATE TABLE findings (
    tenant_id        BIGINT NOT NULL,
    fingerprint      TEXT NOT NULL,
    rule_id          TEXT NOT NULL,
    section          TEXT NOT NULL,
    object_key       TEXT NOT NULL,
    object_name      TEXT NOT NULL DEFAULT '',
    severity         TEXT NOT NULL,
    prev_severity    TEXT NOT NULL DEFAULT '',
    expected         TEXT NOT NULL DEFAULT '',
    actual           TEXT NOT NULL DEFAULT '',
    message          TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL,
    first_seen       TIMESTAMPTZ NOT NULL,
    last_seen        TIMESTAMPTZ NOT NULL,
    resolved_at      TIMESTAMPTZ,
    reopened_at      TIMESTAMPTZ,
    reopen_count     INTEGER NOT NULL DEFAULT 0,
    first_scan_id    BIGINT NOT NULL,
    last_scan_id     BIGINT NOT NULL,
    resolved_scan_id BIGINT,
    reopened_scan_id BIGINT,
    severity_scan_id BIGINT,
    acknowledged_at  TIMESTAMPTZ,
    acknowledged_by  TEXT NOT NULL DEFAULT '',
    snoozed_until    TIMESTAMPTZ,
    snoozed_by       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, fingerprint)
) WITH (fillfactor = 70); -- room for HOT updates: every scan moves last_seen

CREATE TABLE delta_tokens (
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id),
    key        TEXT NOT NULL,
    token      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    generation  BIGINT NOT NULL
);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    tenant          TEXT NOT NULL DEFAULT '',
    destination     TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT '',
    fingerprint     TEXT NOT NULL DEFAULT '',
    payload         BYTEA NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    claimed_by      TEXT NOT NULL DEFAULT '',
    claimed_until   TIMESTAMPTZ,
    sent_at         TIMESTAMPTZ,
    external_ref    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_thread ON outbox (destination, fingerprint);

CREATE TABLE remediations (
    id          BIGSERIAL PRIMARY KEY,
    tenant      TEXT NOT NULL,
    fingerprint TEXT NOT NULL DEFAULT '',
    rule_id     TEXT NOT NULL DEFAULT '',
    object_key  TEXT NOT NULL DEFAULT '',
    run_id      TEXT NOT NULL DEFAULT '',
    seq         INTEGER NOT NULL DEFAULT 0,
    action      TEXT NOT NULL,
    mode        TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,
    plan        BYTEA,
    approved_by TEXT NOT NULL DEFAULT '',
    approved_at TIMESTAMPTZ,
    before      BYTEA,
    after       BYTEA,
    result      TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX remediations_tenant ON remediations (tenant, fingerprint);
CREATE INDEX remediations_run ON remediations (run_id, seq);
