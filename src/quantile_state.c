/*-------------------------------------------------------------------------
 *
 * quantile_state.c
 *	  The segment.quantile_state type and its aggregates:
 *	  quantile_partial(value, bins [, sketch_size]) -> quantile_state,
 *	  quantile_merge(quantile_state) -> quantile_state,
 *	  quantile_breaks(quantile_state) -> float8[] and
 *	  quantile_rank_error(quantile_state) -> float8.
 *
 * Why a real type.  quantile_breaks (1.0) keeps an `internal` state, which
 * PostgreSQL moves between parallel workers through serialize functions
 * but which released Citus versions will not ship between machines: they
 * push a custom aggregate down to the workers only when its state type is
 * a real type, and send the state through its output/input functions.
 * quantile_state is that type; its text form is JSON (state_text.c).
 *
 * Rationale: a compactor hierarchy (Manku, Rajagopalan & Lindsay,
 * SIGMOD 1998; the mergeable form of Agarwal, Cormode, Huang, Phillips,
 * Wei & Yi, "Mergeable summaries", PODS 2012; the level structure of
 * Karnin, Lang & Liberty, "Optimal quantile approximation in streams",
 * FOCS 2016, with equal level capacities and a deterministic choice
 * instead of a coin).  Level h holds items of weight 2^h.  When a level
 * reaches its trigger size it is sorted and
 *	 1. equal neighbours are paired: two items v of weight 2^h become one
 *		item v at level h + 1.  This loses nothing, so data with few
 *		distinct values (frequencies, recency in days) stays exact;
 *	 2. only if the level still holds k/2 or more items (sketch_size k > 0),
 *		every other item is promoted to level h + 1 and the rest dropped
 *		(an odd one out stays).  For any value q the count of items <= q
 *		changes by at most 2^h, so the state adds 2^h to its error bound
 *		err.  The kept positions alternate between compactions of a level
 *		so that errors tend to cancel.
 * The total weight n stays exact.  Merging concatenates levels and applies
 * the same rule, and errors add, so err is a certified bound on the rank
 * error of every cut point, whatever the sharding.  A priori: a lossy
 * compaction at level h consumes >= k/2 items of level h, and at most
 * n / 2^h such items are ever created, so each level adds at most 2n/k,
 * and only levels h <= log2(2n/k) compact lossily:
 *		err / n <= (2 / k) * (log2(2n / k) + 1).
 * With the default k = 4096: 0.65% at 10^7 rows, 0.98% at 10^9; the
 * reported err is usually far below.  sketch_size = 0 never compacts
 * lossily (exact, up to segment.quantile_exact_limit stored items).
 *
 * Cut points are those of quantile.c: with n values in bins bins, q = n /
 * bins, r = n % bins, break j is the value of rank s_j = j*q + min(j, r);
 * from the weighted items, the smallest item whose cumulative weight
 * reaches s_j.  An exact state (err = 0) gives exactly quantile_breaks's
 * answer; otherwise each break's rank is within err of s_j.
 *
 * Layout.  A flat varlena (no pointers), so the executor can copy it and
 * parallel workers can pass it as is: a fixed header, then the items,
 * highest level first and level 0 last, so that adding a value appends.
 * The transition and combine functions change their first argument in
 * place when called as aggregates (xaggr.sgml allows it) and return a new
 * value, allocated in the per-call context, when it must grow; the
 * executor then copies that into the aggregate context and frees the old
 * one.  The partial aggregates' final function trims the slack.
 *
 * src/quantile_state.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "segment.h"
#include "quantile.h"
#include "state_text.h"

#define QS_VERSION 1
#define QS_MAX_LEVELS 62		/* weights 2^h fit in int64 */
#define QS_DEFAULT_K 4096
#define QS_MIN_K 16
#define QS_MAX_K (1 << 20)
#define QS_EXACT_BUFFER 4096	/* exact mode: first level-0 sort */
#define QS_MIN_CAPACITY 256

