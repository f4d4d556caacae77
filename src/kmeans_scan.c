/*-------------------------------------------------------------------------
 *
 * kmeans_scan.c
 *	  kmeans_fit_scan(source, features, k, options): k-means over a table of
 *	  any size in bounded memory, as repeated kmeans_step aggregate passes
 *	  (mode "scan", issue 7).
 *
 * The driver runs, through SPI and as the calling role (SECURITY INVOKER,
 * so the caller's table privileges and row security apply), queries of
 * the form
 *	  SELECT segment.kmeans_step_partial(<features>, $1) FROM <source>
 * where <source> is the quoted, schema-qualified name of a relation given
 * as regclass and <features> is built from column names checked against
 * the catalog and quoted with quote_identifier: nothing the caller passes
 * is pasted into SQL text, so there is nothing to inject.  Each pass
 * returns one small state (O(k*d)), so memory does not depend on the
 * number of rows; each pass may run as a parallel plan.  All passes run
 * with the snapshot of the calling statement (SPI read-only), so they see
 * the same rows.
 *
 *	  1. statistics pass over kmeans_step_template (transforms only): per
 *		 feature mean, variance, minimum, maximum -> the exact scaler, as
 *		 kmeans_fit computes it on all rows (robust scaling needs quantiles
 *		 and is refused, 0A000); in the same scan, unless "init" gives
 *		 centroids, kmeans_fit in mode "sample" (k-means++ or random
 *		 seeding, n_init restarts, on the bottom-S sample of sample_size
 *		 rows): its centroids, in original units, seed the scan ("sample
 *		 seeding" in the sense of Bradley & Fayyad, "Refining initial points
 *		 for k-means clustering", ICML 1998; k-means|| of Bahmani et al.,
 *		 VLDB 2012, would need O(log n) more passes for the same purpose);
 *	  2. Lloyd passes: kmeans_step_partial at the current centroids, the
 *		 update of kmeans_step_next (means, scikit-learn's relocation of
 *		 empty clusters); stop when the summed squared center shift is at
 *		 most tol times the mean feature variance (scikit-learn's rule, as
 *		 kmeans_fit), or after max_iter passes;
 *	  3. one more pass at the final centroids for the sizes and inertia
 *		 (skipped when the last update moved nothing), canonical ids.
 * From the same initial centroids this is kmeans_fit's Lloyd iteration, up
 * to the rounding of sums taken in another order (tested: same inertia
 * within 1e-9 relative).
 *
 * src/kmeans_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "segment.h"
#include "kmeans_scale.h"
#include "model.h"

PG_FUNCTION_INFO_V1(segment_kmeans_fit_scan);

/* the pieces of the pass queries */
typedef struct ScanQuery
{
	const char *schema;		/* quoted schema of the extension */
	char	   *source;			/* quoted qualified relation name */
	char	   *features;		/* the float8[] expression */
	int			d;				/* features, or -1 for an array column */
	char	  **names;			/* column names (for feature_names) */
	Oid			model_type;		/* segment_model */
} ScanQuery;

