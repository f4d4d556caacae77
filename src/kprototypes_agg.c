/*-------------------------------------------------------------------------
 *
 * kprototypes_agg.c
 *	  kprototypes_fit(numeric, categorical, k, options) aggregate, its
 *	  options, the row collection shared with the kprototypes window
 *	  function, kproto_fit_rows() and the nearest-prototype search that
 *	  assign_segment uses for k-prototypes models.
 *
 * Rows.  Each non-NULL row is kept as d numeric values followed by its m
 * categorical codes (stored as doubles), 8*(d+m) bytes.  Categories are
 * dictionary encoded per feature: a hash table maps each distinct text to
 * a provisional code in order of first appearance.  A row whose numeric
 * or categorical array is NULL is skipped and counted (n_null, as
 * kmeans_fit does); a NULL element inside either array is an error
 * (22004): NULL is not a category, COALESCE it to a value of your own to
 * make "missing" a category.  The empty string is an ordinary category.
 * At most SEGMENT_KPROTO_MAX_LEVELS distinct categories per feature and
 * SEGMENT_KPROTO_MAX_VALUE_BYTES bytes per value (54000 past either), so
 * the dictionaries and the k x levels count tables stay bounded.
 *
 * Parallel.  A partial state is serialized as its dictionaries (values in
 * provisional code order) and its rows; combining maps the other state's
 * codes into this state's dictionary.  Provisional codes therefore depend
 * on arrival order, so the final function first renumbers every feature's
 * categories in byte order of their text (C collation, independent of the
 * database's), then sorts the rows lexicographically (numeric values, then
 * codes): from there on everything is a function of the multiset of rows
 * and the options, whatever the order or the plan.
 *
 * Fit (kproto_fit_rows): memory check against segment.kmeans_memory_limit,
 * renumbering and sort, scaling of the numeric part (scale option, as for
 * kmeans_fit), gamma, the kernel (kprototypes.c) and canonical segment
 * numbering; the model keeps per segment and feature the mode and the
 * SEGMENT_KPROTO_TOP_SHARES most frequent categories with their counts.
 *
 * gamma.  Default: Huang (1997, section 4) suggests a weight between one
 * third and two thirds of the average standard deviation of the numeric
 * features; we take half of the mean over numeric features of the
 * population standard deviation (divisor n, as numpy's std) of the scaled
 * features, as the kmodes package does.  With the default z-score scaling
 * that is 0.5 (up to rounding) unless some feature is constant.  If every numeric
 * feature is constant the numeric part cannot separate rows and gamma only
 * scales the cost: it is then 1.
 *
 * Option defaults: seed 0, n_init 10, max_iter 300, tol 1e-4 (a run stops
 * when an iteration lowers the cost by no more than tol * cost; 0 stops
 * only when the cost stops decreasing or no row moves), init "k-means++",
 * scale "zscore", gamma as above, feature_names none, verbose false.
 *
 * src/kprototypes_agg.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "segment.h"
#include "kprototypes.h"
#include "model.h"
#include "options.h"
#include "row_order.h"
#include "scaler.h"

#define KPROTO_STATE_VERSION 1

#define KPROTO_VALID_OPTIONS \
	"seed, n_init, max_iter, tol, init, gamma, scale, feature_names, verbose"

/* parsed options of kprototypes_fit / kprototypes */
typedef struct KProtoOptions
{
	int64		seed;
	int			n_init;
	int			max_iter;
	double		tol;
	SegmentKProtoInit init;
	int			init_k;			/* given prototypes */
	int			init_d;
	int			init_m;
	double	   *init_num;		/* init_k*init_d, original units */
	char	  **init_cat;		/* init_k*init_m */
	double		gamma;			/* < 0: default */
	SegmentScale scale;
	int			n_feature_names;	/* -1 when not given */
	char	  **feature_names;
	bool		verbose;
} KProtoOptions;

/* one entry of a category dictionary */
typedef struct CatEntry
{
	const char *key;
	uint32		hash;
	int32		code;
	char		status;
} CatEntry;

#define SH_PREFIX catdict
#define SH_ELEMENT_TYPE CatEntry
#define SH_KEY_TYPE const char *
#define SH_KEY key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k), strlen(k))
#define SH_EQUAL(tb, a, b) (strcmp(a, b) == 0)
#define SH_SCOPE static inline
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_DEFINE
#define SH_DECLARE
#include "lib/simplehash.h"

/* the categories of one feature, code -> value and value -> code */
typedef struct KProtoDict
{
	catdict_hash *hash;
	int32		n;
	int32		cap;
	char	  **values;
} KProtoDict;

/* rows collected by the aggregate or the window function */
struct KProtoRows
{
	MemoryContext context;		/* where everything below lives */
	Jsonb	   *options;		/* copy of the options (NULL: none) */
	KProtoOptions opts;
	int32		d;				/* 0 until the first non-NULL row */
	int32		m;
	int64		n;
	int64		n_null;
	int64		capacity;
	double	   *rows;			/* n*(d+m): numeric values, then codes */
	KProtoDict *dicts;			/* m */
	StringInfoData scratch;		/* NUL-terminated copy of a value */
};

typedef struct KProtoAggState
{
	int32		k;
	KProtoRows *rows;
} KProtoAggState;

PG_FUNCTION_INFO_V1(segment_kprototypes_fit_transfn);
PG_FUNCTION_INFO_V1(segment_kprototypes_fit_combinefn);
PG_FUNCTION_INFO_V1(segment_kprototypes_fit_serialfn);
PG_FUNCTION_INFO_V1(segment_kprototypes_fit_deserialfn);
PG_FUNCTION_INFO_V1(segment_kprototypes_fit_finalfn);

