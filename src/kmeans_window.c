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

/* Read all rows of the partition and fit its model into part. */
static void
kmeans_window_prepare(WindowObject winobj, KMeansWindowPartition *part)
{
	MemoryContext partcxt = GetMemoryChunkContext(part);
	MemoryContext tmpcxt;
	MemoryContext old;
	int64		rows = WinGetPartitionRowCount(winobj);
	KMeansOptions opts;
	Jsonb	   *options = NULL;
	bool		isnull;
	Datum		value;
	int32		k;
	double	   *X = NULL;
	int64		n = 0;
	int64		n_null = 0;
	int			d = 0;
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
	kmeans_parse_options(options, &opts);
	MemoryContextSwitchTo(old);
	part->k = k;
	part->options = options;

	tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "kmeans window rows",
								   ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < rows; i++)
	{
		bool		isout;
		Datum		datum;
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
			n_null++;
			continue;
		}
		old = MemoryContextSwitchTo(tmpcxt);
		x = segment_kmeans_features(DatumGetArrayTypeP(datum), &dx);
		MemoryContextSwitchTo(old);
		if (X == NULL)
		{
			Size		bytes;

			d = dx;
			bytes = mul_size(mul_size((Size) (rows - i), (Size) d), sizeof(double));
			segment_check_memory(bytes, "kmeans");
			X = MemoryContextAllocHuge(partcxt, bytes);
		}
		else if (dx != d)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("all feature arrays of a kmeans partition must have the same length"),
					 errdetail("Lengths %d and %d were given.", d, dx)));
		memcpy(X + n * d, x, sizeof(double) * d);
		n++;
	}
	MemoryContextDelete(tmpcxt);

	part->ready = true;
	if (n == 0)
		return;
	old = MemoryContextSwitchTo(partcxt);
	part->model = kmeans_fit_rows(X, n, d, n_null, k, &opts);
	part->point = palloc(sizeof(double) * d);
	MemoryContextSwitchTo(old);
	pfree(X);
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