/* Build the features expression from column names (checked, quoted). */
static void
scan_build_features(Oid relid, ArrayType *columns, ScanQuery *q)
{
	Datum	   *elems;
	bool	   *nulls;
	int			ncol;
	int			i;
	StringInfoData expr;
	StringInfoData test;

	if (ARR_NDIM(columns) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features must be a one-dimensional array of column names")));
	deconstruct_array(columns, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &ncol);
	if (ncol < 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features must name at least one column")));
	if (ncol > SEGMENT_KMEANS_MAX_D)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features must name at most %d columns", SEGMENT_KMEANS_MAX_D)));
	q->names = palloc(sizeof(char *) * ncol);
	initStringInfo(&expr);
	initStringInfo(&test);
	for (i = 0; i < ncol; i++)
	{
		char	   *name;
		AttrNumber	attnum;
		Oid			type;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("features must not contain null elements")));
		name = TextDatumGetCString(elems[i]);
		attnum = get_attnum(relid, name);
		if (attnum == InvalidAttrNumber || attnum < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							name, get_rel_name(relid))));
		type = get_atttype(relid, attnum);
		q->names[i] = name;
		if (type == FLOAT8ARRAYOID && ncol == 1)
		{
			/* one float8[] column holds all features */
			q->d = -1;
			appendStringInfoString(&expr, quote_identifier(name));
			break;
		}
		if (type != INT2OID && type != INT4OID && type != INT8OID &&
			type != FLOAT4OID && type != FLOAT8OID && type != NUMERICOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" has type %s, not a number", name, format_type_be(type)),
					 errhint("Name numeric columns (smallint, integer, bigint, real, double precision, numeric), or one double precision[] column.")));
		appendStringInfo(&test, "%s%s IS NULL", i > 0 ? " OR " : "", quote_identifier(name));
		appendStringInfo(&expr, "%sCAST(%s AS pg_catalog.float8)", i > 0 ? ", " : "",
						 quote_identifier(name));
		q->d = ncol;
	}
	if (q->d > 0)
		q->features = psprintf("CASE WHEN %s THEN NULL ELSE ARRAY[%s] END", test.data, expr.data);
	else
		q->features = expr.data;
}

/*
 * Run one query with arguments; return the ncol varlena columns of its
 * single row, copied into cxt (out[i], isnull[i]).
 */
static void
scan_run(const char *sql, int nargs, Oid *types, Datum *values, int ncol,
		 MemoryContext cxt, Datum *out, bool *isnull)
{
	int			ret;
	int			i;

	ret = SPI_execute_with_args(sql, nargs, types, values, NULL, true, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "kmeans_fit_scan: unexpected result of \"%s\"", sql);
	for (i = 0; i < ncol; i++)
	{
		Datum		v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1,
									  &isnull[i]);

		if (!isnull[i])
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			v = PointerGetDatum(PG_DETOAST_DATUM_COPY(v));
			MemoryContextSwitchTo(old);
		}
		out[i] = v;
	}
	SPI_freetuptable(SPI_tuptable);
}

/* The stored form of a model as a Datum. */
static Datum
model_datum(const SegmentModel *m)
{
	return PointerGetDatum(segment_model_encode(m));
}


/*
 * One kmeans_step pass of pass_sql over the source with model (of type
 * model_type), in cxt (reset first); the source must still hold n_rows rows.
 */
