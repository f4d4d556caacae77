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
'fit a k-means segment_model on feature rows (options named like scikit-learn: seed, n_init, max_iter, tol, init, scale, transform, feature_names, verbose, min_segment_share)';

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
-- Segment quality (issue 4) : section owned by the segment quality work
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.kmeans_evaluate_transfn(internal, double precision[], @extschema@.segment_model)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kmeans_evaluate_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_evaluate_transfn(internal, double precision[], @extschema@.segment_model) IS
'transition function of kmeans_evaluate';

CREATE FUNCTION @extschema@.kmeans_evaluate_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kmeans_evaluate_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_evaluate_combinefn(internal, internal) IS
'combine function of kmeans_evaluate';

CREATE FUNCTION @extschema@.kmeans_evaluate_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'segment_kmeans_evaluate_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_evaluate_serialfn(internal) IS
'serialization function of kmeans_evaluate';

CREATE FUNCTION @extschema@.kmeans_evaluate_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kmeans_evaluate_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_evaluate_deserialfn(bytea, internal) IS
'deserialization function of kmeans_evaluate';

CREATE FUNCTION @extschema@.kmeans_evaluate_finalfn(internal)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'segment_kmeans_evaluate_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_evaluate_finalfn(internal) IS
'final function of kmeans_evaluate: metrics as jsonb';

