-- 0003_identity.sql — who authenticated the caller and with what: the declared subsystem, the
-- fingerprint of the certificate that authenticated it (mTLS client or WS-Security signer), the
-- caller's own message id (pgw:id, replay detection) and the SignatureValue of a signed request
-- (the consumer's non-repudiation proof); and version 3 of the row hash, which covers them.
--
-- Rows written before this migration keep their hash_version (1 or 2) and their hash; new rows
-- carry hash_version 3. All three encodings are specified in docs/exchange-log.md; the C writer
-- (gateway/exchange_log.c) computes v3. Applied like every migration (sql/README.md).

-- Nullable columns without a default: a catalogue change, no partition is rewritten. The column
-- order matters: every hash version is "every column in table order, as of the migration that
-- introduced it, except t_logged, prev_hash and row_hash", so v3 is v2's 32 fields (ending with
-- hash_version) followed by these four. hash_version keeps its DEFAULT 1 and a gateway
-- predating 0003 names its columns explicitly, so during a rolling upgrade old gateways keep
-- writing valid v1/v2 rows (with these columns NULL) and the chain simply continues.
ALTER TABLE exchange_log
    ADD COLUMN client_subsystem        text,
    ADD COLUMN client_cert_sha256      text,
    ADD COLUMN message_id              text,
    ADD COLUMN request_signature_value text;

-- "Did member X send message id Y?" — message_id first, so a lookup by message id alone uses
-- it too (lookups by member alone have exchange_log_client_member_idx).
CREATE INDEX exchange_log_message_id_idx ON exchange_log (message_id, client_member);
-- "Everything done with this certificate" (e.g. after a key compromise), in time order.
CREATE INDEX exchange_log_client_cert_idx ON exchange_log (client_cert_sha256, t_request_in);

-- The v2 field encodings, without prev_hash: v1's 27 fields, the caller audit fields and
-- hash_version. The common prefix of versions 2 and 3.
CREATE FUNCTION exchange_log_fields_v2(r exchange_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT exchange_log_fields_v1(r)
        || exchange_log_field(textsend(r.caller_host))
        || exchange_log_field(textsend(r.caller_ip))
        || exchange_log_field(textsend(r.caller_user))
        || exchange_log_field(textsend(r.caller_mac))
        || exchange_log_field(int2send(r.hash_version))
$$;

-- row_hash as the writer computed it, by the row's own hash_version; NULL for a version this
-- database does not know (exchange_log_verify_chain() reports it).
--   v1: SHA-256(prev_hash || the 27 fields of 0001)
--   v2: SHA-256(prev_hash || the 27 fields || caller_host, caller_ip, caller_user, caller_mac,
--               hash_version)
--   v3: SHA-256(prev_hash || the 32 fields of v2 || client_subsystem, client_cert_sha256,
--               message_id, request_signature_value)
CREATE OR REPLACE FUNCTION exchange_log_row_hash(r exchange_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE r.hash_version
        WHEN 1 THEN sha256(r.prev_hash || exchange_log_fields_v1(r))
        WHEN 2 THEN sha256(r.prev_hash || exchange_log_fields_v2(r))
        WHEN 3 THEN sha256(r.prev_hash || exchange_log_fields_v2(r)
                           || exchange_log_field(textsend(r.client_subsystem))
                           || exchange_log_field(textsend(r.client_cert_sha256))
                           || exchange_log_field(textsend(r.message_id))
                           || exchange_log_field(textsend(r.request_signature_value)))
    END
$$;

-- Every row that breaks the chain, in seq order; no rows means the whole log is intact. Beyond
-- 0002's checks: version 3 is known, and a v1 or v2 row that carries identity fields is
-- reported — neither version covers them, so they were added after the fact.
CREATE OR REPLACE FUNCTION exchange_log_verify_chain()
RETURNS TABLE (seq bigint, problem text)
LANGUAGE sql STABLE AS $$
    SELECT c.seq, c.problem FROM (
        SELECT e.seq,
               CASE WHEN e.seq <> coalesce(lag(e.seq) OVER w, 0) + 1
                        THEN 'seq gap: previous row is ' || coalesce(lag(e.seq) OVER w, 0)
                    WHEN e.prev_hash <> coalesce(lag(e.row_hash) OVER w, decode(repeat('00', 32), 'hex'))
                        THEN 'prev_hash differs from the previous row''s row_hash'
                    WHEN e.hash_version NOT IN (1, 2, 3)
                        THEN 'unknown hash_version ' || e.hash_version
                    WHEN e.hash_version = 1
                         AND num_nonnulls(e.caller_host, e.caller_ip, e.caller_user, e.caller_mac) > 0
                        THEN 'hash_version 1 row carries caller audit fields, which v1 does not cover'
                    WHEN e.hash_version IN (1, 2)
                         AND num_nonnulls(e.client_subsystem, e.client_cert_sha256, e.message_id,
                                          e.request_signature_value) > 0
                        THEN 'hash_version ' || e.hash_version
                             || ' row carries identity fields, which v' || e.hash_version
                             || ' does not cover'
                    WHEN e.row_hash <> exchange_log_row_hash(e)
                        THEN 'row_hash does not match the row''s content'
               END AS problem
        FROM exchange_log e
        WINDOW w AS (ORDER BY e.seq)
    ) c
    WHERE c.problem IS NOT NULL
    ORDER BY c.seq
$$;