static const SegmentOptionFamily kproto_options = {"kprototypes", KPROTO_VALID_OPTIONS};

#define INIT_MUST "must be \"huang\", \"cao\", \"k-means++\" or an array of prototypes [numeric..., category...]"

/* Parse "init": a method name or prototypes [[x1, ..., xd, "c1", ..., "cm"], ...]. */
static void
parse_init(JsonbValue *v, KProtoOptions *opts)
{
	JsonbContainer *rows;
	int			i;
	int			j;

	if (v->type == jbvString)
	{
		char	   *s = pnstrdup(v->val.string.val, v->val.string.len);

		if (strcmp(s, "huang") == 0)
			opts->init = SEGMENT_KPROTO_INIT_HUANG;
		else if (strcmp(s, "cao") == 0)
			opts->init = SEGMENT_KPROTO_INIT_CAO;
		else if (strcmp(s, "k-means++") == 0)
			opts->init = SEGMENT_KPROTO_INIT_PLUSPLUS;
		else
			segment_option_error(&kproto_options, "init", INIT_MUST);
		return;
	}
	rows = segment_option_container(v, false);
	if (rows == NULL || JsonContainerSize(rows) < 1)
		segment_option_error(&kproto_options, "init", INIT_MUST);
	opts->init = SEGMENT_KPROTO_INIT_GIVEN;
	opts->init_k = JsonContainerSize(rows);
	if (opts->init_k > SEGMENT_KMEANS_MAX_K)
		segment_option_error(&kproto_options, "init", "has too many prototypes");
	for (i = 0; i < opts->init_k; i++)
	{
		JsonbContainer *c = segment_option_container(getIthJsonbValueFromContainer(rows, i), false);
		int			len;
		int			nd = 0;

		if (c == NULL)
			segment_option_error(&kproto_options, "init", INIT_MUST);
		len = JsonContainerSize(c);
		while (nd < len && getIthJsonbValueFromContainer(c, nd)->type == jbvNumeric)
			nd++;
		if (i == 0)
		{
			opts->init_d = nd;
			opts->init_m = len - nd;
			if (nd < 1 || len - nd < 1 || nd > SEGMENT_KMEANS_MAX_D ||
				len - nd > SEGMENT_KPROTO_MAX_M)
				segment_option_error(&kproto_options, "init", "prototypes must list numbers, then categories (at least one of each)");
			opts->init_num = palloc(sizeof(double) * opts->init_k * nd);
			opts->init_cat = palloc(sizeof(char *) * opts->init_k * (len - nd));
		}
		else if (nd != opts->init_d || len - nd != opts->init_m)
			segment_option_error(&kproto_options, "init", "prototypes must all have the same numbers of numeric and categorical values");
		for (j = 0; j < nd; j++)
			opts->init_num[(Size) i * nd + j] =
				segment_option_float8(&kproto_options, getIthJsonbValueFromContainer(c, j), "init");
		for (j = nd; j < len; j++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(c, j);

			if (e->type != jbvString)
				segment_option_error(&kproto_options, "init", "prototypes must list numbers, then categories (strings)");
			opts->init_cat[(Size) i * opts->init_m + (j - nd)] =
				pnstrdup(e->val.string.val, e->val.string.len);
		}
	}
}

/* Parse "feature_names": distinct non-empty strings, numeric features first. */
static void
parse_feature_names(JsonbValue *v, KProtoOptions *opts)
{
	opts->feature_names = segment_option_names(&kproto_options, v, "feature_names", 2,
											   "must be an array of non-empty strings, one per numeric and then per categorical feature",
											   &opts->n_feature_names);
}

/* Parse kprototypes options (NULL: defaults); bad ones are 22023. */
static void
kproto_parse_options(Jsonb *options, KProtoOptions *opts)
{
	JsonbIterator *it;
	JsonbValue	kv;
	JsonbIteratorToken tok;

	memset(opts, 0, sizeof(KProtoOptions));
	opts->n_init = 10;
	opts->max_iter = 300;
	opts->tol = 1e-4;
	opts->init = SEGMENT_KPROTO_INIT_PLUSPLUS;
	opts->gamma = -1.0;
	opts->scale = SEGMENT_SCALE_ZSCORE;
	opts->n_feature_names = -1;
	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kprototypes options must be a JSON object"),
				 errhint("Valid options are: " KPROTO_VALID_OPTIONS ".")));
	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &kv, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(kv.val.string.val, kv.val.string.len);
		tok = JsonbIteratorNext(&it, &kv, true);
		Assert(tok == WJB_VALUE);

		if (strcmp(key, "seed") == 0)
			opts->seed = segment_option_int(&kproto_options, &kv, key, PG_INT64_MIN + 1, PG_INT64_MAX - 1);
		else if (strcmp(key, "n_init") == 0)
			opts->n_init = (int) segment_option_int(&kproto_options, &kv, key, 1, 1000);
		else if (strcmp(key, "max_iter") == 0)
			opts->max_iter = (int) segment_option_int(&kproto_options, &kv, key, 1, 1000000);
		else if (strcmp(key, "tol") == 0)
		{
			opts->tol = segment_option_float8(&kproto_options, &kv, key);
			if (opts->tol < 0 || opts->tol >= 1)
				segment_option_error(&kproto_options, key, "must be at least 0 and less than 1");
		}
		else if (strcmp(key, "gamma") == 0)
		{
			opts->gamma = segment_option_float8(&kproto_options, &kv, key);
			if (opts->gamma < 0)
				segment_option_error(&kproto_options, key, "must not be negative");
		}
		else if (strcmp(key, "init") == 0)
			parse_init(&kv, opts);
		else if (strcmp(key, "scale") == 0)
		{
			char	   *s = kv.type == jbvString ?
				pnstrdup(kv.val.string.val, kv.val.string.len) : "";

			if (strcmp(s, "zscore") == 0)
				opts->scale = SEGMENT_SCALE_ZSCORE;
			else if (strcmp(s, "minmax") == 0)
				opts->scale = SEGMENT_SCALE_MINMAX;
			else if (strcmp(s, "robust") == 0)
				opts->scale = SEGMENT_SCALE_ROBUST;
			else if (strcmp(s, "none") == 0)
				opts->scale = SEGMENT_SCALE_NONE;
			else
				segment_option_error(&kproto_options, key, "must be \"zscore\", \"minmax\", \"robust\" or \"none\"");
		}
		else if (strcmp(key, "feature_names") == 0)
			parse_feature_names(&kv, opts);
		else if (strcmp(key, "verbose") == 0)
		{
			if (kv.type != jbvBool)
				segment_option_error(&kproto_options, key, "must be a boolean");
			opts->verbose = kv.val.boolean;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized kprototypes option \"%s\"", key),
					 errhint("Valid options are: " KPROTO_VALID_OPTIONS ".")));
	}
}

