/*-------------------------------------------------------------------------
 *
 * kmeans_step.c
 *	  kmeans_step(features, model): one Lloyd pass as an aggregate whose
 *	  state is O(k*d), with a real (non-internal) state type
 *	  kmeans_step_state that has text and binary forms, so that Citus and
 *	  any other sharding can compute partial states where the rows are and
 *	  merge them elsewhere.
 *
 * One pass.  Each row is mapped to the model's space (its transforms and
 * scaling, exactly as assign_segment does) and assigned to the nearest
 * centroid of the model (ties to the lowest index).  Per centroid the
 * state keeps the row count, the mean and the per-feature sum of squared
 * deviations from that mean (Welford's update; states merge with the
 * pairwise formulas of Chan, Golub & LeVeque, "Updating formulae and a
 * pairwise algorithm for computing sample variances", 1979), so it holds
 * the Lloyd update (the new centroids are the means), the inertia at the
 * model's centroids (sum over centroids of M2 + n * |mean - centroid|^2)
 * and the total per-feature variance (the scikit-learn tolerance is
 * relative to it) without cancellation.  It also keeps the per-feature
 * minimum and maximum (min-max scaling) and the k rows farthest from their
 * centroid, which relocate empty clusters as scikit-learn does
 * (_relocate_empty_clusters_dense: the farthest rows, farthest first, move
 * from their cluster to the empty one); equal distances are ordered by the
 * row's values, so the choice does not depend on row order.  A copy of the
 * model's stored form is embedded in the state: states merge only when
 * their models are byte-identical, and the final function needs nothing
 * else.
 *
 * The state is a varlena laid out as below (native byte order; the text
 * and send/recv forms are portable).  Transition and combine functions
 * update it in place when called by an aggregate, as float8_accum does.
 * Text input (22P02) and binary input (22P03) validate every field, so a
 * forged state is an error, never a crash; functions that read a state
 * also check its header against its length (XX001).
 *
 * src/kmeans_step.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "segment.h"
#include "kmeans.h"
#include "kmeans_scale.h"
#include "model.h"

#define KMEANS_STEP_STATE_VERSION 1

/* the fixed part of the state; arrays follow (see step_layout) */
struct KMeansStepState
{
	int32		vl_len_;		/* varlena header */
	int32		version;
	int32		k;
	int32		d;
	int32		n_far;			/* entries of the far list in use, <= k */
	int32		model_len;		/* bytes of the embedded model's stored form */
	int64		n;				/* rows assigned */
	int64		n_null;			/* NULL feature arrays skipped */
};

/* pointers into a state */
typedef struct StepArrays
{
	int64	   *counts;			/* k */
	double	   *means;			/* k*d */
	double	   *m2;				/* k*d: sum of squared deviations from means */
	double	   *fmin;			/* d */
	double	   *fmax;			/* d */
	double	   *far_d2;			/* k: min-heap on (d2, -row): least far first */
	int64	   *far_label;		/* k */
	double	   *far_x;			/* k*d */
	char	   *model;			/* model_len bytes */
} StepArrays;

/* per-query cache of the decoded model argument (fn_extra of transfn) */
typedef struct StepCache
{
	MemoryContext context;
	Size		keylen;
	char	   *key;			/* raw bytes of the model datum as passed */
	char	   *raw;			/* stored form (detoasted payload) */
	int			rawlen;
	SegmentModel *model;
	double	   *z;				/* d */
	double	   *dist2;			/* k */
	KMeansStepState *verified;	/* last state checked against raw */
} StepCache;

PG_FUNCTION_INFO_V1(segment_kmeans_step_state_in);
PG_FUNCTION_INFO_V1(segment_kmeans_step_state_out);
PG_FUNCTION_INFO_V1(segment_kmeans_step_state_recv);
PG_FUNCTION_INFO_V1(segment_kmeans_step_state_send);
PG_FUNCTION_INFO_V1(segment_kmeans_step_transfn);
PG_FUNCTION_INFO_V1(segment_kmeans_step_combinefn);
PG_FUNCTION_INFO_V1(segment_kmeans_step_next);
PG_FUNCTION_INFO_V1(segment_kmeans_step_finish);
PG_FUNCTION_INFO_V1(segment_kmeans_step_template);
PG_FUNCTION_INFO_V1(segment_kmeans_step_init);

/* model.c's type I/O, used for the embedded model's text form */
extern Datum segment_model_in(PG_FUNCTION_ARGS);
extern Datum segment_model_out(PG_FUNCTION_ARGS);

/* Bytes of a state for k, d and an embedded model of model_len bytes (54000 if too big). */
static Size
step_size(int k, int d, int model_len)
{
	Size		kd = mul_size((Size) k, (Size) d);
	Size		doubles;
	Size		total;

	/* counts, means, m2, fmin, fmax, far_d2, far_label, far_x */
	doubles = add_size(mul_size(kd, 3), add_size(mul_size((Size) k, 3), mul_size((Size) d, 2)));
	total = add_size(add_size(sizeof(KMeansStepState), mul_size(doubles, sizeof(double))),
					 (Size) model_len);
	if (total > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("kmeans_step state for k = %d and %d features is too large", k, d)));
	return total;
}

/* Point arr at the arrays of st (whose header is trusted). */
static void
step_layout(const KMeansStepState *st, StepArrays *arr)
{
	char	   *p = (char *) st + sizeof(KMeansStepState);
	Size		k = st->k;
	Size		d = st->d;

	arr->counts = (int64 *) p;
	p += sizeof(int64) * k;
	arr->means = (double *) p;
	p += sizeof(double) * k * d;
	arr->m2 = (double *) p;
	p += sizeof(double) * k * d;
	arr->fmin = (double *) p;
	p += sizeof(double) * d;
	arr->fmax = (double *) p;
	p += sizeof(double) * d;
	arr->far_d2 = (double *) p;
	p += sizeof(double) * k;
	arr->far_label = (int64 *) p;
	p += sizeof(int64) * k;
	arr->far_x = (double *) p;
	p += sizeof(double) * k * d;
	arr->model = p;
}

/* A zeroed state for model raw (stored form, rawlen bytes) in context. */
static KMeansStepState *
step_new(MemoryContext context, const SegmentModel *m, const char *raw, int rawlen)
{
	Size		size = step_size(m->k, m->d, rawlen);
	KMeansStepState *st;
	StepArrays	arr;

	segment_check_memory(size, "kmeans_step");
	st = MemoryContextAllocExtended(context, size, MCXT_ALLOC_ZERO);
	SET_VARSIZE(st, size);
	st->version = KMEANS_STEP_STATE_VERSION;
	st->k = m->k;
	st->d = m->d;
	st->model_len = rawlen;
	step_layout(st, &arr);
	memcpy(arr.model, raw, rawlen);
	return st;
}

