/*-------------------------------------------------------------------------
 *
 * model.c
 *	  The segment_model type: binary storage, JSON text I/O, send/recv, the
 *	  cast to jsonb, and the helpers that map raw features to model space.
 *
 * Storage.  A model is a varlena whose payload is a pqformat message
 * starting with a version byte (SEGMENT_MODEL_VERSION); send/recv ship the
 * same bytes, so the binary and stored forms cannot drift.  Decoding
 * validates every length and value, so a corrupt datum or a hostile recv
 * message is an error, never a crash.
 *
 * k-prototypes (issue 8).  A model fitted by kprototypes_fit also has a
 * categorical part: m categorical features, gamma, the init method, the
 * categorical feature names, the number of categories each feature had in
 * training and, per segment and feature, the prototype's category (mode)
 * and at most SEGMENT_KPROTO_TOP_SHARES most frequent categories with their
 * counts.  It follows the version 3 fields as an int32 m (0 for k-means:
 * a k-means model has no categorical part) and, when m > 0, that block;
 * the text form adds a "categorical" key only for such models.
 *
 * Text.  The text form is a JSON object holding exactly the stored
 * fields.  Doubles are written with the shortest decimal that reads back
 * to the same bits (Ryu, as float8out with extra_float_digits > 0, but
 * independent of that setting), so text round-trips exactly: pg_dump and
 * restore give the same model bit for bit.
 *
 * src/model.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "segment.h"
#include "model.h"
#include "quantile.h"

PG_FUNCTION_INFO_V1(segment_model_in);
PG_FUNCTION_INFO_V1(segment_model_out);
PG_FUNCTION_INFO_V1(segment_model_recv);
PG_FUNCTION_INFO_V1(segment_model_send);
PG_FUNCTION_INFO_V1(segment_model_jsonb);

/* bounds-checked reader over a model message */
typedef struct ModelReader
{
	const char *data;
	int			len;
	int			cursor;
	int			errcode_bad;
} ModelReader;

/* the per-query cache that assign_segment and friends keep in fn_extra */
typedef struct ModelCache
{
	MemoryContext context;		/* holds key, detoasted copy and model; reset on a miss */
	Size		keylen;
	char	   *key;			/* raw datum bytes (or toast pointer) */
	SegmentModel *model;
} ModelCache;

/* Complain about a malformed model with the caller's SQLSTATE. */
static void
model_bad(int errcode_bad, const char *detail)
{
	ereport(ERROR,
			(errcode(errcode_bad),
			 errmsg("invalid segment_model"),
			 errdetail("%s", detail)));
}

/* Ensure that bytes more bytes can be read. */
static void
rd_need(ModelReader *r, Size bytes)
{
	if (bytes > (Size) (r->len - r->cursor))
		model_bad(r->errcode_bad, "The value is truncated.");
}

/* Read one byte. */
static uint8
rd_byte(ModelReader *r)
{
	rd_need(r, 1);
	return (uint8) r->data[r->cursor++];
}

/* Read a network-order 32-bit integer. */
static int32
rd_int32(ModelReader *r)
{
	uint32		v;

	rd_need(r, 4);
	memcpy(&v, r->data + r->cursor, 4);
	r->cursor += 4;
	return (int32) pg_ntoh32(v);
}

/* Read a network-order 64-bit integer. */
static int64
rd_int64(ModelReader *r)
{
	uint64		v;

	rd_need(r, 8);
	memcpy(&v, r->data + r->cursor, 8);
	r->cursor += 8;
	return (int64) pg_ntoh64(v);
}

/* Read a float8 and insist that it is finite. */
static double
rd_float8(ModelReader *r)
{
	union
	{
		int64		i;
		double		f;
	}			u;

	u.i = rd_int64(r);
	if (!isfinite(u.f))
		model_bad(r->errcode_bad, "A stored number is not finite.");
	return u.f;
}

/* Send a length-prefixed string. */
static void
send_string(StringInfo buf, const char *str)
{
	int			len = strlen(str);

	pq_sendint32(buf, len);
	pq_sendbytes(buf, str, len);
}

/* Send the categorical part of a k-prototypes model. */
static void
encode_categorical(StringInfo buf, const SegmentModel *model)
{
	int			j;
	int			t;
	int64		c;

	pq_sendfloat8(buf, model->gamma);
	pq_sendbyte(buf, (uint8) model->kp_init);
	pq_sendbyte(buf, model->cat_names != NULL ? 1 : 0);
	if (model->cat_names != NULL)
		for (j = 0; j < model->m; j++)
			send_string(buf, model->cat_names[j]);
	for (j = 0; j < model->m; j++)
		pq_sendint32(buf, model->n_levels[j]);
	for (c = 0; c < (int64) model->k * model->m; c++)
	{
		const SegmentCatStat *cs = &model->cat[c];

		send_string(buf, cs->mode);
		pq_sendint32(buf, cs->n_top);
		for (t = 0; t < cs->n_top; t++)
		{
			send_string(buf, cs->top[t]);
			pq_sendint64(buf, cs->top_count[t]);
		}
	}
}

/* Read a length-prefixed string of minlen..maxlen bytes without zero bytes. */
static char *
rd_string(ModelReader *r, int minlen, int maxlen, const char *what)
{
	int32		len = rd_int32(r);
	char	   *str;

	if (len < minlen || len > maxlen)
		model_bad(r->errcode_bad, psprintf("A %s has a bad length.", what));
	rd_need(r, len);
	if (memchr(r->data + r->cursor, '\0', len) != NULL)
		model_bad(r->errcode_bad, psprintf("A %s contains a zero byte.", what));
	str = pnstrdup(r->data + r->cursor, len);
	r->cursor += len;
	return str;
}

/*
 * Check one segment's category statistics: distinct categories by count
 * descending (then byte order), counts within the segment size, and a list
 * shorter than the cap covering the whole segment.
 */
static void
check_cat_stat(const SegmentCatStat *cs, int64 size, int32 n_levels, int errcode_bad)
{
	int64		sum = 0;
	int			t;
	int			u;

	if (cs->n_top < 0 || cs->n_top > Min(SEGMENT_KPROTO_TOP_SHARES, n_levels) ||
		(size > 0) != (cs->n_top > 0))
		model_bad(errcode_bad, "A category count list has a bad length.");
	for (t = 0; t < cs->n_top; t++)
	{
		if (cs->top_count[t] < 1 || cs->top_count[t] > size)
			model_bad(errcode_bad, "A category count is out of range.");
		if (t > 0 && (cs->top_count[t] > cs->top_count[t - 1] ||
					  (cs->top_count[t] == cs->top_count[t - 1] &&
					   strcmp(cs->top[t - 1], cs->top[t]) >= 0)))
			model_bad(errcode_bad, "Category counts are not in canonical order.");
		for (u = 0; u < t; u++)
			if (strcmp(cs->top[u], cs->top[t]) == 0)
				model_bad(errcode_bad, "A category is listed twice.");
		sum += cs->top_count[t];
	}
	if (sum > size || (cs->n_top < SEGMENT_KPROTO_TOP_SHARES && sum != size))
		model_bad(errcode_bad, "Category counts do not add up to the segment size.");
}