typedef struct QuantileStateData
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	uint8		version;		/* QS_VERSION */
	uint8		nlevels;		/* levels in use */
	int16		bins;
	int32		k;				/* items per level before a lossy compaction; 0 = exact */
	int64		n;				/* values summarized (total weight) */
	int64		err;			/* certified bound on the rank error */
	uint64		parity;			/* bit h: next lossy compaction of h keeps odd positions */
	int32		capacity;		/* items allocated after the header */
	int32		base[QS_MAX_LEVELS];	/* level size after its last compaction */
	int32		size[QS_MAX_LEVELS];	/* items per level */
	double		items[FLEXIBLE_ARRAY_MEMBER];	/* level nlevels-1 first, 0 last */
} QuantileStateData;

#define QS_HEADER offsetof(QuantileStateData, items)
#define QS_MAX_CAPACITY ((int32) ((MaxAllocSize - QS_HEADER) / sizeof(double)))

/* The levels of a state taken apart, for compaction and merging. */
/*
 * an exact state must still print: its text form takes up to ~26 bytes per
 * value ("-1.2345678901234567e-308, "), within PostgreSQL's 1 GB string limit
 */
#define QS_EXACT_TEXT_MAX ((int64) (MaxAllocSize / 26))

typedef struct QsLevels
{
	int			nlevels;
	double	   *lv[QS_MAX_LEVELS + 1];
	int32		len[QS_MAX_LEVELS + 1];
	int32		cap[QS_MAX_LEVELS + 1];
} QsLevels;

PG_FUNCTION_INFO_V1(segment_quantile_state_in);
PG_FUNCTION_INFO_V1(segment_quantile_state_out);
PG_FUNCTION_INFO_V1(segment_quantile_state_recv);
PG_FUNCTION_INFO_V1(segment_quantile_state_send);
PG_FUNCTION_INFO_V1(segment_quantile_partial_transfn);
PG_FUNCTION_INFO_V1(segment_quantile_state_combine);
PG_FUNCTION_INFO_V1(segment_quantile_state_pack);
PG_FUNCTION_INFO_V1(segment_quantile_state_breaks);
PG_FUNCTION_INFO_V1(segment_quantile_state_rank_error);

/* Items stored in all levels. */
static int64
qs_total(const QuantileStateData *s)
{
	int64		total = 0;
	int			h;

	for (h = 0; h < s->nlevels; h++)
		total += s->size[h];
	return total;
}

/* First item of level h in the flat array. */
static double *
qs_level(QuantileStateData *s, int h)
{
	int64		offset = 0;
	int			j;

	for (j = s->nlevels - 1; j > h; j--)
		offset += s->size[j];
	return s->items + offset;
}

/* A zeroed state with room for capacity items, in CurrentMemoryContext. */
static QuantileStateData *
qs_alloc(int64 capacity)
{
	QuantileStateData *s;

	if (capacity > QS_MAX_CAPACITY)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("quantile_state would exceed 1 GB"),
				 errhint("Use a smaller sketch_size, or a sketch (sketch_size > 0) instead of an exact state.")));
	s = palloc0(QS_HEADER + capacity * sizeof(double));
	SET_VARSIZE(s, QS_HEADER + capacity * sizeof(double));
	s->capacity = (int32) capacity;
	s->version = QS_VERSION;
	return s;
}

/* Raise 22023 unless sketch_size is 0 or within QS_MIN_K..QS_MAX_K. */
static void
qs_check_k(int32 k)
{
	if (k != 0 && (k < QS_MIN_K || k > QS_MAX_K))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sketch_size must be 0 (exact) or between %d and %d", QS_MIN_K, QS_MAX_K),
				 errdetail("The value given was %d.", k)));
}

