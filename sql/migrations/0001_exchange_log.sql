-- 0001_exchange_log.sql — the append-only, hash-chained log of every exchange.
--
-- Applied as (or with SET ROLE to) pide_owner, inside one transaction, by scripts/pg-local or
-- by hand (sql/README.md). Needs the roles pide_gateway and pide_auditor to exist already.
-- Column meanings, the canonical row encoding and the chain: docs/exchange-log.md.

CREATE TABLE exchange_log (
    seq              bigint      NOT NULL,
    exchange_id      uuid        NOT NULL,
    client_member    text,
    client_user      text,
    auth_method      text,
    client_address   text,
    service          text,
    operation        text,
    adapter          text,
    subject_type     text,
    subject_id       text,
    purpose          text,
    procedure        text,
    request          bytea,
    response         bytea,
    request_sha256   bytea,
    response_sha256  bytea,
    signature_value  text,
    t_request_in     timestamptz NOT NULL,
    t_provider_out   timestamptz,
    t_provider_in    timestamptz,
    t_response_out   timestamptz,
    outcome          text        NOT NULL CHECK (outcome IN ('ok', 'fault')),
    fault_code       text,
    fault_message    text,
    result_code      text,
    http_status      integer,
    t_logged         timestamptz NOT NULL DEFAULT now(),
    prev_hash        bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    row_hash         bytea       NOT NULL CHECK (octet_length(row_hash) = 32),
    -- A partitioned table's primary key must contain the partition key; seq alone is unique
    -- because the writer assigns it under an advisory lock (docs/exchange-log.md).
    PRIMARY KEY (seq, t_request_in)
) PARTITION BY RANGE (t_request_in);

-- Rows outside every monthly partition land here instead of being refused: the gateway must
-- never fail an exchange because a partition was not created in time.
CREATE TABLE exchange_log_default PARTITION OF exchange_log DEFAULT;

CREATE INDEX exchange_log_subject_idx ON exchange_log (subject_type, subject_id);
CREATE INDEX exchange_log_client_member_idx ON exchange_log (client_member);
CREATE INDEX exchange_log_service_time_idx ON exchange_log (service, t_request_in);
CREATE INDEX exchange_log_exchange_id_idx ON exchange_log (exchange_id);

-- Creates the monthly partitions (UTC months) from the current month to months_ahead months
-- later; existing ones are kept. A month whose rows already sit in the DEFAULT partition is
-- skipped with a NOTICE, because attaching it would have to move those rows.
CREATE FUNCTION exchange_log_ensure_partitions(months_ahead integer DEFAULT 12)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    first_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
    month_start timestamp;
    name text;
    created integer := 0;
BEGIN
    FOR i IN 0..months_ahead LOOP
        month_start := first_month + make_interval(months => i);
        name := format('exchange_log_y%sm%s', to_char(month_start, 'YYYY'),
                       to_char(month_start, 'MM'));
        CONTINUE WHEN to_regclass(name) IS NOT NULL;
        IF EXISTS (SELECT 1 FROM exchange_log_default
                   WHERE t_request_in >= (month_start AT TIME ZONE 'UTC')
                     AND t_request_in < ((month_start + interval '1 month') AT TIME ZONE 'UTC')) THEN
            RAISE NOTICE 'exchange_log: % not created: rows for that month are in exchange_log_default', name;
            CONTINUE;
        END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF exchange_log FOR VALUES FROM (%L) TO (%L)',
                       name, to_char(month_start, 'YYYY-MM-DD') || ' 00:00:00+00',
                       to_char(month_start + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00');
        created := created + 1;
    END LOOP;
    RETURN created;
END $$;
REVOKE ALL ON FUNCTION exchange_log_ensure_partitions(integer) FROM PUBLIC;

SELECT exchange_log_ensure_partitions(12);

-- One field of the canonical encoding: 0x00 for NULL, else 0x01, a 4-byte big-endian length
-- and the value's PostgreSQL binary send form.
CREATE FUNCTION exchange_log_field(value bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN value IS NULL THEN '\x00'::bytea
                ELSE '\x01'::bytea || int4send(octet_length(value)) || value END
$$;

-- row_hash as the writer computes it: SHA-256(prev_hash || fields in column order).
CREATE FUNCTION exchange_log_row_hash(r exchange_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256(r.prev_hash
        || exchange_log_field(int8send(r.seq))
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
        || exchange_log_field(int4send(r.http_status)))
$$;

-- Every row that breaks the chain, in seq order; no rows means the whole log is intact.
CREATE FUNCTION exchange_log_verify_chain()
RETURNS TABLE (seq bigint, problem text)
LANGUAGE sql STABLE AS $$
    SELECT c.seq, c.problem FROM (
        SELECT e.seq,
               CASE WHEN e.seq <> coalesce(lag(e.seq) OVER w, 0) + 1
                        THEN 'seq gap: previous row is ' || coalesce(lag(e.seq) OVER w, 0)
                    WHEN e.prev_hash <> coalesce(lag(e.row_hash) OVER w, decode(repeat('00', 32), 'hex'))
                        THEN 'prev_hash differs from the previous row''s row_hash'
                    WHEN e.row_hash <> exchange_log_row_hash(e)
                        THEN 'row_hash does not match the row''s content'
               END AS problem
        FROM exchange_log e
        WINDOW w AS (ORDER BY e.seq)
    ) c
    WHERE c.problem IS NOT NULL
    ORDER BY c.seq
$$;

-- Append-only even for the owner's day-to-day sessions: changing a row must be a deliberate,
-- visible act (disabling this trigger), and it still breaks the chain.
CREATE FUNCTION exchange_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'exchange_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER exchange_log_append_only
    BEFORE UPDATE OR DELETE ON exchange_log
    FOR EACH ROW EXECUTE FUNCTION exchange_log_refuse_change();
CREATE TRIGGER exchange_log_no_truncate
    BEFORE TRUNCATE ON exchange_log
    FOR EACH STATEMENT EXECUTE FUNCTION exchange_log_refuse_change();

REVOKE ALL ON exchange_log FROM PUBLIC;
GRANT SELECT, INSERT ON exchange_log TO pide_gateway;
GRANT SELECT ON exchange_log TO pide_auditor;