/* Validate the categorical part's scalars and arrays once they are set. */
static void
check_categorical(const SegmentModel *m, int errcode_bad)
{
	int			j;
	int			c;

	if (m->m < 1 || m->m > SEGMENT_KPROTO_MAX_M)
		model_bad(errcode_bad, "The number of categorical features is out of range.");
	if (!isfinite(m->gamma) || m->gamma < 0)
		model_bad(errcode_bad, "gamma is out of range.");
	if (m->kp_init > SEGMENT_KPROTO_INIT_GIVEN ||
		(m->init == KMEANS_INIT_GIVEN) != (m->kp_init == SEGMENT_KPROTO_INIT_GIVEN) ||
		m->init == KMEANS_INIT_RANDOM)
		model_bad(errcode_bad, "Unknown or inconsistent init method.");
	if ((m->feature_names != NULL) != (m->cat_names != NULL))
		model_bad(errcode_bad, "Feature names must be given for all features or none.");
	for (j = 0; j < m->m; j++)
		if (m->n_levels[j] < 1 || m->n_levels[j] > SEGMENT_KPROTO_MAX_LEVELS)
			model_bad(errcode_bad, "A number of categories is out of range.");
	for (c = 0; c < m->k; c++)
		for (j = 0; j < m->m; j++)
			check_cat_stat(&m->cat[(Size) c * m->m + j], m->sizes[c], m->n_levels[j],
						   errcode_bad);
}

/* Read the categorical part of a k-prototypes model (m already read). */
static void
decode_categorical(ModelReader *r, SegmentModel *m)
{
	int			j;
	int			t;
	int64		c;

	m->gamma = rd_float8(r);
	m->kp_init = (SegmentKProtoInit) rd_byte(r);
	if (rd_byte(r) != 0)
	{
		m->cat_names = palloc(sizeof(char *) * m->m);
		for (j = 0; j < m->m; j++)
			m->cat_names[j] = rd_string(r, 1, NAMEDATALEN * 16, "feature name");
	}
	rd_need(r, (Size) m->m * 4);
	m->n_levels = palloc(sizeof(int32) * m->m);
	for (j = 0; j < m->m; j++)
		m->n_levels[j] = rd_int32(r);
	/* each entry takes at least 8 bytes: bound the allocation by the input */
	rd_need(r, (Size) m->k * m->m * 8);
	m->cat = palloc0(sizeof(SegmentCatStat) * m->k * m->m);
	for (c = 0; c < (int64) m->k * m->m; c++)
	{
		SegmentCatStat *cs = &m->cat[c];

		cs->mode = rd_string(r, 0, SEGMENT_KPROTO_MAX_VALUE_BYTES, "category");
		cs->n_top = rd_int32(r);
		if (cs->n_top < 0 || cs->n_top > SEGMENT_KPROTO_TOP_SHARES)
			model_bad(r->errcode_bad, "A category count list has a bad length.");
		cs->top = palloc(sizeof(char *) * Max(cs->n_top, 1));
		cs->top_count = palloc(sizeof(int64) * Max(cs->n_top, 1));
		for (t = 0; t < cs->n_top; t++)
		{
			cs->top[t] = rd_string(r, 0, SEGMENT_KPROTO_MAX_VALUE_BYTES, "category");
			cs->top_count[t] = rd_int64(r);
		}
	}
	check_categorical(m, r->errcode_bad);
}

/*
 * Population quintile breaks of n raw rows (original units, canonical
 * order) into model->quintiles: a systematic sample of at most
 * SEGMENT_QUINTILE_SAMPLE rows (every n/S-th row of the sorted rows, a
 * deterministic sample whose marginal distributions follow the data's,
 * within about 1% of rank), cut as quantile_breaks cuts.  segment_profile
 * scores centroids with them.
 */
void
segment_model_set_quintiles(SegmentModel *model, const double *X, int64 n)
{
	int64		m = Min(n, (int64) SEGMENT_QUINTILE_SAMPLE);
	double	   *col;
	double	   *scratch;
	int64		s;
	int			d = model->d;
	int			j;

	if (n < 1)
		return;
	col = palloc(sizeof(double) * m);
	scratch = palloc(sizeof(double) * m);
	model->quintiles = palloc(sizeof(double) * d * SEGMENT_QUINTILE_BREAKS);
	for (j = 0; j < d; j++)
	{
		CHECK_FOR_INTERRUPTS();
		for (s = 0; s < m; s++)
			col[s] = X[(int64) (((double) s + 0.5) * (double) n / (double) m) * d + j];
		quantile_sort(col, m, scratch);
		quantile_breaks_sorted(col, m, SEGMENT_QUINTILE_BREAKS + 1,
							   model->quintiles + (Size) j * SEGMENT_QUINTILE_BREAKS);
	}
	pfree(col);
	pfree(scratch);
}

