-- 0004_trusted_chain.sql — the chain functions no longer trust the caller's search_path, and no
-- partition of exchange_log can be truncated.
--
-- 1. Until now the SQL functions resolved sha256(), the *send() functions, `||`, `<>` and the
--    project's own helpers through the search_path of whoever called them. The database owner
--    (pide_owner owns the database, so it may create objects in public and
--    `ALTER DATABASE pide SET search_path = public, pg_catalog`) could then shadow sha256() with
--    a public.sha256() that returns the stored hash, and exchange_log_verify_chain() reported a
--    tampered log intact. Every function is redefined here with
--    `SET search_path = pg_catalog, pg_temp` (so built-in names and operators resolve in
--    pg_catalog only — functions and operators are never looked up in pg_temp) and with the
--    project's objects named as public.*. The encodings are unchanged (docs/exchange-log.md).
--    The owner can still replace these functions outright: an auditor who does not trust the
--    owner uses `pide-audit verify`, which recomputes the chain outside the database.
--
-- 2. A statement-level BEFORE TRUNCATE trigger on a partitioned table fires only for a TRUNCATE
--    of the parent: `TRUNCATE exchange_log_y2026m12` emptied a month for pide_owner. Each
--    partition now gets its own exchange_log_no_truncate trigger: the existing ones here, new
--    ones from exchange_log_ensure_partitions() and — for partitions created or attached by hand
--    — from an event trigger. Event triggers need a superuser: when this migration runs in a
--    superuser's session (scripts/pg-local and sql/README.md apply it with SET ROLE pide_owner
--    from one) the event trigger is created as that superuser, so pide_owner cannot change it;
--    otherwise a NOTICE says so and partitions made by hand need
--    `SELECT exchange_log_guard_partitions()` (docs/exchange-log.md).
--
-- Applied like every migration (sql/README.md); applied migrations are never edited.

CREATE OR REPLACE FUNCTION public.exchange_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'exchange_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

-- Gives every partition of exchange_log, at any depth, the BEFORE TRUNCATE trigger it lacks;
-- returns how many it added. Owner only (it creates triggers).
CREATE FUNCTION public.exchange_log_guard_partitions() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    part regclass;
    added integer := 0;
BEGIN
    FOR part IN
        SELECT t.relid FROM pg_catalog.pg_partition_tree('public.exchange_log'::pg_catalog.regclass) t
        WHERE t.relid OPERATOR(pg_catalog.<>) 'public.exchange_log'::pg_catalog.regclass
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g
                          WHERE g.tgrelid OPERATOR(pg_catalog.=) t.relid
                            AND g.tgname OPERATOR(pg_catalog.=) 'exchange_log_no_truncate')
    LOOP
        -- regclass prints schema-qualified under this search_path.
        EXECUTE pg_catalog.format('CREATE TRIGGER exchange_log_no_truncate BEFORE TRUNCATE ON %s '
                                  'FOR EACH STATEMENT EXECUTE FUNCTION public.exchange_log_refuse_change()',
                                  part);
        added := added + 1;
    END LOOP;
    RETURN added;
END $$;
REVOKE ALL ON FUNCTION public.exchange_log_guard_partitions() FROM PUBLIC;

SELECT public.exchange_log_guard_partitions();

-- As in 0001, plus: names by schema, and each partition it creates is guarded at once (even
-- where no event trigger exists).
CREATE OR REPLACE FUNCTION public.exchange_log_ensure_partitions(months_ahead integer DEFAULT 12)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    first_month timestamp := pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC');
    month_start timestamp;
    name text;
    created integer := 0;