/* Raise XX001 for a state whose header disagrees with its length. */
static void
step_corrupt(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid kmeans_step_state")));
}

/*
 * Detoast a state datum and check its header against its length (XX001);
 * the values were validated when the state was read from text or binary.
 */
KMeansStepState *
kmeans_step_state_check(Datum datum)
{
	KMeansStepState *st = (KMeansStepState *) PG_DETOAST_DATUM(datum);

	if (VARSIZE(st) < sizeof(KMeansStepState) ||
		st->version != KMEANS_STEP_STATE_VERSION ||
		st->k < 1 || st->k > SEGMENT_KMEANS_MAX_K ||
		st->d < 1 || st->d > SEGMENT_KMEANS_MAX_D ||
		st->model_len < 1 || st->model_len > MaxAllocSize ||
		st->n_far < 0 || st->n_far > st->k ||
		st->n < 0 || st->n_null < 0)
		step_corrupt();
	if (VARSIZE(st) != step_size(st->k, st->d, st->model_len))
		step_corrupt();
	return st;
}

/* The model embedded in a state, decoded. */
SegmentModel *
kmeans_step_state_model(const KMeansStepState *st)
{
	StepArrays	arr;

	step_layout(st, &arr);
	return segment_model_decode(arr.model, st->model_len, ERRCODE_DATA_CORRUPTED);
}

/* Rows the state assigned (and NULL arrays it skipped). */
int64
kmeans_step_state_rows(const KMeansStepState *st, int64 *n_null)
{
	if (n_null)
		*n_null = st->n_null;
	return st->n;
}

/*
 * Per-feature mean, population variance, minimum and maximum of the rows
 * of a state in its model's space (any argument may be NULL).
 */
void
kmeans_step_state_stats(const KMeansStepState *st, double *mean, double *var,
						double *fmin, double *fmax)
{
	StepArrays	arr;
	int			k = st->k;
	int			d = st->d;
	int			c;
	int			j;

	step_layout(st, &arr);
	for (j = 0; j < d; j++)
	{
		double		mu = 0.0;
		double		ss = 0.0;

		if (st->n > 0)
		{
			for (c = 0; c < k; c++)
				mu += (double) arr.counts[c] * arr.means[(Size) c * d + j];
			mu /= (double) st->n;
			for (c = 0; c < k; c++)
			{
				double		dm = arr.means[(Size) c * d + j] - mu;

				ss += arr.m2[(Size) c * d + j] + (double) arr.counts[c] * dm * dm;
			}
			ss /= (double) st->n;
		}
		if (mean)
			mean[j] = mu;
		if (var)
			var[j] = ss;
		if (fmin)
			fmin[j] = arr.fmin[j];
		if (fmax)
			fmax[j] = arr.fmax[j];
	}
}

/*
 * Far-list order: is entry a (d2a, xa, la) less far than entry b?  Larger
 * distance is farther; equal distances: the lexicographically smaller row,
 * then the smaller label, counts as farther (a total order on values, so
 * the kept entries do not depend on the order rows arrive in).
 */
static bool
far_less(double d2a, const double *xa, int64 la, double d2b, const double *xb,
		 int64 lb, int d)
{
	int			j;

	if (d2a != d2b)
		return d2a < d2b;
	for (j = 0; j < d; j++)
		if (xa[j] != xb[j])
			return xa[j] > xb[j];
	return la > lb;
}

/* Swap far entries i and j. */
static void
far_swap(StepArrays *arr, int d, int i, int j)
{
	double		t;
	int64		l;
	int			q;

	t = arr->far_d2[i];
	arr->far_d2[i] = arr->far_d2[j];
	arr->far_d2[j] = t;
	l = arr->far_label[i];
	arr->far_label[i] = arr->far_label[j];
	arr->far_label[j] = l;
	for (q = 0; q < d; q++)
	{
		t = arr->far_x[(Size) i * d + q];
		arr->far_x[(Size) i * d + q] = arr->far_x[(Size) j * d + q];
		arr->far_x[(Size) j * d + q] = t;
	}
}

/* is far entry i less far than entry j? */
static inline bool
far_less_idx(StepArrays *arr, int d, int i, int j)
{
	return far_less(arr->far_d2[i], arr->far_x + (Size) i * d, arr->far_label[i],
					arr->far_d2[j], arr->far_x + (Size) j * d, arr->far_label[j], d);
}

/* Offer (d2, x, label) to the far list of st: keep the k farthest (min-heap). */
static void
far_offer(KMeansStepState *st, StepArrays *arr, double d2, const double *x, int64 label)
{
	int			d = st->d;
	int			i;

	if (st->n_far < st->k)
	{
		i = st->n_far++;
		arr->far_d2[i] = d2;
		arr->far_label[i] = label;
		memcpy(arr->far_x + (Size) i * d, x, sizeof(double) * d);
		while (i > 0 && far_less_idx(arr, d, i, (i - 1) / 2))
		{
			far_swap(arr, d, i, (i - 1) / 2);
			i = (i - 1) / 2;
		}
		return;
	}
	/* full: replace the root (least far) if the new entry is farther */
	if (!far_less(arr->far_d2[0], arr->far_x, arr->far_label[0], d2, x, label, d))
		return;
	arr->far_d2[0] = d2;
	arr->far_label[0] = label;
	memcpy(arr->far_x, x, sizeof(double) * d);
	i = 0;
	for (;;)
	{
		int			l = 2 * i + 1;
		int			r = l + 1;
		int			m = i;

		if (l < st->n_far && far_less_idx(arr, d, l, m))
			m = l;
		if (r < st->n_far && far_less_idx(arr, d, r, m))
			m = r;
		if (m == i)
			break;
		far_swap(arr, d, i, m);
		i = m;
	}
}

/* Add one row z (model space) assigned to centroid c at squared distance d2. */
static inline void
step_add(KMeansStepState *st, StepArrays *arr, const double *z, int c, double d2)
{
	int			d = st->d;
	double	   *mean = arr->means + (Size) c * d;
	double	   *m2 = arr->m2 + (Size) c * d;
	double		inv;
	int			j;

	arr->counts[c]++;
	inv = 1.0 / (double) arr->counts[c];
	for (j = 0; j < d; j++)
	{
		double		delta = z[j] - mean[j];

		mean[j] += delta * inv;
		m2[j] += delta * (z[j] - mean[j]);
	}
	if (st->n == 0)
	{
		memcpy(arr->fmin, z, sizeof(double) * d);
		memcpy(arr->fmax, z, sizeof(double) * d);
	}
	else
		for (j = 0; j < d; j++)
		{
			if (z[j] < arr->fmin[j])
				arr->fmin[j] = z[j];
			if (z[j] > arr->fmax[j])
				arr->fmax[j] = z[j];
		}
	st->n++;
	far_offer(st, arr, d2, z, c);
}

