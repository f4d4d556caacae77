/*-------------------------------------------------------------------------
 *
 * rfm.c
 *	  rfm_summary(ordered_at, amount, as_of): per-customer recency,
 *	  frequency and monetary value, plus the BTYD summary (x, t_x, T, zbar).
 *
 * Definitions (Fader, Hardie & Lee 2005, "Counting your customers the easy
 * way", Marketing Science 24(2); and "RFM and CLV: using iso-value curves",
 * JMR 42(4)): purchases are grouped into calendar days in the session time
 * zone; the first day is the customer's "birth".  x = repeat_periods is the
 * number of distinct purchase days after the first, t_x = t_x_days the days
 * from the first to the last purchase day, T = t_days the days from the
 * first purchase day to as_of, and zbar = repeat_avg_amount the mean spend
 * of the repeat days (same-day purchases merged, the first day excluded,
 * 0 when there is none).  Rows after as_of are ignored.
 *
 * The state keeps the set of distinct purchase days (4 bytes each; an
 * inline buffer covers most customers without a second allocation) and
 * the amount spent on the earliest day, which is all that zbar needs:
 * zbar = (total - first_day_amount) / x.  States merge by set union, so
 * the aggregate is combinable and runs under parallel query.
 *
 * src/rfm.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "segment.h"

#define RFM_STATE_VERSION 1
#define RFM_INLINE_DAYS 6

typedef struct RfmState
{
	int64		orders;			/* rows counted (on or before as_of) */
	double		total;			/* sum of amounts */
	TimestampTz first_at;
	TimestampTz last_at;
	TimestampTz as_of;
	int32		first_day;		/* earliest purchase day (Julian day) */
	double		first_day_amount;	/* spend on first_day */
	int32		ndays;			/* distinct purchase days, sorted in days[] */
	int32		capacity;
	int32	   *days;			/* points to inline_days or to a palloc'd array */
	int32		inline_days[RFM_INLINE_DAYS];
} RfmState;

PG_FUNCTION_INFO_V1(segment_rfm_transfn);
PG_FUNCTION_INFO_V1(segment_rfm_transfn_float8);
PG_FUNCTION_INFO_V1(segment_rfm_combinefn);
PG_FUNCTION_INFO_V1(segment_rfm_serialfn);
PG_FUNCTION_INFO_V1(segment_rfm_deserialfn);
PG_FUNCTION_INFO_V1(segment_rfm_finalfn);

