/*-------------------------------------------------------------------------
 *
 * quantile_agg.c
 *	  quantile_breaks(value, bins) aggregate and score(value, breaks).
 *
 * The aggregate keeps every non-NULL value exactly (8 bytes each, up to
 * segment.quantile_exact_limit values per group) and computes the cut
 * points of quantile.c at the end; score() applies stored cut points, so
 * the pair reproduces rfm_score's scores on the same data and scores new
 * customers the same way later.  States serialize for parallel workers and
 * merge by concatenation.
 *
 * src/quantile_agg.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "segment.h"
#include "quantile.h"

#define QUANTILE_STATE_VERSION 1

typedef struct QuantileState
{
	int32		bins;
	bool		sorted;			/* values[] is known to be sorted */
	int64		n;
	int64		capacity;
	double	   *values;
} QuantileState;

PG_FUNCTION_INFO_V1(segment_quantile_breaks_transfn);
PG_FUNCTION_INFO_V1(segment_quantile_breaks_combinefn);
PG_FUNCTION_INFO_V1(segment_quantile_breaks_serialfn);
PG_FUNCTION_INFO_V1(segment_quantile_breaks_deserialfn);
PG_FUNCTION_INFO_V1(segment_quantile_breaks_finalfn);
PG_FUNCTION_INFO_V1(segment_score);

/* Fetch the aggregate context or complain about a non-aggregate call. */
static MemoryContext
quantile_aggcontext(FunctionCallInfo fcinfo)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "quantile_breaks called in non-aggregate context");
	return aggcontext;
}

/* A new state for bins in context. */
static QuantileState *
quantile_state_new(MemoryContext context, int32 bins)
{
	QuantileState *state = MemoryContextAllocZero(context, sizeof(QuantileState));

	state->bins = bins;
	state->sorted = true;
	return state;
}

/* Grow the value buffer to hold need values, within the exact limit. */
static void
quantile_reserve(QuantileState *state, int64 need)
{
	int64		capacity;

	if (need <= state->capacity)
		return;
	if (need > segment_quantile_exact_limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("quantile_breaks input has more than %d values in one group",
						segment_quantile_exact_limit),
				 errhint("Raise segment.quantile_exact_limit (each value takes 8 bytes of memory).")));
	capacity = Min(Max(need, state->capacity * 2), (int64) segment_quantile_exact_limit);
	capacity = Max(capacity, 64);
	if (state->values == NULL)
		state->values = MemoryContextAllocHuge(GetMemoryChunkContext(state),
											   capacity * sizeof(double));
	else
		state->values = repalloc_huge(state->values, capacity * sizeof(double));
	state->capacity = capacity;
}

/* Check that every row gives the same bins. */
static void
quantile_check_same_bins(int32 a, int32 b)
{
	if (a != b)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins must be the same for every row of a quantile_breaks group"),
				 errdetail("Values %d and %d were given.", a, b)));
}

/* Transition: remember a non-NULL value. */
Datum
segment_quantile_breaks_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = quantile_aggcontext(fcinfo);
	QuantileState *state = PG_ARGISNULL(0) ? NULL : (QuantileState *) PG_GETARG_POINTER(0);
	int32		bins;
	double		value;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("bins must not be null in quantile_breaks")));
	bins = PG_GETARG_INT32(2);
	quantile_check_bins(bins);
	if (state == NULL)
		state = quantile_state_new(aggcontext, bins);
	else
		quantile_check_same_bins(state->bins, bins);

	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(state);
	value = PG_GETARG_FLOAT8(1);
	segment_reject_nan(value, "quantile_breaks input");

	quantile_reserve(state, state->n + 1);
	state->values[state->n++] = value;
	state->sorted = false;
	PG_RETURN_POINTER(state);
}

/* Combine: concatenate the values of two states. */
Datum
segment_quantile_breaks_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = quantile_aggcontext(fcinfo);
	QuantileState *a = PG_ARGISNULL(0) ? NULL : (QuantileState *) PG_GETARG_POINTER(0);
	QuantileState *b = PG_ARGISNULL(1) ? NULL : (QuantileState *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = quantile_state_new(aggcontext, b->bins);
	else
		quantile_check_same_bins(a->bins, b->bins);
	if (b->n > 0)
	{
		quantile_reserve(a, a->n + b->n);
		memcpy(a->values + a->n, b->values, b->n * sizeof(double));
		a->n += b->n;
		a->sorted = false;
	}
	PG_RETURN_POINTER(a);
}

