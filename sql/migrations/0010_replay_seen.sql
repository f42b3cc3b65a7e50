-- 0010_replay_seen.sql — the replay window shared by every gateway node on this database
-- (issue 11, docs/scaling.md).
--
-- Each node keeps its in-process replay guard (gateway/replay_guard.c) as the fast first check;
-- before the provider is called, gateway/replay_store.c also records (member, SHA-256 of the
-- message id) here with one INSERT ... ON CONFLICT statement:
--   a new pair: inserted, the exchange goes on;
--   a pair whose expiry has passed: its expiry is renewed (the row is reused), the exchange
--     goes on;
--   a live pair: nothing changes, zero rows come back: Client.Replay.
-- The primary key makes that decision atomic across nodes: of two concurrent inserts of one
-- pair the second waits for the first and then sees it (exactly one passes). Expiries come from
-- the database's clock, one clock for every node. Expired rows are purged by the gateways in
-- small batches (replay_seen_expires_idx), but correctness does not depend on it.
--
-- The message id is never stored, only its digest: pgw:id and wsa:MessageID values as sent
-- (at most 128 characters), or "wss:" and the WS-Security replay key for signed requests without
-- one (wss.h). Rows carry no payload: the log (exchange_log.message_id) is the record.

CREATE TABLE public.replay_seen (
    member    text        NOT NULL
              CHECK (pg_catalog.octet_length(member) OPERATOR(pg_catalog.<=) 256),
    id_digest bytea       NOT NULL
              CHECK (pg_catalog.octet_length(id_digest) OPERATOR(pg_catalog.=) 32),
    expires   timestamptz NOT NULL,
    PRIMARY KEY (member, id_digest)
);
-- Churned all day (every accepted exchange inserts, the purge deletes): vacuum it eagerly.
ALTER TABLE public.replay_seen SET (autovacuum_vacuum_scale_factor = 0.02,
                                    autovacuum_analyze_scale_factor = 0.05);
CREATE INDEX replay_seen_expires_idx ON public.replay_seen (expires);

COMMENT ON TABLE public.replay_seen IS
    'Message ids seen per member within the replay window, shared by every gateway node '
    '(docs/scaling.md). Not evidence: the exchange log is.';

-- The gateway inserts, reuses expired rows (UPDATE of expires) and purges expired ones.
GRANT SELECT, INSERT, DELETE ON public.replay_seen TO pide_gateway;
GRANT UPDATE (expires) ON public.replay_seen TO pide_gateway;
