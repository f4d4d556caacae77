/*-------------------------------------------------------------------------
 *
 * feature_rows.c
 *	  The feature rows a k-means aggregate collects: growth within
 *	  segment.kmeans_memory_limit, merging of partial states, and their
 *	  serialized form.  kmeans_fit and kmeans_sweep keep their rows this
 *	  way; each adds its own header (k, or the k range) around it.
 *
 * Serialized form (pqformat, after the caller's version byte and header):
 * options length (0: none) and jsonb bytes, d, n, n_null, then n*d float8.
 * Every field is validated on the way in, so a corrupt state is an error
 * (XX001), never a crash.
 *
 * src/feature_rows.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

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
	MemoryContextSwitchTo(old);
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
	feature_rows_reserve(fr, fr->n + 1, fname);
	memcpy(fr->rows + fr->n * d, x, sizeof(double) * d);
	fr->n++;
}

/* Append all rows of b to a (options are the caller's to compare). */
void
feature_rows_merge(FeatureRows *a, const FeatureRows *b, const char *fname)
{
	a->n_null += b->n_null;
	if (b->n == 0)
		return;
	feature_rows_check_dim(a, b->d, fname);
	feature_rows_reserve(a, a->n + b->n, fname);
	memcpy(a->rows + a->n * a->d, b->rows, sizeof(double) * b->n * b->d);
	a->n += b->n;
}

/* Free the rows of a collection that has been merged into another. */
void
feature_rows_release(FeatureRows *fr)
{
	if (fr->rows != NULL)
		pfree(fr->rows);
	fr->rows = NULL;
	fr->n = 0;
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
	int64		left = buf->len - buf->cursor;
	int64		i;

	if (d < 0 || d > SEGMENT_KMEANS_MAX_D || n < 0 || n_null < 0 ||
		(n > 0 && d == 0) ||
		(d == 0 && left != 0) ||
		(d > 0 && (left % ((int64) sizeof(double) * d) != 0 ||
				   n != left / ((int64) sizeof(double) * d))))
		feature_rows_corrupt(fname);
	fr->d = d;
	fr->n_null = n_null;
	if (n > 0)
	{
		feature_rows_reserve(fr, n, fname);
		for (i = 0; i < n * d; i++)
			fr->rows[i] = pq_getmsgfloat8(buf);
		fr->n = n;
	}
}