/* Merge state b into a (same model): counts, moments (Chan et al.), ranges, far lists. */
static void
step_merge(KMeansStepState *a, const KMeansStepState *b)
{
	StepArrays	aa;
	StepArrays	bb;
	int			k = a->k;
	int			d = a->d;
	int			c;
	int			j;

	step_layout(a, &aa);
	step_layout(b, &bb);
	for (c = 0; c < k; c++)
	{
		double		na = (double) aa.counts[c];
		double		nb = (double) bb.counts[c];
		double	   *ma = aa.means + (Size) c * d;
		double	   *sa = aa.m2 + (Size) c * d;
		const double *mb = bb.means + (Size) c * d;
		const double *sb = bb.m2 + (Size) c * d;

		if (bb.counts[c] == 0)
			continue;
		if (aa.counts[c] == 0)
		{
			memcpy(ma, mb, sizeof(double) * d);
			memcpy(sa, sb, sizeof(double) * d);
		}
		else
		{
			double		nt = na + nb;

			for (j = 0; j < d; j++)
			{
				double		delta = mb[j] - ma[j];

				ma[j] += delta * (nb / nt);
				sa[j] += sb[j] + delta * delta * (na * nb / nt);
			}
		}
		aa.counts[c] += bb.counts[c];
	}
	if (b->n > 0)
	{
		if (a->n == 0)
		{
			memcpy(aa.fmin, bb.fmin, sizeof(double) * d);
			memcpy(aa.fmax, bb.fmax, sizeof(double) * d);
		}
		else
			for (j = 0; j < d; j++)
			{
				aa.fmin[j] = Min(aa.fmin[j], bb.fmin[j]);
				aa.fmax[j] = Max(aa.fmax[j], bb.fmax[j]);
			}
	}
	a->n += b->n;
	a->n_null += b->n_null;
	for (j = 0; j < b->n_far; j++)
		far_offer(a, &aa, bb.far_d2[j], bb.far_x + (Size) j * d, bb.far_label[j]);
}

/* The decoded model argument argno, cached per query by its datum bytes. */
static StepCache *
step_model_arg(FunctionCallInfo fcinfo, int argno)
{
	Datum		datum = PG_GETARG_DATUM(argno);
	struct varlena *v = (struct varlena *) DatumGetPointer(datum);
	StepCache  *cache = (StepCache *) fcinfo->flinfo->fn_extra;
	Size		keylen = VARSIZE_ANY(v);
	MemoryContext old;
	bytea	   *raw;

	if (cache != NULL && cache->keylen == keylen && memcmp(cache->key, v, keylen) == 0)
		return cache;
	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(StepCache));
		cache->context = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt,
											   "kmeans_step model cache",
											   ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = cache;
	}
	else
		MemoryContextReset(cache->context);
	cache->keylen = 0;
	cache->verified = NULL;
	old = MemoryContextSwitchTo(cache->context);
	raw = DatumGetByteaPCopy(datum);
	cache->rawlen = VARSIZE(raw) - VARHDRSZ;
	cache->raw = VARDATA(raw);
	cache->model = segment_model_decode(cache->raw, cache->rawlen, ERRCODE_DATA_CORRUPTED);
	segment_model_require_kmeans(cache->model, "kmeans_step", false);
	cache->z = palloc(sizeof(double) * cache->model->d);
	cache->dist2 = palloc(sizeof(double) * cache->model->k);
	cache->key = palloc(keylen);
	memcpy(cache->key, v, keylen);
	cache->keylen = keylen;
	MemoryContextSwitchTo(old);
	return cache;
}

/* A new empty state for model m (encoded and embedded), in context. */
KMeansStepState *
kmeans_step_state_new(MemoryContext context, const SegmentModel *m)
{
	bytea	   *raw = segment_model_encode(m);
	KMeansStepState *st = step_new(context, m, VARDATA(raw), VARSIZE(raw) - VARHDRSZ);

	pfree(raw);
	return st;
}

/*
 * Add one row (raw features x, or NULL for a NULL row) to a state made by
 * kmeans_step_state_new for the same model m; z (d) and dist2 (k) are
 * scratch.  The caller checked x's length.
 */
void
kmeans_step_state_add(KMeansStepState *st, const SegmentModel *m, const double *x,
					  double *z, double *dist2)
{
	StepArrays	arr;
	int			c;

	if (x == NULL)
	{
		st->n_null++;
		return;
	}
	step_layout(st, &arr);
	segment_model_to_space(m, x, z);
	c = kmeans_nearest(z, m->d, m->centroids, m->k, dist2);
	if (!isfinite(dist2[c]))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("kmeans_step distance overflowed"),
				 errhint("Scale the features (option scale) so their squares do not overflow.")));
	step_add(st, &arr, z, c, dist2[c]);
}

/* Raise 22023: two states or rows of one group name different models. */
static void
step_model_mismatch(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", what),
			 errhint("Every row of a kmeans_step group, and every state merged, must use the same model.")));
}

/*
 * Transition: kmeans_step_transfn(state, features, model).  Not strict: the
 * state starts NULL and NULL feature arrays are counted.
 */
Datum
segment_kmeans_step_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	KMeansStepState *st;
	StepCache  *cache;
	StepArrays	arr;
	SegmentModel *m;
	ArrayType  *features;
	double	   *x;
	int			dx;
	int			c;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "kmeans_step_transfn called in non-aggregate context");
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be null in kmeans_step")));
	cache = step_model_arg(fcinfo, 2);
	m = cache->model;

	if (PG_ARGISNULL(0))
	{
		st = step_new(aggcontext, m, cache->raw, cache->rawlen);
		cache->verified = st;
	}
	else
	{
		st = (KMeansStepState *) PG_GETARG_POINTER(0);
		if (st != cache->verified)
		{
			/* first row of this state with this model: same model bytes? */
			st = kmeans_step_state_check(PointerGetDatum(st));
			step_layout(st, &arr);
			if (st->model_len != cache->rawlen ||
				memcmp(arr.model, cache->raw, cache->rawlen) != 0)
				step_model_mismatch("model must be the same for every row of a kmeans_step group");
			cache->verified = st;
		}
	}
	step_layout(st, &arr);

	if (PG_ARGISNULL(1))
	{
		st->n_null++;
		PG_RETURN_POINTER(st);
	}
	features = PG_GETARG_ARRAYTYPE_P(1);
	x = segment_kmeans_features(features, &dx);
	if (dx != m->d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features have %d elements but the model has %d", dx, m->d)));
	segment_model_to_space(m, x, cache->z);
	c = kmeans_nearest(cache->z, m->d, m->centroids, m->k, cache->dist2);
	if (!isfinite(cache->dist2[c]))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("kmeans_step distance overflowed"),
				 errhint("Scale the features (option scale) so their squares do not overflow.")));
	step_add(st, &arr, cache->z, c, cache->dist2[c]);
	PG_RETURN_POINTER(st);
}

