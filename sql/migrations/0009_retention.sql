-- 0009_retention.sql — retention of archived months: `pide-audit detach` (docs/operator-guide.md,
-- "Retention"; docs/auditor-guide.md "Detaching an archived month").
--
-- A closed month, once exported to a signed archive (`pide-audit archive`), may leave the
-- database: its partition is detached (and, with --drop, dropped) by public.exchange_log_retain(),
-- which first checks the archive's manifest against the rows still in the database and records
-- the act in public.exchange_retention in the same transaction. The record carries the archive's
-- signed manifest (MANIFEST.json and its CMS signature): `pide-audit verify` starts the chain
-- from its last_row_hash only after checking that signature against --trust-signer, so a
-- database owner who deletes rows and writes a retention record of his own gets no pass.
--
-- exchange_retention is append-only (UPDATE, DELETE, TRUNCATE refused, like exchange_checkpoint
-- in 0006), and in a superuser's migration session two event triggers refuse to detach or drop
-- a month partition (public.exchange_log_yYYYYmMM) that no retention record names: the
-- retention procedure is the one way a month leaves. Every object is named by schema and every
-- operator is pg_catalog's. Applied like every migration (sql/README.md).

CREATE TABLE public.exchange_retention (
    -- 1, 2, 3... gapless; each continues the chain where the one before ended
    id                 bigint      PRIMARY KEY CHECK (id OPERATOR(pg_catalog.>) 0),
    month              text        NOT NULL UNIQUE
                       CHECK (month OPERATOR(pg_catalog.~) '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    partition_name     text        NOT NULL,
    dropped            boolean     NOT NULL,
    -- the archive's seq range (after_seq, last_seq], as its signed manifest states it
    after_seq          bigint      NOT NULL CHECK (after_seq OPERATOR(pg_catalog.>=) 0),
    last_seq           bigint      NOT NULL CHECK (last_seq OPERATOR(pg_catalog.>=) after_seq),
    row_count          bigint      NOT NULL,
    prev_hash          bytea       NOT NULL
                       CHECK (pg_catalog.octet_length(prev_hash) OPERATOR(pg_catalog.=) 32),
    last_row_hash      bytea       NOT NULL
                       CHECK (pg_catalog.octet_length(last_row_hash) OPERATOR(pg_catalog.=) 32),
    -- the archive file's name and SHA-256 (hex), its manifest and the manifest's CMS signature
    -- (DER, detached) exactly as in the archive, and the signer's subject
    archive_file       text        NOT NULL,
    archive_sha256     text        NOT NULL
                       CHECK (archive_sha256 OPERATOR(pg_catalog.~) '^[0-9a-f]{64}$'),
    manifest           bytea       NOT NULL,
    manifest_signature bytea       NOT NULL,
    archive_signer     text        NOT NULL,
    -- who: the login role, the role in effect, and the OS user the CLI reported (informative)
    db_user            text        NOT NULL DEFAULT SESSION_USER,
    db_role            text        NOT NULL DEFAULT CURRENT_USER,
    os_user            text,
    detached_at        timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE FUNCTION public.exchange_retention_refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'exchange_retention is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
REVOKE ALL ON FUNCTION public.exchange_retention_refuse_change() FROM PUBLIC;

CREATE TRIGGER exchange_retention_append_only
    BEFORE UPDATE OR DELETE ON public.exchange_retention
    FOR EACH ROW EXECUTE FUNCTION public.exchange_retention_refuse_change();
CREATE TRIGGER exchange_retention_no_truncate
    BEFORE TRUNCATE ON public.exchange_retention
    FOR EACH STATEMENT EXECUTE FUNCTION public.exchange_retention_refuse_change();

REVOKE ALL ON public.exchange_retention FROM PUBLIC;
GRANT SELECT ON public.exchange_retention TO pide_auditor;
GRANT SELECT ON public.exchange_retention TO pide_gateway;

-- The retention procedure. Run by the owner of exchange_log (DETACH needs it); the CLI has
-- already checked the archive offline (signature, rows, chain to the previous archive). Here,
-- in one transaction: the month is closed and has a partition of its own; the manifest is the
-- month's; it continues the last retention record (or starts at seq 1); the database holds
-- exactly the manifest's rows (count, first prev_hash, last row_hash); no row of the partition
-- lies after the archive; a checkpoint covers the archive's last row; a later row stays
-- attached (the writer continues the chain from the newest row). Then the record, DETACH
-- and, with p_drop, DROP. Any failed check raises (nothing is recorded or detached).
CREATE FUNCTION public.exchange_log_retain(p_month text, p_archive_file text,
                                           p_archive_sha256 text, p_manifest bytea,
                                           p_manifest_signature bytea, p_signer text,
                                           p_os_user text, p_drop boolean)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m jsonb;
    month_start timestamptz;
    part text;
    after_s bigint;
    last_s bigint;
    n_rows bigint;
    prev_h bytea;
    last_h bytea;
    prior public.exchange_retention%ROWTYPE;
    db_count bigint;
    db_hash bytea;
    part_max bigint;
    new_id bigint;
BEGIN
    IF p_month IS NULL OR p_month !~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN
        RAISE EXCEPTION 'retention refused: month % is not YYYY-MM', p_month;
    END IF;
    month_start := (p_month || '-01 00:00:00+00')::timestamptz;
    IF month_start + interval '1 month' > pg_catalog.now() THEN
        RAISE EXCEPTION 'retention refused: month % is not closed', p_month;
    END IF;
    part := pg_catalog.format('exchange_log_y%sm%s', pg_catalog.substr(p_month, 1, 4),
                              pg_catalog.substr(p_month, 6, 2));
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i
                   WHERE i.inhparent OPERATOR(pg_catalog.=) 'public.exchange_log'::pg_catalog.regclass
                     AND i.inhrelid OPERATOR(pg_catalog.=)
                         pg_catalog.to_regclass('public.' || pg_catalog.quote_ident(part))) THEN
        RAISE EXCEPTION 'retention refused: month % has no attached partition % (rows of a month without a partition of its own sit in exchange_log_default and cannot be detached)', p_month, part;
    END IF;
    BEGIN
        m := pg_catalog.convert_from(p_manifest, 'UTF8')::jsonb;
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'retention refused: the manifest is not JSON';
    END;
    IF m->>'archive' IS DISTINCT FROM 'pide-log-archive' OR m->>'month' IS DISTINCT FROM p_month THEN
        RAISE EXCEPTION 'retention refused: the archive is of month %, not %', m->>'month', p_month;
    END IF;
    after_s := (m->>'after_seq')::bigint;
    last_s := (m->>'to_seq')::bigint;
    n_rows := (m->>'row_count')::bigint;
    prev_h := pg_catalog.decode(m->>'prev_hash', 'hex');
    last_h := pg_catalog.decode(m->>'last_row_hash', 'hex');
    IF after_s IS NULL OR last_s IS NULL OR n_rows IS NULL OR n_rows OPERATOR(pg_catalog.<>) last_s - after_s
       OR pg_catalog.octet_length(prev_h) OPERATOR(pg_catalog.<>) 32
       OR pg_catalog.octet_length(last_h) OPERATOR(pg_catalog.<>) 32 THEN
        RAISE EXCEPTION 'retention refused: the manifest lacks a consistent seq range and hashes';
    END IF;

    -- One retention at a time; the chain of records must stay contiguous from seq 1.
    LOCK TABLE public.exchange_retention IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO prior FROM public.exchange_retention ORDER BY id DESC LIMIT 1;
    IF FOUND THEN
        IF p_month OPERATOR(pg_catalog.<=) prior.month THEN
            RAISE EXCEPTION 'retention refused: month % is not after the last detached month %', p_month, prior.month;
        END IF;
        IF after_s OPERATOR(pg_catalog.<>) prior.last_seq OR prev_h OPERATOR(pg_catalog.<>) prior.last_row_hash THEN
            RAISE EXCEPTION 'retention refused: the archive starts after seq % but the last detached archive (%) ends at seq %: detach the months in between first', after_s, prior.month, prior.last_seq;
        END IF;
        IF (m->'previous_archive'->>'sha256') IS DISTINCT FROM prior.archive_sha256 THEN
            RAISE EXCEPTION 'retention refused: the archive is not chained to the last detached archive % (sha256 %)', prior.archive_file, prior.archive_sha256;
        END IF;
        new_id := prior.id + 1;
    ELSE
        IF after_s OPERATOR(pg_catalog.<>) 0 OR prev_h OPERATOR(pg_catalog.<>) pg_catalog.decode(pg_catalog.repeat('00', 32), 'hex') THEN
            RAISE EXCEPTION 'retention refused: rows 1..% (earlier months) are still attached: detach the oldest month first', after_s;
        END IF;
        new_id := 1;
    END IF;

    -- The database holds exactly the archive's rows.
    SELECT pg_catalog.count(*) INTO db_count FROM public.exchange_log
    WHERE seq OPERATOR(pg_catalog.>) after_s AND seq OPERATOR(pg_catalog.<=) last_s;
    IF db_count OPERATOR(pg_catalog.<>) n_rows THEN
        RAISE EXCEPTION 'retention refused: the database holds % row(s) in seq %..%, the archive %', db_count, after_s + 1, last_s, n_rows;
    END IF;
    IF (SELECT COALESCE(pg_catalog.max(seq), 0) FROM public.exchange_log
        WHERE t_request_in OPERATOR(pg_catalog.<) (month_start OPERATOR(pg_catalog.+) interval '1 month'))
       OPERATOR(pg_catalog.<>) last_s THEN
        RAISE EXCEPTION 'retention refused: the month''s rows in the database end at another seq than the archive''s last (%): archive the month again', last_s;
    END IF;
    IF n_rows OPERATOR(pg_catalog.>) 0 THEN
        SELECT row_hash INTO db_hash FROM public.exchange_log WHERE seq OPERATOR(pg_catalog.=) last_s;
        IF db_hash IS DISTINCT FROM last_h THEN
            RAISE EXCEPTION 'retention refused: the row_hash of seq % in the database is not the archive''s last_row_hash', last_s;
        END IF;
        SELECT prev_hash INTO db_hash FROM public.exchange_log WHERE seq OPERATOR(pg_catalog.=) after_s + 1;
        IF db_hash IS DISTINCT FROM prev_h THEN
            RAISE EXCEPTION 'retention refused: the prev_hash of seq % in the database is not the archive''s prev_hash', after_s + 1;
        END IF;
    END IF;
    -- From here on no row can be added (DETACH takes this lock anyway; taken first, so the
    -- gateway's inserts, which lock the parent before the partition, cannot deadlock with us).
    -- New rows only ever get a seq after the head, so the one thing that can have changed since
    -- the checks above is a late row of this month logged meanwhile: checked again under the
    -- lock, through the partition's primary key index.
    LOCK TABLE public.exchange_log IN ACCESS EXCLUSIVE MODE;
    EXECUTE pg_catalog.format('SELECT pg_catalog.max(seq) FROM public.%I', part) INTO part_max;
    IF part_max OPERATOR(pg_catalog.>) last_s THEN
        RAISE EXCEPTION 'retention refused: partition % holds seq %, after the archive''s last seq %', part, part_max, last_s;
    END IF;
    IF last_s OPERATOR(pg_catalog.>) 0 AND NOT EXISTS (
           SELECT 1 FROM public.exchange_checkpoint WHERE head_seq OPERATOR(pg_catalog.>=) last_s) THEN
        RAISE EXCEPTION 'retention refused: no signed checkpoint covers seq % yet (wait for the next checkpoint)', last_s;
    END IF;

    -- The log's writer continues the chain from the newest attached row (an empty log starts
    -- again at seq 1): a later row must stay attached, so the chain goes on after the archive.
    IF NOT EXISTS (SELECT 1 FROM public.exchange_log WHERE seq OPERATOR(pg_catalog.>) last_s) THEN
        RAISE EXCEPTION 'retention refused: no row after seq % is logged yet, and detaching % would leave the log empty (the writer would start the chain again at seq 1): wait for the next exchange', last_s, p_month;
    END IF;

    INSERT INTO public.exchange_retention (id, month, partition_name, dropped, after_seq, last_seq,
        row_count, prev_hash, last_row_hash, archive_file, archive_sha256, manifest,
        manifest_signature, archive_signer, os_user)
    VALUES (new_id, p_month, part, p_drop, after_s, last_s, n_rows, prev_h, last_h, p_archive_file,
            pg_catalog.lower(p_archive_sha256), p_manifest, p_manifest_signature, p_signer, p_os_user);
    EXECUTE pg_catalog.format('ALTER TABLE public.exchange_log DETACH PARTITION public.%I', part);
    IF p_drop THEN
        EXECUTE pg_catalog.format('DROP TABLE public.%I', part);
    END IF;
    RETURN new_id;
END $$;
REVOKE ALL ON FUNCTION public.exchange_log_retain(text, text, text, bytea, bytea, text, text, boolean) FROM PUBLIC;

-- Detaching or dropping a partition any other way is refused: at the end of an ALTER TABLE on
-- the log or a partition, a table carrying 0004's exchange_log_no_truncate trigger (every
-- partition has it) that is no longer a partition must be named by a retention record, and a
-- partition may not be renamed; a DROP that takes such a table with it (the log itself
-- included) must be of a table a retention record names. Created as in 0004: only
-- in a superuser's session (so pide_owner cannot change it), else a NOTICE.
DO $migration$
DECLARE
    migrating_role text := current_user;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) session_user) THEN
        RAISE NOTICE 'exchange_retention: not run by a superuser, so no event trigger refuses a month partition detached or dropped outside exchange_log_retain() (docs/exchange-log.md)';
        RETURN;
    END IF;
    RESET ROLE;
    EXECUTE $ddl$