/* Serialize a model into its stored form (version byte + pqformat fields). */
bytea *
segment_model_encode(const SegmentModel *model)
{
	StringInfoData buf;
	int			j;
	int64		c;
	bytea	   *result;

	initStringInfo(&buf);
	pq_sendbyte(&buf, SEGMENT_MODEL_VERSION);
	pq_sendint32(&buf, model->k);
	pq_sendint32(&buf, model->d);
	pq_sendint64(&buf, model->n);
	pq_sendint64(&buf, model->n_null);
	pq_sendfloat8(&buf, model->inertia);
	pq_sendint32(&buf, model->n_iter);
	pq_sendbyte(&buf, model->converged ? 1 : 0);
	pq_sendint64(&buf, model->seed);
	pq_sendint32(&buf, model->n_init);
	pq_sendint32(&buf, model->max_iter);
	pq_sendfloat8(&buf, model->tol);
	pq_sendbyte(&buf, (uint8) model->init);
	pq_sendbyte(&buf, (uint8) model->scale_method);
	pq_sendbyte(&buf, model->feature_names != NULL ? 1 : 0);
	for (j = 0; j < model->d; j++)
		pq_sendbyte(&buf, model->transform[j]);
	for (j = 0; j < model->d; j++)
		pq_sendfloat8(&buf, model->center[j]);
	for (j = 0; j < model->d; j++)
		pq_sendfloat8(&buf, model->scale[j]);
	for (c = 0; c < (int64) model->k * model->d; c++)
		pq_sendfloat8(&buf, model->centroids[c]);
	for (j = 0; j < model->k; j++)
		pq_sendint64(&buf, model->sizes[j]);
	if (model->feature_names != NULL)
	{
		for (j = 0; j < model->d; j++)
		{
			int			len = strlen(model->feature_names[j]);

			pq_sendint32(&buf, len);
			pq_sendbytes(&buf, model->feature_names[j], len);
		}
	}
	/* version 2 */
	pq_sendint32(&buf, model->requested_k > 0 ? model->requested_k : model->k);
	pq_sendfloat8(&buf, model->min_segment_share);
	if (model->reduction != NULL)
	{
		int			len = strlen(model->reduction);

		pq_sendint32(&buf, len);
		pq_sendbytes(&buf, model->reduction, len);
	}
	else
		pq_sendint32(&buf, 0);
	/* version 3 */
	pq_sendbyte(&buf, (uint8) model->mode);
	pq_sendint64(&buf, model->sample_size);
	/* version 3, k-prototypes part (m = 0: none) */
	pq_sendint32(&buf, model->m);
	if (model->m > 0)
		encode_categorical(&buf, model);
	/* version 3, population quintiles (flag, then d * 4 breaks) */
	pq_sendbyte(&buf, model->quintiles != NULL ? 1 : 0);
	if (model->quintiles != NULL)
		for (c = 0; c < (int64) model->d * SEGMENT_QUINTILE_BREAKS; c++)
			pq_sendfloat8(&buf, model->quintiles[c]);

	result = (bytea *) palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(result, VARHDRSZ + buf.len);
	memcpy(VARDATA(result), buf.data, buf.len);
	pfree(buf.data);
	return result;
}

/* Decode and validate a stored model; errcode_bad is the SQLSTATE for garbage. */
SegmentModel *
segment_model_decode(const char *data, int len, int errcode_bad)
{
	ModelReader r;
	SegmentModel *m = palloc0(sizeof(SegmentModel));
	uint8		version;
	uint8		b;
	bool		has_names;
	int64		total = 0;
	int			j;
	int64		c;

	r.data = data;
	r.len = len;
	r.cursor = 0;
	r.errcode_bad = errcode_bad;

	version = rd_byte(&r);
	if (version < SEGMENT_MODEL_VERSION_MIN || version > SEGMENT_MODEL_VERSION)
		ereport(ERROR,
				(errcode(errcode_bad),
				 errmsg("unsupported segment_model version %d", (int) version),
				 errhint("This build of segment reads versions %d to %d.",
						 SEGMENT_MODEL_VERSION_MIN, SEGMENT_MODEL_VERSION)));
	m->k = rd_int32(&r);
	m->d = rd_int32(&r);
	if (m->k < 1 || m->k > SEGMENT_KMEANS_MAX_K ||
		m->d < 1 || m->d > SEGMENT_KMEANS_MAX_D)
		model_bad(errcode_bad, "k or d is out of range.");
	m->n = rd_int64(&r);
	m->n_null = rd_int64(&r);
	m->inertia = rd_float8(&r);
	m->n_iter = rd_int32(&r);
	b = rd_byte(&r);
	m->converged = (b != 0);
	m->seed = rd_int64(&r);
	m->n_init = rd_int32(&r);
	m->max_iter = rd_int32(&r);
	m->tol = rd_float8(&r);
	b = rd_byte(&r);
	if (b > KMEANS_INIT_GIVEN)
		model_bad(errcode_bad, "Unknown init method.");
	m->init = (KMeansInit) b;
	b = rd_byte(&r);
	if (b > SEGMENT_SCALE_ROBUST)
		model_bad(errcode_bad, "Unknown scale method.");
	m->scale_method = (SegmentScale) b;
	has_names = rd_byte(&r) != 0;
	if (m->n < m->k || m->n_null < 0 || m->inertia < 0 || m->n_iter < 0 ||
		m->n_init < 1 || m->max_iter < 1 || m->tol < 0)
		model_bad(errcode_bad, "A count or parameter is out of range.");

	/* the fixed-size arrays must all be present */
	rd_need(&r, (Size) m->d * (1 + 16) + (Size) m->k * m->d * 8 + (Size) m->k * 8);
	m->transform = palloc(m->d);
	m->center = palloc(sizeof(double) * m->d);
	m->scale = palloc(sizeof(double) * m->d);
	m->centroids = palloc(sizeof(double) * m->k * m->d);
	m->sizes = palloc(sizeof(int64) * m->k);
	for (j = 0; j < m->d; j++)
	{
		m->transform[j] = rd_byte(&r);
		if (m->transform[j] > SEGMENT_TRANSFORM_LOG1P)
			model_bad(errcode_bad, "Unknown transform.");
	}
	for (j = 0; j < m->d; j++)
		m->center[j] = rd_float8(&r);
	for (j = 0; j < m->d; j++)
	{
		m->scale[j] = rd_float8(&r);
		if (!(m->scale[j] > 0))
			model_bad(errcode_bad, "A scale factor is not positive.");
	}
	for (c = 0; c < (int64) m->k * m->d; c++)
		m->centroids[c] = rd_float8(&r);
	for (j = 0; j < m->k; j++)
	{
		m->sizes[j] = rd_int64(&r);
		if (m->sizes[j] < 0 || m->sizes[j] > m->n)
			model_bad(errcode_bad, "A segment size is out of range.");
		total += m->sizes[j];
	}
	if (total != m->n)
		model_bad(errcode_bad, "Segment sizes do not add up to n.");
	if (has_names)
	{
		m->feature_names = palloc(sizeof(char *) * m->d);
		for (j = 0; j < m->d; j++)
		{
			int32		nlen = rd_int32(&r);

			if (nlen < 1 || nlen > NAMEDATALEN * 16)
				model_bad(errcode_bad, "A feature name has a bad length.");
			rd_need(&r, nlen);
			if (memchr(r.data + r.cursor, '\0', nlen) != NULL)
				model_bad(errcode_bad, "A feature name contains a zero byte.");
			m->feature_names[j] = pnstrdup(r.data + r.cursor, nlen);
			r.cursor += nlen;
		}
	}
	m->requested_k = m->k;
	m->min_segment_share = 0.0;
	m->reduction = NULL;
	if (version >= 2)
	{
		int32		rlen;

		m->requested_k = rd_int32(&r);
		m->min_segment_share = rd_float8(&r);
		if (m->requested_k < m->k || m->requested_k > SEGMENT_KMEANS_MAX_K ||
			m->min_segment_share < 0 || m->min_segment_share >= 1)
			model_bad(errcode_bad, "requested_k or min_segment_share is out of range.");
		rlen = rd_int32(&r);
		if (rlen < 0 || rlen > 4096)
			model_bad(errcode_bad, "The reduction note has a bad length.");
		if (rlen > 0)
		{
			rd_need(&r, rlen);
			if (memchr(r.data + r.cursor, '\0', rlen) != NULL)
				model_bad(errcode_bad, "The reduction note contains a zero byte.");
			m->reduction = pnstrdup(r.data + r.cursor, rlen);
			r.cursor += rlen;
		}
	}
	m->mode = SEGMENT_MODE_MEMORY;
	m->sample_size = 0;
	if (version >= 3)
	{
		b = rd_byte(&r);
		if (b > SEGMENT_MODE_SCAN)
			model_bad(errcode_bad, "Unknown fit mode.");
		m->mode = (SegmentFitMode) b;
		m->sample_size = rd_int64(&r);
		if (m->sample_size < 0 || m->sample_size > m->n ||
			(m->mode != SEGMENT_MODE_SAMPLE && m->sample_size != 0))
			model_bad(errcode_bad, "The sample size is out of range.");
		m->m = rd_int32(&r);
		if (m->m < 0 || m->m > SEGMENT_KPROTO_MAX_M)
			model_bad(errcode_bad, "The number of categorical features is out of range.");
		if (m->m > 0)
			decode_categorical(&r, m);
		if (rd_byte(&r) != 0)
		{
			rd_need(&r, (Size) m->d * SEGMENT_QUINTILE_BREAKS * 8);
			m->quintiles = palloc(sizeof(double) * m->d * SEGMENT_QUINTILE_BREAKS);
			for (c = 0; c < (int64) m->d * SEGMENT_QUINTILE_BREAKS; c++)
			{
				m->quintiles[c] = rd_float8(&r);
				if (isnan(m->quintiles[c]) ||
					(c % SEGMENT_QUINTILE_BREAKS > 0 && m->quintiles[c] < m->quintiles[c - 1]))
					model_bad(errcode_bad, "The quintile breaks are not ascending.");
			}
		}
	}
	if (r.cursor != r.len)
		model_bad(errcode_bad, "There are trailing bytes.");
	return m;
}