/* Check k against the options before any row is read (22023). */
static void
check_k(int32 k, const KProtoOptions *opts)
{
	if (k < 1 || k > SEGMENT_KMEANS_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", SEGMENT_KMEANS_MAX_K),
				 errdetail("k is %d.", k)));
	if (opts->init == SEGMENT_KPROTO_INIT_GIVEN && opts->init_k != k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kprototypes option \"init\" gives %d prototypes but k is %d",
						opts->init_k, k)));
}

/* A new empty collection in context, with its options copied and parsed. */
KProtoRows *
kproto_rows_new(MemoryContext context, Jsonb *options)
{
	MemoryContext old = MemoryContextSwitchTo(context);
	KProtoRows *r = palloc0(sizeof(KProtoRows));

	r->context = context;
	if (options != NULL)
	{
		r->options = palloc(VARSIZE(options));
		memcpy(r->options, options, VARSIZE(options));
	}
	kproto_parse_options(r->options, &r->opts);
	initStringInfo(&r->scratch);
	MemoryContextSwitchTo(old);
	return r;
}

/* Number of rows kept (NULL rows not counted). */
int64
kproto_rows_count(const KProtoRows *rows)
{
	return rows->n;
}

/* Are these (possibly NULL) options the ones the collection was made with? */
static bool
same_options(const KProtoRows *r, Jsonb *options)
{
	if (r->options == NULL || options == NULL)
		return r->options == options;
	return VARSIZE(r->options) == VARSIZE(options) &&
		memcmp(r->options, options, VARSIZE(options)) == 0;
}

/* Set d and m from the first row (creating the dictionaries) or check a later row. */
static void
rows_check_shape(KProtoRows *r, int d, int m, const char *fname)
{
	int			j;

	if (r->d == 0)
	{
		r->d = d;
		r->m = m;
		r->dicts = MemoryContextAllocZero(r->context, sizeof(KProtoDict) * m);
		for (j = 0; j < m; j++)
			r->dicts[j].hash = catdict_create(r->context, 16, NULL);
		return;
	}
	if (r->d != d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("all numeric arrays of a %s group must have the same length", fname),
				 errdetail("Lengths %d and %d were given.", r->d, d)));
	if (r->m != m)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("all categorical arrays of a %s group must have the same length", fname),
				 errdetail("Lengths %d and %d were given.", r->m, m)));
}

/* Grow the row buffer to hold need rows, within the memory limit. */
static void
rows_reserve(KProtoRows *r, int64 need, const char *fname)
{
	Size		row_bytes = sizeof(double) * (r->d + r->m);
	int64		capacity;

	if (need <= r->capacity)
		return;
	segment_check_memory(mul_size((Size) need, row_bytes), fname);
	capacity = Max(need, Max(r->capacity * 2, 1024));
	capacity = Min((Size) capacity,
				   ((Size) segment_kmeans_memory_limit * 1024) / row_bytes);
	capacity = Max(capacity, need);
	if (r->rows == NULL)
		r->rows = MemoryContextAllocHuge(r->context, mul_size((Size) capacity, row_bytes));
	else
		r->rows = repalloc_huge(r->rows, mul_size((Size) capacity, row_bytes));
	r->capacity = capacity;
}

/* Code of value (len bytes) in feature j's dictionary, added if new (54000 past the limits). */
static int32
dict_code(KProtoRows *r, int j, const char *value, int len, const char *fname)
{
	KProtoDict *dict = &r->dicts[j];
	CatEntry   *e;
	bool		found;

	if (len > SEGMENT_KPROTO_MAX_VALUE_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s category values must not be longer than %d bytes",
						fname, SEGMENT_KPROTO_MAX_VALUE_BYTES),
				 errdetail("A value of categorical feature %d has %d bytes.", j + 1, len)));
	resetStringInfo(&r->scratch);
	appendBinaryStringInfo(&r->scratch, value, len);
	e = catdict_lookup(dict->hash, r->scratch.data);
	if (e != NULL)
		return e->code;
	if (dict->n >= SEGMENT_KPROTO_MAX_LEVELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("categorical feature %d of %s has more than %d distinct values",
						j + 1, fname, SEGMENT_KPROTO_MAX_LEVELS),
				 errhint("k-prototypes compares categories by equality; group rare values, or leave identifiers and free text out of the categorical features.")));
	if (dict->n == dict->cap)
	{
		dict->cap = Max(16, dict->cap * 2);
		dict->values = dict->values == NULL ?
			MemoryContextAlloc(r->context, sizeof(char *) * dict->cap) :
			repalloc(dict->values, sizeof(char *) * dict->cap);
	}
	dict->values[dict->n] = MemoryContextStrdup(r->context, r->scratch.data);
	e = catdict_insert(dict->hash, dict->values[dict->n], &found);
	Assert(!found);
	e->code = dict->n;
	return dict->n++;
}