/* Combine (strict): merge state b into a, in place when called by an aggregate. */
Datum
segment_kmeans_step_combinefn(PG_FUNCTION_ARGS)
{
	KMeansStepState *a = kmeans_step_state_check(PG_GETARG_DATUM(0));
	KMeansStepState *b = kmeans_step_state_check(PG_GETARG_DATUM(1));
	StepArrays	aa;
	StepArrays	bb;

	step_layout(a, &aa);
	step_layout(b, &bb);
	if (a->k != b->k || a->d != b->d || a->model_len != b->model_len ||
		memcmp(aa.model, bb.model, a->model_len) != 0)
		step_model_mismatch("cannot merge kmeans_step states of different models");
	/* outside an aggregate, or a detoasted copy of arg 0: work on a copy */
	if (!AggCheckCallContext(fcinfo, NULL) ||
		(Pointer) a != DatumGetPointer(PG_GETARG_DATUM(0)))
	{
		KMeansStepState *copy = palloc(VARSIZE(a));

		memcpy(copy, a, VARSIZE(a));
		a = copy;
	}
	step_merge(a, b);
	PG_RETURN_POINTER(a);
}

/*
 * The model after a pass (see kmeans_scale.h).  move: the Lloyd update
 * (centroids become the means, empty clusters take the farthest rows,
 * n_iter + 1, converged when the summed squared center shift is within tol
 * times the mean feature variance, as scikit-learn); otherwise the model's
 * own centroids, renumbered canonically.  Sizes, inertia, n and n_null are
 * those of the pass (at the input centroids).  NULL when the pass saw no
 * row.  *shift and *tol_abs (if not NULL) report the convergence test.
 */
SegmentModel *
kmeans_step_update(const KMeansStepState *st, bool move, double *shift, double *tol_abs)
{
	SegmentModel *m;
	StepArrays	arr;
	int			k = st->k;
	int			d = st->d;
	double	   *var;
	double	   *sums;
	double	   *newc;
	int64	   *counts;
	double		inertia = 0.0;
	double		shift_tot = 0.0;
	double		tol = 0.0;
	int			c;
	int			j;

	if (st->n == 0)
		return NULL;
	m = kmeans_step_state_model(st);
	if (m->k != k || m->d != d)
		step_corrupt();
	step_layout(st, &arr);
	for (c = 0; c < st->n_far; c++)
		if (arr.far_label[c] < 0 || arr.far_label[c] >= k)
			step_corrupt();
	if (st->n < k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k (%d) is greater than the number of rows (" INT64_FORMAT ")", k, st->n)));

	/* inertia at the model's centroids, and the tolerance */
	for (c = 0; c < k; c++)
		for (j = 0; j < d; j++)
		{
			double		dm = arr.means[(Size) c * d + j] - m->centroids[(Size) c * d + j];

			if (arr.counts[c] > 0)
				inertia += arr.m2[(Size) c * d + j] + (double) arr.counts[c] * dm * dm;
		}
	var = palloc(sizeof(double) * d);
	kmeans_step_state_stats(st, NULL, var, NULL, NULL);
	for (j = 0; j < d; j++)
		tol += var[j];
	tol = m->tol * tol / (double) d;
	if (!isfinite(inertia) || !isfinite(tol))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("k-means inertia overflowed"),
				 errhint("Scale the features (option scale) so their squares do not overflow.")));

	counts = palloc(sizeof(int64) * k);
	memcpy(counts, arr.counts, sizeof(int64) * k);
	if (move)
	{
		int			n_empty = 0;

		/* sums per cluster, then relocation as scikit-learn */
		sums = palloc(sizeof(double) * k * d);
		newc = palloc(sizeof(double) * k * d);
		for (c = 0; c < k; c++)
		{
			for (j = 0; j < d; j++)
				sums[(Size) c * d + j] = arr.means[(Size) c * d + j] * (double) counts[c];
			if (counts[c] == 0)
				n_empty++;
		}
		if (n_empty > 0 && st->n_far > 0)
		{
			int		   *order = palloc(sizeof(int) * st->n_far);
			int			nf = st->n_far;
			int			e = 0;
			int			p;
			StepArrays *ap = &arr;

			/* far entries, farthest first (insertion sort: nf <= k) */
			for (p = 0; p < nf; p++)
			{
				int			q = p;

				order[p] = p;
				while (q > 0 && far_less_idx(ap, d, order[q - 1], order[q]))
				{
					int			t = order[q];

					order[q] = order[q - 1];
					order[q - 1] = t;
					q--;
				}
			}
			if (arr.far_d2[order[0]] > 0.0)
			{
				for (c = 0; c < k && e < nf; c++)
				{
					int			old;
					const double *x;

					if (counts[c] != 0)
						continue;
					old = (int) arr.far_label[order[e]];
					x = arr.far_x + (Size) order[e] * d;
					e++;
					if (counts[old] <= 0)
						continue;	/* donor already emptied */
					for (j = 0; j < d; j++)
					{
						sums[(Size) old * d + j] -= x[j];
						sums[(Size) c * d + j] = x[j];
					}
					counts[c] = 1;
					counts[old]--;
					if (counts[old] == 0)
					{
						/* donor emptied (degenerate): keeps its center */
						memcpy(sums + (Size) old * d, m->centroids + (Size) old * d,
							   sizeof(double) * d);
						counts[old] = -1;
					}
				}
			}
			pfree(order);
		}
		for (c = 0; c < k; c++)
		{
			for (j = 0; j < d; j++)
			{
				double		v;

				if (counts[c] > 0)
					v = sums[(Size) c * d + j] / (double) counts[c];
				else if (counts[c] < 0)
					v = sums[(Size) c * d + j];
				else
					v = m->centroids[(Size) c * d + j];
				newc[(Size) c * d + j] = v;
			}
		}
		for (c = 0; c < k * d; c++)
		{
			double		dv = newc[c] - m->centroids[c];

			shift_tot += dv * dv;
		}
		for (c = 0; c < k * d; c++)
			if (!isfinite(newc[c]))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("k-means produced a non-finite centroid")));
		memcpy(m->centroids, newc, sizeof(double) * k * d);
		m->n_iter = m->n_iter + 1;
		m->converged = shift_tot <= tol;
		pfree(sums);
		pfree(newc);
	}
	/* sizes of the pass, at the input centroids */
	memcpy(m->sizes, arr.counts, sizeof(int64) * k);
	pfree(counts);
	m->n = st->n;
	m->n_null = st->n_null;
	m->inertia = inertia;
	m->mode = SEGMENT_MODE_SCAN;
	m->sample_size = 0;
	if (!move)
		kmeans_canonicalize(m->centroids, m->sizes, NULL, 0, d, k);
	if (shift)
		*shift = shift_tot;
	if (tol_abs)
		*tol_abs = tol;
	return m;
}

