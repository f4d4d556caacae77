/*-------------------------------------------------------------------------
 *
 * kmeans_window.c
 *	  kmeans(features, k, options) OVER (...): one-query segmentation, one
 *	  model per partition.
 *
 * On the first row of a partition every non-NULL feature row of the
 * partition is read once into partition memory and fitted exactly as
 * kmeans_fit does (kmeans_fit_rows: same sort, scaling, seeds and
 * canonical ids), so the window form gives the same model as the
 * aggregate over the same rows.  Each row's segment is then the nearest
 * centroid of its own features, which is exactly what assign_segment
 * returns with that model.  Rows with NULL features get NULL.  A window
 * ORDER BY or frame clause does not change the result: the whole
 * partition is always used.
 *
 * Options mode and sample_size (issue 7) work as in kmeans_fit: "sample"
 * fits on the partition's bottom-S sample (the same sample and model as
 * kmeans_fit over the same rows), "auto" does so only above
 * segment.kmeans_memory_limit, and every row is then assigned to the
 * nearest centroid (the pass that assigns all rows).  Mode "scan" runs
 * kmeans_fit_scan's algorithm over the partition, which the window keeps
 * in its tuplestore (spilled to disk beyond work_mem): a statistics pass
 * that also draws the seeding sample, one kmeans_step pass per Lloyd
 * iteration, a final pass; memory is O(k*d) plus the sample.
 *
 * src/kmeans_window.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "windowapi.h"

#include "segment.h"
#include "feature_rows.h"
#include "kmeans_scale.h"
#include "model.h"

typedef struct KMeansWindowPartition
{
	bool		ready;			/* model fitted (or partition found empty) */
	SegmentModel *model;		/* NULL if the partition has no non-NULL row */
	double	   *point;			/* d scratch for the current row */
	int32		k;				/* k of the partition's first row */
	Jsonb	   *options;		/* options of the first row (NULL: none) */
	bool		constant_args;	/* k and options are constants: no per-row check */
} KMeansWindowPartition;

PG_FUNCTION_INFO_V1(segment_kmeans_window);

/*
 * One pass over the partition: the kmeans_step state of model m, made in
 * cxt; rows are also offered to sample when it is not NULL.
 */
static KMeansStepState *
window_pass(WindowObject winobj, int64 rows, const SegmentModel *m, MemoryContext cxt,
			FeatureRows *sample)
{
	MemoryContext tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "kmeans window pass",
												 ALLOCSET_DEFAULT_SIZES);
	KMeansStepState *st = kmeans_step_state_new(cxt, m);
	double	   *z = palloc(sizeof(double) * m->d);
	double	   *dist2 = palloc(sizeof(double) * m->k);
	int64		i;

	for (i = 0; i < rows; i++)
	{
		bool		isnull;
		bool		isout;
		Datum		datum;
		MemoryContext old;
		ArrayType  *array;
		double	   *x;
		int			dx;

		if ((i & 0x3FF) == 0)
		{
			CHECK_FOR_INTERRUPTS();
			MemoryContextReset(tmpcxt);
		}
		datum = WinGetFuncArgInPartition(winobj, 0, i, WINDOW_SEEK_HEAD, false,
										 &isnull, &isout);
		if (isnull || isout)
		{
			kmeans_step_state_add(st, m, NULL, NULL, NULL);
			if (sample)
				feature_rows_add(sample, NULL, "kmeans");
			continue;
		}
		old = MemoryContextSwitchTo(tmpcxt);
		array = DatumGetArrayTypeP(datum);
		x = segment_kmeans_features(array, &dx);
		if (dx != m->d)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("all feature arrays of a kmeans partition must have the same length"),
					 errdetail("Lengths %d and %d were given.", m->d, dx)));
		kmeans_step_state_add(st, m, x, z, dist2);
		if (sample)
			feature_rows_add(sample, array, "kmeans");
		MemoryContextSwitchTo(old);
	}
	MemoryContextDelete(tmpcxt);
	pfree(z);
	pfree(dist2);
	return st;
}

/*
 * Mode "scan": fit the partition with repeated passes (kmeans_fit_scan's
 * algorithm, same seeding sample and options), allocating the model in
 * partcxt.  NULL when the partition has no non-NULL row.
 */