/* Structural check of a state received as an argument (XX001 if broken). */
static QuantileStateData *
qs_arg(Datum d)
{
	QuantileStateData *s = (QuantileStateData *) PG_DETOAST_DATUM(d);
	int64		total = 0;
	int			h;

	if (VARSIZE(s) < QS_HEADER || s->version != QS_VERSION ||
		s->nlevels > QS_MAX_LEVELS || s->capacity < 0 ||
		VARSIZE(s) != QS_HEADER + (Size) s->capacity * sizeof(double))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid quantile_state value")));
	for (h = 0; h < s->nlevels; h++)
	{
		if (s->size[h] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid quantile_state value")));
		total += s->size[h];
	}
	if (total > s->capacity)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid quantile_state value")));
	return s;
}

/* Copy s into CurrentMemoryContext with room for capacity items. */
static QuantileStateData *
qs_copy(const QuantileStateData *s, int64 capacity)
{
	int64		total = qs_total(s);
	QuantileStateData *c;

	Assert(capacity >= total);
	c = qs_alloc(capacity);
	memcpy(c, s, QS_HEADER);
	SET_VARSIZE(c, QS_HEADER + capacity * sizeof(double));
	c->capacity = (int32) capacity;
	memcpy(c->items, s->items, total * sizeof(double));
	return c;
}

/* Take the levels of s apart into palloc'd arrays, with room for extra items each. */
static void
qs_levels_load(QsLevels *L, QuantileStateData *s, int32 extra)
{
	int			h;

	memset(L, 0, sizeof(QsLevels));
	L->nlevels = s->nlevels;
	for (h = 0; h < s->nlevels; h++)
	{
		L->cap[h] = s->size[h] + extra + 1;
		L->lv[h] = palloc_extended(L->cap[h] * sizeof(double), MCXT_ALLOC_HUGE);
		memcpy(L->lv[h], qs_level(s, h), s->size[h] * sizeof(double));
		L->len[h] = s->size[h];
	}
}

/* Append n items to level h (creating it). */
static void
qs_levels_append(QsLevels *L, int h, const double *v, int32 n)
{
	if (n == 0)
		return;
	if (h >= QS_MAX_LEVELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("quantile_state has too many levels")));
	while (L->nlevels <= h)
	{
		L->lv[L->nlevels] = NULL;
		L->len[L->nlevels] = 0;
		L->cap[L->nlevels] = 0;
		L->nlevels++;
	}
	if ((int64) L->len[h] + n > L->cap[h])
	{
		int64		cap = Max((int64) L->len[h] + n, (int64) L->cap[h] * 2);

		cap = Min(cap, (int64) QS_MAX_CAPACITY);
		if ((int64) L->len[h] + n > cap)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("quantile_state would exceed 1 GB")));
		L->lv[h] = L->lv[h] == NULL ?
			palloc_extended(cap * sizeof(double), MCXT_ALLOC_HUGE) :
			repalloc_huge(L->lv[h], cap * sizeof(double));
		L->cap[h] = (int32) cap;
	}
	memcpy(L->lv[h] + L->len[h], v, n * sizeof(double));
	L->len[h] += n;
}

/* Size of level h that makes it compact. */
static int32
qs_trigger(const QuantileStateData *hdr, int h)
{
	if (hdr->k > 0)
		return hdr->k;
	return Max(QS_EXACT_BUFFER, 2 * hdr->base[h]);
}

/*
 * Compact every level at or over its trigger size, lowest first (carries
 * can push the next level over): the lossless pairing, then in sketch mode
 * the lossy halving.  hdr's err, parity and base are updated.
 */
static void
qs_levels_compact(QsLevels *L, QuantileStateData *hdr)
{
	int			h;

	for (h = 0; h < L->nlevels; h++)
	{
		double	   *v = L->lv[h];
		int32		m = L->len[h];
		double	   *scratch;
		double	   *carry;
		int32		ncarry = 0;
		int32		nsingle = 0;
		int32		i;

		CHECK_FOR_INTERRUPTS();
		if (m < qs_trigger(hdr, h))
			continue;
		scratch = palloc_extended(m * sizeof(double), MCXT_ALLOC_HUGE);
		quantile_sort(v, m, scratch);
		carry = scratch;		/* reused: carries never outnumber what is read */

		/* 1. lossless: two equal items of weight 2^h are one of 2^(h+1) */
		for (i = 0; i < m; i++)
		{
			if (i + 1 < m && v[i] == v[i + 1])
			{
				carry[ncarry++] = v[i];
				i++;
			}
			else
				v[nsingle++] = v[i];
		}

		/* 2. lossy: promote every other single, drop the rest */
		if (hdr->k > 0 && nsingle >= hdr->k / 2)
		{
			int32		even = nsingle & ~1;
			int32		offset = (int32) ((hdr->parity >> h) & 1);
			bool		odd = (nsingle & 1) != 0;
			double		last = v[nsingle - 1];

			for (i = offset; i < even; i += 2)
				carry[ncarry++] = v[i];
			/* the odd one out, if any, stays at this level unchanged */
			nsingle = 0;
			if (odd)
				v[nsingle++] = last;
			hdr->parity ^= UINT64CONST(1) << h;
			/* a rank error of n is always true; keeps err <= n for the input checks */
			hdr->err = Min(hdr->err + (INT64CONST(1) << h), hdr->n);
		}
		L->len[h] = nsingle;
		hdr->base[h] = nsingle;
		qs_levels_append(L, h + 1, carry, ncarry);
		pfree(scratch);
	}
}