/*
 * Detoast and check a numeric argument: float8[], 1-D, 1..SEGMENT_KMEANS_MAX_D
 * elements, no NULLs (22004), finite (22000).
 */
static double *
numeric_values(ArrayType *array, int *d)
{
	double	   *x = segment_float8_array_data(array, d, "numeric features");
	int			j;

	if (*d < 1 || *d > SEGMENT_KMEANS_MAX_D)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("numeric features must have 1 to %d elements", SEGMENT_KMEANS_MAX_D)));
	for (j = 0; j < *d; j++)
		if (!isfinite(x[j]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s is not allowed in numeric features",
							isnan(x[j]) ? "NaN" : "Infinity"),
					 errdetail("Element %d is %s.", j + 1,
							   isnan(x[j]) ? "NaN" : (x[j] > 0 ? "Infinity" : "-Infinity"))));
	return x;
}

/* Deconstruct a categorical text[] argument: 1-D, 1..MAX_M elements, no NULLs (22004). */
static Datum *
categorical_values(ArrayType *array, int *m)
{
	Datum	   *elems;
	bool	   *nulls;
	int			j;

	if (ARR_ELEMTYPE(array) != TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("categorical features must be of type text[]")));
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("categorical features must be a one-dimensional array")));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, m);
	if (*m < 1 || *m > SEGMENT_KPROTO_MAX_M)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("categorical features must have 1 to %d elements", SEGMENT_KPROTO_MAX_M)));
	for (j = 0; j < *m; j++)
		if (nulls[j])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("categorical features must not contain null elements"),
					 errdetail("Element %d is null.", j + 1),
					 errhint("NULL is not a category: use COALESCE(value, 'unknown') to make missing values a category of their own.")));
	return elems;
}

/* Append one row (a NULL array: count a skipped row). */
void
kproto_rows_add(KProtoRows *r, ArrayType *numeric, ArrayType *categorical,
				const char *fname)
{
	double	   *x;
	Datum	   *cats;
	double	   *dst;
	int			d;
	int			m;
	int			j;

	if (numeric == NULL || categorical == NULL)
	{
		r->n_null++;
		return;
	}
	x = numeric_values(numeric, &d);
	cats = categorical_values(categorical, &m);
	rows_check_shape(r, d, m, fname);
	rows_reserve(r, r->n + 1, fname);
	dst = r->rows + r->n * (d + m);
	memcpy(dst, x, sizeof(double) * d);
	for (j = 0; j < m; j++)
	{
		text	   *t = DatumGetTextPP(cats[j]);

		dst[d + j] = (double) dict_code(r, j, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), fname);
	}
	r->n++;
}

/* Append all rows of b to a, mapping b's codes into a's dictionaries. */
static void
rows_merge(KProtoRows *a, const KProtoRows *b, const char *fname)
{
	int32	  **map;
	int64		i;
	int			j;
	int			w;

	a->n_null += b->n_null;
	if (b->n == 0)
		return;
	rows_check_shape(a, b->d, b->m, fname);
	map = palloc(sizeof(int32 *) * b->m);
	for (j = 0; j < b->m; j++)
	{
		int32		v;

		map[j] = palloc(sizeof(int32) * Max(b->dicts[j].n, 1));
		for (v = 0; v < b->dicts[j].n; v++)
			map[j][v] = dict_code(a, j, b->dicts[j].values[v],
								  strlen(b->dicts[j].values[v]), fname);
	}
	rows_reserve(a, a->n + b->n, fname);
	w = a->d + a->m;
	for (i = 0; i < b->n; i++)
	{
		const double *src = b->rows + i * w;
		double	   *dst = a->rows + (a->n + i) * w;

		memcpy(dst, src, sizeof(double) * a->d);
		for (j = 0; j < a->m; j++)
			dst[a->d + j] = (double) map[j][(int32) src[a->d + j]];
	}
	a->n += b->n;
	for (j = 0; j < b->m; j++)
		pfree(map[j]);
	pfree(map);
}

/* Free the rows and dictionaries of a collection merged into another. */
static void
rows_release(KProtoRows *r)
{
	int			j;

	if (r->rows != NULL)
		pfree(r->rows);
	r->rows = NULL;
	r->n = 0;
	r->capacity = 0;
	for (j = 0; j < r->m; j++)
	{
		catdict_destroy(r->dicts[j].hash);
		if (r->dicts[j].values != NULL)
		{
			int32		v;

			for (v = 0; v < r->dicts[j].n; v++)
				pfree(r->dicts[j].values[v]);
			pfree(r->dicts[j].values);
		}
		r->dicts[j].hash = catdict_create(r->context, 16, NULL);
		r->dicts[j].values = NULL;
		r->dicts[j].n = r->dicts[j].cap = 0;
	}
}