/* kmeans_step_next(state): the model after the Lloyd update of this pass. */
Datum
segment_kmeans_step_next(PG_FUNCTION_ARGS)
{
	KMeansStepState *st = kmeans_step_state_check(PG_GETARG_DATUM(0));
	SegmentModel *m = kmeans_step_update(st, true, NULL, NULL);

	if (m == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(segment_model_encode(m));
}

/* kmeans_step_finish(state): the pass's model at its own centroids, canonical ids. */
Datum
segment_kmeans_step_finish(PG_FUNCTION_ARGS)
{
	KMeansStepState *st = kmeans_step_state_check(PG_GETARG_DATUM(0));
	SegmentModel *m = kmeans_step_update(st, false, NULL, NULL);

	if (m == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(segment_model_encode(m));
}

/*
 * The statistics model: k = 1, centroid at the origin, identity scaling,
 * the options' transforms and feature names.  A kmeans_step pass over it
 * yields the per-feature mean, variance, minimum and maximum of the
 * transformed rows, from which kmeans_step_initial_model builds the scaler.
 */
SegmentModel *
kmeans_step_template_model(int d, const KMeansOptions *opts)
{
	SegmentModel *m = palloc0(sizeof(SegmentModel));
	int			j;

	if (opts->n_feature_names >= 0 && opts->n_feature_names != d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("kmeans option \"feature_names\" has %d names but features have %d elements",
						opts->n_feature_names, d)));
	m->k = 1;
	m->d = d;
	m->n = 1;
	m->seed = opts->seed;
	m->n_init = 1;
	m->max_iter = opts->max_iter;
	m->tol = opts->tol;
	m->init = KMEANS_INIT_GIVEN;
	m->scale_method = SEGMENT_SCALE_NONE;
	m->transform = palloc(d);
	kmeans_resolve_transforms(opts, d, m->transform);
	m->center = palloc0(sizeof(double) * d);
	m->scale = palloc(sizeof(double) * d);
	for (j = 0; j < d; j++)
		m->scale[j] = 1.0;
	m->centroids = palloc0(sizeof(double) * d);
	m->sizes = palloc(sizeof(int64));
	m->sizes[0] = 1;
	if (opts->n_feature_names > 0)
	{
		m->feature_names = palloc(sizeof(char *) * d);
		for (j = 0; j < d; j++)
			m->feature_names[j] = pstrdup(opts->feature_names[j]);
	}
	m->requested_k = 1;
	m->mode = SEGMENT_MODE_SCAN;
	return m;
}

/*
 * The initial model of a scan fit: the scaler from a statistics pass
 * (stats, over kmeans_step_template_model with the same options), k
 * centroids given in original units (init_raw, k*d), placeholder sizes
 * (split evenly) and zero inertia until the first pass.  Errors: 22023 when
 * the statistics come from other transforms or too few rows, 0A000 for
 * scale "robust" (its median and IQR need more than one pass of sums).
 */
SegmentModel *
kmeans_step_initial_model(const KMeansStepState *stats, int k,
						  const KMeansOptions *opts, const double *init_raw)
{
	SegmentModel *t = kmeans_step_state_model(stats);
	SegmentModel *m = palloc0(sizeof(SegmentModel));
	int			d = stats->d;
	double	   *mean = palloc(sizeof(double) * d);
	double	   *var = palloc(sizeof(double) * d);
	double	   *fmin = palloc(sizeof(double) * d);
	double	   *fmax = palloc(sizeof(double) * d);
	uint8	   *transform = palloc(d);
	int			c;
	int			j;

	kmeans_resolve_transforms(opts, d, transform);
	if (t->k != 1 || memcmp(transform, t->transform, d) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the statistics state was not computed over kmeans_step_template with these options")));
	for (j = 0; j < d; j++)
		if (t->center[j] != 0.0 || t->scale[j] != 1.0 || t->centroids[j] != 0.0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the statistics state was not computed over kmeans_step_template with these options")));
	if (k < 1 || k > SEGMENT_KMEANS_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", SEGMENT_KMEANS_MAX_K)));
	if (stats->n < k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k (%d) is greater than the number of rows (" INT64_FORMAT ")", k, stats->n)));
	if (opts->scale == SEGMENT_SCALE_ROBUST)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("scale \"robust\" is not available in mode \"scan\""),
				 errhint("Use scale \"zscore\", \"minmax\" or \"none\", or mode \"sample\".")));
	if (opts->n_feature_names >= 0 && opts->n_feature_names != d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("kmeans option \"feature_names\" has %d names but features have %d elements",
						opts->n_feature_names, d)));

	kmeans_step_state_stats(stats, mean, var, fmin, fmax);
	m->k = k;
	m->d = d;
	m->n = stats->n;
	m->n_null = stats->n_null;
	m->seed = opts->seed;
	m->n_init = 1;
	m->max_iter = opts->max_iter;
	m->tol = opts->tol;
	m->init = KMEANS_INIT_GIVEN;
	m->scale_method = opts->scale;
	m->transform = transform;
	m->center = palloc(sizeof(double) * d);
	m->scale = palloc(sizeof(double) * d);
	for (j = 0; j < d; j++)
	{
		m->center[j] = 0.0;
		m->scale[j] = 1.0;
		if (opts->scale == SEGMENT_SCALE_ZSCORE)
		{
			m->center[j] = mean[j];
			m->scale[j] = sqrt(var[j]);
		}
		else if (opts->scale == SEGMENT_SCALE_MINMAX)
		{
			m->center[j] = fmin[j];
			m->scale[j] = fmax[j] - fmin[j];
		}
		if (!isfinite(m->center[j]) || !isfinite(m->scale[j]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value out of range: overflow")));
		if (!(m->scale[j] > 0))
			m->scale[j] = 1.0;
	}
	m->centroids = palloc(sizeof(double) * k * d);
	for (c = 0; c < k; c++)
		for (j = 0; j < d; j++)
		{
			double		v = segment_apply_transform((SegmentTransform) transform[j],
													init_raw[(Size) c * d + j], j);

			m->centroids[(Size) c * d + j] = (v - m->center[j]) / m->scale[j];
		}
	m->sizes = palloc(sizeof(int64) * k);
	for (c = 0; c < k; c++)
		m->sizes[c] = stats->n / k + (c < stats->n % k ? 1 : 0);
	if (opts->n_feature_names > 0)
	{
		m->feature_names = palloc(sizeof(char *) * d);
		for (j = 0; j < d; j++)
			m->feature_names[j] = pstrdup(opts->feature_names[j]);
	}
	m->requested_k = k;
	m->mode = SEGMENT_MODE_SCAN;
	return m;
}

/* kmeans_step_template(d, options): the statistics model for d features. */
Datum
segment_kmeans_step_template(PG_FUNCTION_ARGS)
{
	int32		d = PG_GETARG_INT32(0);
	Jsonb	   *options = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	KMeansOptions opts;
	KMeansModeOptions mopts;

	if (d < 1 || d > SEGMENT_KMEANS_MAX_D)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("d must be between 1 and %d", SEGMENT_KMEANS_MAX_D)));
	kmeans_parse_options_ext(options, &opts, &mopts);
	PG_RETURN_BYTEA_P(segment_model_encode(kmeans_step_template_model(d, &opts)));
}

/* kmeans_step_init(stats, k, options): the initial model from given centroids. */
Datum
segment_kmeans_step_init(PG_FUNCTION_ARGS)
{
	KMeansStepState *stats = kmeans_step_state_check(PG_GETARG_DATUM(0));
	int32		k = PG_GETARG_INT32(1);
	Jsonb	   *options = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	KMeansOptions opts;
	KMeansModeOptions mopts;

	kmeans_parse_options_ext(options, &opts, &mopts);
	if (opts.init != KMEANS_INIT_GIVEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans_step_init needs option \"init\" with k centroids in original units"),
				 errhint("segment.kmeans_fit_scan seeds from a sample of the rows.")));
	if (opts.init_k != k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans option \"init\" gives %d centroids but k is %d", opts.init_k, k)));
	if (opts.init_d != stats->d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("kmeans option \"init\" centroids have %d features but features have %d elements",
						opts.init_d, stats->d)));
	PG_RETURN_BYTEA_P(segment_model_encode(kmeans_step_initial_model(stats, k, &opts,
																	 opts.init_centroids)));
}