/* Julian day number of ts in the session time zone. */
static int32
timestamptz_day(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (timestamp2tm(ts, &tz, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
}

/* Fetch the aggregate context or complain about a non-aggregate call. */
static MemoryContext
rfm_aggcontext(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcontext;
}

/* A new, empty state in context for as_of. */
static RfmState *
rfm_state_new(MemoryContext context, TimestampTz as_of)
{
	RfmState   *state = MemoryContextAllocZero(context, sizeof(RfmState));

	state->as_of = as_of;
	state->first_at = DT_NOEND;
	state->last_at = DT_NOBEGIN;
	state->first_day = PG_INT32_MAX;
	state->capacity = RFM_INLINE_DAYS;
	state->days = state->inline_days;
	return state;
}

/* Make room for at least need days in the state's day array. */
static void
rfm_reserve_days(RfmState *state, int32 need)
{
	int32		capacity;
	int32	   *days;

	if (need <= state->capacity)
		return;
	capacity = Max(need, state->capacity * 2);
	if ((Size) capacity > MaxAllocSize / sizeof(int32))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct purchase days in one rfm_summary group")));
	days = MemoryContextAlloc(GetMemoryChunkContext(state),
							  capacity * sizeof(int32));
	memcpy(days, state->days, state->ndays * sizeof(int32));
	if (state->days != state->inline_days)
		pfree(state->days);
	state->days = days;
	state->capacity = capacity;
}

/* Insert day into the sorted day set unless present. */
static void
rfm_add_day(RfmState *state, int32 day)
{
	int32		lo = 0;
	int32		hi = state->ndays;

	/* common case: orders arrive in time order */
	if (hi > 0 && state->days[hi - 1] < day)
		lo = hi;
	else
	{
		while (lo < hi)
		{
			int32		mid = (lo + hi) / 2;

			if (state->days[mid] < day)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < state->ndays && state->days[lo] == day)
			return;
	}
	rfm_reserve_days(state, state->ndays + 1);
	memmove(state->days + lo + 1, state->days + lo,
			(state->ndays - lo) * sizeof(int32));
	state->days[lo] = day;
	state->ndays++;
}

/* Account the spend of one purchase day toward first_day bookkeeping. */
static void
rfm_add_first_day_amount(RfmState *state, int32 day, double amount)
{
	if (day < state->first_day)
	{
		state->first_day = day;
		state->first_day_amount = amount;
	}
	else if (day == state->first_day)
	{
		state->first_day_amount += amount;
		if (unlikely(isinf(state->first_day_amount)))
			float_overflow_error();
	}
}

/* Shared transition logic once the amount is a finite double. */
static Datum
rfm_transition(FunctionCallInfo fcinfo, bool amount_null, double amount)
{
	MemoryContext aggcontext = rfm_aggcontext(fcinfo, "rfm_summary");
	RfmState   *state = PG_ARGISNULL(0) ? NULL : (RfmState *) PG_GETARG_POINTER(0);
	TimestampTz ordered_at;
	TimestampTz as_of;
	int32		day;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of must not be null in rfm_summary")));
	as_of = PG_GETARG_TIMESTAMPTZ(3);
	if (TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("as_of must be a finite timestamp")));

	if (state == NULL)
		state = rfm_state_new(aggcontext, as_of);
	else if (state->as_of != as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be the same for every row of an rfm_summary group")));

	/* rows without a time or an amount are not purchases */
	if (PG_ARGISNULL(1) || amount_null)
		PG_RETURN_POINTER(state);

	ordered_at = PG_GETARG_TIMESTAMPTZ(1);
	if (TIMESTAMP_NOT_FINITE(ordered_at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("ordered_at must be a finite timestamp")));
	if (ordered_at > as_of)
		PG_RETURN_POINTER(state);

	if (isnan(amount) || isinf(amount))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("amount must be a finite number"),
				 errdetail("The value given was %s.", float8out_internal(amount))));

	day = timestamptz_day(ordered_at);
	state->orders++;
	state->total += amount;
	if (unlikely(isinf(state->total)))
		float_overflow_error();
	if (ordered_at < state->first_at)
		state->first_at = ordered_at;
	if (ordered_at > state->last_at)
		state->last_at = ordered_at;
	rfm_add_first_day_amount(state, day, amount);
	rfm_add_day(state, day);

	PG_RETURN_POINTER(state);
}

/* rfm_summary transition for numeric amounts. */
Datum
segment_rfm_transfn(PG_FUNCTION_ARGS)
{
	double		amount = 0.0;
	bool		amount_null = PG_ARGISNULL(2);

	if (!amount_null)
		amount = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
													PG_GETARG_DATUM(2)));
	return rfm_transition(fcinfo, amount_null, amount);
}

/* rfm_summary transition for float8 amounts. */
Datum
segment_rfm_transfn_float8(PG_FUNCTION_ARGS)
{
	bool		amount_null = PG_ARGISNULL(2);

	return rfm_transition(fcinfo, amount_null,
						  amount_null ? 0.0 : PG_GETARG_FLOAT8(2));
}

/* Merge two states: sums add, extremes widen, day sets unite. */
Datum
segment_rfm_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = rfm_aggcontext(fcinfo, "rfm_summary combine");
	RfmState   *a = PG_ARGISNULL(0) ? NULL : (RfmState *) PG_GETARG_POINTER(0);
	RfmState   *b = PG_ARGISNULL(1) ? NULL : (RfmState *) PG_GETARG_POINTER(1);
	int32	   *merged;
	int32		i = 0,
				j = 0,
				n = 0;

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
	{
		a = rfm_state_new(aggcontext, b->as_of);
	}
	else if (a->as_of != b->as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be the same for every row of an rfm_summary group")));

	a->orders += b->orders;
	a->total += b->total;
	if (unlikely(isinf(a->total)))
		float_overflow_error();
	a->first_at = Min(a->first_at, b->first_at);
	a->last_at = Max(a->last_at, b->last_at);
	if (b->ndays > 0)
		rfm_add_first_day_amount(a, b->first_day, b->first_day_amount);

	/* union of two sorted day sets */
	merged = MemoryContextAlloc(aggcontext,
								Max((Size) a->ndays + b->ndays, 1) * sizeof(int32));
	while (i < a->ndays || j < b->ndays)
	{
		int32		day;

		if (j >= b->ndays || (i < a->ndays && a->days[i] < b->days[j]))
			day = a->days[i++];
		else if (i >= a->ndays || b->days[j] < a->days[i])
			day = b->days[j++];
		else
		{
			day = a->days[i++];
			j++;
		}
		merged[n++] = day;
	}
	if (a->days != a->inline_days)
		pfree(a->days);
	a->capacity = Max(a->ndays + b->ndays, 1);
	a->days = merged;
	a->ndays = n;

	PG_RETURN_POINTER(a);
}