/* Decode a segment_model datum (detoasting it). */
SegmentModel *
segment_model_from_datum(Datum datum)
{
	bytea	   *raw = DatumGetByteaPP(datum);

	return segment_model_decode(VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw),
								ERRCODE_DATA_CORRUPTED);
}

/*
 * Decode argument argno once per query: the decoded model is cached in
 * fn_extra, keyed by the datum's bytes (for a toasted value, its toast
 * pointer, which names an immutable value), so a per-row call detoasts
 * nothing and compares a few hundred bytes at most.
 */
SegmentModel *
segment_model_cached(FunctionCallInfo fcinfo, int argno)
{
	Datum		datum = PG_GETARG_DATUM(argno);
	struct varlena *v = (struct varlena *) DatumGetPointer(datum);
	ModelCache *cache = (ModelCache *) fcinfo->flinfo->fn_extra;
	Size		keylen = VARSIZE_ANY(v);
	MemoryContext old;

	if (cache != NULL && cache->keylen == keylen &&
		memcmp(cache->key, v, keylen) == 0)
		return cache->model;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ModelCache));
		cache->context = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt,
											   "segment model cache",
											   ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = cache;
	}
	else
	{
		/* a different model: forget the previous one entirely */
		MemoryContextReset(cache->context);
		cache->key = NULL;
		cache->keylen = 0;
		cache->model = NULL;
	}
	old = MemoryContextSwitchTo(cache->context);
	cache->model = segment_model_from_datum(datum);
	cache->key = palloc(keylen);
	memcpy(cache->key, v, keylen);
	cache->keylen = keylen;
	MemoryContextSwitchTo(old);
	return cache->model;
}

/* Apply a feature transform to one raw value (feature is 0-based, for messages). */
double
segment_apply_transform(SegmentTransform kind, double value, int feature)
{
	if (kind == SEGMENT_TRANSFORM_LOG1P)
	{
		if (value < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_ARGUMENT_FOR_LOG),
					 errmsg("cannot apply log1p to negative value %g of feature %d",
							value, feature + 1),
					 errhint("The log1p transform is meant for non-negative amounts.")));
		return log1p(value);
	}
	return value;
}

/* Map raw features (original units) to model space. */
void
segment_model_to_space(const SegmentModel *model, const double *raw, double *out)
{
	int			j;

	for (j = 0; j < model->d; j++)
	{
		double		t = segment_apply_transform((SegmentTransform) model->transform[j],
												raw[j], j);

		out[j] = (t - model->center[j]) / model->scale[j];
	}
}

/* Centroid c (0-based) in original units: undo scaling, then the transform. */
void
segment_model_centroid_original(const SegmentModel *model, int c, double *out)
{
	int			j;

	for (j = 0; j < model->d; j++)
	{
		double		t = model->centroids[(Size) c * model->d + j] * model->scale[j] +
			model->center[j];

		out[j] = (model->transform[j] == SEGMENT_TRANSFORM_LOG1P) ? expm1(t) : t;
	}
}

/* SQL-facing name of a scale method. */
const char *
segment_scale_name(SegmentScale scale)
{
	switch (scale)
	{
		case SEGMENT_SCALE_ZSCORE:
			return "zscore";
		case SEGMENT_SCALE_MINMAX:
			return "minmax";
		case SEGMENT_SCALE_ROBUST:
			return "robust";
		default:
			return "none";
	}
}

/* SQL-facing name of a fit mode. */
const char *
segment_mode_name(SegmentFitMode mode)
{
	switch (mode)
	{
		case SEGMENT_MODE_SAMPLE:
			return "sample";
		case SEGMENT_MODE_SCAN:
			return "scan";
		default:
			return "memory";
	}
}

/* SQL-facing name of an init method. */
const char *
segment_init_name(KMeansInit init)
{
	switch (init)
	{
		case KMEANS_INIT_RANDOM:
			return "random";
		case KMEANS_INIT_GIVEN:
			return "given";
		default:
			return "k-means++";
	}
}

/* SQL-facing name of a k-prototypes init method. */
const char *
segment_kproto_init_name(SegmentKProtoInit init)
{
	switch (init)
	{
		case SEGMENT_KPROTO_INIT_CAO:
			return "cao";
		case SEGMENT_KPROTO_INIT_PLUSPLUS:
			return "k-means++";
		case SEGMENT_KPROTO_INIT_GIVEN:
			return "given";
		default:
			return "huang";
	}
}