/* ---------------------------------------------------------------------
 * Text and binary forms
 * ---------------------------------------------------------------------
 */

/*
 * Check every value of a state built by an input function (errcode_bad:
 * 22P02 or 22P03): counts add up to n, moments and ranges finite and
 * consistent, far entries in range, the embedded model valid with the
 * state's k and d.
 */
static void
step_validate(const KMeansStepState *st, int errcode_bad)
{
	StepArrays	arr;
	int64		total = 0;
	int			k = st->k;
	int			d = st->d;
	int			c;
	int			j;
	SegmentModel *m;
	const char *bad = NULL;

	step_layout(st, &arr);
	m = segment_model_decode(arr.model, st->model_len, errcode_bad);
	if (m->k != k || m->d != d)
		bad = "The embedded model's k or d differs from the state's.";
	for (c = 0; c < k && bad == NULL; c++)
	{
		if (arr.counts[c] < 0 || arr.counts[c] > st->n)
			bad = "A count is out of range.";
		else
			total += arr.counts[c];
		for (j = 0; j < d && bad == NULL; j++)
		{
			double		mu = arr.means[(Size) c * d + j];
			double		s = arr.m2[(Size) c * d + j];

			if (!isfinite(mu) || !isfinite(s) || s < 0)
				bad = "A mean or sum of squares is not finite or is negative.";
			else if (arr.counts[c] == 0 && (mu != 0.0 || s != 0.0))
				bad = "An empty centroid has a nonzero mean or sum of squares.";
		}
	}
	if (bad == NULL && total != st->n)
		bad = "Counts do not add up to n.";
	for (j = 0; j < d && bad == NULL; j++)
	{
		if (!isfinite(arr.fmin[j]) || !isfinite(arr.fmax[j]) ||
			(st->n > 0 && arr.fmin[j] > arr.fmax[j]) ||
			(st->n == 0 && (arr.fmin[j] != 0.0 || arr.fmax[j] != 0.0)))
			bad = "A feature minimum or maximum is out of range.";
	}
	if (bad == NULL && st->n_far > st->n)
		bad = "The far list is longer than the rows.";
	for (c = 0; c < st->n_far && bad == NULL; c++)
	{
		int64		l = arr.far_label[c];

		if (!isfinite(arr.far_d2[c]) || arr.far_d2[c] < 0)
			bad = "A far distance is not finite or is negative.";
		else if (l < 0 || l >= k || arr.counts[l] == 0)
			bad = "A far entry names an empty or unknown centroid.";
		for (j = 0; j < d && bad == NULL; j++)
			if (!isfinite(arr.far_x[(Size) c * d + j]))
				bad = "A far row is not finite.";
	}
	if (bad != NULL)
		ereport(ERROR,
				(errcode(errcode_bad),
				 errmsg("invalid kmeans_step_state"),
				 errdetail("%s", bad)));
}

/* Restore the far list's heap order after input (entries are in any order). */
static void
step_reheap(KMeansStepState *st)
{
	StepArrays	arr;
	int			nf = st->n_far;
	int			i;

	step_layout(st, &arr);
	st->n_far = 0;
	for (i = 0; i < nf; i++)
	{
		int			p = st->n_far++;

		/* entry i sits at slot >= p; move it to p and sift up */
		if (i != p)
			far_swap(&arr, st->d, i, p);
		while (p > 0 && far_less_idx(&arr, st->d, p, (p - 1) / 2))
		{
			far_swap(&arr, st->d, p, (p - 1) / 2);
			p = (p - 1) / 2;
		}
	}
}

/* Raise 22P02 for bad state text. */
static void
text_bad(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type kmeans_step_state"),
			 errdetail("%s", detail)));
}

/* JSON helpers for the text form */
static JsonbValue *
tj_get(JsonbContainer *obj, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);

	if (v == NULL)
		text_bad(psprintf("Key \"%s\" is missing.", key));
	return v;
}