static KMeansStepState *
scan_pass(const char *pass_sql, Oid model_type, const SegmentModel *model, int64 n_rows,
		  MemoryContext cxt)
{
	Oid			types[1];
	Datum		values[1];
	Datum		sd;
	bool		isnull;
	KMeansStepState *st;
	MemoryContext old;

	MemoryContextReset(cxt);
	old = MemoryContextSwitchTo(cxt);
	values[0] = model_datum(model);
	MemoryContextSwitchTo(old);
	types[0] = model_type;
	scan_run(pass_sql, 1, types, values, 1, cxt, &sd, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the rows of kmeans_fit_scan's source changed between passes")));
	st = kmeans_step_state_check(sd);
	if (kmeans_step_state_rows(st, NULL) != n_rows)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the rows of kmeans_fit_scan's source changed between passes")));
	return st;
}

/* Options for the seeding fit: the caller's plus mode sample and feature names. */
static char *
seed_options(const ScanQuery *q, const KMeansOptions *opts, int d)
{
	StringInfoData buf;
	int			j;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"mode\": \"sample\", \"verbose\": false");
	if (opts->n_feature_names < 0 && q->d > 0)
	{
		appendStringInfoString(&buf, ", \"feature_names\": [");
		for (j = 0; j < d; j++)
		{
			if (j > 0)
				appendStringInfoString(&buf, ", ");
			escape_json(&buf, q->names[j]);
		}
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * kmeans_fit_scan(source regclass, features text[], k int, options jsonb):
 * see the file header.  NULL when the source has no row with all features.
 */
Datum
segment_kmeans_fit_scan(PG_FUNCTION_ARGS)
{
	Oid			relid;
	ArrayType  *columns;
	int32		k;
	Jsonb	   *options;
	KMeansOptions opts;
	KMeansModeOptions mopts;
	ScanQuery	q;
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext passcxt;
	MemoryContext old;
	char	   *stats_sql;
	char	   *pass_sql;
	Oid			types[3];
	Datum		values[3];
	bool		isnull;
	bool		nulls2[2];
	Datum		cols[2];
	Datum		stats_datum;
	KMeansStepState *stats;
	KMeansStepState *st = NULL;
	SegmentModel *model;
	SegmentModel *result;
	double	   *init_raw;
	int64		n_rows;
	int64		n_null;
	int			d;
	int			it;
	bool		converged = false;
	double		shift = 0.0;
	double		tol_abs = 0.0;
	bool		seed_by_sample;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, features and k must not be null in kmeans_fit_scan")));
	relid = PG_GETARG_OID(0);
	columns = PG_GETARG_ARRAYTYPE_P(1);
	k = PG_GETARG_INT32(2);
	options = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);

	kmeans_parse_options_ext(options, &opts, &mopts);
	if (mopts.mode_given && mopts.mode != KMEANS_MODE_SCAN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans_fit_scan runs mode \"scan\""),
				 errhint("Use kmeans_fit for modes \"memory\", \"sample\" and \"auto\".")));
	if (k < 1 || k > SEGMENT_KMEANS_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", SEGMENT_KMEANS_MAX_K),
				 errdetail("k is %d.", k)));
	if (opts.init == KMEANS_INIT_GIVEN && opts.init_k != k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans option \"init\" gives %d centroids but k is %d",
						opts.init_k, k)));
	if (opts.min_segment_share > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("option \"min_segment_share\" is not available in mode \"scan\""),
				 errhint("Fit with kmeans_fit_scan and a smaller k, or use kmeans_fit.")));
	if (opts.scale == SEGMENT_SCALE_ROBUST)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("scale \"robust\" is not available in mode \"scan\""),
				 errhint("Use scale \"zscore\", \"minmax\" or \"none\", or mode \"sample\".")));

	memset(&q, 0, sizeof(q));
	if (get_rel_relkind(relid) == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	scan_build_features(relid, columns, &q);
	q.source = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										  get_rel_name(relid));
	q.schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
	q.model_type = get_func_rettype(fcinfo->flinfo->fn_oid);
	if (q.d > 0 && opts.n_feature_names < 0)
	{
		/* default feature names: the columns */
		opts.n_feature_names = q.d;
		opts.feature_names = q.names;
	}

	seed_by_sample = (opts.init != KMEANS_INIT_GIVEN);
	pass_sql = psprintf("SELECT %s.kmeans_step_partial(%s, $1) FROM %s",
						q.schema, q.features, q.source);
	if (seed_by_sample)
		stats_sql = psprintf("SELECT %s.kmeans_step_partial(%s, $1), %s.kmeans_fit(%s, $2, $3) FROM %s",
							 q.schema, q.features, q.schema, q.features, q.source);
	else
		stats_sql = pass_sql;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	passcxt = AllocSetContextCreate(outer, "kmeans_fit_scan pass", ALLOCSET_DEFAULT_SIZES);

	/* d of an array column: the first non-NULL row's length */
	d = q.d;
	if (d < 0)
	{
		char	   *sql = psprintf("SELECT pg_catalog.array_length(%s, 1) FROM %s WHERE %s IS NOT NULL LIMIT 1",
								   q.features, q.source, q.features);
		int			ret = SPI_execute(sql, true, 1);

		if (ret != SPI_OK_SELECT)
			elog(ERROR, "kmeans_fit_scan: unexpected result of \"%s\"", sql);
		if (SPI_processed == 0)
		{
			SPI_finish();
			PG_RETURN_NULL();
		}
		d = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (isnull || d < 1)
			d = 1;				/* the pass reports the bad array itself */
		SPI_freetuptable(SPI_tuptable);
	}
	if (opts.init == KMEANS_INIT_GIVEN && opts.init_d != d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("kmeans option \"init\" centroids have %d features but features have %d elements",
						opts.init_d, d)));

	/* 1. statistics (and the seeding sample fit) */
	old = MemoryContextSwitchTo(outer);
	types[0] = q.model_type;
	values[0] = model_datum(kmeans_step_template_model(d, &opts));
	types[1] = INT4OID;
	values[1] = Int32GetDatum(k);
	types[2] = JSONBOID;
	if (seed_by_sample)
	{
		Jsonb	   *extra = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
															   CStringGetDatum(seed_options(&q, &opts, d))));
		Datum		user = options ? JsonbPGetDatum(options) :
			DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));

		values[2] = DirectFunctionCall2(jsonb_concat, user, JsonbPGetDatum(extra));
	}
	MemoryContextSwitchTo(old);
	scan_run(stats_sql, seed_by_sample ? 3 : 1, types, values, seed_by_sample ? 2 : 1,
			 outer, cols, nulls2);
	stats_datum = cols[0];
	if (nulls2[0])
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	stats = kmeans_step_state_check(stats_datum);
	n_rows = kmeans_step_state_rows(stats, &n_null);
	if (n_rows == 0)
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	if (seed_by_sample)
	{
		SegmentModel *sm;
		int			c;

		if (nulls2[1])
			elog(ERROR, "kmeans_fit_scan: the seeding fit returned no model");
		old = MemoryContextSwitchTo(outer);
		sm = segment_model_from_datum(cols[1]);
		if (sm->k != k || sm->d != d)
			elog(ERROR, "kmeans_fit_scan: the seeding fit has k %d and d %d", sm->k, sm->d);
		init_raw = palloc(sizeof(double) * k * d);
		for (c = 0; c < k; c++)
			segment_model_centroid_original(sm, c, init_raw + (Size) c * d);
		MemoryContextSwitchTo(old);
		if (opts.verbose)
			ereport(NOTICE,
					(errmsg("kmeans_fit_scan: seeded from a sample of " INT64_FORMAT " of " INT64_FORMAT " rows",
							sm->sample_size, sm->n)));
	}
	else
		init_raw = opts.init_centroids;

	old = MemoryContextSwitchTo(outer);
	model = kmeans_step_initial_model(stats, k, &opts, init_raw);
	MemoryContextSwitchTo(old);

	/* 2. Lloyd passes */
	for (it = 0; it < opts.max_iter; it++)
	{
		SegmentModel *next;

		CHECK_FOR_INTERRUPTS();
		st = scan_pass(pass_sql, q.model_type, model, n_rows, passcxt);
		old = MemoryContextSwitchTo(outer);
		next = kmeans_step_update(st, true, &shift, &tol_abs);
		MemoryContextSwitchTo(old);
		if (opts.verbose)
			ereport(NOTICE,
					(errmsg("kmeans_fit_scan pass %d: inertia %.17g, center shift %.17g (tolerance %.17g)",
							it, next->inertia, shift, tol_abs)));
		model = next;
		if (shift <= tol_abs)
		{
			converged = true;
			it++;
			break;
		}
	}

	/* 3. sizes and inertia at the final centroids */
	if (st == NULL || shift > 0.0)
		st = scan_pass(pass_sql, q.model_type, model, n_rows, passcxt);
	old = MemoryContextSwitchTo(outer);
	result = kmeans_step_update(st, false, NULL, NULL);
	result->n_iter = it;
	result->converged = converged;
	result->init = opts.init;
	result->n_init = opts.init == KMEANS_INIT_GIVEN ? 1 : opts.n_init;
	result->seed = opts.seed;
	result->max_iter = opts.max_iter;
	result->tol = opts.tol;
	result->requested_k = k;
	MemoryContextSwitchTo(old);

	SPI_finish();
	PG_RETURN_BYTEA_P(segment_model_encode(result));
}