/* The init method of a model as options.init shows it (k-means or k-prototypes). */
const char *
segment_model_init_name(const SegmentModel *model)
{
	return model->m > 0 ? segment_kproto_init_name(model->kp_init) :
		segment_init_name(model->init);
}

/*
 * Refuse (22023) a k-prototypes model where only numeric features are
 * passed; mixed_form: fname also has a (model, numeric, categorical) form.
 */
void
segment_model_require_kmeans(const SegmentModel *model, const char *fname, bool mixed_form)
{
	if (model->m > 0 && mixed_form)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs the categorical features of this k-prototypes model", fname),
				 errdetail("The model has %d numeric and %d categorical features.",
						   model->d, model->m),
				 errhint("Call %s(model, numeric, categorical).", fname)));
	if (model->m > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s does not support k-prototypes models", fname),
				 errdetail("The model has %d numeric and %d categorical features.",
						   model->d, model->m)));
}

/* Convert an integral numeric within the bigint range; false otherwise. */
bool
segment_numeric_to_int64(Numeric num, int64 *result)
{
	Datum		trunc;
	double		f;

	if (numeric_is_nan(num) || numeric_is_inf(num))
		return false;
	trunc = DirectFunctionCall2(numeric_trunc, NumericGetDatum(num), Int32GetDatum(0));
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, trunc, NumericGetDatum(num))) != 0)
		return false;
	f = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(num)));
	if (!(f > -9.2e18 && f < 9.2e18))
		return false;
	*result = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(num)));
	return true;
}

/* Append a double as the shortest decimal that reads back exactly. */
void
segment_append_float8(StringInfo buf, double value)
{
	char		tmp[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(value, tmp);
	appendStringInfoString(buf, tmp);
}

/* Append a JSON array of n doubles. */
static void
append_float8_array(StringInfo buf, const double *values, int n)
{
	int			i;

	appendStringInfoChar(buf, '[');
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		segment_append_float8(buf, values[i]);
	}
	appendStringInfoChar(buf, ']');
}

/*
 * The "categorical" key of a k-prototypes model: {"gamma", "feature_names",
 * "n_levels", "segments": [per segment [per feature {"mode", "top":
 * [[category, count], ...]}]]}.
 */
static void
categorical_to_json(StringInfo buf, const SegmentModel *m)
{
	int			c;
	int			j;
	int			t;

	appendStringInfoString(buf, ", \"categorical\": {\"gamma\": ");
	segment_append_float8(buf, m->gamma);
	appendStringInfoString(buf, ", \"feature_names\": ");
	if (m->cat_names == NULL)
		appendStringInfoString(buf, "null");
	else
	{
		appendStringInfoChar(buf, '[');
		for (j = 0; j < m->m; j++)
		{
			if (j > 0)
				appendStringInfoString(buf, ", ");
			escape_json(buf, m->cat_names[j]);
		}
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoString(buf, ", \"n_levels\": [");
	for (j = 0; j < m->m; j++)
		appendStringInfo(buf, "%s%d", j > 0 ? ", " : "", m->n_levels[j]);
	appendStringInfoString(buf, "], \"segments\": [");
	for (c = 0; c < m->k; c++)
	{
		appendStringInfoString(buf, c > 0 ? ", [" : "[");
		for (j = 0; j < m->m; j++)
		{
			const SegmentCatStat *cs = &m->cat[(Size) c * m->m + j];

			appendStringInfoString(buf, j > 0 ? ", {\"mode\": " : "{\"mode\": ");
			escape_json(buf, cs->mode);
			appendStringInfoString(buf, ", \"top\": [");
			for (t = 0; t < cs->n_top; t++)
			{
				appendStringInfoString(buf, t > 0 ? ", [" : "[");
				escape_json(buf, cs->top[t]);
				appendStringInfo(buf, ", " INT64_FORMAT "]", cs->top_count[t]);
			}
			appendStringInfoString(buf, "]}");
		}
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoString(buf, "]}");
}

/* The JSON text form of a model (exactly the stored fields). */
static char *
model_to_json(const SegmentModel *m)
{
	StringInfoData buf;
	int			j;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"version\": %d, \"k\": %d, \"d\": %d, \"n\": " INT64_FORMAT
					 ", \"n_null\": " INT64_FORMAT ", \"inertia\": ",
					 SEGMENT_MODEL_VERSION, m->k, m->d, m->n, m->n_null);
	segment_append_float8(&buf, m->inertia);
	appendStringInfo(&buf, ", \"n_iter\": %d, \"converged\": %s", m->n_iter,
					 m->converged ? "true" : "false");
	appendStringInfo(&buf, ", \"options\": {\"seed\": " INT64_FORMAT
					 ", \"n_init\": %d, \"max_iter\": %d, \"tol\": ",
					 m->seed, m->n_init, m->max_iter);
	segment_append_float8(&buf, m->tol);
	appendStringInfo(&buf, ", \"init\": \"%s\", \"scale\": \"%s\"}",
					 segment_model_init_name(m), segment_scale_name(m->scale_method));
	appendStringInfo(&buf, ", \"requested_k\": %d, \"min_segment_share\": ",
					 m->requested_k > 0 ? m->requested_k : m->k);
	segment_append_float8(&buf, m->min_segment_share);
	appendStringInfoString(&buf, ", \"reduction\": ");
	if (m->reduction != NULL)
		escape_json(&buf, m->reduction);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ", \"mode\": \"%s\", \"sample_size\": " INT64_FORMAT,
					 segment_mode_name(m->mode), m->sample_size);
	appendStringInfoString(&buf, ", \"feature_names\": ");
	if (m->feature_names == NULL)
		appendStringInfoString(&buf, "null");
	else
	{
		appendStringInfoChar(&buf, '[');
		for (j = 0; j < m->d; j++)
		{
			if (j > 0)
				appendStringInfoString(&buf, ", ");
			escape_json(&buf, m->feature_names[j]);
		}
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoString(&buf, ", \"transform\": [");
	for (j = 0; j < m->d; j++)
		appendStringInfo(&buf, "%s\"%s\"", j > 0 ? ", " : "",
						 m->transform[j] == SEGMENT_TRANSFORM_LOG1P ? "log1p" : "none");
	appendStringInfoString(&buf, "], \"center\": ");
	append_float8_array(&buf, m->center, m->d);
	appendStringInfoString(&buf, ", \"scale\": ");
	append_float8_array(&buf, m->scale, m->d);
	appendStringInfoString(&buf, ", \"centroids\": [");
	for (j = 0; j < m->k; j++)
	{
		if (j > 0)
			appendStringInfoString(&buf, ", ");
		append_float8_array(&buf, m->centroids + (Size) j * m->d, m->d);
	}
	appendStringInfoString(&buf, "], \"sizes\": [");
	for (j = 0; j < m->k; j++)
		appendStringInfo(&buf, "%s" INT64_FORMAT, j > 0 ? ", " : "", m->sizes[j]);
	appendStringInfoChar(&buf, ']');
	if (m->quintiles != NULL)
	{
		appendStringInfoString(&buf, ", \"quintiles\": [");
		for (j = 0; j < m->d; j++)
		{
			if (j > 0)
				appendStringInfoString(&buf, ", ");
			append_float8_array(&buf, m->quintiles + (Size) j * SEGMENT_QUINTILE_BREAKS,
								SEGMENT_QUINTILE_BREAKS);
		}
		appendStringInfoChar(&buf, ']');
	}
	if (m->m > 0)
		categorical_to_json(&buf, m);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* Raise 22P02 for bad model text. */
static void
text_bad(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type segment_model"),
			 errdetail("%s", detail)));
}

