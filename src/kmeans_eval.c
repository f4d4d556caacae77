/*-------------------------------------------------------------------------
 *
 * kmeans_eval.c
 *	  kmeans_evaluate(features, model) and kmeans_sweep(features, k_min,
 *	  k_max, options): aggregates that judge a segmentation and choose k.
 *	  The metric math is in metrics.c.
 *
 * kmeans_evaluate.  Each row is mapped to model space (the model's
 * transforms and scaling) and labelled with its nearest centroid.  The
 * state keeps, per segment, the row count, the sum of deviations from the
 * model centroid and the sum of squared deviations (so inertia, sizes,
 * the exact cluster means and Calinski-Harabasz combine by addition), and
 * a bottom-S sample: the S = SEGMENT_SILHOUETTE_EXACT_LIMIT rows with the
 * smallest sampling keys (metrics_row_key), kept in a max-heap.  Bottom-S
 * samples merge exactly, so the state is combinable and the result does
 * not depend on row order or parallelism.  Up to S rows every row is kept
 * and the silhouette and Davies-Bouldin are exact; above S the final
 * function takes from each segment its proportional share of S rows
 * (smallest keys first): a seeded stratified sample, reported in the
 * result.  Davies-Bouldin then uses the exact means and the sample's
 * scatter.
 *
 * kmeans_sweep.  One scan collects the rows (like kmeans_fit); the final
 * function sorts them once and, for every k in [k_min, k_max], fits a model
 * with kmeans_fit_rows, labels the rows with kmeans_assign, and computes
 * the metrics on all rows, the silhouette exactly up to
 * SEGMENT_SWEEP_SILHOUETTE_LIMIT (5,000) rows and on a stratified sample of
 * that size above (one silhouette per k: the sweep compares them, and a
 * 10,000-row sample per k would cost as much as a fit).
 * The recommended k is the one with the highest silhouette among the k
 * whose smallest segment holds at least the size floor (option
 * min_segment_share, default 0.02) of the rows; ties go to the smaller k.
 * The elbow of the inertia curve (largest distance below the chord,
 * "kneedle") is reported alongside, for reference only.
 *
 * src/kmeans_eval.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "segment.h"
#include "feature_rows.h"
#include "row_order.h"
#include "kmeans.h"
#include "metrics.h"
#include "model.h"

#define EVAL_STATE_VERSION 1
#define SWEEP_STATE_VERSION 1
#define SAMPLE_SEED UINT64CONST(0x5EA5E6D1)

/* bottom-S sample of one segment: max-heap on key */
typedef struct SampleHeap
{
	int64		count;
	int64		capacity;
	uint64	   *keys;
	double	   *rows;			/* capacity * d */
} SampleHeap;

typedef struct EvalState
{
	MemoryContext context;
	bytea	   *model_raw;		/* copy of the model datum */
	SegmentModel *model;
	int			k;
	int			d;
	int64		n;
	int64		n_null;
	int64	   *count;			/* k */
	double	   *sdev;			/* k*d: sum of (x - centroid) in model space */
	double	   *s2;				/* k: sum of |x - centroid|^2 */
	SampleHeap *heaps;			/* k */
	double	   *point;			/* d scratch */
} EvalState;

typedef struct SweepState
{
	int32		k_min;
	int32		k_max;
	FeatureRows fr;				/* options and collected rows */
} SweepState;

PG_FUNCTION_INFO_V1(segment_kmeans_evaluate_transfn);
PG_FUNCTION_INFO_V1(segment_kmeans_evaluate_combinefn);
PG_FUNCTION_INFO_V1(segment_kmeans_evaluate_serialfn);
PG_FUNCTION_INFO_V1(segment_kmeans_evaluate_deserialfn);
PG_FUNCTION_INFO_V1(segment_kmeans_evaluate_finalfn);
PG_FUNCTION_INFO_V1(segment_kmeans_sweep_transfn);
PG_FUNCTION_INFO_V1(segment_kmeans_sweep_combinefn);
PG_FUNCTION_INFO_V1(segment_kmeans_sweep_serialfn);
PG_FUNCTION_INFO_V1(segment_kmeans_sweep_deserialfn);
PG_FUNCTION_INFO_V1(segment_kmeans_sweep_finalfn);

