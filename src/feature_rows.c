/*-------------------------------------------------------------------------
 *
 * feature_rows.c
 *	  The feature rows a k-means aggregate collects: growth within
 *	  segment.kmeans_memory_limit, merging of partial states, and their
 *	  serialized form.  kmeans_fit and kmeans_sweep keep their rows this
 *	  way; each adds its own header (k, or the k range) around it.
 *
 * Serialized form (pqformat, after the caller's version byte and header):
 * options length (0: none) and jsonb bytes, d, n, n_null, sampled flag,
 * n_total, then n*d float8.  Every field is validated on the way in, so a
 * corrupt state is an error (XX001), never a crash.
 *
 * Sampling (issue 7; kmeans_fit and kmeans with option mode "sample", or
 * "auto" above the memory budget).  The sample is a bottom-S sample: the S
 * rows with the smallest keys, where a row's key is a seeded 64-bit hash
 * of its values (-0 read as 0), ties broken by the values themselves.
 * Every row has the same chance to be kept, and the sample is a function of
 * the multiset of rows and the seed alone: it does not depend on row order,
 * and the bottom-S of the union of two partial samples is the bottom-S of
 * their union of rows, so parallel workers and shards merge exactly (the
 * reservoir of Vitter's algorithm R depends on arrival order; bottom-k
 * sketches do not: Cohen & Kaplan, "Summarizing data using bottom-k
 * sketches", PODC 2007).  Duplicates: identical rows share a key, so they
 * are kept or dropped together, up to the boundary of S.  A feature vector
 * held by a large share of the rows therefore makes the sample lumpier
 * than independent row draws would (it enters with all its copies or
 * none); per-copy keys would need the copies numbered consistently across
 * workers, i.e. a count per distinct vector, which is unbounded memory.
 * kmeans_fit reports such a sample in the model (mode, sample_size), and
 * mode "scan" (kmeans_fit_scan) has no such effect.
 * Kept rows live in rows[] as a max-heap on (key, row), so a new row costs
 * one comparison unless it enters the sample.
 *
 * src/feature_rows.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "segment.h"
#include "feature_rows.h"

/* Raise XX001 for a malformed serialized state of fname. */
static void
feature_rows_corrupt(const char *fname)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid %s state", fname)));
}

/* Start an empty collection in context, keeping and parsing options. */
void
feature_rows_init(FeatureRows *fr, MemoryContext context, Jsonb *options)
{
	MemoryContext old = MemoryContextSwitchTo(context);

	memset(fr, 0, sizeof(FeatureRows));
	fr->context = context;
	if (options != NULL)
	{
		fr->options = palloc(VARSIZE(options));
		memcpy(fr->options, options, VARSIZE(options));
	}
	kmeans_parse_options(fr->options, &fr->opts);
	fr->mopts.mode = KMEANS_MODE_MEMORY;
	fr->mopts.sample_size = SEGMENT_SAMPLE_SIZE_DEFAULT;
	MemoryContextSwitchTo(old);
}

/* The same for a fit that accepts options mode and sample_size (k: the fit's k). */
void
feature_rows_init_modes(FeatureRows *fr, MemoryContext context, Jsonb *options, int k)
{
	MemoryContext old = MemoryContextSwitchTo(context);

	memset(fr, 0, sizeof(FeatureRows));
	fr->context = context;
	if (options != NULL)
	{
		fr->options = palloc(VARSIZE(options));
		memcpy(fr->options, options, VARSIZE(options));
	}
	kmeans_parse_options_ext(fr->options, &fr->opts, &fr->mopts);
	fr->k = k;
	fr->hash_seed = (uint64) fr->opts.seed ^ UINT64CONST(0x9E3779B97F4A7C15);
	MemoryContextSwitchTo(old);
}

/* Sampling key of a row: seeded hash of its values, -0 read as 0. */
static uint64
row_key(const FeatureRows *fr, const double *x)
{
	double		tmp[64];
	double	   *v = fr->d <= 64 ? tmp : palloc(sizeof(double) * fr->d);
	uint64		h;
	int			j;

	for (j = 0; j < fr->d; j++)
		v[j] = x[j] + 0.0;
	h = hash_bytes_extended((const unsigned char *) v, (int) (sizeof(double) * fr->d),
							fr->hash_seed);
	if (v != tmp)
		pfree(v);
	return h;
}

