-- 0007_trace_context.sql — the W3C Trace Context of each exchange: the trace it belongs to
-- (the caller's `traceparent` trace-id, or one the gateway started) and the caller's parent-id,
-- so one consultation can be followed across agencies (docs/operations.md, "Tracing").
--
-- NOT covered by the row hash: rows keep hash_version 3 and exchange_log_row_hash() (0005) is
-- unchanged, so every existing row still verifies. The hash versions are "the columns of the
-- migration that introduced them"; these two come after prev_hash/row_hash and are in none of
-- them. Someone able to UPDATE behind disabled triggers could change a trace id without
-- breaking the chain: the trace columns are an operational index, not evidence (the known limit
-- in docs/exchange-log.md, "Trace columns"). Written by gateway/exchange_log.c. Every operator
-- is pg_catalog's and every object named by schema. Applied like every migration (sql/README.md).

-- Nullable without a default: a catalogue change, no partition is rewritten. A gateway that
-- predates this migration names its COPY columns, so it keeps writing (with these NULL).
ALTER TABLE public.exchange_log
    ADD COLUMN trace_id        text
        CHECK (trace_id OPERATOR(pg_catalog.~) '^[0-9a-f]{32}$'
               AND trace_id OPERATOR(pg_catalog.<>) '00000000000000000000000000000000'),
    ADD COLUMN trace_parent_id text
        CHECK (trace_parent_id OPERATOR(pg_catalog.~) '^[0-9a-f]{16}$'
               AND trace_parent_id OPERATOR(pg_catalog.<>) '0000000000000000');

-- "Everything this trace did here", in time order.
CREATE INDEX exchange_log_trace_id_idx ON public.exchange_log (trace_id, t_request_in);