BEGIN
    FOR i IN 0..months_ahead LOOP
        month_start := first_month + pg_catalog.make_interval(months => i);
        name := pg_catalog.format('exchange_log_y%sm%s', pg_catalog.to_char(month_start, 'YYYY'),
                                  pg_catalog.to_char(month_start, 'MM'));
        CONTINUE WHEN pg_catalog.to_regclass('public.' || pg_catalog.quote_ident(name)) IS NOT NULL;
        IF EXISTS (SELECT 1 FROM public.exchange_log_default
                   WHERE t_request_in >= (month_start AT TIME ZONE 'UTC')
                     AND t_request_in < ((month_start + interval '1 month') AT TIME ZONE 'UTC')) THEN
            RAISE NOTICE 'exchange_log: % not created: rows for that month are in exchange_log_default', name;
            CONTINUE;
        END IF;
        EXECUTE pg_catalog.format('CREATE TABLE public.%I PARTITION OF public.exchange_log FOR VALUES FROM (%L) TO (%L)',
                       name, pg_catalog.to_char(month_start, 'YYYY-MM-DD') || ' 00:00:00+00',
                       pg_catalog.to_char(month_start + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00');
        created := created + 1;
    END LOOP;
    PERFORM public.exchange_log_guard_partitions();
    RETURN created;
END $$;
REVOKE ALL ON FUNCTION public.exchange_log_ensure_partitions(integer) FROM PUBLIC;

-- Partitions made by hand (CREATE TABLE ... PARTITION OF, ATTACH PARTITION), and a dropped
-- guard trigger, are guarded again at the end of the command, by an event trigger owned by a
-- superuser. Its function is self-contained (it calls nothing pide_owner could replace: it runs
-- with the rights of whoever ran the command, a superuser included) and names everything by
-- schema.
DO $migration$
DECLARE
    migrating_role text := current_user;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) session_user) THEN
        RAISE NOTICE 'exchange_log: not run by a superuser, so no event trigger guards partitions created by hand; after creating or attaching one, run SELECT exchange_log_guard_partitions() (docs/exchange-log.md)';
        RETURN;
    END IF;
    RESET ROLE;
    EXECUTE $ddl$
CREATE FUNCTION public.exchange_log_guard_new_partitions() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    part regclass;
BEGIN
    IF pg_catalog.to_regclass('public.exchange_log') IS NULL THEN
        RETURN;
    END IF;
    FOR part IN
        SELECT t.relid FROM pg_catalog.pg_partition_tree('public.exchange_log'::pg_catalog.regclass) t
        WHERE t.relid OPERATOR(pg_catalog.<>) 'public.exchange_log'::pg_catalog.regclass
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g
                          WHERE g.tgrelid OPERATOR(pg_catalog.=) t.relid
                            AND g.tgname OPERATOR(pg_catalog.=) 'exchange_log_no_truncate')
    LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER exchange_log_no_truncate BEFORE TRUNCATE ON %s '
                                  'FOR EACH STATEMENT EXECUTE FUNCTION public.exchange_log_refuse_change()',
                                  part);
    END LOOP;
END $$
$ddl$;
    EXECUTE 'REVOKE ALL ON FUNCTION public.exchange_log_guard_new_partitions() FROM PUBLIC';
    EXECUTE 'CREATE EVENT TRIGGER exchange_log_guard_new_partitions ON ddl_command_end '
            'WHEN TAG IN (''CREATE TABLE'', ''ALTER TABLE'', ''DROP TRIGGER'') '
            'EXECUTE FUNCTION public.exchange_log_guard_new_partitions()';
    EXECUTE pg_catalog.format('SET ROLE %I', migrating_role);
END $migration$;

-- ---- the chain functions, with a pinned search_path ------------------------------------------

