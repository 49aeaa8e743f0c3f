-- Change notifications (Graph subscriptions to drive roots).
--
-- change_subscriptions holds one subscription per tenant and drive. A row
-- is 'creating' from just before POST /subscriptions until the service
-- answers: only then is a validation request answered, by whichever
-- replica receives it. client_state_hash is the SHA-256 of the secret
-- Graph echoes in every notification; the secret itself is not kept.
--
-- drive_changes marks drives whose notifications are not processed yet,
-- one row per drive however many arrive (the debounce). version grows on
-- every mark, so that clearing after a read removes only marks that read
-- covered; a mark that arrives meanwhile stays for the next read.

CREATE TABLE change_subscriptions (
    tenant            TEXT NOT NULL,
    drive_id          TEXT NOT NULL,
    subscription_id   TEXT,
    client_state_hash TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('creating', 'active')),
    updated_at        TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ,
    PRIMARY KEY (tenant, drive_id)
);
CREATE UNIQUE INDEX change_subscriptions_id ON change_subscriptions (subscription_id);

CREATE TABLE drive_changes (
    tenant   TEXT NOT NULL,
    drive_id TEXT NOT NULL,
    reason   TEXT NOT NULL,
    first_at TIMESTAMPTZ NOT NULL,
    last_at  TIMESTAMPTZ NOT NULL,
    version  BIGINT NOT NULL,
    PRIMARY KEY (tenant, drive_id)
);