CREATE FUNCTION public.exchange_log_refuse_unrecorded_detach() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text;
    relevant boolean := false;
BEGIN
    IF pg_catalog.to_regclass('public.exchange_log') IS NULL
       OR pg_catalog.to_regclass('public.exchange_retention') IS NULL THEN
        RETURN;
    END IF;
    -- Only commands on the log or on one of its (former) partitions, which all carry the
    -- exchange_log_no_truncate trigger of 0004.
    SELECT true INTO relevant FROM pg_catalog.pg_event_trigger_ddl_commands() c
    WHERE c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
      AND (c.objid OPERATOR(pg_catalog.=) 'public.exchange_log'::pg_catalog.regclass
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                      WHERE t.tgrelid OPERATOR(pg_catalog.=) c.objid
                        AND t.tgname OPERATOR(pg_catalog.=) 'exchange_log_no_truncate'))
    LIMIT 1;
    IF NOT COALESCE(relevant, false) THEN
        RETURN;
    END IF;
    -- A partition keeps its name (the retention record names it): no renaming a month away.
    FOR name IN
        SELECT c.relname::pg_catalog.text FROM pg_catalog.pg_inherits i
        JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
        WHERE i.inhparent OPERATOR(pg_catalog.=) 'public.exchange_log'::pg_catalog.regclass
          AND c.relname::pg_catalog.text OPERATOR(pg_catalog.!~) '^exchange_log_(y[0-9]{4}m[0-9]{2}|default)$'
          AND c.oid OPERATOR(pg_catalog.=) ANY (SELECT d.objid FROM pg_catalog.pg_event_trigger_ddl_commands() d)
    LOOP
        RAISE EXCEPTION 'exchange_log: partition % must keep its name exchange_log_yYYYYmMM (retention records name partitions)', name
            USING ERRCODE = 'insufficient_privilege';
    END LOOP;
    -- A table that was a partition (it carries the guard trigger) and is one no longer must be
    -- named by a retention record.
    FOR name IN
        SELECT c.relname::pg_catalog.text FROM pg_catalog.pg_trigger t
        JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.tgrelid
        WHERE t.tgname OPERATOR(pg_catalog.=) 'exchange_log_no_truncate'
          AND c.oid OPERATOR(pg_catalog.<>) 'public.exchange_log'::pg_catalog.regclass
          AND NOT c.relispartition
          AND NOT EXISTS (SELECT 1 FROM public.exchange_retention r
                          WHERE r.partition_name OPERATOR(pg_catalog.=) c.relname::pg_catalog.text)
    LOOP
        RAISE EXCEPTION 'exchange_log: partition % may leave the log only through the retention procedure (pide-audit detach, exchange_log_retain())', name
            USING ERRCODE = 'insufficient_privilege';
    END LOOP;
