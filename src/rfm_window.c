/*-------------------------------------------------------------------------
 *
 * rfm_window.c
 *	  rfm_score(value, bins, higher_is_better) OVER (...): tie-aware
 *	  quantile score of each row within its partition.
 *
 * On the first row of a partition all non-NULL values of the partition are
 * read once, sorted, and reduced to the cut points of quantile.c; every row
 * is then scored by binary search against them.  The window needs no
 * ORDER BY (an ORDER BY in the window clause does not change the result),
 * so one WindowAgg computes R, F and M together without the three sorts
 * that ntile() would need.
 *
 * src/rfm_window.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"
#include "windowapi.h"

#include "segment.h"
#include "quantile.h"

typedef struct RfmScorePartition
{
	bool		ready;			/* breaks computed for this partition */
	bool		empty;			/* no non-NULL values: every score is NULL */
	int32		bins;
	bool		higher_is_better;
	bool		constant_args;	/* bins and higher_is_better are constants */
	double		breaks[SEGMENT_MAX_BINS];
} RfmScorePartition;

PG_FUNCTION_INFO_V1(segment_rfm_score);

/* Read argument argno of the current row; NULL is an error naming it. */
static Datum
window_required_arg(WindowObject winobj, int argno, const char *name)
{
	bool		isnull;
	Datum		value = WinGetFuncArgCurrent(winobj, argno, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null in rfm_score", name)));
	return value;
}

/* Read the partition's values, sort them and compute the breaks. */
static void
rfm_score_prepare(WindowObject winobj, RfmScorePartition *part)
{
	int64		rows = WinGetPartitionRowCount(winobj);
	MemoryContext context = GetMemoryChunkContext(part);
	double	   *values;
	double	   *scratch;
	int64		n = 0;
	int64		i;

	values = MemoryContextAllocHuge(context, Max(rows, 1) * sizeof(double));
	for (i = 0; i < rows; i++)
	{
		bool		isnull;
		bool		isout;
		Datum		d = WinGetFuncArgInPartition(winobj, 0, i, WINDOW_SEEK_HEAD,
												 false, &isnull, &isout);

		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (isnull || isout)
			continue;
		values[n] = DatumGetFloat8(d);
		segment_reject_nan(values[n], "rfm_score input");
		n++;
	}

	part->empty = (n == 0);
	if (n > 0)
	{
		scratch = MemoryContextAllocHuge(context, n * sizeof(double));
		quantile_sort(values, n, scratch);
		quantile_breaks_sorted(values, n, part->bins, part->breaks);
		pfree(scratch);
	}
	pfree(values);
	part->ready = true;
}

/* rfm_score window function. */
Datum
segment_rfm_score(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	RfmScorePartition *part;
	bool		isnull;
	Datum		value;
	int32		bins;
	bool		higher_is_better;
	int			score;

	part = (RfmScorePartition *)
		WinGetPartitionLocalMemory(winobj, sizeof(RfmScorePartition));

	if (!part->ready)
	{
		bins = DatumGetInt32(window_required_arg(winobj, 1, "bins"));
		quantile_check_bins(bins);
		part->bins = bins;
		part->higher_is_better =
			DatumGetBool(window_required_arg(winobj, 2, "higher_is_better"));
		/* constant arguments need not be re-read and compared per row */
		part->constant_args = get_fn_expr_arg_stable(fcinfo->flinfo, 1) &&
			get_fn_expr_arg_stable(fcinfo->flinfo, 2);
		rfm_score_prepare(winobj, part);
	}
	else if (!part->constant_args)
	{
		bins = DatumGetInt32(window_required_arg(winobj, 1, "bins"));
		higher_is_better = DatumGetBool(window_required_arg(winobj, 2, "higher_is_better"));
		if (bins != part->bins || higher_is_better != part->higher_is_better)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bins and higher_is_better must be the same for every row of an rfm_score partition")));
	}

	value = WinGetFuncArgCurrent(winobj, 0, &isnull);
	if (isnull || part->empty)
		PG_RETURN_NULL();

	score = quantile_score(DatumGetFloat8(value), part->breaks, part->bins - 1);
	PG_RETURN_INT32(part->higher_is_better ? score : part->bins + 1 - score);
}
