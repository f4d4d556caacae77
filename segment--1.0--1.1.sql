/* segment--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION segment UPDATE TO '1.1'" to load this file. \quit

-- Version 1.1.  Fresh installs run segment--1.0.sql and then this script
-- (there is deliberately no segment--1.1.sql), so install and upgrade cannot
-- drift.  segment--1.0.sql is released and never edited; every C symbol it
-- names stays exported with the same behaviour.
--
-- The segment_model stored form moves to version 3 (fit mode and sample
-- size); models written by 1.0 (version 2) are still read.

-------------------------------------------------------------------------------
-- Scale-out (issue 7): text-form partial states, partial/merge aggregates,
-- kmeans_step and the sample/scan fit modes : section owned by the scale-out work
-------------------------------------------------------------------------------

-- k-means at scale
--
-- kmeans_step: one Lloyd pass as an aggregate whose state (kmeans_step_state)
-- is O(k*d) and not internal: it has a validated JSON text form and a
-- binary form, so Citus pushes kmeans_step_partial down to its workers and
-- any sharding can merge states (kmeans_step_merge) and finish them
-- (kmeans_step_next, kmeans_step_finish).  kmeans_fit_scan drives the passes
-- over a table; kmeans_fit and kmeans take options mode and sample_size.

CREATE TYPE @extschema@.kmeans_step_state;

CREATE FUNCTION @extschema@.kmeans_step_state_in(cstring)
RETURNS @extschema@.kmeans_step_state
AS 'MODULE_PATHNAME', 'segment_kmeans_step_state_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_state_in(cstring) IS
'input function of kmeans_step_state (JSON text, validated)';

CREATE FUNCTION @extschema@.kmeans_step_state_out(@extschema@.kmeans_step_state)
RETURNS cstring
AS 'MODULE_PATHNAME', 'segment_kmeans_step_state_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_state_out(@extschema@.kmeans_step_state) IS
'output function of kmeans_step_state (JSON text that round-trips exactly)';

CREATE FUNCTION @extschema@.kmeans_step_state_recv(internal)
RETURNS @extschema@.kmeans_step_state
AS 'MODULE_PATHNAME', 'segment_kmeans_step_state_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_state_recv(internal) IS
'binary input function of kmeans_step_state (validated)';

CREATE FUNCTION @extschema@.kmeans_step_state_send(@extschema@.kmeans_step_state)
RETURNS bytea
AS 'MODULE_PATHNAME', 'segment_kmeans_step_state_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_state_send(@extschema@.kmeans_step_state) IS
'binary output function of kmeans_step_state';

CREATE TYPE @extschema@.kmeans_step_state (
    INPUT = @extschema@.kmeans_step_state_in,
    OUTPUT = @extschema@.kmeans_step_state_out,
    RECEIVE = @extschema@.kmeans_step_state_recv,
    SEND = @extschema@.kmeans_step_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.kmeans_step_state IS
'partial state of one k-means Lloyd pass: per centroid count, mean and sum of squares, feature ranges, farthest rows, and the model';

CREATE FUNCTION @extschema@.kmeans_step_transfn(@extschema@.kmeans_step_state,
                                                double precision[], @extschema@.segment_model)
RETURNS @extschema@.kmeans_step_state
AS 'MODULE_PATHNAME', 'segment_kmeans_step_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_transfn(@extschema@.kmeans_step_state, double precision[], @extschema@.segment_model) IS
'transition function of kmeans_step and kmeans_step_partial';

CREATE FUNCTION @extschema@.kmeans_step_combinefn(@extschema@.kmeans_step_state,
                                                  @extschema@.kmeans_step_state)
RETURNS @extschema@.kmeans_step_state
AS 'MODULE_PATHNAME', 'segment_kmeans_step_combinefn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_combinefn(@extschema@.kmeans_step_state, @extschema@.kmeans_step_state) IS
'combine function of the kmeans_step aggregates: merges two states of the same model';

CREATE FUNCTION @extschema@.kmeans_step_next(state @extschema@.kmeans_step_state)
RETURNS @extschema@.segment_model
AS 'MODULE_PATHNAME', 'segment_kmeans_step_next'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_next(@extschema@.kmeans_step_state) IS
'the model after the Lloyd update of a pass: centroids moved to the means, converged when the center shift is within tol';

CREATE FUNCTION @extschema@.kmeans_step_finish(state @extschema@.kmeans_step_state)
RETURNS @extschema@.segment_model
AS 'MODULE_PATHNAME', 'segment_kmeans_step_finish'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_finish(@extschema@.kmeans_step_state) IS
'the model of a pass at its own centroids: sizes and inertia of the pass, canonical segment ids';

CREATE AGGREGATE @extschema@.kmeans_step(features double precision[], model @extschema@.segment_model) (
    SFUNC = @extschema@.kmeans_step_transfn,
    STYPE = @extschema@.kmeans_step_state,
    FINALFUNC = @extschema@.kmeans_step_next,
    COMBINEFUNC = @extschema@.kmeans_step_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kmeans_step(double precision[], @extschema@.segment_model) IS
'one Lloyd pass of k-means over the rows from the model''s centroids: the next model';

CREATE AGGREGATE @extschema@.kmeans_step_partial(features double precision[], model @extschema@.segment_model) (
    SFUNC = @extschema@.kmeans_step_transfn,
    STYPE = @extschema@.kmeans_step_state,
    COMBINEFUNC = @extschema@.kmeans_step_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kmeans_step_partial(double precision[], @extschema@.segment_model) IS
'one Lloyd pass over the rows, as a kmeans_step_state to merge with states of other shards';

CREATE AGGREGATE @extschema@.kmeans_step_merge(state @extschema@.kmeans_step_state) (
    SFUNC = @extschema@.kmeans_step_combinefn,
    STYPE = @extschema@.kmeans_step_state,
    COMBINEFUNC = @extschema@.kmeans_step_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kmeans_step_merge(@extschema@.kmeans_step_state) IS
'merge kmeans_step_state values of the same model (from shards, nodes or partitions)';

CREATE FUNCTION @extschema@.kmeans_step_template(d integer, options jsonb DEFAULT '{}')
RETURNS @extschema@.segment_model
AS 'MODULE_PATHNAME', 'segment_kmeans_step_template'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_template(integer, jsonb) IS
'a k = 1 model at the origin with the options'' transforms and no scaling: kmeans_step_partial over it gives the statistics of kmeans_step_init';

CREATE FUNCTION @extschema@.kmeans_step_init(stats @extschema@.kmeans_step_state, k integer,
                                             options jsonb)
RETURNS @extschema@.segment_model
AS 'MODULE_PATHNAME', 'segment_kmeans_step_init'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_init(@extschema@.kmeans_step_state, integer, jsonb) IS
'the initial model of a scan fit: scaler from a statistics pass over kmeans_step_template, centroids from option init (original units)';

CREATE FUNCTION @extschema@.kmeans_fit_scan(source regclass, features text[], k integer,
                                            options jsonb DEFAULT '{}')
RETURNS @extschema@.segment_model
AS 'MODULE_PATHNAME', 'segment_kmeans_fit_scan'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.kmeans_fit_scan(regclass, text[], integer, jsonb) IS
'fit k-means over the named columns of a table in bounded memory: one kmeans_step pass per Lloyd iteration, seeded from a sample (mode scan)';

COMMENT ON AGGREGATE @extschema@.kmeans_fit(double precision[], integer, jsonb) IS
'fit a k-means segment_model on feature rows (options named like scikit-learn: seed, n_init, max_iter, tol, init, scale, transform, feature_names, verbose, min_segment_share; and mode, sample_size)';
COMMENT ON FUNCTION @extschema@.kmeans(double precision[], integer, jsonb) IS
'window function: segment 1..k of each row from a k-means model fitted on its partition (options as kmeans_fit; mode memory, sample, auto, or scan: passes over the partition)';


-- quantile and CLV states
--
-- Portable (non-internal) states with a text form, so that Citus pushes the
-- *_partial aggregates down to its workers and postgres_fdw can read states
-- from other servers; explicit partial / merge / finish forms for any
-- sharding.  The 1.0 aggregates (quantile_breaks, bgnbd_fit, ...) keep
-- their exact internal states and are not changed.

CREATE TYPE @extschema@.quantile_state;

CREATE FUNCTION @extschema@.quantile_state_in(cstring)
RETURNS @extschema@.quantile_state
AS 'MODULE_PATHNAME', 'segment_quantile_state_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_state_in(cstring) IS
'input function of quantile_state (JSON text, validated)';

CREATE FUNCTION @extschema@.quantile_state_out(@extschema@.quantile_state)
RETURNS cstring
AS 'MODULE_PATHNAME', 'segment_quantile_state_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_state_out(@extschema@.quantile_state) IS
'output function of quantile_state (JSON text)';

CREATE FUNCTION @extschema@.quantile_state_recv(internal)
RETURNS @extschema@.quantile_state
AS 'MODULE_PATHNAME', 'segment_quantile_state_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_state_recv(internal) IS
'binary input function of quantile_state (validated)';

CREATE FUNCTION @extschema@.quantile_state_send(@extschema@.quantile_state)
RETURNS bytea
AS 'MODULE_PATHNAME', 'segment_quantile_state_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_state_send(@extschema@.quantile_state) IS
'binary output function of quantile_state';

CREATE TYPE @extschema@.quantile_state (
    INPUT = @extschema@.quantile_state_in,
    OUTPUT = @extschema@.quantile_state_out,
    RECEIVE = @extschema@.quantile_state_recv,
    SEND = @extschema@.quantile_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.quantile_state IS
'partial state of quantile_partial / quantile_merge: exact while values repeat, else a mergeable compactor sketch with a certified rank-error bound; text form is JSON';

CREATE FUNCTION @extschema@.quantile_partial_transfn(@extschema@.quantile_state, double precision, integer)
RETURNS @extschema@.quantile_state
AS 'MODULE_PATHNAME', 'segment_quantile_partial_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_partial_transfn(@extschema@.quantile_state, double precision, integer) IS
'transition function of quantile_partial';

CREATE FUNCTION @extschema@.quantile_partial_transfn(@extschema@.quantile_state, double precision, integer, integer)
RETURNS @extschema@.quantile_state
AS 'MODULE_PATHNAME', 'segment_quantile_partial_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_partial_transfn(@extschema@.quantile_state, double precision, integer, integer) IS
'transition function of quantile_partial with a sketch size';

CREATE FUNCTION @extschema@.quantile_state_combine(@extschema@.quantile_state, @extschema@.quantile_state)
RETURNS @extschema@.quantile_state
AS 'MODULE_PATHNAME', 'segment_quantile_state_combine'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_state_combine(@extschema@.quantile_state, @extschema@.quantile_state) IS
'merge two quantile states (combine function of quantile_partial and quantile_merge)';

CREATE FUNCTION @extschema@.quantile_state_pack(@extschema@.quantile_state)
RETURNS @extschema@.quantile_state
AS 'MODULE_PATHNAME', 'segment_quantile_state_pack'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_state_pack(@extschema@.quantile_state) IS
'final function of quantile_partial and quantile_merge: the state without spare room';

CREATE AGGREGATE @extschema@.quantile_partial(value double precision, bins integer) (
    SFUNC = @extschema@.quantile_partial_transfn,
    STYPE = @extschema@.quantile_state,
    FINALFUNC = @extschema@.quantile_state_pack,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.quantile_state_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.quantile_partial(double precision, integer) IS
'partial state of quantile_breaks for merging across shards (sketch size 4096: exact while each level holds under 2048 distinct values)';

CREATE AGGREGATE @extschema@.quantile_partial(value double precision, bins integer, sketch_size integer) (
    SFUNC = @extschema@.quantile_partial_transfn,
    STYPE = @extschema@.quantile_state,
    FINALFUNC = @extschema@.quantile_state_pack,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.quantile_state_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.quantile_partial(double precision, integer, integer) IS
'partial state of quantile_breaks with sketch_size items per level (0: exact, never approximates)';

CREATE AGGREGATE @extschema@.quantile_merge(state @extschema@.quantile_state) (
    SFUNC = @extschema@.quantile_state_combine,
    STYPE = @extschema@.quantile_state,
    FINALFUNC = @extschema@.quantile_state_pack,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.quantile_state_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.quantile_merge(@extschema@.quantile_state) IS
'merge quantile states from shards into one';

CREATE FUNCTION @extschema@.quantile_breaks(state @extschema@.quantile_state)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'segment_quantile_state_breaks'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_breaks(@extschema@.quantile_state) IS
'the bins - 1 cut points of a (merged) quantile state; equal to quantile_breaks(value, bins) when quantile_rank_error is 0';

CREATE FUNCTION @extschema@.quantile_rank_error(state @extschema@.quantile_state)
RETURNS double precision
AS 'MODULE_PATHNAME', 'segment_quantile_state_rank_error'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.quantile_rank_error(@extschema@.quantile_state) IS
'certified bound on the rank error of the state''s cut points, as a share of its values (0: exact)';

CREATE TYPE @extschema@.clv_state;

CREATE FUNCTION @extschema@.clv_state_in(cstring)
RETURNS @extschema@.clv_state
AS 'MODULE_PATHNAME', 'segment_clv_state_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_state_in(cstring) IS
'input function of clv_state (JSON text, validated)';

CREATE FUNCTION @extschema@.clv_state_out(@extschema@.clv_state)
RETURNS cstring
AS 'MODULE_PATHNAME', 'segment_clv_state_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_state_out(@extschema@.clv_state) IS
'output function of clv_state (JSON text)';

CREATE FUNCTION @extschema@.clv_state_recv(internal)
RETURNS @extschema@.clv_state
AS 'MODULE_PATHNAME', 'segment_clv_state_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_state_recv(internal) IS
'binary input function of clv_state (validated)';

CREATE FUNCTION @extschema@.clv_state_send(@extschema@.clv_state)
RETURNS bytea
AS 'MODULE_PATHNAME', 'segment_clv_state_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_state_send(@extschema@.clv_state) IS
'binary output function of clv_state';

CREATE TYPE @extschema@.clv_state (
    INPUT = @extschema@.clv_state_in,
    OUTPUT = @extschema@.clv_state_out,
    RECEIVE = @extschema@.clv_state_recv,
    SEND = @extschema@.clv_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.clv_state IS
'partial state of the CLV fits: the model kind, its options and the distinct customer summaries with their counts (exact); text form is JSON';

CREATE FUNCTION @extschema@.bgnbd_partial_transfn(@extschema@.clv_state, double precision, double precision, double precision)
RETURNS @extschema@.clv_state
AS 'MODULE_PATHNAME', 'segment_bgnbd_partial_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_partial_transfn(@extschema@.clv_state, double precision, double precision, double precision) IS
'transition function of bgnbd_partial';

CREATE FUNCTION @extschema@.bgnbd_partial_transfn(@extschema@.clv_state, double precision, double precision, double precision, jsonb)
RETURNS @extschema@.clv_state
AS 'MODULE_PATHNAME', 'segment_bgnbd_partial_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_partial_transfn(@extschema@.clv_state, double precision, double precision, double precision, jsonb) IS
'transition function of bgnbd_partial with options';

CREATE FUNCTION @extschema@.pareto_nbd_partial_transfn(@extschema@.clv_state, double precision, double precision, double precision)
RETURNS @extschema@.clv_state
AS 'MODULE_PATHNAME', 'segment_pareto_nbd_partial_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.pareto_nbd_partial_transfn(@extschema@.clv_state, double precision, double precision, double precision) IS
'transition function of pareto_nbd_partial';

CREATE FUNCTION @extschema@.pareto_nbd_partial_transfn(@extschema@.clv_state, double precision, double precision, double precision, jsonb)
RETURNS @extschema@.clv_state
AS 'MODULE_PATHNAME', 'segment_pareto_nbd_partial_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.pareto_nbd_partial_transfn(@extschema@.clv_state, double precision, double precision, double precision, jsonb) IS
'transition function of pareto_nbd_partial with options';

CREATE FUNCTION @extschema@.gamma_gamma_partial_transfn(@extschema@.clv_state, double precision, double precision)
RETURNS @extschema@.clv_state
AS 'MODULE_PATHNAME', 'segment_gamma_gamma_partial_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gamma_gamma_partial_transfn(@extschema@.clv_state, double precision, double precision) IS
'transition function of gamma_gamma_partial';

CREATE FUNCTION @extschema@.gamma_gamma_partial_transfn(@extschema@.clv_state, double precision, double precision, jsonb)
RETURNS @extschema@.clv_state
AS 'MODULE_PATHNAME', 'segment_gamma_gamma_partial_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gamma_gamma_partial_transfn(@extschema@.clv_state, double precision, double precision, jsonb) IS
'transition function of gamma_gamma_partial with options';

CREATE FUNCTION @extschema@.clv_state_combine(@extschema@.clv_state, @extschema@.clv_state)
RETURNS @extschema@.clv_state
AS 'MODULE_PATHNAME', 'segment_clv_state_combine'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_state_combine(@extschema@.clv_state, @extschema@.clv_state) IS
'merge two CLV states of the same model and options (combine function of the *_partial aggregates and clv_merge)';

CREATE FUNCTION @extschema@.clv_state_pack(@extschema@.clv_state)
RETURNS @extschema@.clv_state
AS 'MODULE_PATHNAME', 'segment_clv_state_pack'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_state_pack(@extschema@.clv_state) IS
'final function of the *_partial aggregates and clv_merge: the summaries sorted, without empty slots';

CREATE AGGREGATE @extschema@.bgnbd_partial(x double precision, t_x double precision, t double precision) (
    SFUNC = @extschema@.bgnbd_partial_transfn,
    STYPE = @extschema@.clv_state,
    FINALFUNC = @extschema@.clv_state_pack,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_state_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.bgnbd_partial(double precision, double precision, double precision) IS
'partial state of bgnbd_fit for merging across shards; clv_fit turns a merged state into the model';

CREATE AGGREGATE @extschema@.bgnbd_partial(x double precision, t_x double precision, t double precision, options jsonb) (
    SFUNC = @extschema@.bgnbd_partial_transfn,
    STYPE = @extschema@.clv_state,
    FINALFUNC = @extschema@.clv_state_pack,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_state_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.bgnbd_partial(double precision, double precision, double precision, jsonb) IS
'partial state of bgnbd_fit with options (carried in the state) for merging across shards';

CREATE AGGREGATE @extschema@.pareto_nbd_partial(x double precision, t_x double precision, t double precision) (
    SFUNC = @extschema@.pareto_nbd_partial_transfn,
    STYPE = @extschema@.clv_state,
    FINALFUNC = @extschema@.clv_state_pack,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_state_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.pareto_nbd_partial(double precision, double precision, double precision) IS
'partial state of pareto_nbd_fit for merging across shards; clv_fit turns a merged state into the model';

CREATE AGGREGATE @extschema@.pareto_nbd_partial(x double precision, t_x double precision, t double precision, options jsonb) (
    SFUNC = @extschema@.pareto_nbd_partial_transfn,
    STYPE = @extschema@.clv_state,
    FINALFUNC = @extschema@.clv_state_pack,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_state_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.pareto_nbd_partial(double precision, double precision, double precision, jsonb) IS
'partial state of pareto_nbd_fit with options (carried in the state) for merging across shards';

CREATE AGGREGATE @extschema@.gamma_gamma_partial(x double precision, avg_amount double precision) (
    SFUNC = @extschema@.gamma_gamma_partial_transfn,
    STYPE = @extschema@.clv_state,
    FINALFUNC = @extschema@.clv_state_pack,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_state_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.gamma_gamma_partial(double precision, double precision) IS
'partial state of gamma_gamma_fit for merging across shards; clv_fit turns a merged state into the model';

CREATE AGGREGATE @extschema@.gamma_gamma_partial(x double precision, avg_amount double precision, options jsonb) (
    SFUNC = @extschema@.gamma_gamma_partial_transfn,
    STYPE = @extschema@.clv_state,
    FINALFUNC = @extschema@.clv_state_pack,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_state_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.gamma_gamma_partial(double precision, double precision, jsonb) IS
'partial state of gamma_gamma_fit with options (carried in the state) for merging across shards';

CREATE AGGREGATE @extschema@.clv_merge(state @extschema@.clv_state) (
    SFUNC = @extschema@.clv_state_combine,
    STYPE = @extschema@.clv_state,
    FINALFUNC = @extschema@.clv_state_pack,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.clv_state_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.clv_merge(@extschema@.clv_state) IS
'merge CLV states from shards into one';

CREATE FUNCTION @extschema@.clv_fit(state @extschema@.clv_state)
RETURNS @extschema@.clv_model
AS 'MODULE_PATHNAME', 'segment_clv_state_fit'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_fit(@extschema@.clv_state) IS
'fit the state''s model (BG/NBD, Pareto/NBD or Gamma-Gamma) by maximum likelihood; the same model as the *_fit aggregate over all the rows';

-------------------------------------------------------------------------------
-- k-prototypes (issue 8): mixed numeric and categorical features : section
-- owned by the k-prototypes work
-------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.kprototypes_fit_transfn(internal, double precision[], text[], integer, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kprototypes_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kprototypes_fit_transfn(internal, double precision[], text[], integer, jsonb) IS
'transition function of kprototypes_fit';

CREATE FUNCTION @extschema@.kprototypes_fit_transfn(internal, double precision[], text[], integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kprototypes_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kprototypes_fit_transfn(internal, double precision[], text[], integer) IS
'transition function of kprototypes_fit without options';

CREATE FUNCTION @extschema@.kprototypes_fit_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kprototypes_fit_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kprototypes_fit_combinefn(internal, internal) IS
'combine function of kprototypes_fit: merges rows and category dictionaries';

CREATE FUNCTION @extschema@.kprototypes_fit_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'segment_kprototypes_fit_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kprototypes_fit_serialfn(internal) IS
'serialization function of kprototypes_fit';

CREATE FUNCTION @extschema@.kprototypes_fit_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'segment_kprototypes_fit_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kprototypes_fit_deserialfn(bytea, internal) IS
'deserialization function of kprototypes_fit';

CREATE FUNCTION @extschema@.kprototypes_fit_finalfn(internal)
RETURNS @extschema@.segment_model
AS 'MODULE_PATHNAME', 'segment_kprototypes_fit_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kprototypes_fit_finalfn(internal) IS
'final function of kprototypes_fit: runs k-prototypes on the collected rows';

CREATE AGGREGATE @extschema@.kprototypes_fit(numeric_features double precision[], categorical_features text[], k integer, options jsonb) (
    SFUNC = @extschema@.kprototypes_fit_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.kprototypes_fit_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = @extschema@.kprototypes_fit_combinefn,
    SERIALFUNC = @extschema@.kprototypes_fit_serialfn,
    DESERIALFUNC = @extschema@.kprototypes_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kprototypes_fit(double precision[], text[], integer, jsonb) IS
'fit a k-prototypes segment_model on rows of numeric and categorical features (Huang 1997; options seed, n_init, max_iter, tol, init, gamma, scale, feature_names, verbose)';

-- aggregates take no DEFAULT arguments, so the form without options is its own aggregate
CREATE AGGREGATE @extschema@.kprototypes_fit(numeric_features double precision[], categorical_features text[], k integer) (
    SFUNC = @extschema@.kprototypes_fit_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.kprototypes_fit_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = @extschema@.kprototypes_fit_combinefn,
    SERIALFUNC = @extschema@.kprototypes_fit_serialfn,
    DESERIALFUNC = @extschema@.kprototypes_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kprototypes_fit(double precision[], text[], integer) IS
'fit a k-prototypes segment_model with default options (zscore scaling, k-means++-style init, n_init 10, gamma half the mean standard deviation of the scaled numeric features, seed 0)';

CREATE FUNCTION @extschema@.kprototypes(numeric_features double precision[], categorical_features text[],
                                        k integer, options jsonb DEFAULT '{}')
RETURNS integer
AS 'MODULE_PATHNAME', 'segment_kprototypes_window'
LANGUAGE C IMMUTABLE WINDOW PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kprototypes(double precision[], text[], integer, jsonb) IS
'window function: segment 1..k of each row from a k-prototypes model fitted on its partition';

CREATE FUNCTION @extschema@.assign_segment(model @extschema@.segment_model,
                                           numeric_features double precision[],
                                           categorical_features text[])
RETURNS integer
AS 'MODULE_PATHNAME', 'segment_assign_segment_mixed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.assign_segment(@extschema@.segment_model, double precision[], text[]) IS
'segment 1..k of the nearest prototype of a k-prototypes model (squared scaled numeric distance plus gamma per categorical mismatch; unseen categories mismatch every segment)';

CREATE FUNCTION @extschema@.segment_distances(model @extschema@.segment_model,
                                              numeric_features double precision[],
                                              categorical_features text[])
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'segment_segment_distances_mixed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_distances(@extschema@.segment_model, double precision[], text[]) IS
'k-prototypes distance sqrt(squared scaled numeric distance + gamma * mismatches) to each segment prototype, indexed by segment';

CREATE FUNCTION @extschema@.model_prototypes(model @extschema@.segment_model,
                                             OUT segment integer,
                                             OUT centroid double precision[],
                                             OUT modes text[],
                                             OUT mode_shares double precision[],
                                             OUT size bigint,
                                             OUT share double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'segment_model_prototypes'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.model_prototypes(@extschema@.segment_model) IS
'one row per segment: numeric centroid in original units, categorical modes and the share of the segment each mode holds, training rows, share of training rows';

CREATE FUNCTION @extschema@.model_categories(model @extschema@.segment_model,
                                             OUT segment integer,
                                             OUT feature integer,
                                             OUT feature_name text,
                                             OUT category text,
                                             OUT count bigint,
                                             OUT share double precision,
                                             OUT is_mode boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'segment_model_categories'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION @extschema@.model_categories(@extschema@.segment_model) IS
'per segment and categorical feature of a k-prototypes model: its most frequent categories (up to 10) with count, share of the segment and whether it is the mode';

-------------------------------------------------------------------------------
-- Segment quality and k-means (issues 3, 4) : section owned by the maintainer
-------------------------------------------------------------------------------