static int64
tj_int64(JsonbValue *v, const char *what, int64 lo, int64 hi)
{
	int64		x;

	if (v->type != jbvNumeric || !segment_numeric_to_int64(v->val.numeric, &x))
		text_bad(psprintf("\"%s\" must be an integer.", what));
	if (x < lo || x > hi)
		text_bad(psprintf("\"%s\" is out of range.", what));
	return x;
}

static double
tj_float8(JsonbValue *v, const char *what)
{
	double		f;

	if (v->type != jbvNumeric)
		text_bad(psprintf("\"%s\" must hold numbers.", what));
	f = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (!isfinite(f))
		text_bad(psprintf("\"%s\" must hold finite numbers.", what));
	return f;
}

static JsonbContainer *
tj_array(JsonbValue *v, const char *what, int n)
{
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerIsScalar(v->val.binary.data))
		text_bad(psprintf("\"%s\" must be an array.", what));
	if (n >= 0 && (int) JsonContainerSize(v->val.binary.data) != n)
		text_bad(psprintf("\"%s\" must have %d elements.", what, n));
	return v->val.binary.data;
}

static void
tj_float8_array(JsonbValue *v, const char *what, int n, double *out)
{
	JsonbContainer *c = tj_array(v, what, n);
	int			i;

	for (i = 0; i < n; i++)
		out[i] = tj_float8(getIthJsonbValueFromContainer(c, i), what);
}

/* Append n doubles as a JSON array (shortest exact decimals). */
static void
append_array(StringInfo buf, const double *v, int n)
{
	int			i;

	appendStringInfoChar(buf, '[');
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		segment_append_float8(buf, v[i]);
	}
	appendStringInfoChar(buf, ']');
}

/* kmeans_step_state_out: JSON with exact doubles and the embedded model. */
Datum
segment_kmeans_step_state_out(PG_FUNCTION_ARGS)
{
	KMeansStepState *st = kmeans_step_state_check(PG_GETARG_DATUM(0));
	StepArrays	arr;
	StringInfoData buf;
	bytea	   *model;
	int			k = st->k;
	int			d = st->d;
	int			c;

	step_layout(st, &arr);
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"version\": %d, \"k\": %d, \"d\": %d, \"n\": " INT64_FORMAT
					 ", \"n_null\": " INT64_FORMAT ", \"counts\": [",
					 st->version, k, d, st->n, st->n_null);
	for (c = 0; c < k; c++)
		appendStringInfo(&buf, "%s" INT64_FORMAT, c > 0 ? "," : "", arr.counts[c]);
	appendStringInfoString(&buf, "], \"means\": [");
	for (c = 0; c < k; c++)
	{
		if (c > 0)
			appendStringInfoChar(&buf, ',');
		append_array(&buf, arr.means + (Size) c * d, d);
	}
	appendStringInfoString(&buf, "], \"m2\": [");
	for (c = 0; c < k; c++)
	{
		if (c > 0)
			appendStringInfoChar(&buf, ',');
		append_array(&buf, arr.m2 + (Size) c * d, d);
	}
	appendStringInfoString(&buf, "], \"min\": ");
	append_array(&buf, arr.fmin, d);
	appendStringInfoString(&buf, ", \"max\": ");
	append_array(&buf, arr.fmax, d);
	appendStringInfoString(&buf, ", \"far\": [");
	for (c = 0; c < st->n_far; c++)
	{
		appendStringInfoString(&buf, c > 0 ? ",[" : "[");
		segment_append_float8(&buf, arr.far_d2[c]);
		appendStringInfo(&buf, "," INT64_FORMAT ",", arr.far_label[c]);
		append_array(&buf, arr.far_x + (Size) c * d, d);
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoString(&buf, "], \"model\": ");
	model = palloc(VARHDRSZ + st->model_len);
	SET_VARSIZE(model, VARHDRSZ + st->model_len);
	memcpy(VARDATA(model), arr.model, st->model_len);
	appendStringInfoString(&buf, DatumGetCString(DirectFunctionCall1(segment_model_out,
																	 PointerGetDatum(model))));
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

/* kmeans_step_state_in: parse and validate the JSON text form (22P02). */
Datum
segment_kmeans_step_state_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	Jsonb	   *jb;
	JsonbContainer *root;
	JsonbContainer *arrc;
	JsonbValue *v;
	KMeansStepState *st;
	StepArrays	arr;
	SegmentModel *m;
	bytea	   *model;
	int64		n;
	int64		n_null;
	int			k;
	int			d;
	int			nfar;
	int			c;
	static const char *const keys[] = {"version", "k", "d", "n", "n_null", "counts",
	"means", "m2", "min", "max", "far", "model"};

	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	root = &jb->root;
	if (!JsonContainerIsObject(root))
		text_bad("The value must be a JSON object.");
	if (JsonContainerSize(root) != lengthof(keys))
		text_bad("The object must have exactly the keys version, k, d, n, n_null, counts, means, m2, min, max, far, model.");
	for (c = 0; c < lengthof(keys); c++)
		(void) tj_get(root, keys[c]);
	if (tj_int64(tj_get(root, "version"), "version", 0, 255) != KMEANS_STEP_STATE_VERSION)
		text_bad("Unsupported version.");
	k = (int) tj_int64(tj_get(root, "k"), "k", 1, SEGMENT_KMEANS_MAX_K);
	d = (int) tj_int64(tj_get(root, "d"), "d", 1, SEGMENT_KMEANS_MAX_D);
	n = tj_int64(tj_get(root, "n"), "n", 0, PG_INT64_MAX);
	n_null = tj_int64(tj_get(root, "n_null"), "n_null", 0, PG_INT64_MAX);

	/* the embedded model first: its text is validated by segment_model_in */
	v = tj_get(root, "model");
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		text_bad("\"model\" must be a segment_model in its JSON form.");
	model = DatumGetByteaPP(DirectFunctionCall1(segment_model_in,
												CStringGetDatum(JsonbToCString(NULL, v->val.binary.data,
																			   VARSIZE(jb)))));
	m = segment_model_decode(VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model),
							 ERRCODE_INVALID_TEXT_REPRESENTATION);
	if (m->k != k || m->d != d)
		text_bad("The model's k and d must be the state's.");
	if (m->m > 0)
		text_bad("The model must be a k-means model.");

	st = step_new(CurrentMemoryContext, m, VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model));
	st->n = n;
	st->n_null = n_null;
	step_layout(st, &arr);

	arrc = tj_array(tj_get(root, "counts"), "counts", k);
	for (c = 0; c < k; c++)
		arr.counts[c] = tj_int64(getIthJsonbValueFromContainer(arrc, c), "counts", 0, PG_INT64_MAX);
	arrc = tj_array(tj_get(root, "means"), "means", k);
	for (c = 0; c < k; c++)
		tj_float8_array(getIthJsonbValueFromContainer(arrc, c), "means", d,
						arr.means + (Size) c * d);
	arrc = tj_array(tj_get(root, "m2"), "m2", k);
	for (c = 0; c < k; c++)
		tj_float8_array(getIthJsonbValueFromContainer(arrc, c), "m2", d,
						arr.m2 + (Size) c * d);
	tj_float8_array(tj_get(root, "min"), "min", d, arr.fmin);
	tj_float8_array(tj_get(root, "max"), "max", d, arr.fmax);
	v = tj_get(root, "far");
	arrc = tj_array(v, "far", -1);
	nfar = JsonContainerSize(arrc);
	if (nfar > k)
		text_bad("\"far\" has more than k entries.");
	for (c = 0; c < nfar; c++)
	{
		JsonbContainer *e = tj_array(getIthJsonbValueFromContainer(arrc, c), "far", 3);

		arr.far_d2[c] = tj_float8(getIthJsonbValueFromContainer(e, 0), "far");
		arr.far_label[c] = tj_int64(getIthJsonbValueFromContainer(e, 1), "far", 0, k - 1);
		tj_float8_array(getIthJsonbValueFromContainer(e, 2), "far", d,
						arr.far_x + (Size) c * d);
	}
	st->n_far = nfar;
	step_validate(st, ERRCODE_INVALID_TEXT_REPRESENTATION);
	step_reheap(st);
	PG_RETURN_POINTER(st);
}