/* Look up key in a JSON object; missing is an error. */
static JsonbValue *
json_get(JsonbContainer *obj, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);

	if (v == NULL)
		text_bad(psprintf("Key \"%s\" is missing.", key));
	return v;
}

/* A JSON number as a finite double. */
static double
json_float8(JsonbValue *v, const char *what)
{
	double		f;

	if (v->type != jbvNumeric)
		text_bad(psprintf("\"%s\" must be a number.", what));
	f = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
										   NumericGetDatum(v->val.numeric)));
	if (!isfinite(f))
		text_bad(psprintf("\"%s\" must be finite.", what));
	return f;
}

/* A JSON number as an exact int64. */
static int64
json_int64(JsonbValue *v, const char *what)
{
	int64		result;

	if (v->type != jbvNumeric)
		text_bad(psprintf("\"%s\" must be an integer.", what));
	if (!segment_numeric_to_int64(v->val.numeric, &result))
		text_bad(psprintf("\"%s\" must be an integer in the bigint range.", what));
	return result;
}

/* A JSON number as an int32 within [lo, hi]. */
static int32
json_int32(JsonbValue *v, const char *what, int64 lo, int64 hi)
{
	int64		x = json_int64(v, what);

	if (x < lo || x > hi)
		text_bad(psprintf("\"%s\" is out of range.", what));
	return (int32) x;
}

/* A JSON string as a palloc'd C string. */
static char *
json_cstring(JsonbValue *v, const char *what)
{
	if (v->type != jbvString)
		text_bad(psprintf("\"%s\" must be a string.", what));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* A JSON array container of exactly n elements (n < 0: any); returns its length. */
static JsonbContainer *
json_array(JsonbValue *v, const char *what, int n, int *count)
{
	JsonbContainer *c;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerIsScalar(v->val.binary.data))
		text_bad(psprintf("\"%s\" must be an array.", what));
	c = v->val.binary.data;
	if (n >= 0 && (int) JsonContainerSize(c) != n)
		text_bad(psprintf("\"%s\" must have %d elements.", what, n));
	if (count)
		*count = JsonContainerSize(c);
	return c;
}

/* Read a JSON array of n finite doubles into out. */
static void
json_float8_array(JsonbValue *v, const char *what, int n, double *out)
{
	JsonbContainer *c = json_array(v, what, n, NULL);
	int			i;

	for (i = 0; i < n; i++)
		out[i] = json_float8(getIthJsonbValueFromContainer(c, i), what);
}

/*
 * Parse the "categorical" key of a k-prototypes model; the ranges and
 * orders are checked by the binary decoder that segment_model_in runs.
 */
static void
categorical_from_json(JsonbValue *catv, SegmentModel *m)
{
	JsonbContainer *cat;
	JsonbContainer *arr;
	JsonbContainer *segs;
	JsonbValue *v;
	int			c;
	int			j;
	int			t;

	if (catv->type != jbvBinary || !JsonContainerIsObject(catv->val.binary.data))
		text_bad("\"categorical\" must be an object.");
	cat = catv->val.binary.data;
	if (JsonContainerSize(cat) != 4)
		text_bad("\"categorical\" must have exactly the keys gamma, feature_names, n_levels, segments.");
	m->gamma = json_float8(json_get(cat, "gamma"), "gamma");
	arr = json_array(json_get(cat, "n_levels"), "n_levels", -1, &m->m);
	if (m->m < 1 || m->m > SEGMENT_KPROTO_MAX_M)
		text_bad("\"n_levels\" must have 1 to 1000 elements.");
	m->n_levels = palloc(sizeof(int32) * m->m);
	for (j = 0; j < m->m; j++)
		m->n_levels[j] = json_int32(getIthJsonbValueFromContainer(arr, j), "n_levels",
									1, SEGMENT_KPROTO_MAX_LEVELS);
	v = json_get(cat, "feature_names");
	if (v->type != jbvNull)
	{
		arr = json_array(v, "feature_names", m->m, NULL);
		m->cat_names = palloc(sizeof(char *) * m->m);
		for (j = 0; j < m->m; j++)
		{
			m->cat_names[j] = json_cstring(getIthJsonbValueFromContainer(arr, j),
										   "feature_names");
			if (m->cat_names[j][0] == '\0')
				text_bad("A feature name is empty.");
		}
	}
	segs = json_array(json_get(cat, "segments"), "segments", m->k, NULL);
	/* every segment must hold m entries before k*m statistics are allocated */
	for (c = 0; c < m->k; c++)
		(void) json_array(getIthJsonbValueFromContainer(segs, c), "segments", m->m, NULL);
	m->cat = palloc0(sizeof(SegmentCatStat) * m->k * m->m);
	for (c = 0; c < m->k; c++)
	{
		JsonbContainer *feats = json_array(getIthJsonbValueFromContainer(segs, c),
										   "segments", m->m, NULL);

		for (j = 0; j < m->m; j++)
		{
			SegmentCatStat *cs = &m->cat[(Size) c * m->m + j];
			JsonbValue *e = getIthJsonbValueFromContainer(feats, j);
			JsonbContainer *obj;
			JsonbContainer *top;

			if (e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data) ||
				JsonContainerSize(e->val.binary.data) != 2)
				text_bad("Each segment's feature must be an object with keys mode and top.");
			obj = e->val.binary.data;
			cs->mode = json_cstring(json_get(obj, "mode"), "mode");
			top = json_array(json_get(obj, "top"), "top", -1, &cs->n_top);
			if (cs->n_top > SEGMENT_KPROTO_TOP_SHARES)
				text_bad("\"top\" has too many elements.");
			cs->top = palloc(sizeof(char *) * Max(cs->n_top, 1));
			cs->top_count = palloc(sizeof(int64) * Max(cs->n_top, 1));
			for (t = 0; t < cs->n_top; t++)
			{
				JsonbContainer *pair = json_array(getIthJsonbValueFromContainer(top, t),
												  "top", 2, NULL);

				cs->top[t] = json_cstring(getIthJsonbValueFromContainer(pair, 0), "top");
				cs->top_count[t] = json_int64(getIthJsonbValueFromContainer(pair, 1), "top");
			}
		}
	}
}