/* Serialize: version, bins, count, values. */
Datum
segment_quantile_breaks_serialfn(PG_FUNCTION_ARGS)
{
	QuantileState *state = (QuantileState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int64		i;

	/* a worker's state must fit in one bytea to reach the leader */
	if ((Size) state->n >= (MaxAllocSize - 64) / sizeof(double))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("quantile_breaks state of " INT64_FORMAT " values is too large to pass between parallel workers",
						state->n),
				 errhint("Disable parallel query for this statement (SET max_parallel_workers_per_gather = 0).")));
	pq_begintypsend(&buf);
	enlargeStringInfo(&buf, 16 + (int) (state->n * sizeof(double)));
	pq_sendbyte(&buf, QUANTILE_STATE_VERSION);
	pq_sendint32(&buf, state->bins);
	pq_sendint64(&buf, state->n);
	for (i = 0; i < state->n; i++)
		pq_sendfloat8(&buf, state->values[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Deserialize and validate a state. */
Datum
segment_quantile_breaks_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = quantile_aggcontext(fcinfo);
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	QuantileState *state;
	int32		bins;
	int64		n;
	int64		i;

	segment_state_open(bytes, &buf, QUANTILE_STATE_VERSION, "quantile_breaks");
	bins = pq_getmsgint(&buf, 4);
	n = pq_getmsgint64(&buf);
	if (bins < 1 || bins > SEGMENT_MAX_BINS || n < 0 ||
		n != (buf.len - buf.cursor) / (int64) sizeof(double) ||
		(buf.len - buf.cursor) % sizeof(double) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid quantile_breaks state")));
	state = quantile_state_new(aggcontext, bins);
	quantile_reserve(state, n);
	for (i = 0; i < n; i++)
		state->values[i] = pq_getmsgfloat8(&buf);
	state->n = n;
	state->sorted = false;
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(state);
}

/* Final: sort (in place, the multiset is unchanged) and cut; NULL if empty. */
Datum
segment_quantile_breaks_finalfn(PG_FUNCTION_ARGS)
{
	QuantileState *state = PG_ARGISNULL(0) ? NULL : (QuantileState *) PG_GETARG_POINTER(0);
	Datum	   *elems;
	double	   *breaks;
	int			j;

	if (state == NULL || state->n == 0)
		PG_RETURN_NULL();
	if (!state->sorted)
	{
		double	   *scratch = palloc_extended(state->n * sizeof(double),
											  MCXT_ALLOC_HUGE);

		quantile_sort(state->values, state->n, scratch);
		pfree(scratch);
		state->sorted = true;
	}
	breaks = palloc(sizeof(double) * state->bins);
	quantile_breaks_sorted(state->values, state->n, state->bins, breaks);
	elems = palloc(sizeof(Datum) * state->bins);
	for (j = 0; j < state->bins - 1; j++)
		elems[j] = Float8GetDatum(breaks[j]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, state->bins - 1, FLOAT8OID,
										  sizeof(float8), FLOAT8PASSBYVAL,
										  TYPALIGN_DOUBLE));
}

/* score(value, breaks, higher_is_better): the quantile score of value. */
Datum
segment_score(PG_FUNCTION_ARGS)
{
	double		value = PG_GETARG_FLOAT8(0);
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(1);
	bool		higher_is_better = PG_GETARG_BOOL(2);
	double	   *breaks;
	int			nbreaks;
	int			j;
	int			score;

	breaks = segment_float8_array_data(array, &nbreaks, "breaks");
	quantile_check_bins(nbreaks + 1);
	for (j = 0; j < nbreaks; j++)
	{
		segment_reject_nan(breaks[j], "breaks");
		if (j > 0 && breaks[j] < breaks[j - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("breaks must be sorted in ascending order")));
	}
	segment_reject_nan(value, "score input");

	score = quantile_score(value, breaks, nbreaks);
	PG_RETURN_INT32(higher_is_better ? score : nbreaks + 2 - score);
}