/* kmeans_step_state_send: version byte, header, arrays (network order), model bytes. */
Datum
segment_kmeans_step_state_send(PG_FUNCTION_ARGS)
{
	KMeansStepState *st = kmeans_step_state_check(PG_GETARG_DATUM(0));
	StepArrays	arr;
	StringInfoData buf;
	Size		kd = (Size) st->k * st->d;
	Size		i;

	step_layout(st, &arr);
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, KMEANS_STEP_STATE_VERSION);
	pq_sendint32(&buf, st->k);
	pq_sendint32(&buf, st->d);
	pq_sendint32(&buf, st->n_far);
	pq_sendint32(&buf, st->model_len);
	pq_sendint64(&buf, st->n);
	pq_sendint64(&buf, st->n_null);
	for (i = 0; i < (Size) st->k; i++)
		pq_sendint64(&buf, arr.counts[i]);
	for (i = 0; i < kd; i++)
		pq_sendfloat8(&buf, arr.means[i]);
	for (i = 0; i < kd; i++)
		pq_sendfloat8(&buf, arr.m2[i]);
	for (i = 0; i < (Size) st->d; i++)
		pq_sendfloat8(&buf, arr.fmin[i]);
	for (i = 0; i < (Size) st->d; i++)
		pq_sendfloat8(&buf, arr.fmax[i]);
	for (i = 0; i < (Size) st->n_far; i++)
	{
		pq_sendfloat8(&buf, arr.far_d2[i]);
		pq_sendint64(&buf, arr.far_label[i]);
	}
	for (i = 0; i < (Size) st->n_far * st->d; i++)
		pq_sendfloat8(&buf, arr.far_x[i]);
	pq_sendbytes(&buf, arr.model, st->model_len);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Raise 22P03 for a bad binary state. */
static void
recv_bad(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary kmeans_step_state"),
			 errdetail("%s", detail)));
}

/* kmeans_step_state_recv: read and validate the binary form (22P03). */
Datum
segment_kmeans_step_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	KMeansStepState *st;
	StepArrays	arr;
	SegmentModel *m;
	int			version;
	int32		k;
	int32		d;
	int32		nfar;
	int32		model_len;
	int64		n;
	int64		n_null;
	Size		kd;
	Size		need;
	Size		i;

	if (buf->len - buf->cursor < 1 + 4 * 4 + 16)
		recv_bad("The value is truncated.");
	version = pq_getmsgbyte(buf);
	if (version != KMEANS_STEP_STATE_VERSION)
		recv_bad("Unsupported version.");
	k = pq_getmsgint(buf, 4);
	d = pq_getmsgint(buf, 4);
	nfar = pq_getmsgint(buf, 4);
	model_len = pq_getmsgint(buf, 4);
	n = pq_getmsgint64(buf);
	n_null = pq_getmsgint64(buf);
	if (k < 1 || k > SEGMENT_KMEANS_MAX_K || d < 1 || d > SEGMENT_KMEANS_MAX_D ||
		nfar < 0 || nfar > k || model_len < 1 || n < 0 || n_null < 0)
		recv_bad("A header field is out of range.");
	kd = (Size) k * d;
	need = 8 * ((Size) k + 2 * kd + 2 * (Size) d + 2 * (Size) nfar + (Size) nfar * d) +
		(Size) model_len;
	if ((Size) (buf->len - buf->cursor) != need)
		recv_bad("The value has the wrong length.");
	m = segment_model_decode(buf->data + buf->len - model_len, model_len,
							 ERRCODE_INVALID_BINARY_REPRESENTATION);
	if (m->k != k || m->d != d)
		recv_bad("The embedded model's k or d differs from the state's.");
	if (m->m > 0)
		recv_bad("The embedded model is not a k-means model.");
	st = step_new(CurrentMemoryContext, m, buf->data + buf->len - model_len, model_len);
	st->n = n;
	st->n_null = n_null;
	st->n_far = nfar;
	step_layout(st, &arr);
	for (i = 0; i < (Size) k; i++)
		arr.counts[i] = pq_getmsgint64(buf);
	for (i = 0; i < kd; i++)
		arr.means[i] = pq_getmsgfloat8(buf);
	for (i = 0; i < kd; i++)
		arr.m2[i] = pq_getmsgfloat8(buf);
	for (i = 0; i < (Size) d; i++)
		arr.fmin[i] = pq_getmsgfloat8(buf);
	for (i = 0; i < (Size) d; i++)
		arr.fmax[i] = pq_getmsgfloat8(buf);
	for (i = 0; i < (Size) nfar; i++)
	{
		arr.far_d2[i] = pq_getmsgfloat8(buf);
		arr.far_label[i] = pq_getmsgint64(buf);
		if (arr.far_label[i] < 0 || arr.far_label[i] >= k)
			recv_bad("A far entry names an unknown centroid.");
	}
	for (i = 0; i < (Size) nfar * d; i++)
		arr.far_x[i] = pq_getmsgfloat8(buf);
	buf->cursor = buf->len;
	step_validate(st, ERRCODE_INVALID_BINARY_REPRESENTATION);
	step_reheap(st);
	PG_RETURN_POINTER(st);
}