/* Fetch the aggregate context or complain about a non-aggregate call. */
static MemoryContext
eval_aggcontext(FunctionCallInfo fcinfo, const char *name)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "%s called in non-aggregate context", name);
	return aggcontext;
}

/* Append a double to JSON, NaN as null. */
static void
append_metric(StringInfo buf, double v)
{
	if (isnan(v) || isinf(v))
		appendStringInfoString(buf, "null");
	else
		segment_append_float8(buf, v);
}

/* ---------------------------------------------------------------------
 * bottom-S sample heaps
 * ---------------------------------------------------------------------
 */

/* Swap heap entries i and j. */
static void
heap_swap(SampleHeap *h, int d, int64 i, int64 j, double *tmp)
{
	uint64		k = h->keys[i];

	h->keys[i] = h->keys[j];
	h->keys[j] = k;
	memcpy(tmp, h->rows + i * d, sizeof(double) * d);
	memcpy(h->rows + i * d, h->rows + j * d, sizeof(double) * d);
	memcpy(h->rows + j * d, tmp, sizeof(double) * d);
}

/* Offer a row with key to a bottom-S heap (max-heap on key); tmp has d doubles. */
static void
heap_offer(SampleHeap *h, MemoryContext cxt, int d, uint64 key, const double *x,
		   double *tmp)
{
	int64		i;

	if (h->count < SEGMENT_SILHOUETTE_EXACT_LIMIT)
	{
		if (h->count == h->capacity)
		{
			int64		cap = Min(Max(h->capacity * 2, 64), SEGMENT_SILHOUETTE_EXACT_LIMIT);

			if (h->keys == NULL)
			{
				h->keys = MemoryContextAlloc(cxt, sizeof(uint64) * cap);
				h->rows = MemoryContextAllocHuge(cxt, sizeof(double) * cap * d);
			}
			else
			{
				h->keys = repalloc(h->keys, sizeof(uint64) * cap);
				h->rows = repalloc_huge(h->rows, sizeof(double) * cap * d);
			}
			h->capacity = cap;
		}
		i = h->count++;
		h->keys[i] = key;
		memcpy(h->rows + i * d, x, sizeof(double) * d);
		while (i > 0 && h->keys[(i - 1) / 2] < h->keys[i])
		{
			heap_swap(h, d, i, (i - 1) / 2, tmp);
			i = (i - 1) / 2;
		}
		return;
	}
	if (key >= h->keys[0])
		return;
	h->keys[0] = key;
	memcpy(h->rows, x, sizeof(double) * d);
	i = 0;
	for (;;)
	{
		int64		l = 2 * i + 1;
		int64		r = l + 1;
		int64		m = i;

		if (l < h->count && h->keys[l] > h->keys[m])
			m = l;
		if (r < h->count && h->keys[r] > h->keys[m])
			m = r;
		if (m == i)
			break;
		heap_swap(h, d, i, m, tmp);
		i = m;
	}
}

/* ---------------------------------------------------------------------
 * kmeans_evaluate
 * ---------------------------------------------------------------------
 */