/* comparison of two dictionary values through their codes (qsort_arg) */
static int
code_cmp(const void *a, const void *b, void *arg)
{
	char	  **values = (char **) arg;

	return strcmp(values[*(const int32 *) a], values[*(const int32 *) b]);
}

/* comparison of two C strings through pointers to them (bsearch_arg) */
static int
code_cmp_str(const void *a, const void *b, void *arg)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Population standard deviation of column j of n rows of d values. */
static double
column_std(const double *X, int64 n, int d, int j)
{
	double		mean = 0.0;
	double		ss = 0.0;
	int64		i;

	for (i = 0; i < n; i++)
		mean += X[i * d + j];
	mean /= (double) n;
	for (i = 0; i < n; i++)
	{
		double		dv = X[i * d + j] - mean;

		ss += dv * dv;
	}
	return sqrt(ss / (double) n);
}

/*
 * The statistics of feature j for every segment: mode and the most
 * frequent categories (count descending, then code, i.e. byte order).
 */
static void
category_stats(SegmentModel *model, const int32 *C, const int32 *labels, int64 n,
			   int m, int j, const int32 *modes, char **values, int32 nlev)
{
	int			k = model->k;
	int64	   *counts = palloc0(mul_size(mul_size(k, nlev), sizeof(int64)));
	int64		i;
	int			c;

	for (i = 0; i < n; i++)
		counts[(int64) labels[i] * nlev + C[i * m + j]]++;
	for (c = 0; c < k; c++)
	{
		SegmentCatStat *cs = &model->cat[(Size) c * m + j];
		int64	   *cnt = counts + (int64) c * nlev;
		int			t;

		CHECK_FOR_INTERRUPTS();
		cs->mode = pstrdup(values[modes[(Size) c * m + j]]);
		cs->top = palloc(sizeof(char *) * SEGMENT_KPROTO_TOP_SHARES);
		cs->top_count = palloc(sizeof(int64) * SEGMENT_KPROTO_TOP_SHARES);
		cs->n_top = 0;
		for (t = 0; t < SEGMENT_KPROTO_TOP_SHARES; t++)
		{
			int			best = -1;
			int			v;

			for (v = 0; v < nlev; v++)
				if (cnt[v] > 0 && (best < 0 || cnt[v] > cnt[best]))
					best = v;
			if (best < 0)
				break;
			cs->top[t] = pstrdup(values[best]);
			cs->top_count[t] = cnt[best];
			cnt[best] = 0;
			cs->n_top++;
		}
	}
	pfree(counts);
}

/*
 * Fit a k-prototypes model on the collected rows (n > 0), which are
 * reordered and rescaled in place.  Errors: 22023 for k versus the data or
 * options, 2202E for option arities, 54000 over the memory limit.
 */