/* Put levels back into one flat state: into dst when it has room, else a new one. */
static QuantileStateData *
qs_levels_store(QsLevels *L, const QuantileStateData *hdr, QuantileStateData *dst)
{
	int64		total = 0;
	int64		offset = 0;
	int			nlevels = L->nlevels;
	int			h;

	/* drop empty top levels */
	while (nlevels > 0 && L->len[nlevels - 1] == 0)
		nlevels--;
	for (h = 0; h < nlevels; h++)
		total += L->len[h];
	if (hdr->k == 0 && total > Min(segment_quantile_exact_limit, QS_EXACT_TEXT_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("exact quantile_state holds more than %d distinct values",
						(int) Min(segment_quantile_exact_limit, QS_EXACT_TEXT_MAX)),
				 errhint("Use a sketch (sketch_size > 0)%s.",
						 segment_quantile_exact_limit < QS_EXACT_TEXT_MAX ?
						 ", or raise segment.quantile_exact_limit" : "")));
	if (dst == NULL || dst->capacity < total)
		dst = qs_alloc(Min(Max(total + total / 2, (int64) QS_MIN_CAPACITY),
						   Max(total, (int64) QS_MAX_CAPACITY)));
	{
		int32		capacity = dst->capacity;

		memcpy(dst, hdr, QS_HEADER);
		SET_VARSIZE(dst, QS_HEADER + (Size) capacity * sizeof(double));
		dst->capacity = capacity;
	}
	dst->nlevels = (uint8) nlevels;
	for (h = QS_MAX_LEVELS - 1; h >= 0; h--)
	{
		if (h >= nlevels)
		{
			dst->size[h] = 0;
			dst->base[h] = 0;
			continue;
		}
		memcpy(dst->items + offset, L->lv[h], L->len[h] * sizeof(double));
		dst->size[h] = L->len[h];
		offset += L->len[h];
	}
	return dst;
}

/* Compact s's levels; the result reuses s (compaction never adds items). */
static QuantileStateData *
qs_compact_state(QuantileStateData *s)
{
	QsLevels	L;
	QuantileStateData *hdr = palloc(QS_HEADER);

	memcpy(hdr, s, QS_HEADER);
	qs_levels_load(&L, s, 0);
	qs_levels_compact(&L, hdr);
	return qs_levels_store(&L, hdr, s);
}

/* quantile_partial transition: add a non-NULL value to level 0. */
Datum
segment_quantile_partial_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	QuantileStateData *s;
	int32		bins;
	int32		k = QS_DEFAULT_K;
	int64		total;
	double		value;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "quantile_partial called in non-aggregate context");
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("bins must not be null in quantile_partial")));
	bins = PG_GETARG_INT32(2);
	quantile_check_bins(bins);
	if (PG_NARGS() > 3)
	{
		if (PG_ARGISNULL(3))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("sketch_size must not be null in quantile_partial")));
		k = PG_GETARG_INT32(3);
		qs_check_k(k);
	}

	if (PG_ARGISNULL(0))
	{
		s = qs_alloc(QS_MIN_CAPACITY);
		s->bins = (int16) bins;
		s->k = k;
	}
	else
	{
		/* our own state, made by this function in the aggregate context */
		s = (QuantileStateData *) PG_GETARG_POINTER(0);
		if (s->bins != bins || s->k != k)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bins and sketch_size must be the same for every row of a quantile_partial group")));
	}
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(s);
	value = PG_GETARG_FLOAT8(1);
	segment_reject_nan(value, "quantile_partial input");

	total = qs_total(s);
	if (total >= s->capacity)
		s = qs_copy(s, Min((int64) s->capacity * 2 + QS_MIN_CAPACITY, Max(total + 1, (int64) QS_MAX_CAPACITY)));
	if (s->nlevels == 0)
		s->nlevels = 1;
	s->items[total] = value + 0.0;	/* level 0 is last */
	s->size[0]++;
	if (pg_add_s64_overflow(s->n, 1, &s->n))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("quantile_state count out of range")));
	if (s->size[0] >= qs_trigger(s, 0))
		s = qs_compact_state(s);
	PG_RETURN_POINTER(s);
}