/* Parse the JSON text form; every inconsistency is 22P02. */
static SegmentModel *
model_from_json(char *text)
{
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	JsonbContainer *root = &jb->root;
	JsonbContainer *opts;
	JsonbContainer *arr;
	JsonbValue *v;
	JsonbValue *catv;
	JsonbValue *quintv;
	SegmentModel *m = palloc0(sizeof(SegmentModel));
	static const char *const keys[] = {"version", "k", "d", "n", "n_null", "inertia",
		"n_iter", "converged", "options", "feature_names", "transform", "center",
	"scale", "centroids", "sizes"};
	static const char *const optkeys[] = {"seed", "n_init", "max_iter", "tol", "init", "scale"};
	char	   *s;
	int			j;
	int			version;

	if (!JsonContainerIsObject(root))
		text_bad("The value must be a JSON object.");
	v = getKeyJsonValueFromContainer(root, "version", 7, NULL);
	version = v != NULL ? json_int32(v, "version", 0, 255) : SEGMENT_MODEL_VERSION;
	if (version < SEGMENT_MODEL_VERSION_MIN || version > SEGMENT_MODEL_VERSION)
		text_bad("Unsupported version.");
	catv = version >= 3 ? getKeyJsonValueFromContainer(root, "categorical", 11, NULL) : NULL;
	quintv = version >= 3 ? getKeyJsonValueFromContainer(root, "quintiles", 9, NULL) : NULL;
	if (JsonContainerSize(root) != lengthof(keys) + (version >= 2 ? 3 : 0) +
		(version >= 3 ? 2 : 0) + (catv != NULL ? 1 : 0) + (quintv != NULL ? 1 : 0))
		text_bad(quintv != NULL ?
				 "The object must have exactly the keys version, k, d, n, n_null, inertia, n_iter, converged, options, requested_k, min_segment_share, reduction, mode, sample_size, feature_names, transform, center, scale, centroids, sizes, quintiles (and categorical for a k-prototypes model)." :
				 catv != NULL ?
				 "The object must have exactly the keys version, k, d, n, n_null, inertia, n_iter, converged, options, requested_k, min_segment_share, reduction, mode, sample_size, feature_names, transform, center, scale, centroids, sizes, categorical." :
				 version >= 3 ?
				 "The object must have exactly the keys version, k, d, n, n_null, inertia, n_iter, converged, options, requested_k, min_segment_share, reduction, mode, sample_size, feature_names, transform, center, scale, centroids, sizes." :
				 version == 2 ?
				 "The object must have exactly the keys version, k, d, n, n_null, inertia, n_iter, converged, options, requested_k, min_segment_share, reduction, feature_names, transform, center, scale, centroids, sizes." :
				 "The object must have exactly the keys version, k, d, n, n_null, inertia, n_iter, converged, options, feature_names, transform, center, scale, centroids, sizes.");
	for (j = 0; j < lengthof(keys); j++)
		(void) json_get(root, keys[j]);
	m->k = json_int32(json_get(root, "k"), "k", 1, SEGMENT_KMEANS_MAX_K);
	m->d = json_int32(json_get(root, "d"), "d", 1, SEGMENT_KMEANS_MAX_D);
	m->n = json_int64(json_get(root, "n"), "n");
	m->n_null = json_int64(json_get(root, "n_null"), "n_null");
	m->inertia = json_float8(json_get(root, "inertia"), "inertia");
	m->n_iter = json_int32(json_get(root, "n_iter"), "n_iter", 0, PG_INT32_MAX);
	v = json_get(root, "converged");
	if (v->type != jbvBool)
		text_bad("\"converged\" must be a boolean.");
	m->converged = v->val.boolean;

	v = json_get(root, "options");
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		text_bad("\"options\" must be an object.");
	opts = v->val.binary.data;
	if (JsonContainerSize(opts) != lengthof(optkeys))
		text_bad("\"options\" must have exactly the keys seed, n_init, max_iter, tol, init, scale.");
	m->requested_k = 0;
	if (version >= 2)
	{
		m->min_segment_share = json_float8(json_get(root, "min_segment_share"),
										   "min_segment_share");
		m->requested_k = json_int32(json_get(root, "requested_k"), "requested_k", 1,
									SEGMENT_KMEANS_MAX_K);
		v = json_get(root, "reduction");
		if (v->type != jbvNull)
			m->reduction = json_cstring(v, "reduction");
	}
	if (version >= 3)
	{
		s = json_cstring(json_get(root, "mode"), "mode");
		if (strcmp(s, "memory") == 0)
			m->mode = SEGMENT_MODE_MEMORY;
		else if (strcmp(s, "sample") == 0)
			m->mode = SEGMENT_MODE_SAMPLE;
		else if (strcmp(s, "scan") == 0)
			m->mode = SEGMENT_MODE_SCAN;
		else
			text_bad("\"mode\" must be \"memory\", \"sample\" or \"scan\".");
		m->sample_size = json_int64(json_get(root, "sample_size"), "sample_size");
	}
	m->seed = json_int64(json_get(opts, "seed"), "seed");
	m->n_init = json_int32(json_get(opts, "n_init"), "n_init", 1, PG_INT32_MAX);
	m->max_iter = json_int32(json_get(opts, "max_iter"), "max_iter", 1, PG_INT32_MAX);
	m->tol = json_float8(json_get(opts, "tol"), "tol");
	s = json_cstring(json_get(opts, "init"), "init");
	if (catv != NULL)
	{
		if (strcmp(s, "huang") == 0)
			m->kp_init = SEGMENT_KPROTO_INIT_HUANG;
		else if (strcmp(s, "cao") == 0)
			m->kp_init = SEGMENT_KPROTO_INIT_CAO;
		else if (strcmp(s, "k-means++") == 0)
			m->kp_init = SEGMENT_KPROTO_INIT_PLUSPLUS;
		else if (strcmp(s, "given") == 0)
			m->kp_init = SEGMENT_KPROTO_INIT_GIVEN;
		else
			text_bad("\"init\" must be \"huang\", \"cao\", \"k-means++\" or \"given\".");
		m->init = m->kp_init == SEGMENT_KPROTO_INIT_GIVEN ?
			KMEANS_INIT_GIVEN : KMEANS_INIT_PLUSPLUS;
	}
	else if (strcmp(s, "k-means++") == 0)
		m->init = KMEANS_INIT_PLUSPLUS;
	else if (strcmp(s, "random") == 0)
		m->init = KMEANS_INIT_RANDOM;
	else if (strcmp(s, "given") == 0)
		m->init = KMEANS_INIT_GIVEN;
	else
		text_bad("\"init\" must be \"k-means++\", \"random\" or \"given\".");
	s = json_cstring(json_get(opts, "scale"), "scale");
	if (strcmp(s, "none") == 0)
		m->scale_method = SEGMENT_SCALE_NONE;
	else if (strcmp(s, "zscore") == 0)
		m->scale_method = SEGMENT_SCALE_ZSCORE;
	else if (strcmp(s, "minmax") == 0)
		m->scale_method = SEGMENT_SCALE_MINMAX;
	else if (strcmp(s, "robust") == 0)
		m->scale_method = SEGMENT_SCALE_ROBUST;
	else
		text_bad("\"scale\" must be \"zscore\", \"minmax\", \"robust\" or \"none\".");

	v = json_get(root, "feature_names");
	if (v->type != jbvNull)
	{
		arr = json_array(v, "feature_names", m->d, NULL);
		m->feature_names = palloc(sizeof(char *) * m->d);
		for (j = 0; j < m->d; j++)
		{
			m->feature_names[j] = json_cstring(getIthJsonbValueFromContainer(arr, j),
											   "feature_names");
			if (m->feature_names[j][0] == '\0')
				text_bad("A feature name is empty.");
		}
	}
	arr = json_array(json_get(root, "transform"), "transform", m->d, NULL);
	m->transform = palloc(m->d);
	for (j = 0; j < m->d; j++)
	{
		s = json_cstring(getIthJsonbValueFromContainer(arr, j), "transform");
		if (strcmp(s, "none") == 0)
			m->transform[j] = SEGMENT_TRANSFORM_NONE;
		else if (strcmp(s, "log1p") == 0)
			m->transform[j] = SEGMENT_TRANSFORM_LOG1P;
		else
			text_bad("\"transform\" elements must be \"none\" or \"log1p\".");
	}
	m->center = palloc(sizeof(double) * m->d);
	m->scale = palloc(sizeof(double) * m->d);
	json_float8_array(json_get(root, "center"), "center", m->d, m->center);
	json_float8_array(json_get(root, "scale"), "scale", m->d, m->scale);
	m->centroids = palloc(sizeof(double) * m->k * m->d);
	arr = json_array(json_get(root, "centroids"), "centroids", m->k, NULL);
	for (j = 0; j < m->k; j++)
		json_float8_array(getIthJsonbValueFromContainer(arr, j), "centroids", m->d,
						  m->centroids + (Size) j * m->d);
	m->sizes = palloc(sizeof(int64) * m->k);
	arr = json_array(json_get(root, "sizes"), "sizes", m->k, NULL);
	for (j = 0; j < m->k; j++)
		m->sizes[j] = json_int64(getIthJsonbValueFromContainer(arr, j), "sizes");
	if (catv != NULL)
		categorical_from_json(catv, m);
	if (quintv != NULL)
	{
		arr = json_array(quintv, "quintiles", m->d, NULL);
		m->quintiles = palloc(sizeof(double) * m->d * SEGMENT_QUINTILE_BREAKS);
		for (j = 0; j < m->d; j++)
			json_float8_array(getIthJsonbValueFromContainer(arr, j), "quintiles",
							  SEGMENT_QUINTILE_BREAKS,
							  m->quintiles + (Size) j * SEGMENT_QUINTILE_BREAKS);
	}
	return m;
}