/* A new evaluation state for a model datum. */
static EvalState *
eval_state_new(MemoryContext aggcontext, bytea *raw)
{
	MemoryContext cxt = AllocSetContextCreate(aggcontext, "kmeans_evaluate",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	EvalState  *st = palloc0(sizeof(EvalState));

	st->context = cxt;
	st->model_raw = palloc(VARSIZE_ANY(raw));
	memcpy(st->model_raw, raw, VARSIZE_ANY(raw));
	st->model = segment_model_decode(VARDATA_ANY(st->model_raw),
									 VARSIZE_ANY_EXHDR(st->model_raw),
									 ERRCODE_DATA_CORRUPTED);
	segment_model_require_kmeans(st->model, "kmeans_evaluate", false);
	st->k = st->model->k;
	st->d = st->model->d;
	segment_check_memory(mul_size(mul_size((Size) st->k, SEGMENT_SILHOUETTE_EXACT_LIMIT),
								  sizeof(double) * (st->d + 1)),
						 "kmeans_evaluate");
	st->count = palloc0(sizeof(int64) * st->k);
	st->sdev = palloc0(sizeof(double) * st->k * st->d);
	st->s2 = palloc0(sizeof(double) * st->k);
	st->heaps = palloc0(sizeof(SampleHeap) * st->k);
	st->point = palloc(sizeof(double) * st->d * 2);
	MemoryContextSwitchTo(old);
	return st;
}

/* Is raw the same model as the state's? */
static bool
eval_same_model(EvalState *st, bytea *raw)
{
	return VARSIZE_ANY_EXHDR(raw) == VARSIZE_ANY_EXHDR(st->model_raw) &&
		memcmp(VARDATA_ANY(raw), VARDATA_ANY(st->model_raw), VARSIZE_ANY_EXHDR(raw)) == 0;
}

/* Add one model-space point with label c. */
static void
eval_add(EvalState *st, const double *z, int c)
{
	const double *cen = st->model->centroids + (Size) c * st->d;
	double		s = 0.0;
	int			j;

	for (j = 0; j < st->d; j++)
	{
		double		t = z[j] - cen[j];

		st->sdev[(Size) c * st->d + j] += t;
		s += t * t;
	}
	st->s2[c] += s;
	st->count[c]++;
	st->n++;
	heap_offer(&st->heaps[c], st->context, st->d, metrics_row_key(z, st->d, SAMPLE_SEED),
			   z, st->point + st->d);
}

/* Transition: label the row with the model and accumulate it. */
Datum
segment_kmeans_evaluate_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = eval_aggcontext(fcinfo, "kmeans_evaluate");
	EvalState  *st = PG_ARGISNULL(0) ? NULL : (EvalState *) PG_GETARG_POINTER(0);
	bytea	   *raw;
	double	   *x;
	double		z[64];
	double	   *zp;
	int			d;
	int			c;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be null in kmeans_evaluate")));
	raw = PG_GETARG_BYTEA_PP(2);
	if (st == NULL)
		st = eval_state_new(aggcontext, raw);
	else if (!eval_same_model(st, raw))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model must be the same for every row of a kmeans_evaluate group")));
	if (PG_ARGISNULL(1))
	{
		st->n_null++;
		PG_RETURN_POINTER(st);
	}
	x = segment_kmeans_features(PG_GETARG_ARRAYTYPE_P(1), &d);
	if (d != st->d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features have %d elements but the model has %d", d, st->d)));
	zp = d <= 64 ? z : st->point;
	segment_model_to_space(st->model, x, zp);
	c = kmeans_nearest(zp, d, st->model->centroids, st->k, NULL);
	eval_add(st, zp, c);
	PG_RETURN_POINTER(st);
}

/* Merge b into a (same model). */
static void
eval_merge(EvalState *a, EvalState *b)
{
	int			c;
	int			j;
	int64		i;

	a->n += b->n;
	a->n_null += b->n_null;
	for (c = 0; c < a->k; c++)
	{
		a->count[c] += b->count[c];
		a->s2[c] += b->s2[c];
		for (j = 0; j < a->d; j++)
			a->sdev[(Size) c * a->d + j] += b->sdev[(Size) c * a->d + j];
		for (i = 0; i < b->heaps[c].count; i++)
		{
			if ((i & 0x3FF) == 0)
				CHECK_FOR_INTERRUPTS();
			heap_offer(&a->heaps[c], a->context, a->d, b->heaps[c].keys[i],
					   b->heaps[c].rows + i * a->d, a->point + a->d);
		}
	}
}

/* Combine two evaluation states. */
Datum
segment_kmeans_evaluate_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = eval_aggcontext(fcinfo, "kmeans_evaluate");
	EvalState  *a = PG_ARGISNULL(0) ? NULL : (EvalState *) PG_GETARG_POINTER(0);
	EvalState  *b = PG_ARGISNULL(1) ? NULL : (EvalState *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = eval_state_new(aggcontext, b->model_raw);
	else if (!eval_same_model(a, b->model_raw))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine kmeans_evaluate states of different models")));
	eval_merge(a, b);
	PG_RETURN_POINTER(a);
}

/* Serialize: version, model, counts, sums, samples. */
Datum
segment_kmeans_evaluate_serialfn(PG_FUNCTION_ARGS)
{
	EvalState  *st = (EvalState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int			c;
	int64		i;
	int			j;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, EVAL_STATE_VERSION);
	pq_sendint32(&buf, VARSIZE_ANY_EXHDR(st->model_raw));
	pq_sendbytes(&buf, VARDATA_ANY(st->model_raw), VARSIZE_ANY_EXHDR(st->model_raw));
	pq_sendint64(&buf, st->n);
	pq_sendint64(&buf, st->n_null);
	for (c = 0; c < st->k; c++)
	{
		SampleHeap *h = &st->heaps[c];

		pq_sendint64(&buf, st->count[c]);
		pq_sendfloat8(&buf, st->s2[c]);
		for (j = 0; j < st->d; j++)
			pq_sendfloat8(&buf, st->sdev[(Size) c * st->d + j]);
		pq_sendint64(&buf, h->count);
		for (i = 0; i < h->count; i++)
		{
			pq_sendint64(&buf, (int64) h->keys[i]);
			for (j = 0; j < st->d; j++)
				pq_sendfloat8(&buf, h->rows[i * st->d + j]);
		}
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Deserialize an evaluation state. */
Datum
segment_kmeans_evaluate_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = eval_aggcontext(fcinfo, "kmeans_evaluate");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	EvalState  *st;
	bytea	   *raw;
	int32		mlen;
	int			c;
	int64		i;
	int			j;
	double	   *row;

	segment_state_open(bytes, &buf, EVAL_STATE_VERSION, "kmeans_evaluate");
	mlen = pq_getmsgint(&buf, 4);
	if (mlen < 1 || mlen > buf.len - buf.cursor)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid kmeans_evaluate state")));
	raw = palloc(VARHDRSZ + mlen);
	SET_VARSIZE(raw, VARHDRSZ + mlen);
	memcpy(VARDATA(raw), pq_getmsgbytes(&buf, mlen), mlen);
	st = eval_state_new(aggcontext, raw);
	row = palloc(sizeof(double) * st->d);
	st->n = pq_getmsgint64(&buf);
	st->n_null = pq_getmsgint64(&buf);
	for (c = 0; c < st->k; c++)
	{
		int64		hc;

		st->count[c] = pq_getmsgint64(&buf);
		st->s2[c] = pq_getmsgfloat8(&buf);
		for (j = 0; j < st->d; j++)
			st->sdev[(Size) c * st->d + j] = pq_getmsgfloat8(&buf);
		hc = pq_getmsgint64(&buf);
		if (hc < 0 || hc > SEGMENT_SILHOUETTE_EXACT_LIMIT || hc > st->count[c])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid kmeans_evaluate state")));
		for (i = 0; i < hc; i++)
		{
			uint64		key = (uint64) pq_getmsgint64(&buf);

			for (j = 0; j < st->d; j++)
				row[j] = pq_getmsgfloat8(&buf);
			heap_offer(&st->heaps[c], st->context, st->d, key, row, st->point + st->d);
		}
	}
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/* Compare two (key, row index) pairs by key. */
static int
key_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return (x > y) - (x < y);
}

/* Final: the metrics as jsonb; NULL when no non-NULL row was seen. */
Datum
segment_kmeans_evaluate_finalfn(PG_FUNCTION_ARGS)
{
	EvalState  *st = PG_ARGISNULL(0) ? NULL : (EvalState *) PG_GETARG_POINTER(0);
	SegmentModel *m;
	int			k;
	int			d;
	double	   *means;
	double	   *scatter;
	double		inertia = 0.0;
	double		within = 0.0;
	double		ch;
	double		db;
	double		sil;
	int64	   *quota;
	int64		total_sample = 0;
	double	   *Xs;
	int32	   *ls;
	int64		ns = 0;
	bool		exact;
	StringInfoData buf;
	int			c;
	int			j;
	int64		i;

	if (st == NULL || st->n == 0)
		PG_RETURN_NULL();
	m = st->model;
	k = st->k;
	d = st->d;
	exact = st->n <= SEGMENT_SILHOUETTE_EXACT_LIMIT;

	/* exact means (centroid + mean deviation) and within SS */
	means = palloc0(sizeof(double) * k * d);
	for (c = 0; c < k; c++)
	{
		double		dev2 = 0.0;

		inertia += st->s2[c];
		if (st->count[c] == 0)
			continue;
		for (j = 0; j < d; j++)
		{
			double		mdev = st->sdev[(Size) c * d + j] / (double) st->count[c];

			means[(Size) c * d + j] = m->centroids[(Size) c * d + j] + mdev;
			dev2 += mdev * mdev;
		}
		within += Max(st->s2[c] - (double) st->count[c] * dev2, 0.0);
	}
	ch = metrics_calinski_harabasz(st->n, d, k, st->count, means, within);

	/* the stratified sample (every row up to the limit) */
	quota = palloc(sizeof(int64) * k);
	metrics_stratified_quota(Min(st->n, SEGMENT_SILHOUETTE_EXACT_LIMIT), k, st->count, quota);
	for (c = 0; c < k; c++)
		total_sample += quota[c];
	Xs = palloc(sizeof(double) * Max(total_sample, 1) * d);
	ls = palloc(sizeof(int32) * Max(total_sample, 1));
	for (c = 0; c < k; c++)
	{
		SampleHeap *h = &st->heaps[c];
		uint64	   *pairs;
		int64		take = Min(quota[c], h->count);

		if (take == 0)
			continue;
		/* (key, index) pairs sorted by key: the smallest keys are the sample */
		pairs = palloc(sizeof(uint64) * 2 * h->count);
		for (i = 0; i < h->count; i++)
		{
			pairs[2 * i] = h->keys[i];
			pairs[2 * i + 1] = (uint64) i;
		}
		qsort(pairs, h->count, sizeof(uint64) * 2, key_cmp);
		for (i = 0; i < take; i++)
		{
			memcpy(Xs + ns * d, h->rows + (int64) pairs[2 * i + 1] * d, sizeof(double) * d);
			ls[ns++] = c;
		}
		pfree(pairs);
	}
	sil = metrics_silhouette(Xs, ns, d, ls, k);
	scatter = palloc(sizeof(double) * k);
	metrics_scatter(Xs, ns, d, ls, k, means, scatter);
	db = metrics_davies_bouldin(d, k, st->count, means, scatter);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"n\": " INT64_FORMAT ", \"n_null\": " INT64_FORMAT
					 ", \"k\": %d, \"inertia\": ", st->n, st->n_null, k);
	append_metric(&buf, inertia);
	appendStringInfoString(&buf, ", \"silhouette\": ");
	append_metric(&buf, sil);
	appendStringInfoString(&buf, ", \"davies_bouldin\": ");
	append_metric(&buf, db);
	appendStringInfoString(&buf, ", \"calinski_harabasz\": ");
	append_metric(&buf, ch);
	appendStringInfo(&buf, ", \"silhouette_exact\": %s, \"silhouette_sample_size\": " INT64_FORMAT
					 ", \"sizes\": [", exact ? "true" : "false", ns);
	for (c = 0; c < k; c++)
		appendStringInfo(&buf, "%s" INT64_FORMAT, c > 0 ? ", " : "", st->count[c]);
	appendStringInfoString(&buf, "], \"shares\": [");
	for (c = 0; c < k; c++)
	{
		if (c > 0)
			appendStringInfoString(&buf, ", ");
		segment_append_float8(&buf, (double) st->count[c] / (double) st->n);
	}
	appendStringInfoString(&buf, "]}");
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/* ---------------------------------------------------------------------
 * kmeans_sweep
 * ---------------------------------------------------------------------
 */

/* Check the k range (22023). */
static void
sweep_check_range(int32 k_min, int32 k_max)
{
	if (k_min < 2 || k_max < k_min || k_max > SEGMENT_KMEANS_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans_sweep needs 2 <= k_min <= k_max <= %d", SEGMENT_KMEANS_MAX_K),
				 errdetail("k_min is %d and k_max is %d.", k_min, k_max),
				 errhint("The silhouette is undefined for one segment.")));
}

/* A new sweep state. */
static SweepState *
sweep_state_new(MemoryContext cxt, int32 k_min, int32 k_max, Jsonb *options)
{
	SweepState *st;

	sweep_check_range(k_min, k_max);
	st = MemoryContextAllocZero(cxt, sizeof(SweepState));
	st->k_min = k_min;
	st->k_max = k_max;
	feature_rows_init(&st->fr, cxt, options);
	if (st->fr.opts.init == KMEANS_INIT_GIVEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans_sweep does not accept given initial centroids (option \"init\")")));
	return st;
}