/* Combine two states (STRICT): b's levels into a's, then compact. */
Datum
segment_quantile_state_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	bool		in_agg = AggCheckCallContext(fcinfo, &aggcontext) != 0;
	QuantileStateData *a = qs_arg(PG_GETARG_DATUM(0));
	QuantileStateData *b = qs_arg(PG_GETARG_DATUM(1));
	QuantileStateData *hdr;
	QsLevels	L;
	int			h;

	if (a->bins != b->bins || a->k != b->k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot merge quantile states with different bins or sketch_size"),
				 errdetail("bins %d and %d, sketch_size %d and %d.",
						   a->bins, b->bins, a->k, b->k)));
	hdr = palloc(QS_HEADER);
	memcpy(hdr, a, QS_HEADER);
	if (pg_add_s64_overflow(a->n, b->n, &hdr->n) ||
		pg_add_s64_overflow(a->err, b->err, &hdr->err))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("quantile_state count out of range")));
	qs_levels_load(&L, a, 0);
	for (h = 0; h < b->nlevels; h++)
		qs_levels_append(&L, h, qs_level(b, h), b->size[h]);
	qs_levels_compact(&L, hdr);

	/* change a in place only when it is the aggregate's own, untoasted state */
	PG_RETURN_POINTER(qs_levels_store(&L, hdr,
									  in_agg && (Pointer) a == DatumGetPointer(PG_GETARG_DATUM(0)) ? a : NULL));
}

/* Final function of the partial aggregates: the state without slack. */
Datum
segment_quantile_state_pack(PG_FUNCTION_ARGS)
{
	QuantileStateData *s = qs_arg(PG_GETARG_DATUM(0));

	PG_RETURN_POINTER(qs_copy(s, qs_total(s)));
}

/* One weighted item, for computing cut points. */
typedef struct QsItem
{
	double		v;
	int64		w;
} QsItem;

/* Order items by value. */
static int
qs_item_cmp(const void *pa, const void *pb)
{
	double		a = ((const QsItem *) pa)->v;
	double		b = ((const QsItem *) pb)->v;

	return a < b ? -1 : (a > b ? 1 : 0);
}