SegmentModel *
kproto_fit_rows(KProtoRows *r, int k)
{
	const KProtoOptions *opts = &r->opts;
	SegmentModel *model = palloc0(sizeof(SegmentModel));
	MemoryContext fitcxt;
	MemoryContext old;
	int			d = r->d;
	int			m = r->m;
	int			w = d + m;
	int64		n = r->n;
	int32	   *n_levels;
	char	  **sorted_values[SEGMENT_KPROTO_MAX_M_KERNEL];
	int32	   *C;
	double	   *X;
	int32	   *modes;
	int32	   *init_cat = NULL;
	double	   *init_num = NULL;
	KProtoParams params;
	KProtoResult result;
	void	   *work;
	Size		need;
	int64		distinct;
	int64		i;
	int			j;

	check_k(k, opts);
	if (opts->n_feature_names >= 0 && opts->n_feature_names != d + m)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("kprototypes option \"feature_names\" has %d names but rows have %d numeric and %d categorical features",
						opts->n_feature_names, d, m)));
	if (opts->init == SEGMENT_KPROTO_INIT_GIVEN && (opts->init_d != d || opts->init_m != m))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("kprototypes option \"init\" prototypes have %d numeric and %d categorical values but rows have %d and %d",
						opts->init_d, opts->init_m, d, m)));
	if (k > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k (%d) is greater than the number of rows (" INT64_FORMAT ")", k, n)));

	n_levels = palloc(sizeof(int32) * m);
	for (j = 0; j < m; j++)
		n_levels[j] = r->dicts[j].n;

	/* whole memory need on top of the rows before allocating anything big */
	need = mul_size(mul_size((Size) n, (Size) w), sizeof(double));
	need = add_size(need, mul_size(mul_size((Size) n, (Size) m), sizeof(int32)));
	need = add_size(need, mul_size((Size) n, sizeof(int32)));
	need = add_size(need, kproto_workspace_bytes(n, d, m, k, n_levels));
	if (opts->scale == SEGMENT_SCALE_ROBUST)
		need = add_size(need, mul_size((Size) n, sizeof(double)));
	segment_check_memory(need, "kprototypes_fit");

	fitcxt = AllocSetContextCreate(CurrentMemoryContext, "kprototypes fit",
								   ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(fitcxt);

	/* categories in byte order: codes then no longer depend on arrival order */
	for (j = 0; j < m; j++)
	{
		KProtoDict *dict = &r->dicts[j];
		int32	   *order = palloc(sizeof(int32) * dict->n);
		int32	   *remap = palloc(sizeof(int32) * dict->n);
		int32		v;

		for (v = 0; v < dict->n; v++)
			order[v] = v;
		qsort_arg(order, dict->n, sizeof(int32), code_cmp, dict->values);
		sorted_values[j] = palloc(sizeof(char *) * dict->n);
		for (v = 0; v < dict->n; v++)
		{
			remap[order[v]] = v;
			sorted_values[j][v] = dict->values[order[v]];
		}
		for (i = 0; i < n; i++)
			r->rows[i * w + d + j] = (double) remap[(int32) r->rows[i * w + d + j]];
	}

	/* order independence: sort rows, then everything is a function of them */
	CHECK_FOR_INTERRUPTS();
	kmeans_sort_rows(r->rows, n, w);
	CHECK_FOR_INTERRUPTS();

	/* split into codes and numeric rows (compacted in place) */
	C = palloc_extended(mul_size(mul_size((Size) n, (Size) m), sizeof(int32)), MCXT_ALLOC_HUGE);
	X = r->rows;
	for (i = 0; i < n; i++)
	{
		for (j = 0; j < m; j++)
			C[i * m + j] = (int32) r->rows[i * w + d + j];
		memmove(X + i * d, r->rows + i * w, sizeof(double) * d);
	}

	MemoryContextSwitchTo(old);
	model->k = k;
	model->d = d;
	model->m = m;
	model->n = n;
	model->n_null = r->n_null;
	model->seed = opts->seed;
	model->kp_init = opts->init;
	model->init = opts->init == SEGMENT_KPROTO_INIT_GIVEN ? KMEANS_INIT_GIVEN : KMEANS_INIT_PLUSPLUS;
	model->n_init = (opts->init == SEGMENT_KPROTO_INIT_GIVEN ||
					 opts->init == SEGMENT_KPROTO_INIT_CAO) ? 1 : opts->n_init;
	model->max_iter = opts->max_iter;
	model->tol = opts->tol;
	model->scale_method = opts->scale;
	model->transform = palloc0(d);
	model->center = palloc(sizeof(double) * d);
	model->scale = palloc(sizeof(double) * d);
	model->centroids = palloc(sizeof(double) * k * d);
	model->sizes = palloc(sizeof(int64) * k);
	model->requested_k = k;
	model->mode = SEGMENT_MODE_MEMORY;
	model->n_levels = n_levels;
	model->cat = palloc0(sizeof(SegmentCatStat) * k * m);
	if (opts->n_feature_names > 0)
	{
		model->feature_names = palloc(sizeof(char *) * d);
		model->cat_names = palloc(sizeof(char *) * m);
		for (j = 0; j < d; j++)
			model->feature_names[j] = pstrdup(opts->feature_names[j]);
		for (j = 0; j < m; j++)
			model->cat_names[j] = pstrdup(opts->feature_names[d + j]);
	}
	old = MemoryContextSwitchTo(fitcxt);

	segment_compute_scaler(X, n, d, opts->scale, model->center, model->scale);
	for (i = 0; i < n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (j = 0; j < d; j++)
			X[i * d + j] = (X[i * d + j] - model->center[j]) / model->scale[j];
	}

	/* distinct rows after scaling (monotone: equal rows stay adjacent) */
	distinct = 1;
	for (i = 1; i < n; i++)
		if (memcmp(X + (i - 1) * d, X + i * d, sizeof(double) * d) != 0 ||
			memcmp(C + (i - 1) * m, C + i * m, sizeof(int32) * m) != 0)
			distinct++;
	if (k > distinct)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k (%d) is greater than the number of distinct rows (" INT64_FORMAT ")",
						k, distinct)));

	if (opts->gamma >= 0)
		model->gamma = opts->gamma;
	else
	{
		double		mean_std = 0.0;

		for (j = 0; j < d; j++)
			mean_std += column_std(X, n, d, j);
		mean_std /= (double) d;
		model->gamma = mean_std > 0 ? 0.5 * mean_std : 1.0;
	}

	if (opts->init == SEGMENT_KPROTO_INIT_GIVEN)
	{
		init_num = palloc(sizeof(double) * k * d);
		init_cat = palloc(sizeof(int32) * k * m);
		for (i = 0; i < k; i++)
		{
			for (j = 0; j < d; j++)
				init_num[i * d + j] = (opts->init_num[i * d + j] - model->center[j]) /
					model->scale[j];
			for (j = 0; j < m; j++)
			{
				char	   *key = opts->init_cat[i * m + j];
				char	  **hit = bsearch_arg(&key, sorted_values[j], n_levels[j],
											  sizeof(char *), code_cmp_str, NULL);

				init_cat[i * m + j] = hit ? (int32) (hit - sorted_values[j]) : -1;
			}
		}
	}

	memset(&params, 0, sizeof(params));
	params.k = k;
	params.d = d;
	params.m = m;
	params.n_levels = n_levels;
	params.gamma = model->gamma;
	params.max_iter = opts->max_iter;
	params.tol = opts->tol;
	params.n_init = model->n_init;
	params.seed = (uint64) opts->seed;
	params.init = opts->init;
	params.init_num = init_num;
	params.init_cat = init_cat;
	params.verbose = opts->verbose;

	modes = palloc(sizeof(int32) * k * m);
	memset(&result, 0, sizeof(result));
	result.centroids = model->centroids;
	result.modes = modes;
	result.sizes = model->sizes;
	result.labels = palloc_extended(mul_size((Size) n, sizeof(int32)), MCXT_ALLOC_HUGE);
	work = palloc_extended(Max(kproto_workspace_bytes(n, d, m, k, n_levels), 1), MCXT_ALLOC_HUGE);
	kproto_run(X, C, n, &params, &result, work);
	pfree(work);
	kproto_canonicalize(model->centroids, modes, model->sizes, result.labels, n, d, m, k);

	if (!isfinite(result.cost))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("k-prototypes cost overflowed"),
				 errhint("Scale the numeric features (option scale) so their squares do not overflow.")));
	model->inertia = result.cost;
	model->n_iter = result.n_iter;
	model->converged = result.converged;

	MemoryContextSwitchTo(old);
	for (j = 0; j < m; j++)
		category_stats(model, C, result.labels, n, m, j, modes, sorted_values[j], n_levels[j]);
	MemoryContextDelete(fitcxt);
	return model;
}