/* Order of sample entries: by key, then by values; <0, 0, >0. */
static inline int
sample_cmp(uint64 ka, const double *xa, uint64 kb, const double *xb, int d)
{
	int			j;

	if (ka != kb)
		return ka < kb ? -1 : 1;
	for (j = 0; j < d; j++)
	{
		if (xa[j] < xb[j])
			return -1;
		if (xa[j] > xb[j])
			return 1;
	}
	return 0;
}

/* Swap kept rows i and j of a sample. */
static void
sample_swap(FeatureRows *fr, int64 i, int64 j)
{
	int			d = fr->d;
	uint64		t = fr->keys[i];
	int			q;

	fr->keys[i] = fr->keys[j];
	fr->keys[j] = t;
	for (q = 0; q < d; q++)
	{
		double		v = fr->rows[i * d + q];

		fr->rows[i * d + q] = fr->rows[j * d + q];
		fr->rows[j * d + q] = v;
	}
}

/* Offer a row with its key to the bottom-S sample (max-heap on (key, row)). */
static void
sample_offer(FeatureRows *fr, const double *x, uint64 key)
{
	int			d = fr->d;
	int64		i;

	fr->n_total++;
	if (fr->n < fr->mopts.sample_size)
	{
		i = fr->n++;
		fr->keys[i] = key;
		memcpy(fr->rows + i * d, x, sizeof(double) * d);
		while (i > 0 && sample_cmp(fr->keys[i], fr->rows + i * d,
								   fr->keys[(i - 1) / 2], fr->rows + ((i - 1) / 2) * d, d) > 0)
		{
			sample_swap(fr, i, (i - 1) / 2);
			i = (i - 1) / 2;
		}
		return;
	}
	if (sample_cmp(key, x, fr->keys[0], fr->rows, d) >= 0)
		return;
	fr->keys[0] = key;
	memcpy(fr->rows, x, sizeof(double) * d);
	i = 0;
	for (;;)
	{
		int64		l = 2 * i + 1;
		int64		r = l + 1;
		int64		m = i;

		if (l < fr->n && sample_cmp(fr->keys[l], fr->rows + l * d,
									fr->keys[m], fr->rows + m * d, d) > 0)
			m = l;
		if (r < fr->n && sample_cmp(fr->keys[r], fr->rows + r * d,
									fr->keys[m], fr->rows + m * d, d) > 0)
			m = r;
		if (m == i)
			break;
		sample_swap(fr, i, m);
		i = m;
	}
}

/* Set the auto threshold once d is known. */
static void
feature_rows_auto_limit(FeatureRows *fr)
{
	if (fr->mopts.mode == KMEANS_MODE_AUTO && fr->max_rows == 0)
	{
		fr->max_rows = Max(kmeans_fit_max_rows(fr->d, fr->k, fr->opts.scale), 1);
		/* auto samples no more rows than a fit can hold */
		if (fr->mopts.sample_size > fr->max_rows)
			fr->mopts.sample_size = fr->max_rows;
	}
}

/*
 * Turn a collection into a sample: allocate S rows and keys, offer the rows
 * held so far, free them.  d must be known.
 */
static void
feature_rows_start_sample(FeatureRows *fr, const char *fname)
{
	double	   *old_rows = fr->rows;
	int64		old_n = fr->n;
	int64		cap;
	int64		i;

	Assert(!fr->sampled && fr->d > 0);
	feature_rows_auto_limit(fr);
	cap = fr->mopts.sample_size;
	segment_check_memory(mul_size((Size) cap, sizeof(double) * fr->d + sizeof(uint64)),
						 fname);
	fr->rows = MemoryContextAllocHuge(fr->context, mul_size((Size) cap, sizeof(double) * fr->d));
	fr->keys = MemoryContextAllocHuge(fr->context, mul_size((Size) cap, sizeof(uint64)));
	fr->capacity = cap;
	fr->n = 0;
	fr->n_total = 0;
	fr->sampled = true;
	for (i = 0; i < old_n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		sample_offer(fr, old_rows + i * fr->d, row_key(fr, old_rows + i * fr->d));
	}
	if (old_rows != NULL)
		pfree(old_rows);
}