/* Serialize a state to bytea (pqformat, with a version byte). */
Datum
segment_rfm_serialfn(PG_FUNCTION_ARGS)
{
	RfmState   *state = (RfmState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int32		i;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, RFM_STATE_VERSION);
	pq_sendint64(&buf, state->orders);
	pq_sendfloat8(&buf, state->total);
	pq_sendint64(&buf, state->first_at);
	pq_sendint64(&buf, state->last_at);
	pq_sendint64(&buf, state->as_of);
	pq_sendint32(&buf, state->first_day);
	pq_sendfloat8(&buf, state->first_day_amount);
	pq_sendint32(&buf, state->ndays);
	for (i = 0; i < state->ndays; i++)
		pq_sendint32(&buf, state->days[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Rebuild a state from its serialized form, validating it. */
Datum
segment_rfm_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = rfm_aggcontext(fcinfo, "rfm_summary deserialize");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	RfmState   *state;
	int32		ndays;
	int32		i;

	segment_state_open(bytes, &buf, RFM_STATE_VERSION, "rfm_summary");
	state = rfm_state_new(aggcontext, 0);
	state->orders = pq_getmsgint64(&buf);
	state->total = pq_getmsgfloat8(&buf);
	state->first_at = pq_getmsgint64(&buf);
	state->last_at = pq_getmsgint64(&buf);
	state->as_of = pq_getmsgint64(&buf);
	state->first_day = pq_getmsgint(&buf, 4);
	state->first_day_amount = pq_getmsgfloat8(&buf);
	ndays = pq_getmsgint(&buf, 4);
	if (ndays < 0 || (Size) ndays * 4 != (Size) (buf.len - buf.cursor))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid rfm_summary state")));
	rfm_reserve_days(state, ndays);
	for (i = 0; i < ndays; i++)
	{
		state->days[i] = pq_getmsgint(&buf, 4);
		if (i > 0 && state->days[i] <= state->days[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid rfm_summary state")));
	}
	state->ndays = ndays;
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(state);
}

/* Build the segment.rfm_summary composite; NULL when no purchase counted. */
Datum
segment_rfm_finalfn(PG_FUNCTION_ARGS)
{
	RfmState   *state = PG_ARGISNULL(0) ? NULL : (RfmState *) PG_GETARG_POINTER(0);
	TupleDesc	tupdesc;
	Datum		values[10];
	bool		nulls[10] = {false};
	int32		as_of_day;
	int32		repeat;

	if (state == NULL || state->orders == 0)
		PG_RETURN_NULL();

	/* look the row type up once per query, not once per customer */
	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	if (tupdesc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "rfm_summary must return a composite type");
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = tupdesc;
	}

	as_of_day = timestamptz_day(state->as_of);
	repeat = state->ndays - 1;

	values[0] = Int32GetDatum(as_of_day - state->days[state->ndays - 1]);	/* recency_days */
	values[1] = Int64GetDatum(state->orders);	/* frequency */
	values[2] = Float8GetDatum(state->total);	/* monetary */
	values[3] = Float8GetDatum(state->total / state->orders);	/* avg_amount */
	values[4] = TimestampTzGetDatum(state->first_at);
	values[5] = TimestampTzGetDatum(state->last_at);
	values[6] = Int32GetDatum(repeat);	/* repeat_periods */
	values[7] = Int32GetDatum(state->days[state->ndays - 1] - state->days[0]);	/* t_x_days */
	values[8] = Int32GetDatum(as_of_day - state->days[0]);	/* t_days */
	values[9] = Float8GetDatum(repeat > 0 ?
							   (state->total - state->first_day_amount) / repeat : 0.0);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