static SegmentModel *
kmeans_window_scan(WindowObject winobj, int64 rows, int k, FeatureRows *fr,
				   MemoryContext partcxt)
{
	MemoryContext scancxt = AllocSetContextCreate(CurrentMemoryContext, "kmeans window scan",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext passcxt = AllocSetContextCreate(scancxt, "kmeans window scan pass",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(scancxt);
	KMeansOptions opts = fr->opts;
	FeatureRows *sample = NULL;
	KMeansStepState *stats;
	KMeansStepState *st = NULL;
	SegmentModel *model;
	SegmentModel *result;
	double	   *init_raw;
	double		shift = 0.0;
	double		tol_abs = 0.0;
	bool		converged = false;
	int64		i;
	int			d = 0;
	int			it;

	if (opts.min_segment_share > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("option \"min_segment_share\" is not available in mode \"scan\"")));
	if (opts.scale == SEGMENT_SCALE_ROBUST)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("scale \"robust\" is not available in mode \"scan\""),
				 errhint("Use scale \"zscore\", \"minmax\" or \"none\", or mode \"sample\".")));
	/* d: the first non-NULL row's length */
	for (i = 0; i < rows && d == 0; i++)
	{
		bool		isnull;
		bool		isout;
		Datum		datum = WinGetFuncArgInPartition(winobj, 0, i, WINDOW_SEEK_HEAD, false,
													 &isnull, &isout);

		if (!isnull && !isout)
			(void) segment_kmeans_features(DatumGetArrayTypeP(datum), &d);
	}
	if (d == 0)
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(scancxt);
		return NULL;
	}
	if (opts.n_feature_names >= 0 && opts.n_feature_names != d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("kmeans option \"feature_names\" has %d names but features have %d elements",
						opts.n_feature_names, d)));
	if (opts.init == KMEANS_INIT_GIVEN && opts.init_d != d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("kmeans option \"init\" centroids have %d features but features have %d elements",
						opts.init_d, d)));

	/* 1. statistics, and the seeding sample (as kmeans_fit's mode sample) */
	if (opts.init != KMEANS_INIT_GIVEN)
	{
		sample = palloc0(sizeof(FeatureRows));
		feature_rows_init_modes(sample, scancxt, fr->options, k);
		sample->mopts.mode = KMEANS_MODE_SAMPLE;
	}
	stats = window_pass(winobj, rows, kmeans_step_template_model(d, &opts), scancxt, sample);
	if (sample != NULL)
	{
		SegmentModel *sm;
		KMeansOptions so = opts;
		int			c;

		so.quiet = true;
		so.verbose = false;
		sm = kmeans_fit_rows(sample->rows, sample->n, d, 0, k, &so);
		init_raw = palloc(sizeof(double) * k * d);
		for (c = 0; c < k; c++)
			segment_model_centroid_original(sm, c, init_raw + (Size) c * d);
		feature_rows_release(sample);
	}
	else
		init_raw = opts.init_centroids;
	model = kmeans_step_initial_model(stats, k, &opts, init_raw);

	/* 2. Lloyd passes */
	for (it = 0; it < opts.max_iter; it++)
	{
		SegmentModel *next;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(passcxt);
		st = window_pass(winobj, rows, model, passcxt, NULL);
		next = kmeans_step_update(st, true, &shift, &tol_abs);
		if (opts.verbose)
			ereport(NOTICE,
					(errmsg("kmeans scan pass %d: inertia %.17g, center shift %.17g (tolerance %.17g)",
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
	{
		MemoryContextReset(passcxt);
		st = window_pass(winobj, rows, model, passcxt, NULL);
	}
	MemoryContextSwitchTo(partcxt);
	result = kmeans_step_update(st, false, NULL, NULL);
	result->n_iter = it;
	result->converged = converged;
	result->init = opts.init;
	result->n_init = opts.init == KMEANS_INIT_GIVEN ? 1 : opts.n_init;
	MemoryContextSwitchTo(old);
	MemoryContextDelete(scancxt);
	return result;
}

/* Read all rows of the partition and fit its model into part. */
static void
kmeans_window_prepare(WindowObject winobj, KMeansWindowPartition *part)
{
	MemoryContext partcxt = GetMemoryChunkContext(part);
	MemoryContext tmpcxt;
	MemoryContext old;
	int64		rows = WinGetPartitionRowCount(winobj);
	FeatureRows *fr;
	Jsonb	   *options = NULL;
	bool		isnull;
	Datum		value;
	int32		k;
	int64		i;

	value = WinGetFuncArgCurrent(winobj, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be null in kmeans")));
	k = DatumGetInt32(value);
	value = WinGetFuncArgCurrent(winobj, 2, &isnull);
	old = MemoryContextSwitchTo(partcxt);
	if (!isnull)
		options = DatumGetJsonbPCopy(value);
	fr = palloc0(sizeof(FeatureRows));
	MemoryContextSwitchTo(old);
	feature_rows_init_modes(fr, partcxt, options, k);
	part->k = k;
	part->options = options;
	if (fr->mopts.mode == KMEANS_MODE_SCAN)
	{
		if (k < 1 || k > SEGMENT_KMEANS_MAX_K)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("k must be between 1 and %d", SEGMENT_KMEANS_MAX_K),
					 errdetail("k is %d.", k)));
		if (fr->opts.init == KMEANS_INIT_GIVEN && fr->opts.init_k != k)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("kmeans option \"init\" gives %d centroids but k is %d",
							fr->opts.init_k, k)));
		part->model = kmeans_window_scan(winobj, rows, k, fr, partcxt);
		part->ready = true;
		if (part->model != NULL)
			part->point = MemoryContextAlloc(partcxt, sizeof(double) * part->model->d);
		return;
	}

	tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "kmeans window rows",
								   ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < rows; i++)
	{
		bool		isout;
		Datum		datum;

		if ((i & 0x3FF) == 0)
		{
			CHECK_FOR_INTERRUPTS();
			MemoryContextReset(tmpcxt);
		}
		datum = WinGetFuncArgInPartition(winobj, 0, i, WINDOW_SEEK_HEAD, false,
										 &isnull, &isout);
		old = MemoryContextSwitchTo(tmpcxt);
		if (isnull || isout)
			feature_rows_add(fr, NULL, "kmeans");
		else
		{
			ArrayType  *array = DatumGetArrayTypeP(datum);
			int			dx;

			(void) segment_kmeans_features(array, &dx);
			if (fr->d != 0 && dx != fr->d)
				ereport(ERROR,
						(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						 errmsg("all feature arrays of a kmeans partition must have the same length"),
						 errdetail("Lengths %d and %d were given.", fr->d, dx)));
			feature_rows_add(fr, array, "kmeans");
		}
		MemoryContextSwitchTo(old);
	}
	MemoryContextDelete(tmpcxt);

	part->ready = true;
	if (fr->n == 0)
		return;
	if (fr->sampled && fr->keys != NULL)
	{
		pfree(fr->keys);
		fr->keys = NULL;
	}
	old = MemoryContextSwitchTo(partcxt);
	if (fr->sampled)
		part->model = kmeans_fit_sample(fr->rows, fr->n, fr->n_total, fr->d, fr->n_null,
										k, &fr->opts);
	else
		part->model = kmeans_fit_rows(fr->rows, fr->n, fr->d, fr->n_null, k, &fr->opts);
	part->point = palloc(sizeof(double) * fr->d);
	MemoryContextSwitchTo(old);
	feature_rows_release(fr);
}

