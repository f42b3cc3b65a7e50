-- 0008_body_encryption.sql — payload encryption at rest, and row hash version 4.
--
-- body_encryption: NULL for a row whose bodies are stored as they were (every row before this
-- migration, and rows of services without <encryptAtRest>); 'cms' when the service encrypts its
-- bodies to the auditors' certificates (docs/exchange-log.md, "Encrypted bodies"): then
-- `request` and `response` hold a DER CMS EnvelopedData (AES-256-CBC content key wrapped to each
-- recipient certificate) of the bytes an unencrypted row would hold, and `fault_message` the
-- base64 of one of the text it would hold. request_sha256 and response_sha256 stay the digests
-- of the plaintext, the metadata columns stay plaintext and searchable.
--
-- Hash version 4 (what the gateway writes from now on) = version 3's 36 fields followed by
-- trace_id, trace_parent_id (0007, unhashed until now) and body_encryption, 39 in all, each
-- F(textsend(x)). The row hash covers the stored (encrypted) bytes, so the chain and the signed
-- checkpoints verify without the auditors' key. Rows of versions 1..3 are hashed as before.
-- A row of version 1..3 never carries body_encryption (its writer did not know it): one that
-- does was changed afterwards, and verification says so. Every operator is pg_catalog's and
-- every object named by schema. Applied like every migration (sql/README.md).

-- Nullable without a default: a catalogue change, no partition is rewritten. A gateway that
-- predates this migration names its COPY columns, so it keeps writing v3 rows (with it NULL).
ALTER TABLE public.exchange_log
    ADD COLUMN body_encryption text
        CHECK (body_encryption OPERATOR(pg_catalog.=) 'cms');

CREATE OR REPLACE FUNCTION public.exchange_log_row_hash(r public.exchange_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN r.hash_version OPERATOR(pg_catalog.=) 1 THEN pg_catalog.sha256(r.prev_hash OPERATOR(pg_catalog.||) public.exchange_log_fields_v1(r))
        WHEN r.hash_version OPERATOR(pg_catalog.=) 2 THEN pg_catalog.sha256(r.prev_hash OPERATOR(pg_catalog.||) public.exchange_log_fields_v2(r))
        WHEN r.hash_version OPERATOR(pg_catalog.=) 3 THEN pg_catalog.sha256(r.prev_hash OPERATOR(pg_catalog.||) public.exchange_log_fields_v2(r)
                           OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.client_subsystem))
                           OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.client_cert_sha256))
                           OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.message_id))
                           OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.request_signature_value)))
        WHEN r.hash_version OPERATOR(pg_catalog.=) 4 THEN pg_catalog.sha256(r.prev_hash OPERATOR(pg_catalog.||) public.exchange_log_fields_v2(r)
                           OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.client_subsystem))
                           OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.client_cert_sha256))
                           OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.message_id))
                           OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.request_signature_value))
                           OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.trace_id))
                           OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.trace_parent_id))
                           OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.body_encryption)))
    END
$$;

-- The checks of 0004, with version 4 known and body_encryption refused on older versions.
CREATE OR REPLACE FUNCTION public.exchange_log_verify_chain()
RETURNS TABLE (seq bigint, problem text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.seq, c.problem FROM (
        SELECT e.seq,
               CASE WHEN e.seq <> coalesce(pg_catalog.lag(e.seq) OVER w, 0) + 1
                        THEN 'seq gap: previous row is ' || coalesce(pg_catalog.lag(e.seq) OVER w, 0)
                    WHEN e.prev_hash <> coalesce(pg_catalog.lag(e.row_hash) OVER w,
                                                            pg_catalog.decode(pg_catalog.repeat('00', 32), 'hex'))
                        THEN 'prev_hash differs from the previous row''s row_hash'
                    WHEN e.hash_version NOT IN (1, 2, 3, 4)
                        THEN 'unknown hash_version ' || e.hash_version
                    WHEN e.hash_version = 1
                         AND pg_catalog.num_nonnulls(e.caller_host, e.caller_ip, e.caller_user, e.caller_mac) > 0
                        THEN 'hash_version 1 row carries caller audit fields, which v1 does not cover'
                    WHEN e.hash_version IN (1, 2)
                         AND pg_catalog.num_nonnulls(e.client_subsystem, e.client_cert_sha256, e.message_id,
                                                     e.request_signature_value) > 0
                        THEN 'hash_version ' || e.hash_version
                             || ' row carries identity fields, which v' || e.hash_version
                             || ' does not cover'
                    WHEN e.hash_version IN (1, 2, 3) AND e.body_encryption IS NOT NULL
                        THEN 'hash_version ' || e.hash_version
                             || ' row carries body_encryption, which v' || e.hash_version
                             || ' does not cover'
                    WHEN e.row_hash <> public.exchange_log_row_hash(e)
                        THEN 'row_hash does not match the row''s content'
               END AS problem
        FROM public.exchange_log e
        WINDOW w AS (ORDER BY e.seq)
    ) c
    WHERE c.problem IS NOT NULL
    ORDER BY c.seq
$$;
