/* segment--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION segment" to load this file. \quit

--------------------------------------------------------------------------
-- RFM: per-customer summary
--------------------------------------------------------------------------

CREATE TYPE @extschema@.rfm_summary AS (
    recency_days integer,
    frequency bigint,
    monetary double precision,
    avg_amount double precision,
    first_at timestamptz,
    last_at timestamptz,
    repeat_periods integer,
    t_x_days integer,
    t_days integer,
    repeat_avg_amount double precision
);
COMMENT ON TYPE @extschema@.rfm_summary IS
'per-customer RFM and BTYD summary returned by rfm_summary';

CREATE FUNCTION @extschema@.rfm_summary_transfn(internal, timestamptz, numeric, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_rfm_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_summary_transfn(internal, timestamptz, numeric, timestamptz) IS
'transition function of rfm_summary (numeric amounts)';

CREATE FUNCTION @extschema@.rfm_summary_transfn(internal, timestamptz, double precision, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_rfm_transfn_float8'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_summary_transfn(internal, timestamptz, double precision, timestamptz) IS
'transition function of rfm_summary (double precision amounts)';

CREATE FUNCTION @extschema@.rfm_summary_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_rfm_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_summary_combinefn(internal, internal) IS
'combine function of rfm_summary';

CREATE FUNCTION @extschema@.rfm_summary_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'segment_rfm_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_summary_serialfn(internal) IS
'serialization function of rfm_summary';

CREATE FUNCTION @extschema@.rfm_summary_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_rfm_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_summary_deserialfn(bytea, internal) IS
'deserialization function of rfm_summary';

CREATE FUNCTION @extschema@.rfm_summary_finalfn(internal, timestamptz, numeric, timestamptz)
RETURNS @extschema@.rfm_summary
AS 'MODULE_PATHNAME', 'segment_rfm_finalfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_summary_finalfn(internal, timestamptz, numeric, timestamptz) IS
'final function of rfm_summary (numeric amounts)';

CREATE FUNCTION @extschema@.rfm_summary_finalfn(internal, timestamptz, double precision, timestamptz)
RETURNS @extschema@.rfm_summary
AS 'MODULE_PATHNAME', 'segment_rfm_finalfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_summary_finalfn(internal, timestamptz, double precision, timestamptz) IS
'final function of rfm_summary (double precision amounts)';

CREATE AGGREGATE @extschema@.rfm_summary(ordered_at timestamptz, amount numeric, as_of timestamptz) (
    SFUNC = @extschema@.rfm_summary_transfn,
    STYPE = internal,
    SSPACE = 96,
    FINALFUNC = @extschema@.rfm_summary_finalfn,
    FINALFUNC_EXTRA,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.rfm_summary_combinefn,
    SERIALFUNC = @extschema@.rfm_summary_serialfn,
    DESERIALFUNC = @extschema@.rfm_summary_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_summary(timestamptz, numeric, timestamptz) IS
'recency, frequency, monetary value and BTYD summary (x, t_x, T, zbar) of one customer''s orders as of a date';

CREATE AGGREGATE @extschema@.rfm_summary(ordered_at timestamptz, amount double precision, as_of timestamptz) (
    SFUNC = @extschema@.rfm_summary_transfn,
    STYPE = internal,
    SSPACE = 96,
    FINALFUNC = @extschema@.rfm_summary_finalfn,
    FINALFUNC_EXTRA,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.rfm_summary_combinefn,
    SERIALFUNC = @extschema@.rfm_summary_serialfn,
    DESERIALFUNC = @extschema@.rfm_summary_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_summary(timestamptz, double precision, timestamptz) IS
'recency, frequency, monetary value and BTYD summary (x, t_x, T, zbar) of one customer''s orders as of a date';

--------------------------------------------------------------------------
-- RFM: tie-aware quantile scores
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.rfm_score(value double precision, bins integer DEFAULT 5,
                                      higher_is_better boolean DEFAULT true)
RETURNS integer
AS 'MODULE_PATHNAME', 'segment_rfm_score'
LANGUAGE C IMMUTABLE WINDOW PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_score(double precision, integer, boolean) IS
'window function: quantile score 1..bins of value within its partition; equal values get equal scores';

CREATE FUNCTION @extschema@.quantile_breaks_transfn(internal, double precision, integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_quantile_breaks_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_breaks_transfn(internal, double precision, integer) IS
'transition function of quantile_breaks';

CREATE FUNCTION @extschema@.quantile_breaks_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_quantile_breaks_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_breaks_combinefn(internal, internal) IS
'combine function of quantile_breaks';

CREATE FUNCTION @extschema@.quantile_breaks_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'segment_quantile_breaks_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_breaks_serialfn(internal) IS
'serialization function of quantile_breaks';

CREATE FUNCTION @extschema@.quantile_breaks_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_quantile_breaks_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_breaks_deserialfn(bytea, internal) IS
'deserialization function of quantile_breaks';

CREATE FUNCTION @extschema@.quantile_breaks_finalfn(internal)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'segment_quantile_breaks_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_breaks_finalfn(internal) IS
'final function of quantile_breaks';

CREATE AGGREGATE @extschema@.quantile_breaks(value double precision, bins integer) (
    SFUNC = @extschema@.quantile_breaks_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.quantile_breaks_finalfn,
    -- the final function sorts the kept values in place: the multiset, and
    -- so the state's meaning, is unchanged and more rows may follow
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.quantile_breaks_combinefn,
    SERIALFUNC = @extschema@.quantile_breaks_serialfn,
    DESERIALFUNC = @extschema@.quantile_breaks_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.quantile_breaks(double precision, integer) IS
'the bins - 1 cut points that rfm_score uses, for scoring later rows with score()';

CREATE FUNCTION @extschema@.score(value double precision, breaks double precision[],
                                  higher_is_better boolean DEFAULT true)
RETURNS integer
AS 'MODULE_PATHNAME', 'segment_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.score(double precision, double precision[], boolean) IS
'quantile score of value against cut points from quantile_breaks (agrees with rfm_score)';

--------------------------------------------------------------------------
-- RFM: named segments
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.rfm_segment(r integer, f integer, m integer)
RETURNS text
AS 'MODULE_PATHNAME', 'segment_rfm_segment'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_segment(integer, integer, integer) IS
'named RFM segment (Champions ... Lost) of 1..5 scores from the default R x FM map';

CREATE FUNCTION @extschema@.rfm_segment(r integer, f integer, m integer, segment_map text[])
RETURNS text
AS 'MODULE_PATHNAME', 'segment_rfm_segment_custom'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_segment(integer, integer, integer, text[]) IS
'named RFM segment of 1..5 scores from a user map text[5][5] indexed [r][fm]';

CREATE FUNCTION @extschema@.rfm_segment_map()
RETURNS text[]
AS 'MODULE_PATHNAME', 'segment_rfm_segment_map'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_segment_map() IS
'the default RFM segment map as text[5][5] indexed [r][fm], fm = round((f + m) / 2)';

--------------------------------------------------------------------------
-- k-means (issue 3) : section owned by the k-means work
--------------------------------------------------------------------------

--------------------------------------------------------------------------
-- Customer lifetime value (issue 6) : section owned by the CLV work
--------------------------------------------------------------------------