/* Transition: collect a non-NULL feature row. */
Datum
segment_kmeans_sweep_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = eval_aggcontext(fcinfo, "kmeans_sweep");
	SweepState *st = PG_ARGISNULL(0) ? NULL : (SweepState *) PG_GETARG_POINTER(0);
	Jsonb	   *options = (PG_NARGS() < 5 || PG_ARGISNULL(4)) ? NULL : PG_GETARG_JSONB_P(4);

	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k_min and k_max must not be null in kmeans_sweep")));
	if (st == NULL)
		st = sweep_state_new(aggcontext, PG_GETARG_INT32(2), PG_GETARG_INT32(3), options);
	else if (st->k_min != PG_GETARG_INT32(2) || st->k_max != PG_GETARG_INT32(3) ||
			 !feature_rows_same_options(&st->fr, options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k_min, k_max and options must be the same for every row of a kmeans_sweep group")));
	feature_rows_add(&st->fr, PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1),
					 "kmeans_sweep");
	PG_RETURN_POINTER(st);
}

/* Combine: concatenate rows. */
Datum
segment_kmeans_sweep_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = eval_aggcontext(fcinfo, "kmeans_sweep");
	SweepState *a = PG_ARGISNULL(0) ? NULL : (SweepState *) PG_GETARG_POINTER(0);
	SweepState *b = PG_ARGISNULL(1) ? NULL : (SweepState *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = sweep_state_new(aggcontext, b->k_min, b->k_max, b->fr.options);
	else if (a->k_min != b->k_min || a->k_max != b->k_max ||
			 !feature_rows_same_options(&a->fr, b->fr.options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine kmeans_sweep states with different arguments")));
	feature_rows_merge(&a->fr, &b->fr, "kmeans_sweep");
	PG_RETURN_POINTER(a);
}

/* Serialize: version, range, then the rows (feature_rows_send). */
Datum
segment_kmeans_sweep_serialfn(PG_FUNCTION_ARGS)
{
	SweepState *st = (SweepState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, SWEEP_STATE_VERSION);
	pq_sendint32(&buf, st->k_min);
	pq_sendint32(&buf, st->k_max);
	feature_rows_send(&buf, &st->fr, "kmeans_sweep");
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Deserialize a sweep state. */
Datum
segment_kmeans_sweep_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = eval_aggcontext(fcinfo, "kmeans_sweep");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	SweepState *st;
	int32		k_min;
	int32		k_max;

	segment_state_open(bytes, &buf, SWEEP_STATE_VERSION, "kmeans_sweep");
	k_min = pq_getmsgint(&buf, 4);
	k_max = pq_getmsgint(&buf, 4);
	st = sweep_state_new(aggcontext, k_min, k_max, feature_rows_recv_options(&buf, "kmeans_sweep"));
	feature_rows_recv_rows(&buf, &st->fr, "kmeans_sweep");
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/* Final: fit every k, compute the metrics, recommend a k. */
Datum
segment_kmeans_sweep_finalfn(PG_FUNCTION_ARGS)
{
	SweepState *st = PG_ARGISNULL(0) ? NULL : (SweepState *) PG_GETARG_POINTER(0);
	KMeansOptions opts;
	int64		n;
	int			d;
	int			nk;
	double	   *X;
	int32	   *labels;
	int64	   *order = NULL;
	uint64	   *keys;
	double	   *sil;
	double	   *inertia;
	double	   *min_share;
	double		floor_share;
	int			best = -1;
	int			elbow = -1;
	bool		floor_met;
	bool		exact;
	int64		sample_n = 0;
	StringInfoData buf;
	StringInfoData res;
	int			ki;
	KMeansSeedCache seeds;
	int64		i;

	if (st == NULL || st->fr.n == 0)
		PG_RETURN_NULL();
	n = st->fr.n;
	d = st->fr.d;
	nk = st->k_max - st->k_min + 1;
	opts = st->fr.opts;
	floor_share = opts.min_segment_share > 0 ? opts.min_segment_share : SEGMENT_SMALL_SHARE;
	opts.min_segment_share = 0;
	opts.quiet = true;
	if (st->k_max > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k_max (%d) is greater than the number of rows (" INT64_FORMAT ")",
						st->k_max, n)));
	exact = n <= SEGMENT_SWEEP_SILHOUETTE_LIMIT;

	/* rows are sorted once; every fit then finds them presorted */
	kmeans_sort_rows(st->fr.rows, n, d);
	segment_check_memory(add_size(mul_size(mul_size((Size) n, d), 2 * sizeof(double)),
								  mul_size((Size) n, sizeof(int32) + 2 * sizeof(int64))),
						 "kmeans_sweep");
	X = palloc_extended(mul_size(mul_size((Size) n, d), sizeof(double)), MCXT_ALLOC_HUGE);
	labels = palloc_extended(mul_size((Size) n, sizeof(int32)), MCXT_ALLOC_HUGE);
	sil = palloc(sizeof(double) * nk);
	inertia = palloc(sizeof(double) * nk);
	min_share = palloc(sizeof(double) * nk);

	initStringInfo(&res);
	for (ki = 0; ki < nk; ki++)
	{
		int			k = st->k_min + ki;
		SegmentModel *m;
		int64	   *sizes = palloc(sizeof(int64) * k);
		double	   *means = palloc(sizeof(double) * k * d);
		double	   *scatter = palloc(sizeof(double) * k);
		double		within;
		double		ch;
		double		db;
		int64		smallest;
		int			c;

		CHECK_FOR_INTERRUPTS();
		memcpy(X, st->fr.rows, sizeof(double) * n * d);
		m = kmeans_fit_rows(X, n, d, st->fr.n_null, k, &opts);
		/* X is now in model space (same scaler for every k) */
		if (ki == 0 && nk > 1 && opts.init == KMEANS_INIT_PLUSPLUS)
		{
			/* seed the other k's runs once per trial count (see KMeansSeedCache) */
			kmeans_seed_cache_fill(&seeds, X, n, d, k + 1, st->k_max, (uint64) opts.seed,
								   opts.n_init);
			opts.seed_cache = &seeds;
		}
		inertia[ki] = kmeans_assign(X, n, d, m->centroids, k, labels);
		metrics_cluster_means(X, n, d, labels, k, sizes, means);
		within = metrics_within_ss(X, n, d, labels, means);
		ch = metrics_calinski_harabasz(n, d, k, sizes, means, within);
		metrics_scatter(X, n, d, labels, k, means, scatter);
		db = metrics_davies_bouldin(d, k, sizes, means, scatter);
		smallest = sizes[0];
		for (c = 1; c < k; c++)
			smallest = Min(smallest, sizes[c]);
		min_share[ki] = (double) smallest / (double) n;

		if (exact)
		{
			sil[ki] = metrics_silhouette(X, n, d, labels, k);
			sample_n = n;
		}
		else
		{
			int64	   *quota = palloc(sizeof(int64) * k);
			int64		total = 0;
			int64		got = 0;
			double	   *Xs;
			int32	   *ls;

			if (order == NULL)
			{
				keys = palloc_extended(mul_size((Size) n, sizeof(uint64)), MCXT_ALLOC_HUGE);
				order = palloc_extended(mul_size((Size) n, sizeof(int64)), MCXT_ALLOC_HUGE);
				for (i = 0; i < n; i++)
					keys[i] = metrics_row_key(X + i * d, d, SAMPLE_SEED);
				metrics_order_by_key(keys, n, order);
				pfree(keys);
			}
			metrics_stratified_quota(SEGMENT_SWEEP_SILHOUETTE_LIMIT, k, sizes, quota);
			for (c = 0; c < k; c++)
				total += quota[c];
			Xs = palloc(sizeof(double) * total * d);
			ls = palloc(sizeof(int32) * total);
			for (i = 0; i < n && got < total; i++)
			{
				int64		r = order[i];
				int32		l = labels[r];

				if (quota[l] == 0)
					continue;
				quota[l]--;
				memcpy(Xs + got * d, X + r * d, sizeof(double) * d);
				ls[got++] = l;
			}
			sil[ki] = metrics_silhouette(Xs, got, d, ls, k);
			sample_n = got;
			pfree(Xs);
			pfree(ls);
			pfree(quota);
		}

		appendStringInfo(&res, "%s{\"k\": %d, \"inertia\": ", ki > 0 ? ", " : "", k);
		append_metric(&res, inertia[ki]);
		appendStringInfoString(&res, ", \"silhouette\": ");
		append_metric(&res, sil[ki]);
		appendStringInfoString(&res, ", \"davies_bouldin\": ");
		append_metric(&res, db);
		appendStringInfoString(&res, ", \"calinski_harabasz\": ");
		append_metric(&res, ch);
		appendStringInfoString(&res, ", \"min_share\": ");
		append_metric(&res, min_share[ki]);
		appendStringInfoString(&res, ", \"sizes\": [");
		for (c = 0; c < k; c++)
			appendStringInfo(&res, "%s" INT64_FORMAT, c > 0 ? ", " : "", sizes[c]);
		appendStringInfoString(&res, "]}");
		pfree(sizes);
		pfree(means);
		pfree(scatter);
	}
	if (opts.seed_cache != NULL)
		kmeans_seed_cache_free(&seeds);

	/* recommendation: best silhouette among k above the size floor */
	for (ki = 0; ki < nk; ki++)
		if (!isnan(sil[ki]) && min_share[ki] >= floor_share &&
			(best < 0 || sil[ki] > sil[best]))
			best = ki;
	/* no k passes the floor: the highest silhouette of all, said in the rule */
	floor_met = best >= 0;
	if (!floor_met)
		for (ki = 0; ki < nk; ki++)
			if (!isnan(sil[ki]) && (best < 0 || sil[ki] > sil[best]))
				best = ki;
	/* elbow (kneedle): largest gap below the chord of the normalized inertia curve */
	if (nk >= 3 && inertia[0] > inertia[nk - 1])
	{
		double		gap = 0.0;

		for (ki = 1; ki < nk - 1; ki++)
		{
			double		x = (double) ki / (nk - 1);
			double		y = (inertia[ki] - inertia[nk - 1]) / (inertia[0] - inertia[nk - 1]);

			if ((1.0 - x) - y > gap)
			{
				gap = (1.0 - x) - y;
				elbow = ki;
			}
		}
	}

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"n\": " INT64_FORMAT ", \"n_null\": " INT64_FORMAT
					 ", \"k_min\": %d, \"k_max\": %d, \"recommended_k\": ",
					 n, st->fr.n_null, st->k_min, st->k_max);
	if (best >= 0)
		appendStringInfo(&buf, "%d", st->k_min + best);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"rule\": ");
	appendStringInfo(&buf, "\"highest silhouette among k whose smallest segment holds at least %g of the rows (size floor); ties to the smaller k%s; the elbow is shown for reference\"",
					 floor_share,
					 floor_met ? "" : "; no k met the size floor, so the highest silhouette of all k");
	appendStringInfo(&buf, ", \"size_floor_met\": %s", floor_met ? "true" : "false");
	appendStringInfoString(&buf, ", \"size_floor\": ");
	segment_append_float8(&buf, floor_share);
	appendStringInfoString(&buf, ", \"elbow_k\": ");
	if (elbow >= 0)
		appendStringInfo(&buf, "%d", st->k_min + elbow);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ", \"silhouette_exact\": %s, \"silhouette_sample_size\": " INT64_FORMAT
					 ", \"results\": [%s]}", exact ? "true" : "false", sample_n, res.data);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