/* Are these (possibly NULL) options the ones the collection was made with? */
bool
feature_rows_same_options(const FeatureRows *fr, Jsonb *options)
{
	if (fr->options == NULL || options == NULL)
		return fr->options == options;
	return VARSIZE(fr->options) == VARSIZE(options) &&
		memcmp(fr->options, options, VARSIZE(options)) == 0;
}

/* Set the dimension from the first row, or check a later row against it. */
static void
feature_rows_check_dim(FeatureRows *fr, int d, const char *fname)
{
	if (fr->d == 0)
		fr->d = d;
	else if (fr->d != d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("all feature arrays of a %s group must have the same length", fname),
				 errdetail("Lengths %d and %d were given.", fr->d, d)));
}

/* Grow the row buffer to hold need rows, within the memory limit. */
static void
feature_rows_reserve(FeatureRows *fr, int64 need, const char *fname)
{
	Size		row_bytes = sizeof(double) * fr->d;
	Size		limit_rows = ((Size) segment_kmeans_memory_limit * 1024) / row_bytes;
	int64		capacity;

	if (need <= fr->capacity)
		return;
	segment_check_memory(mul_size((Size) need, row_bytes), fname);
	capacity = Max(need, Max(fr->capacity * 2, 1024));
	capacity = Min((Size) capacity, limit_rows);
	capacity = Max(capacity, need);
	if (fr->rows == NULL)
		fr->rows = MemoryContextAllocHuge(fr->context, mul_size((Size) capacity, row_bytes));
	else
		fr->rows = repalloc_huge(fr->rows, mul_size((Size) capacity, row_bytes));
	fr->capacity = capacity;
}

/* Append one feature array (NULL: count a NULL row); fname names the caller. */
void
feature_rows_add(FeatureRows *fr, ArrayType *array, const char *fname)
{
	double	   *x;
	int			d;

	if (array == NULL)
	{
		fr->n_null++;
		return;
	}
	x = segment_kmeans_features(array, &d);
	feature_rows_check_dim(fr, d, fname);
	if (!fr->sampled)
	{
		if (fr->mopts.mode == KMEANS_MODE_SAMPLE)
			feature_rows_start_sample(fr, fname);
		else if (fr->mopts.mode == KMEANS_MODE_AUTO)
		{
			feature_rows_auto_limit(fr);
			if (fr->n + 1 > fr->max_rows)
				feature_rows_start_sample(fr, fname);
		}
	}
	if (fr->sampled)
	{
		sample_offer(fr, x, row_key(fr, x));
		return;
	}
	feature_rows_reserve(fr, fr->n + 1, fname);
	memcpy(fr->rows + fr->n * d, x, sizeof(double) * d);
	fr->n++;
	fr->n_total++;
}

/* Append all rows of b to a (options are the caller's to compare). */
void
feature_rows_merge(FeatureRows *a, const FeatureRows *b, const char *fname)
{
	int64		i;

	a->n_null += b->n_null;
	if (b->n == 0)
		return;
	feature_rows_check_dim(a, b->d, fname);
	if (!a->sampled && !b->sampled)
	{
		if (a->mopts.mode == KMEANS_MODE_AUTO)
			feature_rows_auto_limit(a);
		if (a->mopts.mode != KMEANS_MODE_AUTO || a->n + b->n <= a->max_rows)
		{
			feature_rows_reserve(a, a->n + b->n, fname);
			memcpy(a->rows + a->n * a->d, b->rows, sizeof(double) * b->n * b->d);
			a->n += b->n;
			a->n_total += b->n_total;
			return;
		}
	}
	/* a sample on either side (or auto over its limit): the bottom-S of the union */
	if (a->mopts.mode == KMEANS_MODE_MEMORY)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid %s state", fname)));
	if (!a->sampled)
		feature_rows_start_sample(a, fname);
	for (i = 0; i < b->n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		sample_offer(a, b->rows + i * b->d,
					 b->sampled ? b->keys[i] : row_key(a, b->rows + i * b->d));
	}
	/* rows b saw but did not keep were seen all the same */
	a->n_total += b->n_total - b->n;
}

/* Free the rows of a collection that has been merged into another. */
void
feature_rows_release(FeatureRows *fr)
{
	if (fr->rows != NULL)
		pfree(fr->rows);
	if (fr->keys != NULL)
		pfree(fr->keys);
	fr->rows = NULL;
	fr->keys = NULL;
	fr->n = 0;
	fr->n_total = 0;
	fr->capacity = 0;
}