/* quantile_breaks(state): the bins - 1 cut points; NULL for no values. */
Datum
segment_quantile_state_breaks(PG_FUNCTION_ARGS)
{
	QuantileStateData *s = qs_arg(PG_GETARG_DATUM(0));
	int64		total = qs_total(s);
	QsItem	   *items;
	Datum	   *elems;
	int64		m = 0;
	int64		q;
	int64		r;
	int64		cum = 0;
	int64		idx = 0;
	int			bins = s->bins;
	int			h;
	int			j;

	if (s->n == 0 || total == 0)
		PG_RETURN_NULL();
	items = palloc_extended(total * sizeof(QsItem), MCXT_ALLOC_HUGE);
	for (h = 0; h < s->nlevels; h++)
	{
		double	   *v = qs_level(s, h);
		int32		i;

		CHECK_FOR_INTERRUPTS();
		for (i = 0; i < s->size[h]; i++)
		{
			items[m].v = v[i];
			items[m].w = INT64CONST(1) << h;
			m++;
		}
	}
	qsort(items, m, sizeof(QsItem), qs_item_cmp);

	q = s->n / bins;
	r = s->n % bins;
	elems = palloc(sizeof(Datum) * Max(bins - 1, 1));
	for (j = 1; j < bins; j++)
	{
		int64		target = j * q + Min((int64) j, r);

		while (idx < m && cum + items[idx].w < target)
			cum += items[idx++].w;
		elems[j - 1] = Float8GetDatum(items[Min(idx, m - 1)].v);
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, bins - 1, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* quantile_rank_error(state): certified bound on a cut point's rank error, as a share of n. */
Datum
segment_quantile_state_rank_error(PG_FUNCTION_ARGS)
{
	QuantileStateData *s = qs_arg(PG_GETARG_DATUM(0));

	PG_RETURN_FLOAT8(s->n > 0 ? (double) s->err / (double) s->n : 0.0);
}

/*
 * Validate parsed or received parts and build a state; code is the
 * SQLSTATE for a bad value (22P02 text, 22P03 binary).
 */
static QuantileStateData *
qs_from_parts(QsLevels *L, int64 bins, int64 k, int64 n, int64 err, int64 parity,
			  int code, const char *form)
{
	QuantileStateData *hdr = palloc0(QS_HEADER);
	int64		weight = 0;
	int			h;
	const char *problem = NULL;

	if (bins < 1 || bins > SEGMENT_MAX_BINS)
		problem = "\"bins\" must be between 1 and 100";
	else if (k != 0 && (k < QS_MIN_K || k > QS_MAX_K))
		problem = "\"sketch_size\" must be 0 or between 16 and 1048576";
	else if (L->nlevels > QS_MAX_LEVELS)
		problem = "too many levels";
	else if (n < 0 || err < 0 || err > n || (k == 0 && err != 0))
		problem = "\"n\" and \"error_bound\" are inconsistent";
	else if (parity < 0 || (L->nlevels < 63 && (uint64) parity >= (UINT64CONST(1) << L->nlevels) && parity != 0))
		problem = "\"parity\" has bits beyond the levels";
	for (h = 0; problem == NULL && h < L->nlevels; h++)
	{
		int64		part;

		if (pg_mul_s64_overflow((int64) L->len[h], INT64CONST(1) << h, &part) ||
			pg_add_s64_overflow(weight, part, &weight))
			problem = "the items' total weight is out of range";
	}
	if (problem == NULL && weight != n)
		problem = "\"n\" does not match the items' total weight";
	if (problem != NULL)
		ereport(ERROR,
				(errcode(code),
				 errmsg("invalid %s for type quantile_state", form),
				 errdetail("%s.", problem)));

	hdr->version = QS_VERSION;
	hdr->bins = (int16) bins;
	hdr->k = (int32) k;
	hdr->n = n;
	hdr->err = err;
	hdr->parity = (uint64) parity;
	for (h = 0; h < L->nlevels; h++)
		hdr->base[h] = L->len[h];
	return qs_levels_store(L, hdr, NULL);
}

/* quantile_state input: the JSON text form. */
Datum
segment_quantile_state_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	StateText	st;
	QsLevels	L;
	int64		bins,
				k,
				n,
				err,
				parity;
	QuantileStateData *s;

	memset(&L, 0, sizeof(L));
	st_init(&st, str, "quantile_state");
	st_expect(&st, "{");
	st_expect(&st, "\"version\":");
	if (st_int64(&st, "version") != QS_VERSION)
		st_error(&st, "Unsupported \"version\"");
	st_expect(&st, ",");
	st_expect(&st, "\"bins\":");
	bins = st_int64(&st, "bins");
	st_expect(&st, ",");
	st_expect(&st, "\"sketch_size\":");
	k = st_int64(&st, "sketch_size");
	st_expect(&st, ",");
	st_expect(&st, "\"n\":");
	n = st_int64(&st, "n");
	st_expect(&st, ",");
	st_expect(&st, "\"error_bound\":");
	err = st_int64(&st, "error_bound");
	st_expect(&st, ",");
	st_expect(&st, "\"parity\":");
	parity = st_int64(&st, "parity");
	st_expect(&st, ",");
	st_expect(&st, "\"levels\":");
	st_expect(&st, "[");
	if (!st_accept(&st, "]"))
	{
		do
		{
			int			h = L.nlevels;

			if (h >= QS_MAX_LEVELS)
				st_error(&st, "Too many levels");
			L.nlevels++;
			st_expect(&st, "[");
			if (!st_accept(&st, "]"))
			{
				do
				{
					double		v = st_double(&st, "levels");

					if ((L.len[h] & 0xFFFF) == 0)
						CHECK_FOR_INTERRUPTS();
					qs_levels_append(&L, h, &v, 1);
				} while (st_accept(&st, ","));
				st_expect(&st, "]");
			}
		} while (st_accept(&st, ","));
		st_expect(&st, "]");
	}
	st_expect(&st, "}");
	st_end(&st);

	s = qs_from_parts(&L, bins, k, n, err, parity, ERRCODE_INVALID_TEXT_REPRESENTATION, "input");
	PG_RETURN_POINTER(qs_copy(s, qs_total(s)));
}

/* quantile_state output: the JSON text form. */
Datum
segment_quantile_state_out(PG_FUNCTION_ARGS)
{
	QuantileStateData *s = qs_arg(PG_GETARG_DATUM(0));
	StringInfoData buf;
	int			h;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"version\": %d, \"bins\": %d, \"sketch_size\": %d, \"n\": " INT64_FORMAT
					 ", \"error_bound\": " INT64_FORMAT ", \"parity\": " UINT64_FORMAT ", \"levels\": [",
					 QS_VERSION, s->bins, s->k, s->n, s->err, s->parity);
	for (h = 0; h < s->nlevels; h++)
	{
		double	   *v = qs_level(s, h);
		int32		i;

		appendStringInfoString(&buf, h ? ", [" : "[");
		for (i = 0; i < s->size[h]; i++)
		{
			if (i)
				appendStringInfoChar(&buf, ',');
			st_append_double(&buf, v[i]);
		}
		appendStringInfoChar(&buf, ']');
		if ((h & 7) == 7)
			CHECK_FOR_INTERRUPTS();
	}
	appendStringInfoString(&buf, "]}");
	PG_RETURN_CSTRING(buf.data);
}