/* segment_model_in(cstring): parse JSON, then validate via the binary decoder. */
Datum
segment_model_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	SegmentModel *m = model_from_json(text);
	bytea	   *result = segment_model_encode(m);

	/* one validator for every path: decoding checks ranges and sums */
	(void) segment_model_decode(VARDATA(result), VARSIZE(result) - VARHDRSZ,
								ERRCODE_INVALID_TEXT_REPRESENTATION);
	PG_RETURN_BYTEA_P(result);
}

/* segment_model_out(segment_model): JSON text. */
Datum
segment_model_out(PG_FUNCTION_ARGS)
{
	SegmentModel *m = segment_model_from_datum(PG_GETARG_DATUM(0));

	PG_RETURN_CSTRING(model_to_json(m));
}

/* segment_model_recv(internal): validate the stored form and copy it. */
Datum
segment_model_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	bytea	   *result;

	(void) segment_model_decode(buf->data + buf->cursor, len,
								ERRCODE_INVALID_BINARY_REPRESENTATION);
	result = (bytea *) palloc(VARHDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), buf->data + buf->cursor, len);
	buf->cursor = buf->len;
	PG_RETURN_BYTEA_P(result);
}

/* segment_model_send(segment_model): the stored bytes. */
Datum
segment_model_send(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* segment_model::jsonb: the text form as jsonb. */
Datum
segment_model_jsonb(PG_FUNCTION_ARGS)
{
	SegmentModel *m = segment_model_from_datum(PG_GETARG_DATUM(0));

	return DirectFunctionCall1(jsonb_in, CStringGetDatum(model_to_json(m)));
}

/*
 * Detoast a features argument and check it: float8[], one dimension, at
 * least one element, no NULLs (22004), every value finite (22000).
 */
double *
segment_kmeans_features(ArrayType *array, int *d)
{
	double	   *x = segment_float8_array_data(array, d, "features");
	int			j;

	if (*d < 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features must not be an empty array")));
	if (*d > SEGMENT_KMEANS_MAX_D)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features must have at most %d elements", SEGMENT_KMEANS_MAX_D)));
	for (j = 0; j < *d; j++)
	{
		if (!isfinite(x[j]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s is not allowed in features",
							isnan(x[j]) ? "NaN" : "Infinity"),
					 errdetail("Element %d is %s.", j + 1,
							   isnan(x[j]) ? "NaN" : (x[j] > 0 ? "Infinity" : "-Infinity"))));
	}
	return x;
}

/* Refuse (54000) when bytes exceed segment.kmeans_memory_limit. */
void
segment_check_memory(Size bytes, const char *what)
{
	Size		limit = (Size) segment_kmeans_memory_limit * 1024;

	if (bytes > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s needs %zu kB of memory, more than segment.kmeans_memory_limit (%d kB)",
						what, (bytes + 1023) / 1024, segment_kmeans_memory_limit),
				 errhint("Raise segment.kmeans_memory_limit, or fit on a sample of the rows.")));
}