END $$;
$ddl$;
    EXECUTE $ddl$
CREATE FUNCTION public.exchange_log_refuse_unrecorded_drop() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d record;
    tbl text;
BEGIN
    IF pg_catalog.to_regclass('public.exchange_retention') IS NULL THEN
        RETURN;
    END IF;
    -- A table of the log (the parent or a partition, detached or not) goes with its
    -- exchange_log_no_truncate trigger: refused unless a retention record names it. Dropping
    -- the trigger alone is 0004's business (it is put back).
    FOR d IN SELECT * FROM pg_catalog.pg_event_trigger_dropped_objects() LOOP
        IF d.object_type OPERATOR(pg_catalog.=) 'trigger' AND NOT d.original
           AND d.object_identity OPERATOR(pg_catalog.~~) 'exchange_log_no_truncate on %' THEN
            tbl := pg_catalog.substr(d.object_identity, pg_catalog.length('exchange_log_no_truncate on ') + 1);
            IF NOT EXISTS (SELECT 1 FROM public.exchange_retention r
                           WHERE 'public.' OPERATOR(pg_catalog.||) r.partition_name OPERATOR(pg_catalog.=) tbl) THEN
                RAISE EXCEPTION 'exchange_log: % may be dropped only through the retention procedure (pide-audit detach --drop)', tbl
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        END IF;
    END LOOP;
END $$;
$ddl$;
    EXECUTE 'REVOKE ALL ON FUNCTION public.exchange_log_refuse_unrecorded_detach() FROM PUBLIC';
    EXECUTE 'REVOKE ALL ON FUNCTION public.exchange_log_refuse_unrecorded_drop() FROM PUBLIC';
    EXECUTE 'CREATE EVENT TRIGGER exchange_log_refuse_unrecorded_detach ON ddl_command_end '
            'WHEN TAG IN (''ALTER TABLE'') '
            'EXECUTE FUNCTION public.exchange_log_refuse_unrecorded_detach()';
    EXECUTE 'CREATE EVENT TRIGGER exchange_log_refuse_unrecorded_drop ON sql_drop '
            'EXECUTE FUNCTION public.exchange_log_refuse_unrecorded_drop()';
    EXECUTE pg_catalog.format('SET ROLE %I', migrating_role);
END $migration$;
