-- Outbox bookkeeping for replies and redelivery.
--
-- outbox_members lists the findings a message about several findings (a
-- digest) announced, so a later resolution of one of them can reply in the
-- digest's thread and wait for the digest while it is undelivered.
--
-- claims counts how often a message was leased and first_claimed_at is when
-- that first happened. A message claimed before whose claim was never
-- settled (the worker died after handing it to the destination) may already
-- have been delivered; the worker then looks for it at the destination
-- before sending again, from the first claim on.

ALTER TABLE outbox ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN first_claimed_at TIMESTAMPTZ;

CREATE TABLE outbox_members (
    outbox_id   BIGINT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (outbox_id, fingerprint)
);
CREATE INDEX outbox_members_fingerprint ON outbox_members (fingerprint, outbox_id);