/* Raise 22023 if this row's k or options differ from the partition's. */
static void
kmeans_window_check_args(WindowObject winobj, KMeansWindowPartition *part)
{
	bool		isnull;
	Datum		value;
	Jsonb	   *options;
	bool		same;

	value = WinGetFuncArgCurrent(winobj, 1, &isnull);
	same = !isnull && DatumGetInt32(value) == part->k;
	if (same)
	{
		value = WinGetFuncArgCurrent(winobj, 2, &isnull);
		options = isnull ? NULL : DatumGetJsonbP(value);
		if (options == NULL || part->options == NULL)
			same = (options == part->options);
		else
			same = VARSIZE(options) == VARSIZE(part->options) &&
				memcmp(options, part->options, VARSIZE(options)) == 0;
	}
	if (!same)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k and options must be the same for every row of a kmeans partition")));
}

/* kmeans(features, k, options) OVER (...): the segment 1..k of this row. */
Datum
segment_kmeans_window(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	KMeansWindowPartition *part;
	SegmentModel *m;
	ArrayType  *array;
	double	   *x;
	bool		isnull;
	Datum		value;
	int			d;

	part = (KMeansWindowPartition *)
		WinGetPartitionLocalMemory(winobj, sizeof(KMeansWindowPartition));
	if (!part->ready)
	{
		part->constant_args = get_fn_expr_arg_stable(fcinfo->flinfo, 1) &&
			get_fn_expr_arg_stable(fcinfo->flinfo, 2);
		kmeans_window_prepare(winobj, part);
	}
	else if (!part->constant_args)
		kmeans_window_check_args(winobj, part);

	value = WinGetFuncArgCurrent(winobj, 0, &isnull);
	if (isnull || part->model == NULL)
		PG_RETURN_NULL();
	m = part->model;
	array = DatumGetArrayTypeP(value);
	x = segment_kmeans_features(array, &d);
	/* the argument is evaluated again here: a volatile one may differ */
	if (d != m->d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("all feature arrays of a kmeans partition must have the same length"),
				 errdetail("Lengths %d and %d were given.", m->d, d)));
	segment_model_to_space(m, x, part->point);
	PG_RETURN_INT32(kmeans_nearest(part->point, m->d, m->centroids, m->k, NULL) + 1);
}
