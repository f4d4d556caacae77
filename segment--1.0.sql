/* segment--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION segment" to load this file. \quit

-- Analysts call these functions as ordinary roles: the schema is usable by
-- everyone (functions are executable by PUBLIC, as for any function).
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

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

CREATE TYPE @extschema@.segment_model;

CREATE FUNCTION @extschema@.segment_model_in(cstring)
RETURNS @extschema@.segment_model
AS 'MODULE_PATHNAME', 'segment_model_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_model_in(cstring) IS
'input function of segment_model (JSON text)';

CREATE FUNCTION @extschema@.segment_model_out(@extschema@.segment_model)
RETURNS cstring
AS 'MODULE_PATHNAME', 'segment_model_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_model_out(@extschema@.segment_model) IS
'output function of segment_model (JSON text that round-trips exactly)';

CREATE FUNCTION @extschema@.segment_model_recv(internal)
RETURNS @extschema@.segment_model
AS 'MODULE_PATHNAME', 'segment_model_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_model_recv(internal) IS
'binary input function of segment_model';

CREATE FUNCTION @extschema@.segment_model_send(@extschema@.segment_model)
RETURNS bytea
AS 'MODULE_PATHNAME', 'segment_model_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_model_send(@extschema@.segment_model) IS
'binary output function of segment_model';

CREATE TYPE @extschema@.segment_model (
    INPUT = @extschema@.segment_model_in,
    OUTPUT = @extschema@.segment_model_out,
    RECEIVE = @extschema@.segment_model_recv,
    SEND = @extschema@.segment_model_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.segment_model IS
'a fitted k-means model: centroids, scaling, transforms, feature names, fit metrics and options';

CREATE FUNCTION @extschema@.segment_model_jsonb(@extschema@.segment_model)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'segment_model_jsonb'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_model_jsonb(@extschema@.segment_model) IS
'the JSON form of a segment_model as jsonb (used by the cast)';

CREATE CAST (@extschema@.segment_model AS jsonb)
    WITH FUNCTION @extschema@.segment_model_jsonb(@extschema@.segment_model);
COMMENT ON CAST (@extschema@.segment_model AS jsonb) IS
'the JSON form of a segment_model';

CREATE FUNCTION @extschema@.kmeans_fit_transfn(internal, double precision[], integer, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kmeans_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_fit_transfn(internal, double precision[], integer, jsonb) IS
'transition function of kmeans_fit';

CREATE FUNCTION @extschema@.kmeans_fit_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kmeans_fit_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_fit_combinefn(internal, internal) IS
'combine function of kmeans_fit';

CREATE FUNCTION @extschema@.kmeans_fit_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'segment_kmeans_fit_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_fit_serialfn(internal) IS
'serialization function of kmeans_fit';

CREATE FUNCTION @extschema@.kmeans_fit_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kmeans_fit_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_fit_deserialfn(bytea, internal) IS
'deserialization function of kmeans_fit';

CREATE FUNCTION @extschema@.kmeans_fit_finalfn(internal)
RETURNS @extschema@.segment_model
AS 'MODULE_PATHNAME', 'segment_kmeans_fit_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_fit_finalfn(internal) IS
'final function of kmeans_fit: runs k-means on the collected rows';

CREATE FUNCTION @extschema@.kmeans_fit_transfn(internal, double precision[], integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kmeans_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_fit_transfn(internal, double precision[], integer) IS
'transition function of kmeans_fit without options';

CREATE AGGREGATE @extschema@.kmeans_fit(features double precision[], k integer, options jsonb) (
    SFUNC = @extschema@.kmeans_fit_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.kmeans_fit_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = @extschema@.kmeans_fit_combinefn,
    SERIALFUNC = @extschema@.kmeans_fit_serialfn,
    DESERIALFUNC = @extschema@.kmeans_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kmeans_fit(double precision[], integer, jsonb) IS
'fit a k-means segment_model on feature rows (options named like scikit-learn: seed, n_init, max_iter, tol, init, scale, transform, feature_names, verbose)';

-- aggregates take no DEFAULT arguments, so the two-argument form is its own aggregate
CREATE AGGREGATE @extschema@.kmeans_fit(features double precision[], k integer) (
    SFUNC = @extschema@.kmeans_fit_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.kmeans_fit_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = @extschema@.kmeans_fit_combinefn,
    SERIALFUNC = @extschema@.kmeans_fit_serialfn,
    DESERIALFUNC = @extschema@.kmeans_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kmeans_fit(double precision[], integer) IS
'fit a k-means segment_model on feature rows with default options (zscore scaling, k-means++, n_init 10, seed 0)';

CREATE FUNCTION @extschema@.kmeans(features double precision[], k integer,
                                   options jsonb DEFAULT '{}')
RETURNS integer
AS 'MODULE_PATHNAME', 'segment_kmeans_window'
LANGUAGE C IMMUTABLE WINDOW PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans(double precision[], integer, jsonb) IS
'window function: segment 1..k of each row from a k-means model fitted on its partition';

CREATE FUNCTION @extschema@.assign_segment(model @extschema@.segment_model,
                                           features double precision[])
RETURNS integer
AS 'MODULE_PATHNAME', 'segment_assign_segment'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.assign_segment(@extschema@.segment_model, double precision[]) IS
'segment 1..k of the nearest model centroid, after the model''s transforms and scaling';

CREATE FUNCTION @extschema@.segment_distances(model @extschema@.segment_model,
                                              features double precision[])
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'segment_segment_distances'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_distances(@extschema@.segment_model, double precision[]) IS
'Euclidean distance (in the model''s scaled space) from features to each segment centroid, indexed by segment';

CREATE FUNCTION @extschema@.model_centroids(model @extschema@.segment_model,
                                            OUT segment integer,
                                            OUT centroid double precision[],
                                            OUT size bigint,
                                            OUT share double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'segment_model_centroids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.model_centroids(@extschema@.segment_model) IS
'one row per segment: centroid in original units, training rows, share of training rows';

CREATE FUNCTION @extschema@.model_summary(model @extschema@.segment_model)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'segment_model_summary'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.model_summary(@extschema@.segment_model) IS
'readable summary of a segment_model: fit metrics, options, features, segments with centroids in original units';

--------------------------------------------------------------------------
-- Customer lifetime value (issue 6) : section owned by the CLV work
--------------------------------------------------------------------------

CREATE TYPE @extschema@.clv_model;

CREATE FUNCTION @extschema@.clv_model_in(cstring)
RETURNS @extschema@.clv_model
AS 'MODULE_PATHNAME', 'segment_clv_model_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_model_in(cstring) IS
'input function of clv_model (JSON text)';

CREATE FUNCTION @extschema@.clv_model_out(@extschema@.clv_model)
RETURNS cstring
AS 'MODULE_PATHNAME', 'segment_clv_model_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_model_out(@extschema@.clv_model) IS
'output function of clv_model (JSON text)';

CREATE FUNCTION @extschema@.clv_model_recv(internal)
RETURNS @extschema@.clv_model
AS 'MODULE_PATHNAME', 'segment_clv_model_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_model_recv(internal) IS
'binary input function of clv_model';

CREATE FUNCTION @extschema@.clv_model_send(@extschema@.clv_model)
RETURNS bytea
AS 'MODULE_PATHNAME', 'segment_clv_model_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_model_send(@extschema@.clv_model) IS
'binary output function of clv_model';

CREATE TYPE @extschema@.clv_model (
    INPUT = @extschema@.clv_model_in,
    OUTPUT = @extschema@.clv_model_out,
    RECEIVE = @extschema@.clv_model_recv,
    SEND = @extschema@.clv_model_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE @extschema@.clv_model IS
'fitted BG/NBD, Pareto/NBD or Gamma-Gamma customer lifetime value model; text form is JSON';

CREATE FUNCTION @extschema@.clv_model_jsonb(@extschema@.clv_model)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'segment_clv_model_jsonb'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_model_jsonb(@extschema@.clv_model) IS
'the model as jsonb (same document as its text form)';

CREATE CAST (@extschema@.clv_model AS jsonb)
    WITH FUNCTION @extschema@.clv_model_jsonb(@extschema@.clv_model);
COMMENT ON CAST (@extschema@.clv_model AS jsonb) IS
'clv_model as jsonb';

-- fitting aggregates: one transition per model kind, shared combine/serialize/final

CREATE FUNCTION @extschema@.bgnbd_fit_transfn(internal, double precision, double precision, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_bgnbd_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_fit_transfn(internal, double precision, double precision, double precision) IS
'transition function of bgnbd_fit';

CREATE FUNCTION @extschema@.bgnbd_fit_transfn(internal, double precision, double precision, double precision, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_bgnbd_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_fit_transfn(internal, double precision, double precision, double precision, jsonb) IS
'transition function of bgnbd_fit with options';

CREATE FUNCTION @extschema@.pareto_nbd_fit_transfn(internal, double precision, double precision, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_pareto_nbd_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.pareto_nbd_fit_transfn(internal, double precision, double precision, double precision) IS
'transition function of pareto_nbd_fit';

CREATE FUNCTION @extschema@.pareto_nbd_fit_transfn(internal, double precision, double precision, double precision, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_pareto_nbd_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.pareto_nbd_fit_transfn(internal, double precision, double precision, double precision, jsonb) IS
'transition function of pareto_nbd_fit with options';

CREATE FUNCTION @extschema@.gamma_gamma_fit_transfn(internal, double precision, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_gamma_gamma_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gamma_gamma_fit_transfn(internal, double precision, double precision) IS
'transition function of gamma_gamma_fit';

CREATE FUNCTION @extschema@.gamma_gamma_fit_transfn(internal, double precision, double precision, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_gamma_gamma_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gamma_gamma_fit_transfn(internal, double precision, double precision, jsonb) IS
'transition function of gamma_gamma_fit with options';

CREATE FUNCTION @extschema@.clv_fit_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_clv_fit_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_fit_combinefn(internal, internal) IS
'combine function of bgnbd_fit, pareto_nbd_fit and gamma_gamma_fit';

CREATE FUNCTION @extschema@.clv_fit_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'segment_clv_fit_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_fit_serialfn(internal) IS
'serialization function of bgnbd_fit, pareto_nbd_fit and gamma_gamma_fit';

CREATE FUNCTION @extschema@.clv_fit_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_clv_fit_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_fit_deserialfn(bytea, internal) IS
'deserialization function of bgnbd_fit, pareto_nbd_fit and gamma_gamma_fit';

CREATE FUNCTION @extschema@.clv_fit_finalfn(internal)
RETURNS @extschema@.clv_model
AS 'MODULE_PATHNAME', 'segment_clv_fit_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_fit_finalfn(internal) IS
'final function of bgnbd_fit, pareto_nbd_fit and gamma_gamma_fit: maximum-likelihood fit';

CREATE AGGREGATE @extschema@.bgnbd_fit(x double precision, t_x double precision, t double precision) (
    SFUNC = @extschema@.bgnbd_fit_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.clv_fit_finalfn,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_fit_combinefn,
    SERIALFUNC = @extschema@.clv_fit_serialfn,
    DESERIALFUNC = @extschema@.clv_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.bgnbd_fit(double precision, double precision, double precision) IS
'BG/NBD model (Fader, Hardie & Lee 2005) fitted by maximum likelihood to per-customer (x, t_x, T) summaries';

CREATE AGGREGATE @extschema@.bgnbd_fit(x double precision, t_x double precision, t double precision, options jsonb) (
    SFUNC = @extschema@.bgnbd_fit_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.clv_fit_finalfn,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_fit_combinefn,
    SERIALFUNC = @extschema@.clv_fit_serialfn,
    DESERIALFUNC = @extschema@.clv_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.bgnbd_fit(double precision, double precision, double precision, jsonb) IS
'BG/NBD model (Fader, Hardie & Lee 2005) fitted by maximum likelihood to per-customer (x, t_x, T) summaries (with options)';

CREATE AGGREGATE @extschema@.pareto_nbd_fit(x double precision, t_x double precision, t double precision) (
    SFUNC = @extschema@.pareto_nbd_fit_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.clv_fit_finalfn,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_fit_combinefn,
    SERIALFUNC = @extschema@.clv_fit_serialfn,
    DESERIALFUNC = @extschema@.clv_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.pareto_nbd_fit(double precision, double precision, double precision) IS
'Pareto/NBD model (Schmittlein, Morrison & Colombo 1987) fitted by maximum likelihood to per-customer (x, t_x, T) summaries';

CREATE AGGREGATE @extschema@.pareto_nbd_fit(x double precision, t_x double precision, t double precision, options jsonb) (
    SFUNC = @extschema@.pareto_nbd_fit_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.clv_fit_finalfn,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_fit_combinefn,
    SERIALFUNC = @extschema@.clv_fit_serialfn,
    DESERIALFUNC = @extschema@.clv_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.pareto_nbd_fit(double precision, double precision, double precision, jsonb) IS
'Pareto/NBD model (Schmittlein, Morrison & Colombo 1987) fitted by maximum likelihood to per-customer (x, t_x, T) summaries (with options)';

CREATE AGGREGATE @extschema@.gamma_gamma_fit(x double precision, avg_amount double precision) (
    SFUNC = @extschema@.gamma_gamma_fit_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.clv_fit_finalfn,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_fit_combinefn,
    SERIALFUNC = @extschema@.clv_fit_serialfn,
    DESERIALFUNC = @extschema@.clv_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.gamma_gamma_fit(double precision, double precision) IS
'Gamma-Gamma spend model (Fader, Hardie & Lee 2005) fitted by maximum likelihood to repeat buyers, from (x, mean repeat spend); x = 0 rows are skipped';

CREATE AGGREGATE @extschema@.gamma_gamma_fit(x double precision, avg_amount double precision, options jsonb) (
    SFUNC = @extschema@.gamma_gamma_fit_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.clv_fit_finalfn,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_fit_combinefn,
    SERIALFUNC = @extschema@.clv_fit_serialfn,
    DESERIALFUNC = @extschema@.clv_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.gamma_gamma_fit(double precision, double precision, jsonb) IS
'Gamma-Gamma spend model (Fader, Hardie & Lee 2005) fitted by maximum likelihood to repeat buyers, from (x, mean repeat spend); x = 0 rows are skipped (with options)';

-- predictions

CREATE FUNCTION @extschema@.clv_expected_purchases(model @extschema@.clv_model, horizon double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'segment_clv_expected_purchases'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_expected_purchases(@extschema@.clv_model, double precision) IS
'expected purchases of a new customer in its first horizon periods (BG/NBD or Pareto/NBD)';

CREATE FUNCTION @extschema@.clv_conditional_purchases(model @extschema@.clv_model, x double precision,
                                                      t_x double precision, t double precision,
                                                      horizon double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'segment_clv_conditional_purchases'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_conditional_purchases(@extschema@.clv_model, double precision, double precision, double precision, double precision) IS
'expected purchases in the next horizon periods of a customer with summary (x, t_x, t)';

CREATE FUNCTION @extschema@.clv_probability_alive(model @extschema@.clv_model, x double precision,
                                                  t_x double precision, t double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'segment_clv_probability_alive'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_probability_alive(@extschema@.clv_model, double precision, double precision, double precision) IS
'probability that a customer with summary (x, t_x, t) is still active';

CREATE FUNCTION @extschema@.clv_expected_spend(model @extschema@.clv_model, x double precision,
                                               avg_amount double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'segment_clv_expected_spend'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_expected_spend(@extschema@.clv_model, double precision, double precision) IS
'Gamma-Gamma conditional expected average spend of a customer with x repeat purchases of mean avg_amount';

CREATE FUNCTION @extschema@.clv_lifetime_value(purchases @extschema@.clv_model, spend @extschema@.clv_model,
                                               x double precision, t_x double precision, t double precision,
                                               avg_amount double precision, months integer DEFAULT 12,
                                               discount_rate double precision DEFAULT 0.01)
RETURNS double precision
AS 'MODULE_PATHNAME', 'segment_clv_lifetime_value'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_lifetime_value(@extschema@.clv_model, @extschema@.clv_model, double precision, double precision, double precision, double precision, integer, double precision) IS
'customer lifetime value: expected spend over the next months, discounted monthly at discount_rate';