/* quantile_state binary input (pqformat, version byte first), validated. */
Datum
segment_quantile_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	QsLevels	L;
	int64		bins,
				k,
				n,
				err,
				parity;
	int			nlevels;
	int			h;
	QuantileStateData *s;

	memset(&L, 0, sizeof(L));
	if (pq_getmsgbyte(buf) != QS_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported quantile_state binary version")));
	bins = (int32) pq_getmsgint(buf, 4);
	k = (int32) pq_getmsgint(buf, 4);
	n = pq_getmsgint64(buf);
	err = pq_getmsgint64(buf);
	parity = pq_getmsgint64(buf);
	nlevels = pq_getmsgbyte(buf);
	if (nlevels > QS_MAX_LEVELS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary input for type quantile_state"),
				 errdetail("too many levels.")));
	for (h = 0; h < nlevels; h++)
	{
		int32		size = (int32) pq_getmsgint(buf, 4);
		int32		i;

		if (size < 0 || (int64) size * (int64) sizeof(double) > buf->len - buf->cursor)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary input for type quantile_state"),
					 errdetail("A level size does not match the message.")));
		L.nlevels = h + 1;
		for (i = 0; i < size; i++)
		{
			double		v = pq_getmsgfloat8(buf);

			if (isnan(v))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
						 errmsg("invalid binary input for type quantile_state"),
						 errdetail("NaN item.")));
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			v += 0.0;			/* -0 folded to +0, as every other path does */
			qs_levels_append(&L, h, &v, 1);
		}
	}
	s = qs_from_parts(&L, bins, k, n, err, parity, ERRCODE_INVALID_BINARY_REPRESENTATION, "binary input");
	PG_RETURN_POINTER(qs_copy(s, qs_total(s)));
}

/* quantile_state binary output. */
Datum
segment_quantile_state_send(PG_FUNCTION_ARGS)
{
	QuantileStateData *s = qs_arg(PG_GETARG_DATUM(0));
	StringInfoData buf;
	int			h;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, QS_VERSION);
	pq_sendint32(&buf, s->bins);
	pq_sendint32(&buf, s->k);
	pq_sendint64(&buf, s->n);
	pq_sendint64(&buf, s->err);
	pq_sendint64(&buf, (int64) s->parity);
	pq_sendbyte(&buf, s->nlevels);
	for (h = 0; h < s->nlevels; h++)
	{
		double	   *v = qs_level(s, h);
		int32		i;

		pq_sendint32(&buf, s->size[h]);
		for (i = 0; i < s->size[h]; i++)
			pq_sendfloat8(&buf, v[i]);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