/* Write options, d, counts and rows after the caller's header. */
void
feature_rows_send(StringInfo buf, const FeatureRows *fr, const char *fname)
{
	Size		need;
	int64		i;

	/* a worker's state must fit in one bytea to reach the leader */
	need = add_size(mul_size(mul_size((Size) fr->n, (Size) Max(fr->d, 1)), sizeof(double)),
					64 + (fr->options ? VARSIZE(fr->options) : 0));
	if (need >= MaxAllocSize - (Size) buf->len)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s partial state of " INT64_FORMAT " rows is too large to pass between parallel workers",
						fname, fr->n),
				 errhint("Disable parallel query for this statement (SET max_parallel_workers_per_gather = 0).")));
	enlargeStringInfo(buf, (int) need);
	if (fr->options != NULL)
	{
		pq_sendint32(buf, VARSIZE(fr->options));
		pq_sendbytes(buf, (char *) fr->options, VARSIZE(fr->options));
	}
	else
		pq_sendint32(buf, 0);
	pq_sendint32(buf, fr->d);
	pq_sendint64(buf, fr->n);
	pq_sendint64(buf, fr->n_null);
	pq_sendbyte(buf, fr->sampled ? 1 : 0);
	pq_sendint64(buf, fr->n_total);
	for (i = 0; i < fr->n * fr->d; i++)
		pq_sendfloat8(buf, fr->rows[i]);
}

/* Read the options written by feature_rows_send (NULL: none), validated. */
Jsonb *
feature_rows_recv_options(StringInfo buf, const char *fname)
{
	int32		optlen = pq_getmsgint(buf, 4);
	Jsonb	   *options;

	if (optlen == 0)
		return NULL;
	if (optlen < (int32) VARHDRSZ || optlen > buf->len - buf->cursor)
		feature_rows_corrupt(fname);
	options = palloc(optlen);
	memcpy(options, pq_getmsgbytes(buf, optlen), optlen);
	if ((int32) VARSIZE(options) != optlen)
		feature_rows_corrupt(fname);
	return options;
}

/* Read d, counts and rows written by feature_rows_send into fr, validated. */
void
feature_rows_recv_rows(StringInfo buf, FeatureRows *fr, const char *fname)
{
	int32		d = pq_getmsgint(buf, 4);
	int64		n = pq_getmsgint64(buf);
	int64		n_null = pq_getmsgint64(buf);
	int			sampled = pq_getmsgbyte(buf);
	int64		n_total = pq_getmsgint64(buf);
	int64		left = buf->len - buf->cursor;
	int64		i;

	if (sampled != 0 &&
		(sampled != 1 || fr->mopts.mode == KMEANS_MODE_MEMORY ||
		 n < 1 || d < 1 || n > fr->mopts.sample_size || n_total < n))
		feature_rows_corrupt(fname);
	if (sampled == 0 && n_total != n)
		feature_rows_corrupt(fname);
	if (d < 0 || d > SEGMENT_KMEANS_MAX_D || n < 0 || n_null < 0 ||
		(n > 0 && d == 0) ||
		(d == 0 && left != 0) ||
		(d > 0 && (left % ((int64) sizeof(double) * d) != 0 ||
				   n != left / ((int64) sizeof(double) * d))))
		feature_rows_corrupt(fname);
	fr->d = d;
	fr->n_null = n_null;
	if (sampled)
	{
		double	   *x = palloc(sizeof(double) * Max(d, 1));
		int			j;

		/* rebuild the heap (keys are a function of the rows and the seed) */
		feature_rows_start_sample(fr, fname);
		for (i = 0; i < n; i++)
		{
			for (j = 0; j < d; j++)
			{
				x[j] = pq_getmsgfloat8(buf);
				if (!isfinite(x[j]))
					feature_rows_corrupt(fname);
			}
			sample_offer(fr, x, row_key(fr, x));
		}
		pfree(x);
		fr->n_total = n_total;
		return;
	}
	if (n > 0)
	{
		feature_rows_reserve(fr, n, fname);
		for (i = 0; i < n * d; i++)
			fr->rows[i] = pq_getmsgfloat8(buf);
		fr->n = n;
		fr->n_total = n;
	}
}
