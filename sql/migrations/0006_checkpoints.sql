-- 0006_checkpoints.sql — signed checkpoints of the exchange log: evidence its database owner
-- cannot forge.
--
-- Every N rows or T seconds (and at a clean shutdown) the gateway signs a statement naming the
-- chain head — (seq, row_hash) — with its signing key (the one that signs responses) as a CMS
-- SignedData with detached content, and has an RFC 3161 time-stamping authority stamp the
-- signed document. A superuser can still rewrite rows behind disabled triggers and recompute
-- every later row_hash, but not the signature over the old head, nor the TSA's token:
-- `pide-audit verify --trust-signer CA.pem --trust-tsa CA.pem` checks them outside the database.
-- The statement's format, the columns and what verify reports: docs/exchange-log.md, "Signed
-- checkpoints". Written by gateway/checkpoint.c.
--
-- Append-only like exchange_log, with one exception: the time-stamp token (tst, stamped_at) of
-- a checkpoint is filled in once, after the checkpoint was committed (the TSA is asked outside
-- the transaction), and nothing else of the row may change. Every object is named by schema and
-- every operator is pg_catalog's, so nothing the database owner puts in public or on the
-- search_path changes what the triggers do. Applied like every migration (sql/README.md).

CREATE TABLE public.exchange_checkpoint (
    -- 1, 2, 3... gapless, in commit order: the writer takes max(id) + 1 under its own advisory
    -- lock ("pide_ckp"). Each statement names the id and the previous checkpoint's digest, so a
    -- removed, inserted or reordered checkpoint breaks the sequence verify walks.
    id                   bigint      PRIMARY KEY CHECK (id OPERATOR(pg_catalog.>) 0),
    node_id              text        NOT NULL,
    head_seq             bigint      NOT NULL CHECK (head_seq OPERATOR(pg_catalog.>=) 0),
    head_row_hash        bytea       NOT NULL
                         CHECK (pg_catalog.octet_length(head_row_hash) OPERATOR(pg_catalog.=) 32),
    -- rows added to the chain since the previous checkpoint (head_seq - its head_seq)
    row_count            bigint      NOT NULL CHECK (row_count OPERATOR(pg_catalog.>=) 0),
    created              timestamptz NOT NULL,
    -- SHA-256 of the previous checkpoint's signed_document; 32 zero bytes for id 1
    prev_sha256          bytea       NOT NULL
                         CHECK (pg_catalog.octet_length(prev_sha256) OPERATOR(pg_catalog.=) 32),
    -- the exact bytes signed (UTF-8 text, docs/exchange-log.md); the columns above repeat them
    statement            bytea       NOT NULL,
    -- CMS SignedData (DER), content detached: `openssl cms -verify -binary -inform DER
    -- -in signed_document -content statement -CAfile ca.pem`
    signed_document      bytea       NOT NULL,
    -- the signing certificate (DER) as used for this checkpoint: every certificate ever used
    -- stays next to what it signed, so a key rotation leaves old checkpoints verifiable
    signer_certificate   bytea       NOT NULL,
    signer_cert_sha256   text        NOT NULL,
    -- RFC 3161 TimeStampToken (DER ContentInfo) over SHA-256(signed_document); NULL until the
    -- TSA answered
    tst                  bytea,
    -- genTime of the token
    stamped_at           timestamptz,
    t_logged             timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK ((tst IS NULL) OPERATOR(pg_catalog.=) (stamped_at IS NULL))
);

CREATE INDEX exchange_checkpoint_head_idx ON public.exchange_checkpoint (head_seq);
-- The checkpoints still waiting for their time-stamp (the gateway retries them).
CREATE INDEX exchange_checkpoint_unstamped_idx ON public.exchange_checkpoint (id) WHERE tst IS NULL;

-- DELETE and TRUNCATE are refused; an UPDATE only when it sets the missing time-stamp and
-- changes nothing else.
CREATE FUNCTION public.exchange_checkpoint_refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE'
       AND OLD.tst IS NULL AND NEW.tst IS NOT NULL AND NEW.stamped_at IS NOT NULL
       AND (OLD.id, OLD.node_id, OLD.head_seq, OLD.head_row_hash, OLD.row_count, OLD.created,
            OLD.prev_sha256, OLD.statement, OLD.signed_document, OLD.signer_certificate,
            OLD.signer_cert_sha256, OLD.t_logged)
           IS NOT DISTINCT FROM
           (NEW.id, NEW.node_id, NEW.head_seq, NEW.head_row_hash, NEW.row_count, NEW.created,
            NEW.prev_sha256, NEW.statement, NEW.signed_document, NEW.signer_certificate,
            NEW.signer_cert_sha256, NEW.t_logged) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'exchange_checkpoint is append-only (only a missing time-stamp may be added): % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
REVOKE ALL ON FUNCTION public.exchange_checkpoint_refuse_change() FROM PUBLIC;

CREATE TRIGGER exchange_checkpoint_append_only
    BEFORE UPDATE OR DELETE ON public.exchange_checkpoint
    FOR EACH ROW EXECUTE FUNCTION public.exchange_checkpoint_refuse_change();
CREATE TRIGGER exchange_checkpoint_no_truncate
    BEFORE TRUNCATE ON public.exchange_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION public.exchange_checkpoint_refuse_change();

REVOKE ALL ON public.exchange_checkpoint FROM PUBLIC;
GRANT SELECT, INSERT ON public.exchange_checkpoint TO pide_gateway;
GRANT UPDATE (tst, stamped_at) ON public.exchange_checkpoint TO pide_gateway;
GRANT SELECT ON public.exchange_checkpoint TO pide_auditor;