CREATE AGGREGATE @extschema@.kmeans_evaluate(features double precision[], model @extschema@.segment_model) (
    SFUNC = @extschema@.kmeans_evaluate_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.kmeans_evaluate_finalfn,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.kmeans_evaluate_combinefn,
    SERIALFUNC = @extschema@.kmeans_evaluate_serialfn,
    DESERIALFUNC = @extschema@.kmeans_evaluate_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kmeans_evaluate(double precision[], @extschema@.segment_model) IS
'quality of a segment_model on feature rows: inertia, silhouette (exact up to 10000 rows, stratified sample above), Davies-Bouldin, Calinski-Harabasz, sizes, as jsonb';

CREATE FUNCTION @extschema@.kmeans_sweep_transfn(internal, double precision[], integer, integer, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kmeans_sweep_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_sweep_transfn(internal, double precision[], integer, integer, jsonb) IS
'transition function of kmeans_sweep';

CREATE FUNCTION @extschema@.kmeans_sweep_transfn(internal, double precision[], integer, integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kmeans_sweep_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_sweep_transfn(internal, double precision[], integer, integer) IS
'transition function of kmeans_sweep without options';

CREATE FUNCTION @extschema@.kmeans_sweep_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kmeans_sweep_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_sweep_combinefn(internal, internal) IS
'combine function of kmeans_sweep';

CREATE FUNCTION @extschema@.kmeans_sweep_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'segment_kmeans_sweep_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_sweep_serialfn(internal) IS
'serialization function of kmeans_sweep';

CREATE FUNCTION @extschema@.kmeans_sweep_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kmeans_sweep_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_sweep_deserialfn(bytea, internal) IS
'deserialization function of kmeans_sweep';

CREATE FUNCTION @extschema@.kmeans_sweep_finalfn(internal)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'segment_kmeans_sweep_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_sweep_finalfn(internal) IS
'final function of kmeans_sweep: fits every k and recommends one';

CREATE AGGREGATE @extschema@.kmeans_sweep(features double precision[], k_min integer, k_max integer, options jsonb) (
    SFUNC = @extschema@.kmeans_sweep_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.kmeans_sweep_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = @extschema@.kmeans_sweep_combinefn,
    SERIALFUNC = @extschema@.kmeans_sweep_serialfn,
    DESERIALFUNC = @extschema@.kmeans_sweep_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kmeans_sweep(double precision[], integer, integer, jsonb) IS
'fit k-means for every k in [k_min, k_max] in one scan; per-k inertia, silhouette, Davies-Bouldin, Calinski-Harabasz, smallest share, and a recommended k (highest silhouette above the size floor min_segment_share, default 0.02)';

-- aggregates take no DEFAULT arguments, so the form without options is its own aggregate
CREATE AGGREGATE @extschema@.kmeans_sweep(features double precision[], k_min integer, k_max integer) (
    SFUNC = @extschema@.kmeans_sweep_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.kmeans_sweep_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = @extschema@.kmeans_sweep_combinefn,
    SERIALFUNC = @extschema@.kmeans_sweep_serialfn,
    DESERIALFUNC = @extschema@.kmeans_sweep_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kmeans_sweep(double precision[], integer, integer) IS
'kmeans_sweep with default options';

CREATE FUNCTION @extschema@.segment_profile(model @extschema@.segment_model,
                                            feature_names text[] DEFAULT NULL,
                                            OUT segment integer,
                                            OUT size bigint,
                                            OUT share double precision,
                                            OUT centroid double precision[],
                                            OUT deviation double precision[],
                                            OUT description text,
                                            OUT rfm_segment text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'segment_segment_profile'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.segment_profile(@extschema@.segment_model, text[]) IS
'one row per segment: size, share, centroid in original units, standardized deviation of each feature from the population (scale zscore; scaler units otherwise), a short description, and the nearest named RFM segment when the features are recency, frequency, monetary';

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

--------------------------------------------------------------------------
-- Managed segmentations (issue 5)
--------------------------------------------------------------------------
-- A segmentation is defined once (source relation, key column, feature
-- columns, k, options) and refreshed on demand or by pg_cron.  Every
-- refresh is one transaction: it fits a model, matches the new centroids
-- to the previous run's (Hungarian algorithm, match_segments) so segment
-- ids keep their meaning, writes every customer's assignment under a new
-- run id, and finally moves segmentations.current_run to that run.  Until
-- it commits nobody sees the new run; if it is cancelled or killed the
-- previous run stays current, complete and untouched.
--
-- Privileges: no function is SECURITY DEFINER.  The catalog tables are
-- writable by PUBLIC but protected by row-level security: a role sees and
-- changes only segmentations owned by a role it is a member of (and their
-- runs and assignments).  The source is read with the caller's rights, so
-- its own privileges and row-level security apply.
--
-- Functions written in PL/pgSQL pin search_path to pg_catalog first, then
-- the extension's schema (writable only by its owner), then pg_temp; user
-- objects are only reached through format('%I')/regclass-quoted names.

CREATE TABLE @extschema@.segmentations (
    segmentation_id serial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (name OPERATOR(pg_catalog.<>) ''),
    owner regrole NOT NULL DEFAULT (CURRENT_USER)::regrole,
    source regclass NOT NULL,
    key_column text NOT NULL,
    features text[] NOT NULL,
    k integer NOT NULL,
    options jsonb NOT NULL DEFAULT '{}',
    current_run bigint,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.segmentations IS
'managed segmentations: definition (source, key, features, k, options), owner and current run';
COMMENT ON SEQUENCE @extschema@.segmentations_segmentation_id_seq IS
'ids of managed segmentations (advisory lock keys)';

CREATE TABLE @extschema@.runs (
    run_id bigserial PRIMARY KEY,
    segmentation text NOT NULL REFERENCES @extschema@.segmentations (name)
        ON UPDATE CASCADE ON DELETE CASCADE,
    previous_run bigint,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    duration interval,
    customers bigint,
    new_customers bigint,
    removed_customers bigint,
    changed bigint,
    k integer NOT NULL,
    inertia double precision,
    silhouette double precision,
    mean_centroid_shift double precision,
    appeared integer[],
    vanished integer[],
    model @extschema@.segment_model NOT NULL,
    segment_ids integer[] NOT NULL,
    steps jsonb,
    refreshed_by name NOT NULL DEFAULT CURRENT_USER
);
CREATE INDEX ON @extschema@.runs (segmentation, run_id);
COMMENT ON TABLE @extschema@.runs IS
'one row per refresh of a managed segmentation: model, stable ids of its segments, quality and drift, step timings';
COMMENT ON SEQUENCE @extschema@.runs_run_id_seq IS
'run ids of managed segmentations';

CREATE TABLE @extschema@.run_segments (
    run_id bigint NOT NULL REFERENCES @extschema@.runs ON DELETE CASCADE,
    segment_id integer NOT NULL,
    model_segment integer NOT NULL,
    customers bigint NOT NULL,
    centroid double precision[] NOT NULL,
    description text NOT NULL,
    PRIMARY KEY (run_id, segment_id)
);
COMMENT ON TABLE @extschema@.run_segments IS
'segments of each run: stable id, segment of the model, size, centroid in original units, description';

-- Every run's assignments, one row per customer and run; the current
-- assignments are the rows of segmentations.current_run.  No foreign key
-- and no (run_id, customer_key) primary key: checking either per row would
-- double the cost of a refresh.  refresh() checks that keys are unique
-- (or that a unique index of the source guarantees it), keeps the table
-- consistent, and drop_segmentation deletes a segmentation's rows.  The
-- index on run_id alone is cheap to maintain (rows of a run arrive
-- together, equal keys are deduplicated) and finds one run's rows.
CREATE TABLE @extschema@.assignment_history (
    run_id bigint NOT NULL,
    customer_key text NOT NULL,
    segment_id integer NOT NULL,
    previous_segment_id integer,
    since timestamptz NOT NULL
);
CREATE INDEX assignment_history_run_id_idx ON @extschema@.assignment_history (run_id);
COMMENT ON TABLE @extschema@.assignment_history IS
'segment of every customer in every run; previous_segment_id is its segment in the previous run (NULL if new), since when it has been in this segment';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.segmentations', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segmentations_segmentation_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.runs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.run_segments', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.assignment_history', '');

-- row-level security: members of a segmentation's owner role only
ALTER TABLE @extschema@.segmentations ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.run_segments ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.assignment_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY segmentations_owner ON @extschema@.segmentations
    USING (pg_catalog.pg_has_role(owner, 'USAGE'));
CREATE POLICY runs_owner ON @extschema@.runs
    USING (segmentation OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT s.name FROM @extschema@.segmentations s)));
CREATE POLICY run_segments_owner ON @extschema@.run_segments
    USING (run_id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.run_id FROM @extschema@.runs r)));
CREATE POLICY assignment_history_owner ON @extschema@.assignment_history
    USING (run_id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.run_id FROM @extschema@.runs r)));
-- Run ids cannot be forged: a new run must carry the id this session just
-- drew from runs_run_id_seq, and run_id is not updatable.  Since every
-- run_segments and assignment_history row must name a run its writer can
-- see, nobody can plant rows under a run id that another role's refresh
-- will draw later.  (One check per refresh, not per assignment row.)
CREATE FUNCTION @extschema@.current_run_id()
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$ SELECT pg_catalog.currval('runs_run_id_seq') $$;
COMMENT ON FUNCTION @extschema@.current_run_id() IS
'the run id this session last drew (currval of runs_run_id_seq); the runs insert policy requires it';
CREATE POLICY runs_fresh_id ON @extschema@.runs AS RESTRICTIVE FOR INSERT
    WITH CHECK (run_id OPERATOR(pg_catalog.=) @extschema@.current_run_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.segmentations,
    @extschema@.run_segments, @extschema@.assignment_history TO PUBLIC;
GRANT SELECT, INSERT, DELETE ON @extschema@.runs TO PUBLIC;
GRANT UPDATE (finished_at, duration, customers, new_customers, removed_customers, changed,
              silhouette, steps) ON @extschema@.runs TO PUBLIC;
GRANT USAGE, SELECT ON SEQUENCE @extschema@.segmentations_segmentation_id_seq,
    @extschema@.runs_run_id_seq TO PUBLIC;

-- C helpers

CREATE FUNCTION @extschema@.match_segments(old_model @extschema@.segment_model,
                                           new_model @extschema@.segment_model,
                                           OUT new_segment integer,
                                           OUT old_segment integer,
                                           OUT distance double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'segment_match_segments'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.match_segments(@extschema@.segment_model, @extschema@.segment_model) IS
'optimal one-to-one matching (Hungarian algorithm) of new_model''s segments to old_model''s on centroid distance in new_model''s scaled space; unmatched segments get NULL on the other side';

CREATE FUNCTION @extschema@.sampled_silhouette(model @extschema@.segment_model,
                                               points double precision[])
RETURNS double precision
AS 'MODULE_PATHNAME', 'segment_sampled_silhouette'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sampled_silhouette(@extschema@.segment_model, double precision[]) IS
'mean silhouette of the rows of a two-dimensional array of points (original units), labelled by the model; O(rows^2), for samples';

-- Validate a definition; returns the options with defaults filled in.
CREATE FUNCTION @extschema@.segmentation_validate(source regclass, key text,
                                                  features text[], k integer,
                                                  options jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $fn$
DECLARE
    v_managed constant text[] := ARRAY['exclude', 'labels', 'silhouette_sample'];
    v_fit jsonb;
    v_key text;
    v_type regtype;
    v_f text;
    v_dummy segment_model;
BEGIN
    IF source IS NULL OR key IS NULL OR features IS NULL OR k IS NULL OR options IS NULL THEN
        RAISE EXCEPTION 'source, key, features, k and options must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = source
                   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) THEN
        RAISE EXCEPTION 'source % is not a table, view, materialized view or foreign table', source
            USING ERRCODE = '42809';
    END IF;
    IF k < 1 OR k > 10000 THEN
        RAISE EXCEPTION 'number of clusters must be between 1 and 10000'
            USING ERRCODE = '22023';
    END IF;
    IF array_ndims(features) IS DISTINCT FROM 1 OR array_position(features, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'features must be a non-empty one-dimensional array of column names without NULL'
            USING ERRCODE = '2202E';
    END IF;
    IF (SELECT count(DISTINCT f) FROM unnest(features) f) <> cardinality(features) THEN
        RAISE EXCEPTION 'features must be distinct column names' USING ERRCODE = '22023';
    END IF;
    IF jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023';
    END IF;

    -- key: any column type (kept as text)
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = source AND a.attname = key
                   AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'column % of % does not exist', quote_ident(key), source
            USING ERRCODE = '42703';
    END IF;
    -- features: numeric columns
    FOREACH v_f IN ARRAY features LOOP
        SELECT a.atttypid::regtype INTO v_type FROM pg_attribute a
        WHERE a.attrelid = source AND a.attname = v_f AND a.attnum > 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'column % of % does not exist', quote_ident(v_f), source
                USING ERRCODE = '42703';
        END IF;
        IF v_type NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'real'::regtype,
                          'double precision'::regtype, 'numeric'::regtype) THEN
            RAISE EXCEPTION 'feature column % of % has type %, not a number', quote_ident(v_f), source, v_type
                USING ERRCODE = '42804';
        END IF;
    END LOOP;
    -- managed options
    IF options ? 'exclude' THEN
        IF jsonb_typeof(options -> 'exclude') <> 'string' THEN
            RAISE EXCEPTION 'option "exclude" must be a column name (string)' USING ERRCODE = '22023';
        END IF;
        SELECT a.atttypid::regtype INTO v_type FROM pg_attribute a
        WHERE a.attrelid = source AND a.attname = options ->> 'exclude' AND a.attnum > 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'column % of % does not exist', quote_ident(options ->> 'exclude'), source
                USING ERRCODE = '42703';
        END IF;
        IF v_type <> 'boolean'::regtype THEN
            RAISE EXCEPTION 'exclude column % must be boolean, not %', quote_ident(options ->> 'exclude'), v_type
                USING ERRCODE = '42804';
        END IF;
    END IF;
    IF options ? 'labels' AND jsonb_typeof(options -> 'labels') <> 'object' THEN
        RAISE EXCEPTION 'option "labels" must be an object {"segment id": "name"}' USING ERRCODE = '22023';
    END IF;
    IF options ? 'silhouette_sample' AND (jsonb_typeof(options -> 'silhouette_sample') <> 'number'
        OR (options ->> 'silhouette_sample')::numeric NOT BETWEEN 0 AND 100000
        OR (options ->> 'silhouette_sample')::numeric % 1 <> 0) THEN
        RAISE EXCEPTION 'option "silhouette_sample" must be an integer between 0 and 100000' USING ERRCODE = '22023';
    END IF;
    -- everything else goes to kmeans_fit, which checks it on a dummy fit
    v_fit := options - v_managed;
    IF NOT v_fit ? 'feature_names' THEN
        v_fit := v_fit || jsonb_build_object('feature_names', to_jsonb(features));
    END IF;
    SELECT kmeans_fit(array_fill(i::float8, ARRAY[cardinality(features)]), k, v_fit)
    INTO v_dummy FROM generate_series(1, k) i;
    RETURN v_fit;
END
$fn$;
COMMENT ON FUNCTION @extschema@.segmentation_validate(regclass, text, text[], integer, jsonb) IS
'check a managed segmentation''s definition (columns exist and are numeric, options valid); returns the kmeans_fit options';

CREATE FUNCTION @extschema@.create_segmentation(name text, source regclass, key text,
                                                features text[], k integer,
                                                options jsonb DEFAULT '{}')
RETURNS @extschema@.segmentations
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $fn$
DECLARE
    v_row segmentations;
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'segmentation name must not be empty' USING ERRCODE = '22023';
    END IF;
    PERFORM segmentation_validate(source, key, features, k, options);
    IF NOT has_table_privilege(source, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for %', source USING ERRCODE = '42501';
    END IF;
    INSERT INTO segmentations AS s (name, source, key_column, features, k, options)
    VALUES (create_segmentation.name, create_segmentation.source, create_segmentation.key,
            create_segmentation.features, create_segmentation.k, create_segmentation.options)
    RETURNING s.* INTO v_row;
    RETURN v_row;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'segmentation "%" already exists', create_segmentation.name USING ERRCODE = '42710';
END
$fn$;
COMMENT ON FUNCTION @extschema@.create_segmentation(text, regclass, text, text[], integer, jsonb) IS
'register a managed segmentation of source (table or view) by key, over the numeric feature columns, with k segments; refresh() fits it';

CREATE FUNCTION @extschema@.alter_segmentation(name text, new_name text DEFAULT NULL,
                                               source regclass DEFAULT NULL, key text DEFAULT NULL,
                                               features text[] DEFAULT NULL, k integer DEFAULT NULL,
                                               options jsonb DEFAULT NULL)
RETURNS @extschema@.segmentations
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $fn$
DECLARE
    v_old segmentations;
    v_row segmentations;
BEGIN
    SELECT * INTO v_old FROM segmentations s WHERE s.name = alter_segmentation.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segmentation "%" does not exist', alter_segmentation.name USING ERRCODE = '42704';
    END IF;
    -- wait for a running refresh, so it does not finish with the old definition
    PERFORM pg_advisory_xact_lock(1397049165, v_old.segmentation_id);
    PERFORM segmentation_validate(coalesce(source, v_old.source), coalesce(key, v_old.key_column),
                                  coalesce(features, v_old.features), coalesce(k, v_old.k),
                                  coalesce(options, v_old.options));
    IF new_name = '' THEN
        RAISE EXCEPTION 'segmentation name must not be empty' USING ERRCODE = '22023';
    END IF;
    UPDATE segmentations s
    SET name = coalesce(new_name, s.name), source = coalesce(alter_segmentation.source, s.source),
        key_column = coalesce(alter_segmentation.key, s.key_column),
        features = coalesce(alter_segmentation.features, s.features),
        k = coalesce(alter_segmentation.k, s.k), options = coalesce(alter_segmentation.options, s.options),
        updated_at = now()
    WHERE s.segmentation_id = v_old.segmentation_id
    RETURNING s.* INTO v_row;
    RETURN v_row;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'segmentation "%" already exists', new_name USING ERRCODE = '42710';
END
$fn$;
COMMENT ON FUNCTION @extschema@.alter_segmentation(text, text, regclass, text, text[], integer, jsonb) IS
'change a managed segmentation''s name, source, key, features, k or options (NULL keeps the value); takes effect at the next refresh';

CREATE FUNCTION @extschema@.drop_segmentation(name text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $fn$
DECLARE
    v_id integer;
BEGIN
    SELECT s.segmentation_id INTO v_id FROM segmentations s WHERE s.name = drop_segmentation.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segmentation "%" does not exist', drop_segmentation.name USING ERRCODE = '42704';
    END IF;
    PERFORM pg_advisory_xact_lock(1397049165, v_id);
    DELETE FROM assignment_history h
    WHERE h.run_id IN (SELECT r.run_id FROM runs r WHERE r.segmentation = drop_segmentation.name);
    DELETE FROM segmentations s WHERE s.segmentation_id = v_id;   -- runs and run_segments cascade
END
$fn$;
COMMENT ON FUNCTION @extschema@.drop_segmentation(text) IS
'remove a managed segmentation with its runs and assignment history';

CREATE FUNCTION @extschema@.refresh(name text,
                                    OUT run_id bigint, OUT customers bigint, OUT k integer,
                                    OUT inertia double precision, OUT silhouette double precision,
                                    OUT changed bigint, OUT mean_centroid_shift double precision,
                                    OUT appeared integer[], OUT vanished integer[],
                                    OUT duration interval)
RETURNS record
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    p_name constant text := refresh.name;
    v_id integer;
    s segmentations;
    prev runs;
    v_fit jsonb;
    v_feats text;
    v_filter text;
    v_model segment_model;
    v_ids integer[];
    v_next integer;
    v_appeared integer[] := '{}';
    v_vanished integer[] := '{}';
    v_shift double precision;
    v_run bigint;
    v_n bigint;
    v_changed bigint;
    v_kept bigint;
    v_unique boolean;
    v_dups bigint;
    v_sil double precision;
    v_sample integer;
    v_labels jsonb;
    v_start timestamptz := clock_timestamp();
    v_t timestamptz;
    v_steps jsonb := '{}';
    m record;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'segment.refresh must run at READ COMMITTED isolation'
            USING ERRCODE = '0A000',
                  DETAIL = 'After waiting for a concurrent refresh it must see that refresh''s run.';
    END IF;
    SELECT s.segmentation_id INTO v_id FROM segmentations s WHERE s.name = p_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segmentation "%" does not exist', p_name USING ERRCODE = '42704';
    END IF;
    -- one refresh of a segmentation at a time; the statements below take
    -- fresh snapshots, so a waiter sees the run the other refresh committed
    PERFORM pg_advisory_xact_lock(1397049165, v_id);
    v_steps := jsonb_build_object('lock_wait_ms',
        round(extract(epoch FROM clock_timestamp() - v_start)::numeric * 1000, 1));
    v_start := clock_timestamp();
    SELECT * INTO s FROM segmentations s WHERE s.segmentation_id = v_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segmentation "%" was dropped', p_name USING ERRCODE = '42704';
    END IF;
    -- The source is read with the caller's rights, and a view can call
    -- functions its author wrote: only the owner role itself refreshes, so
    -- code in a source never runs as anyone else (a superuser's pg_cron job
    -- refreshing another role's segmentation would run it as superuser).
    IF s.owner <> to_regrole(current_user) THEN
        RAISE EXCEPTION 'only role % can refresh segmentation "%"', s.owner, p_name
            USING ERRCODE = '42501',
                  HINT = format('SET ROLE %I first, or schedule the pg_cron job as that role.', s.owner);
    END IF;
    v_fit := segmentation_validate(s.source, s.key_column, s.features, s.k, s.options);
    v_steps := v_steps || jsonb_build_object('validate_ms',
        round(extract(epoch FROM clock_timestamp() - v_start)::numeric * 1000, 1));

    SELECT string_agg(format('%I::pg_catalog.float8', f), ', ' ORDER BY o) INTO v_feats
    FROM unnest(s.features) WITH ORDINALITY u(f, o);
    SELECT format('%I IS NOT NULL', s.key_column) || string_agg(format(' AND %I IS NOT NULL', f), '')
    INTO v_filter FROM unnest(s.features) f;
    IF s.options ? 'exclude' THEN
        v_filter := v_filter || format(' AND %I IS NOT TRUE', s.options ->> 'exclude');
    END IF;

    -- 1. fit (with the caller's rights on the source)
    v_t := clock_timestamp();
    EXECUTE format('SELECT kmeans_fit(ARRAY[%s], $1, $2) FROM %s WHERE %s', v_feats, s.source, v_filter)
    INTO v_model USING s.k, v_fit;
    IF v_model IS NULL THEN
        RAISE EXCEPTION 'source % of segmentation "%" has no customers to fit', s.source, p_name
            USING ERRCODE = '22023';
    END IF;
    v_steps := v_steps || jsonb_build_object('fit_ms', round(extract(epoch FROM clock_timestamp() - v_t)::numeric * 1000, 1));

    -- 2. stable ids: match the new centroids to the previous run's
    v_t := clock_timestamp();
    SELECT * INTO prev FROM runs r WHERE r.run_id = s.current_run AND r.segmentation = s.name;
    SELECT coalesce(max(x), 0) INTO v_next
    FROM runs r, unnest(r.segment_ids) x WHERE r.segmentation = s.name;
    v_ids := array_fill(NULL::integer, ARRAY[(v_model::jsonb ->> 'k')::integer]);
    IF prev.run_id IS NOT NULL
       AND (prev.model::jsonb ->> 'd') = (v_model::jsonb ->> 'd')
       AND (prev.model::jsonb -> 'feature_names') IS NOT DISTINCT FROM (v_model::jsonb -> 'feature_names') THEN
        FOR m IN SELECT * FROM match_segments(prev.model, v_model) ORDER BY 1 NULLS LAST, 2 LOOP
            IF m.new_segment IS NULL THEN
                v_vanished := v_vanished || prev.segment_ids[m.old_segment];
            ELSIF m.old_segment IS NULL THEN
                v_next := v_next + 1;
                v_ids[m.new_segment] := v_next;
                v_appeared := v_appeared || v_next;
            ELSE
                v_ids[m.new_segment] := prev.segment_ids[m.old_segment];
            END IF;
        END LOOP;
        SELECT avg(ms.distance) INTO v_shift FROM match_segments(prev.model, v_model) ms
        WHERE ms.new_segment IS NOT NULL AND ms.old_segment IS NOT NULL;
    ELSE
        -- first run (or the features changed): fresh ids
        FOR i IN 1 .. cardinality(v_ids) LOOP
            v_next := v_next + 1;
            v_ids[i] := v_next;
        END LOOP;
        IF prev.run_id IS NOT NULL THEN
            v_appeared := v_ids;
            v_vanished := prev.segment_ids;
        END IF;
    END IF;
    v_steps := v_steps || jsonb_build_object('match_ms', round(extract(epoch FROM clock_timestamp() - v_t)::numeric * 1000, 1));

    INSERT INTO runs AS r (segmentation, previous_run, started_at, k, inertia, mean_centroid_shift,
                           appeared, vanished, model, segment_ids)
    VALUES (s.name, prev.run_id, v_start, cardinality(v_ids), (v_model::jsonb ->> 'inertia')::float8,
            v_shift, v_appeared, v_vanished, v_model, v_ids)
    RETURNING r.run_id INTO v_run;

    -- 3. assign every customer under the new run id (invisible until
    -- commit); keys must be unique: a unique index of the source on the key
    -- column alone proves it, otherwise the inserted keys are counted
    v_t := clock_timestamp();
    v_unique := EXISTS (
        SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
        WHERE i.indrelid = s.source AND i.indisunique AND i.indisvalid AND i.indimmediate
          AND i.indnkeyatts = 1
          AND i.indpred IS NULL AND i.indexprs IS NULL
          AND a.attname = s.key_column AND a.attnum = i.indkey[0]);
    EXECUTE format($q$
        WITH ins AS (
            INSERT INTO assignment_history (run_id, customer_key, segment_id, previous_segment_id, since)
            SELECT $1, src.key, src.seg, p.segment_id,
                   CASE WHEN p.segment_id = src.seg THEN p.since ELSE $4 END
            FROM (SELECT %I::pg_catalog.text AS key, ($3)[assign_segment($2, ARRAY[%s])] AS seg
                  FROM %s WHERE %s) src
            LEFT JOIN assignment_history p ON p.run_id = $5 AND p.customer_key = src.key
            RETURNING customer_key, segment_id, previous_segment_id)
        SELECT count(*), count(previous_segment_id),
               count(*) FILTER (WHERE previous_segment_id <> segment_id), %s
        FROM ins$q$, s.key_column, v_feats, s.source, v_filter,
        CASE WHEN v_unique THEN '0'
             ELSE '(SELECT count(*) FROM (SELECT customer_key FROM ins GROUP BY 1 HAVING count(*) > 1) d)' END)
    INTO v_n, v_kept, v_changed, v_dups
    USING v_run, v_model, v_ids, v_start, prev.run_id;
    IF v_dups > 0 THEN
        RAISE EXCEPTION 'key column % of % is not unique', quote_ident(s.key_column), s.source
            USING ERRCODE = '23505', DETAIL = format('%s keys occur more than once.', v_dups);
    END IF;
    v_steps := v_steps || jsonb_build_object('assign_ms', round(extract(epoch FROM clock_timestamp() - v_t)::numeric * 1000, 1));

    -- 4. segments of the run: sizes, centroids in original units, descriptions
    v_t := clock_timestamp();
    INSERT INTO run_segments (run_id, segment_id, model_segment, customers, centroid, description)
    SELECT v_run, v_ids[c.segment], c.segment, c.size, c.centroid,
           (SELECT string_agg(format('%s %s', f.f, round(c.centroid[f.o]::numeric, 2)), ', ' ORDER BY f.o)
            FROM unnest(s.features) WITH ORDINALITY f(f, o))
    FROM model_centroids(v_model) c;

    -- 5. sampled silhouette (deterministic sample: hash of the key)
    v_sample := coalesce((s.options ->> 'silhouette_sample')::integer, 1000);
    IF v_sample > 0 AND cardinality(v_ids) > 1 THEN
        EXECUTE format($q$
            SELECT sampled_silhouette($1, array_agg(x ORDER BY h))
            FROM (SELECT ARRAY[%s] AS x, hashtext(%I::pg_catalog.text) AS h FROM %s WHERE %s
                  AND (hashtext(%I::pg_catalog.text) OPERATOR(pg_catalog.&) 2147483647)
                      OPERATOR(pg_catalog.%%) $2 = 0
                  ORDER BY h LIMIT $3) q$q$, v_feats, s.key_column, s.source, v_filter, s.key_column)
        INTO v_sil USING v_model, greatest(1, v_n / v_sample), v_sample;
    END IF;
    v_steps := v_steps || jsonb_build_object('segments_silhouette_ms', round(extract(epoch FROM clock_timestamp() - v_t)::numeric * 1000, 1));

    -- 6. the swap: one row update, visible at commit
    UPDATE runs r SET finished_at = clock_timestamp(), duration = clock_timestamp() - v_start,
        customers = v_n, new_customers = v_n - v_kept,
        removed_customers = prev.customers - v_kept, changed = v_changed, silhouette = v_sil,
        steps = v_steps
    WHERE r.run_id = v_run;
    UPDATE segmentations s SET current_run = v_run WHERE s.segmentation_id = v_id;

    SELECT r.run_id, r.customers, r.k, r.inertia, r.silhouette, r.changed, r.mean_centroid_shift,
           r.appeared, r.vanished, r.duration
    INTO run_id, customers, k, inertia, silhouette, changed, mean_centroid_shift, appeared, vanished, duration
    FROM runs r WHERE r.run_id = v_run;
END
$fn$;
COMMENT ON FUNCTION @extschema@.refresh(text) IS
'refit a managed segmentation, assign every customer, keep segment ids stable (Hungarian matching to the previous run) and make the new run current atomically; serialized per segmentation by an advisory lock';

CREATE FUNCTION @extschema@.transitions(name text, from_run bigint DEFAULT NULL, to_run bigint DEFAULT NULL,
                                        OUT from_segment integer, OUT to_segment integer,
                                        OUT customers bigint)
RETURNS SETOF record
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    p_name constant text := transitions.name;
    v_from bigint := from_run;
    v_to bigint := to_run;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM segmentations s WHERE s.name = p_name) THEN
        RAISE EXCEPTION 'segmentation "%" does not exist', p_name USING ERRCODE = '42704';
    END IF;
    IF v_to IS NULL THEN
        SELECT s.current_run INTO v_to FROM segmentations s WHERE s.name = p_name;
    END IF;
    IF v_from IS NULL THEN
        SELECT max(r.run_id) INTO v_from FROM runs r
        WHERE r.segmentation = p_name AND r.run_id < v_to;
    END IF;
    IF v_from IS NULL OR v_to IS NULL THEN
        RAISE EXCEPTION 'segmentation "%" has fewer than two runs', p_name USING ERRCODE = '22023';
    END IF;
    IF (SELECT count(*) FROM runs r WHERE r.segmentation = p_name AND r.run_id IN (v_from, v_to))
       <> (CASE WHEN v_from = v_to THEN 1 ELSE 2 END) THEN
        RAISE EXCEPTION 'runs % and % are not both runs of segmentation "%"', v_from, v_to, p_name
            USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT a.segment_id, b.segment_id, count(*)
    FROM (SELECT h.customer_key, h.segment_id FROM assignment_history h WHERE h.run_id = v_from) a
    FULL JOIN (SELECT h.customer_key, h.segment_id FROM assignment_history h WHERE h.run_id = v_to) b
        ON a.customer_key = b.customer_key
    GROUP BY 1, 2
    ORDER BY 1 NULLS FIRST, 2 NULLS FIRST;
END
$fn$;
COMMENT ON FUNCTION @extschema@.transitions(text, bigint, bigint) IS
'customers by segment in from_run × segment in to_run (default: the last two runs); NULL marks customers new in to_run or gone from it';

CREATE FUNCTION @extschema@.assign_segment(name text, features double precision[])
RETURNS integer
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT (r.segment_ids)[@extschema@.assign_segment(r.model, $2)]
    FROM @extschema@.segmentations s
    JOIN @extschema@.runs r ON r.run_id OPERATOR(pg_catalog.=) s.current_run
        AND r.segmentation OPERATOR(pg_catalog.=) s.name
    WHERE s.name OPERATOR(pg_catalog.=) $1;
END;
COMMENT ON FUNCTION @extschema@.assign_segment(text, double precision[]) IS
'stable segment id of features under the current model of the named managed segmentation; STABLE because it reads the catalog tables';

-- views for BI tools: plain types, caller's rights (row-level security applies)

CREATE VIEW @extschema@.current_segments WITH (security_invoker = true) AS
SELECT s.name AS segmentation, h.customer_key, h.segment_id,
       coalesce(s.options -> 'labels' ->> (h.segment_id)::text,
                'segment ' OPERATOR(pg_catalog.||) h.segment_id) AS segment_name,
       rs.description, h.since, h.run_id
FROM @extschema@.segmentations s
JOIN @extschema@.assignment_history h ON h.run_id OPERATOR(pg_catalog.=) s.current_run
LEFT JOIN @extschema@.run_segments rs ON rs.run_id OPERATOR(pg_catalog.=) h.run_id
    AND rs.segment_id OPERATOR(pg_catalog.=) h.segment_id;
COMMENT ON VIEW @extschema@.current_segments IS
'current segment of every customer of every managed segmentation the caller may see, with the segment''s name, description and since when the customer has been in it';

CREATE VIEW @extschema@.segment_sizes WITH (security_invoker = true) AS
SELECT s.name AS segmentation, rs.segment_id,
       coalesce(s.options -> 'labels' ->> (rs.segment_id)::text,
                'segment ' OPERATOR(pg_catalog.||) rs.segment_id) AS segment_name,
       rs.customers,
       rs.customers::double precision OPERATOR(pg_catalog./)
           pg_catalog.sum(rs.customers) OVER (PARTITION BY s.name)::double precision AS share,
       rs.centroid, rs.description, r.run_id, r.finished_at AS refreshed_at
FROM @extschema@.segmentations s
JOIN @extschema@.runs r ON r.run_id OPERATOR(pg_catalog.=) s.current_run
JOIN @extschema@.run_segments rs ON rs.run_id OPERATOR(pg_catalog.=) r.run_id;
COMMENT ON VIEW @extschema@.segment_sizes IS
'customers per segment of the current run of every managed segmentation the caller may see';
GRANT SELECT ON @extschema@.current_segments, @extschema@.segment_sizes TO PUBLIC;