/*
 * Nearest segment (0-based) of raw numeric features and categories under a
 * k-prototypes model; costs (k) receives every segment's cost if not NULL.
 * A category the model never saw matches no mode: it adds gamma to every
 * segment's cost, so the numeric part and the other categories decide.
 */
int
kproto_model_nearest(const SegmentModel *model, ArrayType *numeric,
					 ArrayType *categorical, double *costs)
{
	int			d;
	int			m;
	double	   *x = numeric_values(numeric, &d);
	Datum	   *cats = categorical_values(categorical, &m);
	double	   *z;
	int			best = 0;
	double		bd = 0.0;
	int			c;
	int			j;

	if (d != model->d || m != model->m)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features have %d numeric and %d categorical elements but the model has %d and %d",
						d, m, model->d, model->m)));
	z = palloc(sizeof(double) * d);
	segment_model_to_space(model, x, z);
	for (c = 0; c < model->k; c++)
	{
		const double *cent = model->centroids + (Size) c * d;
		double		s = 0.0;
		int			mis = 0;
		double		cost;

		for (j = 0; j < d; j++)
		{
			double		diff = z[j] - cent[j];

			s += diff * diff;
		}
		for (j = 0; j < m; j++)
		{
			text	   *t = DatumGetTextPP(cats[j]);
			const char *mode = model->cat[(Size) c * m + j].mode;
			size_t		len = VARSIZE_ANY_EXHDR(t);

			if (strlen(mode) != len || memcmp(mode, VARDATA_ANY(t), len) != 0)
				mis++;
		}
		cost = s + model->gamma * (double) mis;
		if (costs)
			costs[c] = cost;
		if (c == 0 || cost < bd)
		{
			bd = cost;
			best = c;
		}
	}
	pfree(z);
	return best;
}

/* Fetch the aggregate context or complain about a non-aggregate call. */
static MemoryContext
kproto_aggcontext(FunctionCallInfo fcinfo)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "kprototypes_fit called in non-aggregate context");
	return aggcontext;
}

/* A new state for k and options in context. */
static KProtoAggState *
kproto_state_new(MemoryContext context, int32 k, Jsonb *options)
{
	KProtoAggState *state = MemoryContextAllocZero(context, sizeof(KProtoAggState));

	state->k = k;
	state->rows = kproto_rows_new(context, options);
	check_k(k, &state->rows->opts);
	return state;
}

/* Transition: append a row (NULL arrays are counted, not kept). */
Datum
segment_kprototypes_fit_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = kproto_aggcontext(fcinfo);
	KProtoAggState *state = PG_ARGISNULL(0) ? NULL : (KProtoAggState *) PG_GETARG_POINTER(0);
	Jsonb	   *options = (PG_NARGS() < 5 || PG_ARGISNULL(4)) ? NULL : PG_GETARG_JSONB_P(4);
	int32		k;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be null in kprototypes_fit")));
	k = PG_GETARG_INT32(3);
	if (state == NULL)
		state = kproto_state_new(aggcontext, k, options);
	else if (state->k != k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be the same for every row of a kprototypes_fit group"),
				 errdetail("Values %d and %d were given.", state->k, k)));
	else if (!same_options(state->rows, options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be the same for every row of a kprototypes_fit group")));

	kproto_rows_add(state->rows,
					PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1),
					PG_ARGISNULL(2) ? NULL : PG_GETARG_ARRAYTYPE_P(2),
					"kprototypes_fit");
	PG_RETURN_POINTER(state);
}