CREATE OR REPLACE FUNCTION public.exchange_log_field(value bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN value IS NULL THEN '\x00'::pg_catalog.bytea
                ELSE '\x01'::pg_catalog.bytea || pg_catalog.int4send(pg_catalog.octet_length(value)) || value END
$$;

CREATE OR REPLACE FUNCTION public.exchange_log_fields_v1(r public.exchange_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT public.exchange_log_field(pg_catalog.int8send(r.seq))
        || public.exchange_log_field(pg_catalog.uuid_send(r.exchange_id))
        || public.exchange_log_field(pg_catalog.textsend(r.client_member))
        || public.exchange_log_field(pg_catalog.textsend(r.client_user))
        || public.exchange_log_field(pg_catalog.textsend(r.auth_method))
        || public.exchange_log_field(pg_catalog.textsend(r.client_address))
        || public.exchange_log_field(pg_catalog.textsend(r.service))
        || public.exchange_log_field(pg_catalog.textsend(r.operation))
        || public.exchange_log_field(pg_catalog.textsend(r.adapter))
        || public.exchange_log_field(pg_catalog.textsend(r.subject_type))
        || public.exchange_log_field(pg_catalog.textsend(r.subject_id))
        || public.exchange_log_field(pg_catalog.textsend(r.purpose))
        || public.exchange_log_field(pg_catalog.textsend(r.procedure))
        || public.exchange_log_field(r.request)
        || public.exchange_log_field(r.response)
        || public.exchange_log_field(r.request_sha256)
        || public.exchange_log_field(r.response_sha256)
        || public.exchange_log_field(pg_catalog.textsend(r.signature_value))
        || public.exchange_log_field(pg_catalog.timestamptz_send(r.t_request_in))
        || public.exchange_log_field(pg_catalog.timestamptz_send(r.t_provider_out))
        || public.exchange_log_field(pg_catalog.timestamptz_send(r.t_provider_in))
        || public.exchange_log_field(pg_catalog.timestamptz_send(r.t_response_out))
        || public.exchange_log_field(pg_catalog.textsend(r.outcome))
        || public.exchange_log_field(pg_catalog.textsend(r.fault_code))
        || public.exchange_log_field(pg_catalog.textsend(r.fault_message))
        || public.exchange_log_field(pg_catalog.textsend(r.result_code))
        || public.exchange_log_field(pg_catalog.int4send(r.http_status))
$$;

CREATE OR REPLACE FUNCTION public.exchange_log_fields_v2(r public.exchange_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT public.exchange_log_fields_v1(r)
        || public.exchange_log_field(pg_catalog.textsend(r.caller_host))
        || public.exchange_log_field(pg_catalog.textsend(r.caller_ip))
        || public.exchange_log_field(pg_catalog.textsend(r.caller_user))
        || public.exchange_log_field(pg_catalog.textsend(r.caller_mac))
        || public.exchange_log_field(pg_catalog.int2send(r.hash_version))
$$;

-- v1: SHA-256(prev_hash || the 27 fields of 0001); v2: || the caller fields and hash_version;
-- v3: || the identity fields of 0003. NULL for a version this database does not know.
CREATE OR REPLACE FUNCTION public.exchange_log_row_hash(r public.exchange_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE r.hash_version
        WHEN 1 THEN pg_catalog.sha256(r.prev_hash || public.exchange_log_fields_v1(r))
        WHEN 2 THEN pg_catalog.sha256(r.prev_hash || public.exchange_log_fields_v2(r))
        WHEN 3 THEN pg_catalog.sha256(r.prev_hash || public.exchange_log_fields_v2(r)
                           || public.exchange_log_field(pg_catalog.textsend(r.client_subsystem))
                           || public.exchange_log_field(pg_catalog.textsend(r.client_cert_sha256))
                           || public.exchange_log_field(pg_catalog.textsend(r.message_id))
                           || public.exchange_log_field(pg_catalog.textsend(r.request_signature_value)))
    END
$$;

-- The checks of 0003, unchanged.
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
                    WHEN e.hash_version NOT IN (1, 2, 3)
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
                    WHEN e.row_hash <> public.exchange_log_row_hash(e)
                        THEN 'row_hash does not match the row''s content'
               END AS problem
        FROM public.exchange_log e
        WINDOW w AS (ORDER BY e.seq)
    ) c
    WHERE c.problem IS NOT NULL
    ORDER BY c.seq
$$;
