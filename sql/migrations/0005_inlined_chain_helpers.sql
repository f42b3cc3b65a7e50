-- 0005_inlined_chain_helpers.sql — the chain's helper functions are inlined again.
--
-- 0004 gave every chain function `SET search_path = pg_catalog, pg_temp`. On the small SQL
-- helpers (exchange_log_field, _fields_v1, _fields_v2, exchange_log_row_hash) that clause stops
-- PostgreSQL from inlining them and makes every call save and restore the setting: about forty
-- calls a row made exchange_log_verify_chain() some 25 times slower (31.7 s against 1.3 s over
-- 14,500 rows), long enough for a verification run under the chain lock to stall every writer.
-- Here the helpers lose the clause but resolve nothing through the caller's search_path: every
-- function, type and operator is schema-qualified (OPERATOR(pg_catalog.||), OPERATOR(pg_catalog.=)),
-- so a shadowing object in public changes nothing, whoever calls them. The outer functions
-- (exchange_log_verify_chain, the triggers, ensure_partitions) keep their pinned search_path.
-- The encodings are unchanged (docs/exchange-log.md).
--
-- Applied like every migration (sql/README.md); applied migrations are never edited.

CREATE OR REPLACE FUNCTION public.exchange_log_field(value bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN value IS NULL THEN '\x00'::pg_catalog.bytea
                ELSE '\x01'::pg_catalog.bytea OPERATOR(pg_catalog.||) pg_catalog.int4send(pg_catalog.octet_length(value)) OPERATOR(pg_catalog.||) value END
$$;

CREATE OR REPLACE FUNCTION public.exchange_log_fields_v1(r public.exchange_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT public.exchange_log_field(pg_catalog.int8send(r.seq))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.uuid_send(r.exchange_id))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.client_member))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.client_user))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.auth_method))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.client_address))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.service))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.operation))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.adapter))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.subject_type))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.subject_id))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.purpose))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.procedure))
        OPERATOR(pg_catalog.||) public.exchange_log_field(r.request)
        OPERATOR(pg_catalog.||) public.exchange_log_field(r.response)
        OPERATOR(pg_catalog.||) public.exchange_log_field(r.request_sha256)
        OPERATOR(pg_catalog.||) public.exchange_log_field(r.response_sha256)
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.signature_value))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.timestamptz_send(r.t_request_in))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.timestamptz_send(r.t_provider_out))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.timestamptz_send(r.t_provider_in))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.timestamptz_send(r.t_response_out))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.outcome))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.fault_code))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.fault_message))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.result_code))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.int4send(r.http_status))
$$;

CREATE OR REPLACE FUNCTION public.exchange_log_fields_v2(r public.exchange_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT public.exchange_log_fields_v1(r)
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.caller_host))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.caller_ip))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.caller_user))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.textsend(r.caller_mac))
        OPERATOR(pg_catalog.||) public.exchange_log_field(pg_catalog.int2send(r.hash_version))
$$;

-- v1: SHA-256(prev_hash OPERATOR(pg_catalog.||) the 27 fields of 0001); v2: OPERATOR(pg_catalog.||) the caller fields and hash_version;
-- v3: OPERATOR(pg_catalog.||) the identity fields of 0003. NULL for a version this database does not know.
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
    END
$$;