/* Combine: append b's rows to a, merging the dictionaries. */
Datum
segment_kprototypes_fit_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = kproto_aggcontext(fcinfo);
	KProtoAggState *a = PG_ARGISNULL(0) ? NULL : (KProtoAggState *) PG_GETARG_POINTER(0);
	KProtoAggState *b = PG_ARGISNULL(1) ? NULL : (KProtoAggState *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
	{
		/* a deserialized state already lives in aggcontext: adopt it */
		if (GetMemoryChunkContext(b) == aggcontext)
			PG_RETURN_POINTER(b);
		a = kproto_state_new(aggcontext, b->k, b->rows->options);
	}
	else if (a->k != b->k || !same_options(a->rows, b->rows->options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine kprototypes_fit states with different k or options")));
	rows_merge(a->rows, b->rows, "kprototypes_fit");
	if (GetMemoryChunkContext(b) == aggcontext)
		rows_release(b->rows);
	PG_RETURN_POINTER(a);
}

/* Serialize: version, k, options, d, m, n, n_null, dictionaries, rows. */
Datum
segment_kprototypes_fit_serialfn(PG_FUNCTION_ARGS)
{
	KProtoAggState *state = (KProtoAggState *) PG_GETARG_POINTER(0);
	KProtoRows *r = state->rows;
	StringInfoData buf;
	Size		need;
	int64		i;
	int			j;
	int			w = r->d + r->m;

	need = mul_size(mul_size((Size) r->n, (Size) Max(w, 1)), sizeof(double));
	need = add_size(need, 64 + (r->options ? VARSIZE(r->options) : 0));
	for (j = 0; j < r->m; j++)
		need = add_size(need, mul_size((Size) r->dicts[j].n, 4 + SEGMENT_KPROTO_MAX_VALUE_BYTES));
	if (need >= MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("kprototypes_fit partial state of " INT64_FORMAT " rows is too large to pass between parallel workers",
						r->n),
				 errhint("Disable parallel query for this statement (SET max_parallel_workers_per_gather = 0).")));
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, KPROTO_STATE_VERSION);
	pq_sendint32(&buf, state->k);
	if (r->options != NULL)
	{
		pq_sendint32(&buf, VARSIZE(r->options));
		pq_sendbytes(&buf, (char *) r->options, VARSIZE(r->options));
	}
	else
		pq_sendint32(&buf, 0);
	pq_sendint32(&buf, r->d);
	pq_sendint32(&buf, r->m);
	pq_sendint64(&buf, r->n);
	pq_sendint64(&buf, r->n_null);
	for (j = 0; j < r->m; j++)
	{
		int32		v;

		pq_sendint32(&buf, r->dicts[j].n);
		for (v = 0; v < r->dicts[j].n; v++)
		{
			int			len = strlen(r->dicts[j].values[v]);

			pq_sendint32(&buf, len);
			pq_sendbytes(&buf, r->dicts[j].values[v], len);
		}
	}
	for (i = 0; i < r->n; i++)
	{
		for (j = 0; j < r->d; j++)
			pq_sendfloat8(&buf, r->rows[i * w + j]);
		for (j = 0; j < r->m; j++)
			pq_sendint32(&buf, (int32) r->rows[i * w + r->d + j]);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Raise XX001 for a malformed serialized state. */
static void
state_corrupt(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid kprototypes_fit state")));
}

/* Deserialize and validate a state. */
Datum
segment_kprototypes_fit_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = kproto_aggcontext(fcinfo);
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	KProtoAggState *state;
	KProtoRows *r;
	Jsonb	   *options = NULL;
	int32		k;
	int32		optlen;
	int32		d;
	int32		m;
	int64		n;
	int64		n_null;
	int64		i;
	int			j;

	segment_state_open(bytes, &buf, KPROTO_STATE_VERSION, "kprototypes_fit");
	k = pq_getmsgint(&buf, 4);
	optlen = pq_getmsgint(&buf, 4);
	if (optlen != 0)
	{
		if (optlen < (int32) VARHDRSZ || optlen > buf.len - buf.cursor)
			state_corrupt();
		options = palloc(optlen);
		memcpy(options, pq_getmsgbytes(&buf, optlen), optlen);
		if ((int32) VARSIZE(options) != optlen)
			state_corrupt();
	}
	state = kproto_state_new(aggcontext, k, options);
	r = state->rows;
	d = pq_getmsgint(&buf, 4);
	m = pq_getmsgint(&buf, 4);
	n = pq_getmsgint64(&buf);
	n_null = pq_getmsgint64(&buf);
	if (d < 0 || d > SEGMENT_KMEANS_MAX_D || m < 0 || m > SEGMENT_KPROTO_MAX_M ||
		(d == 0) != (m == 0) || n < 0 || n_null < 0 || (n > 0 && d == 0))
		state_corrupt();
	r->n_null = n_null;
	if (d == 0)
	{
		pq_getmsgend(&buf);
		PG_RETURN_POINTER(state);
	}
	rows_check_shape(r, d, m, "kprototypes_fit");
	for (j = 0; j < m; j++)
	{
		int32		nv = pq_getmsgint(&buf, 4);
		int32		v;

		if (nv < 0 || nv > SEGMENT_KPROTO_MAX_LEVELS)
			state_corrupt();
		for (v = 0; v < nv; v++)
		{
			int32		len = pq_getmsgint(&buf, 4);
			const char *s;

			if (len < 0 || len > SEGMENT_KPROTO_MAX_VALUE_BYTES || len > buf.len - buf.cursor)
				state_corrupt();
			s = pq_getmsgbytes(&buf, len);
			if (memchr(s, '\0', len) != NULL || dict_code(r, j, s, len, "kprototypes_fit") != v)
				state_corrupt();	/* a zero byte or a repeated value */
		}
	}
	if ((int64) (buf.len - buf.cursor) != n * ((int64) d * 8 + (int64) m * 4))
		state_corrupt();
	if (n > 0)
	{
		rows_reserve(r, n, "kprototypes_fit");
		for (i = 0; i < n; i++)
		{
			double	   *dst = r->rows + i * (d + m);

			for (j = 0; j < d; j++)
			{
				dst[j] = pq_getmsgfloat8(&buf);
				if (!isfinite(dst[j]))
					state_corrupt();
			}
			for (j = 0; j < m; j++)
			{
				int32		code = pq_getmsgint(&buf, 4);

				if (code < 0 || code >= r->dicts[j].n)
					state_corrupt();
				dst[d + j] = (double) code;
			}
		}
		r->n = n;
	}
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(state);
}

/* Final: fit the model; NULL when no non-NULL row was seen. */
Datum
segment_kprototypes_fit_finalfn(PG_FUNCTION_ARGS)
{
	KProtoAggState *state = PG_ARGISNULL(0) ? NULL : (KProtoAggState *) PG_GETARG_POINTER(0);
	SegmentModel *model;

	if (state == NULL || state->rows->n == 0)
		PG_RETURN_NULL();
	model = kproto_fit_rows(state->rows, state->k);
	PG_RETURN_BYTEA_P(segment_model_encode(model));
}
