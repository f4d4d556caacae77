/*-------------------------------------------------------------------------
 *
 * kprototypes_window.c
 *	  kprototypes(numeric, categorical, k, options) OVER (...): one-query
 *	  segmentation on mixed features, one model per partition.
 *
 * On the first row of a partition every row of the partition is read once
 * into partition memory and fitted exactly as kprototypes_fit does
 * (kproto_fit_rows: same dictionary renumbering, sort, scaling, seeds and
 * canonical ids), so the window form gives the model the aggregate gives
 * over the same rows.  Each row's segment is the nearest prototype of its
 * own features, which is what assign_segment returns with that model.
 * Rows with a NULL numeric or categorical array get NULL.  A window ORDER
 * BY or frame clause does not change the result: the whole partition is
 * always used.
 *
 * src/kprototypes_window.c
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

typedef struct KProtoWindowPartition
{
	bool		ready;			/* model fitted (or partition found empty) */
	SegmentModel *model;		/* NULL if the partition has no non-NULL row */
	int32		k;				/* k of the partition's first row */
	Jsonb	   *options;		/* options of the first row (NULL: none) */
	bool		constant_args;	/* k and options are constants: no per-row check */
} KProtoWindowPartition;

PG_FUNCTION_INFO_V1(segment_kprototypes_window);

/* Read all rows of the partition and fit its model into part. */
static void
kproto_window_prepare(WindowObject winobj, KProtoWindowPartition *part)
{
	MemoryContext partcxt = GetMemoryChunkContext(part);
	MemoryContext rowcxt;
	MemoryContext tmpcxt;
	MemoryContext old;
	int64		nrows = WinGetPartitionRowCount(winobj);
	KProtoRows *rows;
	Jsonb	   *options = NULL;
	bool		isnull;
	Datum		value;
	int64		i;

	value = WinGetFuncArgCurrent(winobj, 2, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be null in kprototypes")));
	part->k = DatumGetInt32(value);
	value = WinGetFuncArgCurrent(winobj, 3, &isnull);
	if (!isnull)
	{
		Jsonb	   *arg = DatumGetJsonbP(value);

		options = (Jsonb *) MemoryContextAlloc(partcxt, VARSIZE(arg));
		memcpy(options, arg, VARSIZE(arg));
	}
	part->options = options;

	rowcxt = AllocSetContextCreate(partcxt, "kprototypes window rows",
								   ALLOCSET_DEFAULT_SIZES);
	rows = kproto_rows_new(rowcxt, options);
	tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "kprototypes window row",
								   ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < nrows; i++)
	{
		bool		isout;
		bool		catnull;
		Datum		num;
		Datum		cat;

		if ((i & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
		MemoryContextReset(tmpcxt);
		num = WinGetFuncArgInPartition(winobj, 0, i, WINDOW_SEEK_HEAD, false,
									   &isnull, &isout);
		/*
		 * Fetching the next argument may free the tuple num points into
		 * (the slot stores a fresh copy): copy num out first.
		 */
		old = MemoryContextSwitchTo(tmpcxt);
		if (!isnull && !isout)
			num = PointerGetDatum(PG_DETOAST_DATUM_COPY(num));
		MemoryContextSwitchTo(old);
		cat = WinGetFuncArgInPartition(winobj, 1, i, WINDOW_SEEK_HEAD, false,
									   &catnull, &isout);
		old = MemoryContextSwitchTo(tmpcxt);
		kproto_rows_add(rows, (isnull || isout) ? NULL : DatumGetArrayTypeP(num),
						(catnull || isout) ? NULL : DatumGetArrayTypeP(cat),
						"kprototypes");
		MemoryContextSwitchTo(old);
	}
	MemoryContextDelete(tmpcxt);

	part->ready = true;
	if (kproto_rows_count(rows) > 0)
	{
		old = MemoryContextSwitchTo(partcxt);
		part->model = kproto_fit_rows(rows, part->k);
		MemoryContextSwitchTo(old);
	}
	MemoryContextDelete(rowcxt);
}

/* Raise 22023 if this row's k or options differ from the partition's. */
static void
kproto_window_check_args(WindowObject winobj, KProtoWindowPartition *part)
{
	bool		isnull;
	Datum		value;
	Jsonb	   *options;
	bool		same;

	value = WinGetFuncArgCurrent(winobj, 2, &isnull);
	same = !isnull && DatumGetInt32(value) == part->k;
	if (same)
	{
		value = WinGetFuncArgCurrent(winobj, 3, &isnull);
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
				 errmsg("k and options must be the same for every row of a kprototypes partition")));
}

/* kprototypes(numeric, categorical, k, options) OVER (...): this row's segment 1..k. */
Datum
segment_kprototypes_window(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	KProtoWindowPartition *part;
	bool		numnull;
	bool		catnull;
	Datum		num;
	Datum		cat;

	part = (KProtoWindowPartition *)
		WinGetPartitionLocalMemory(winobj, sizeof(KProtoWindowPartition));
	if (!part->ready)
	{
		part->constant_args = get_fn_expr_arg_stable(fcinfo->flinfo, 2) &&
			get_fn_expr_arg_stable(fcinfo->flinfo, 3);
		kproto_window_prepare(winobj, part);
	}
	else if (!part->constant_args)
		kproto_window_check_args(winobj, part);

	num = WinGetFuncArgCurrent(winobj, 0, &numnull);
	cat = WinGetFuncArgCurrent(winobj, 1, &catnull);
	if (numnull || catnull || part->model == NULL)
		PG_RETURN_NULL();
	PG_RETURN_INT32(kproto_model_nearest(part->model, DatumGetArrayTypeP(num),
										 DatumGetArrayTypeP(cat), NULL) + 1);
}
