-- 0002_caller_audit.sql — what the request itself declares about the calling machine and person
-- (PIDE's xAudNombrePC, xAudIP, xAudNombreUsuario, xAudDireccionMAC; Migraciones' strNroIp,
-- strMac) as searchable columns, and version 2 of the row hash, which covers them.
--
-- Rows written before this migration keep hash_version 1 and their 0001 hash; new rows carry
-- hash_version 2. Both encodings are specified in docs/exchange-log.md; the C writer
-- (gateway/exchange_log.c) computes v2. Applied like every migration (sql/README.md).

-- On a partitioned table ALTER TABLE on the parent changes every partition. A constant DEFAULT
-- makes the new columns a catalogue change: no partition is rewritten, existing rows read 1.
-- The column order matters: the v2 encoding is every column in table order except t_logged,
-- prev_hash and row_hash, so caller_* come first and hash_version last.
ALTER TABLE exchange_log
    ADD COLUMN caller_host  text,
    ADD COLUMN caller_ip    text,
    ADD COLUMN caller_user  text,
    ADD COLUMN caller_mac   text,
    -- DEFAULT 1 (not 2): a writer that predates this migration (an old gateway still running
    -- during an upgrade) keeps writing valid v1 rows instead of failing every exchange.
    ADD COLUMN hash_version smallint NOT NULL DEFAULT 1;

-- Auditors ask "what did this machine / this declared user do, and when".
CREATE INDEX exchange_log_caller_ip_idx ON exchange_log (caller_ip, t_request_in);
CREATE INDEX exchange_log_caller_user_idx ON exchange_log (caller_user, t_request_in);

-- The v1 field encodings (0001), without prev_hash: the common part of both versions.
CREATE FUNCTION exchange_log_fields_v1(r exchange_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT exchange_log_field(int8send(r.seq))
        || exchange_log_field(uuid_send(r.exchange_id))
        || exchange_log_field(textsend(r.client_member))
        || exchange_log_field(textsend(r.client_user))
        || exchange_log_field(textsend(r.auth_method))
        || exchange_log_field(textsend(r.client_address))
        || exchange_log_field(textsend(r.service))
        || exchange_log_field(textsend(r.operation))
        || exchange_log_field(textsend(r.adapter))
        || exchange_log_field(textsend(r.subject_type))
        || exchange_log_field(textsend(r.subject_id))
        || exchange_log_field(textsend(r.purpose))
        || exchange_log_field(textsend(r.procedure))
        || exchange_log_field(r.request)
        || exchange_log_field(r.response)
        || exchange_log_field(r.request_sha256)
        || exchange_log_field(r.response_sha256)
        || exchange_log_field(textsend(r.signature_value))
        || exchange_log_field(timestamptz_send(r.t_request_in))
        || exchange_log_field(timestamptz_send(r.t_provider_out))
        || exchange_log_field(timestamptz_send(r.t_provider_in))
        || exchange_log_field(timestamptz_send(r.t_response_out))
        || exchange_log_field(textsend(r.outcome))
        || exchange_log_field(textsend(r.fault_code))
        || exchange_log_field(textsend(r.fault_message))
        || exchange_log_field(textsend(r.result_code))
        || exchange_log_field(int4send(r.http_status))
$$;

-- row_hash as the writer computed it, by the row's own hash_version; NULL for a version this
-- database does not know (exchange_log_verify_chain() reports it).
--   v1: SHA-256(prev_hash || the 27 fields of 0001)
--   v2: SHA-256(prev_hash || the 27 fields || caller_host, caller_ip, caller_user, caller_mac,
--               hash_version)
CREATE OR REPLACE FUNCTION exchange_log_row_hash(r exchange_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE r.hash_version
        WHEN 1 THEN sha256(r.prev_hash || exchange_log_fields_v1(r))
        WHEN 2 THEN sha256(r.prev_hash || exchange_log_fields_v1(r)
                           || exchange_log_field(textsend(r.caller_host))
                           || exchange_log_field(textsend(r.caller_ip))
                           || exchange_log_field(textsend(r.caller_user))
                           || exchange_log_field(textsend(r.caller_mac))
                           || exchange_log_field(int2send(r.hash_version)))
    END
$$;

-- Every row that breaks the chain, in seq order; no rows means the whole log is intact. Beyond
-- 0001's checks: a hash_version this database does not know, and a v1 row that carries caller
-- audit fields — v1 does not cover them, so they were added after the fact.
CREATE OR REPLACE FUNCTION exchange_log_verify_chain()
RETURNS TABLE (seq bigint, problem text)
LANGUAGE sql STABLE AS $$
    SELECT c.seq, c.problem FROM (
        SELECT e.seq,
               CASE WHEN e.seq <> coalesce(lag(e.seq) OVER w, 0) + 1
                        THEN 'seq gap: previous row is ' || coalesce(lag(e.seq) OVER w, 0)
                    WHEN e.prev_hash <> coalesce(lag(e.row_hash) OVER w, decode(repeat('00', 32), 'hex'))
                        THEN 'prev_hash differs from the previous row''s row_hash'
                    WHEN e.hash_version NOT IN (1, 2)
                        THEN 'unknown hash_version ' || e.hash_version
                    WHEN e.hash_version = 1
                         AND num_nonnulls(e.caller_host, e.caller_ip, e.caller_user, e.caller_mac) > 0
                        THEN 'hash_version 1 row carries caller audit fields, which v1 does not cover'
                    WHEN e.row_hash <> exchange_log_row_hash(e)
                        THEN 'row_hash does not match the row''s content'
               END AS problem
        FROM exchange_log e
        WINDOW w AS (ORDER BY e.seq)
    ) c
    WHERE c.problem IS NOT NULL
    ORDER BY c.seq
$$;
