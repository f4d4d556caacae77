/*-------------------------------------------------------------------------
 *
 * clv_agg.c
 *	  Fitting aggregates bgnbd_fit(x, t_x, t [, options]),
 *	  pareto_nbd_fit(x, t_x, t [, options]) and
 *	  gamma_gamma_fit(x, avg_amount [, options]) -> segment.clv_model.
 *
 * The likelihoods depend on a customer only through the summary (x, t_x,
 * T) (or (x, zbar)), so the state is a hash table of distinct summaries
 * with a count each: a million customers whose times are whole days
 * collapse to a few hundred thousand entries or fewer, and the optimizer
 * evaluates the likelihood once per distinct summary, weighted by its
 * count.  The table is open addressing with linear probing on a 64-bit
 * mix of the three doubles' bit patterns (-0 folded into +0), kept under
 * 70% full.  States merge entry by entry, so the aggregates are
 * combinable (PARALLEL SAFE, partial aggregation on Citus); serialized
 * states carry a version byte, the kind, the options and the entries.
 *
 * The options jsonb is parsed on the first row; every other row (and
 * every merged state) must carry the same options.  NULL inputs are
 * skipped and counted (n_skipped_null); Gamma-Gamma skips and counts
 * one-time buyers (x = 0, n_skipped_one_time).  No rows at all give NULL,
 * like avg(); rows that cannot identify the model (nobody repeated) are
 * an error (22000).  Invalid summaries are 22023.
 *
 * src/clv_agg.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/int.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "segment.h"
#include "clv.h"
#include "state_text.h"

#define CLV_STATE_VERSION 1
#define CLV_INITIAL_CAPACITY 1024
#define CLV_DEFAULT_MAX_ITER 500
#define CLV_DEFAULT_TOL 1e-7

/* One distinct summary; count = 0 marks an empty slot. */
typedef struct ClvEntry
{
	double		x;
	double		u;				/* t_x, or zbar for Gamma-Gamma */
	double		t;				/* T, 0 for Gamma-Gamma */
	int64		count;
} ClvEntry;

typedef struct ClvAggState
{
	ClvKind		kind;
	ClvFitOptions options;
	ClvUnit		unit;
	Jsonb	   *options_raw;	/* first row's options, for the equality check */
	int64		n_null;			/* rows skipped for a NULL input */
	int64		n_one_time;		/* Gamma-Gamma rows skipped for x = 0 */
	int64		n_customers;	/* rows in the table */
	int64		nentries;		/* occupied slots */
	int64		capacity;		/* slots, a power of two */
	ClvEntry   *entries;
} ClvAggState;

PG_FUNCTION_INFO_V1(segment_bgnbd_fit_transfn);
PG_FUNCTION_INFO_V1(segment_pareto_nbd_fit_transfn);
PG_FUNCTION_INFO_V1(segment_gamma_gamma_fit_transfn);
PG_FUNCTION_INFO_V1(segment_clv_fit_combinefn);
PG_FUNCTION_INFO_V1(segment_clv_fit_serialfn);
PG_FUNCTION_INFO_V1(segment_clv_fit_deserialfn);
PG_FUNCTION_INFO_V1(segment_clv_fit_finalfn);

/* SQL name of the aggregate of kind, for messages. */
static const char *
clv_agg_name(ClvKind kind)
{
	switch (kind)
	{
		case CLV_BGNBD:
			return "bgnbd_fit";
		case CLV_PARETO_NBD:
			return "pareto_nbd_fit";
		case CLV_GAMMA_GAMMA:
			return "gamma_gamma_fit";
	}
	return "clv fit";
}

/* Fetch the aggregate context or complain about a non-aggregate call. */
static MemoryContext
clv_aggcontext(FunctionCallInfo fcinfo)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "clv fitting function called in non-aggregate context");
	return aggcontext;
}

/* Finalizer of splitmix64: a strong 64-bit mix. */
static inline uint64
clv_mix64(uint64 h)
{
	h ^= h >> 30;
	h *= UINT64CONST(0xbf58476d1ce4e5b9);
	h ^= h >> 27;
	h *= UINT64CONST(0x94d049bb133111eb);
	h ^= h >> 31;
	return h;
}

/* Bit pattern of a double with -0 folded into +0. */
static inline uint64
clv_bits(double v)
{
	uint64		u;

	v += 0.0;
	memcpy(&u, &v, sizeof(u));
	return u;
}

/* Hash of one summary. */
static inline uint64
clv_hash(double x, double u, double t)
{
	return clv_mix64(clv_bits(x) ^ clv_mix64(clv_bits(u) ^ clv_mix64(clv_bits(t))));
}

/* Allocate an empty slot array of capacity in context. */
static ClvEntry *
clv_alloc_entries(MemoryContext context, int64 capacity)
{
	return MemoryContextAllocExtended(context,
									  mul_size((Size) capacity, sizeof(ClvEntry)),
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* Add count customers with summary (x, u, t) to the table (no growth check). */
static void
clv_table_insert(ClvEntry *entries, int64 capacity, int64 *nentries,
				 double x, double u, double t, int64 count)
{
	uint64		mask = (uint64) capacity - 1;
	uint64		i = clv_hash(x, u, t) & mask;

	x += 0.0;
	u += 0.0;
	t += 0.0;
	for (;;)
	{
		ClvEntry   *e = &entries[i];

		if (e->count == 0)
		{
			e->x = x;
			e->u = u;
			e->t = t;
			e->count = count;
			(*nentries)++;
			return;
		}
		if (e->x == x && e->u == u && e->t == t)
		{
			e->count += count;
			return;
		}
		i = (i + 1) & mask;
	}
}

/* Insert into the state's table, doubling it beyond 70% occupancy. */
static void
clv_state_add(ClvAggState *state, double x, double u, double t, int64 count)
{
	if ((state->nentries + 1) * 10 > state->capacity * 7)
	{
		int64		capacity = state->capacity * 2;
		ClvEntry   *entries;
		int64		n = 0;
		int64		i;

		if ((Size) capacity > MaxAllocHugeSize / sizeof(ClvEntry))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct customer summaries in one %s group",
							clv_agg_name(state->kind))));
		entries = clv_alloc_entries(GetMemoryChunkContext(state), capacity);
		for (i = 0; i < state->capacity; i++)
		{
			ClvEntry   *e = &state->entries[i];

			if (e->count > 0)
				clv_table_insert(entries, capacity, &n, e->x, e->u, e->t, e->count);
		}
		pfree(state->entries);
		state->entries = entries;
		state->capacity = capacity;
	}
	clv_table_insert(state->entries, state->capacity, &state->nentries, x, u, t, count);
	state->n_customers += count;
}

/* Raise 22023 about an option. */
static void
clv_bad_option(const char *fmt, const char *key)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg(fmt, key)));
}

/* A numeric option value as double. */
static double
clv_option_number(JsonbValue *v, const char *key)
{
	if (v->type != jbvNumeric)
		clv_bad_option("option \"%s\" must be a number", key);
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(v->val.numeric)));
}

/* Parse the options jsonb (NULL for defaults) into state. */
static void
clv_parse_options(ClvAggState *state, Jsonb *options)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	state->options.penalizer = 0.0;
	state->options.max_iter = CLV_DEFAULT_MAX_ITER;
	state->options.tol = CLV_DEFAULT_TOL;
	state->options.verbose = false;
	state->unit = CLV_UNIT_WEEKS;
	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options) || JB_ROOT_IS_SCALAR(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options of %s must be a JSON object", clv_agg_name(state->kind))));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "penalizer") == 0)
		{
			double		p = clv_option_number(&v, key);

			if (!(p >= 0.0) || !isfinite(p))
				clv_bad_option("option \"%s\" must be a non-negative number", key);
			state->options.penalizer = p;
		}
		else if (strcmp(key, "max_iter") == 0)
		{
			double		m = clv_option_number(&v, key);

			if (!(m >= 1 && m <= 1000000) || m != floor(m))
				clv_bad_option("option \"%s\" must be a whole number between 1 and 1000000", key);
			state->options.max_iter = (int) m;
		}
		else if (strcmp(key, "tol") == 0)
		{
			double		t = clv_option_number(&v, key);

			if (!(t > 0.0) || !isfinite(t))
				clv_bad_option("option \"%s\" must be a positive number", key);
			state->options.tol = t;
		}
		else if (strcmp(key, "verbose") == 0)
		{
			if (v.type != jbvBool)
				clv_bad_option("option \"%s\" must be true or false", key);
			state->options.verbose = v.val.boolean;
		}
		else if (strcmp(key, "unit") == 0)
		{
			char	   *name;

			if (v.type != jbvString)
				clv_bad_option("option \"%s\" must be \"days\", \"weeks\" or \"months\"", key);
			name = pnstrdup(v.val.string.val, v.val.string.len);
			state->unit = clv_unit_from_name(name);
			if (state->unit == 0)
				clv_bad_option("option \"%s\" must be \"days\", \"weeks\" or \"months\"", key);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized option \"%s\" for %s", key, clv_agg_name(state->kind)),
					 errhint("Valid options are penalizer, max_iter, tol, unit and verbose.")));
	}
}

/* A new state of kind with options (NULL for defaults) in context. */
static ClvAggState *
clv_state_new(MemoryContext context, ClvKind kind, Jsonb *options)
{
	ClvAggState *state = MemoryContextAllocZero(context, sizeof(ClvAggState));

	state->kind = kind;
	clv_parse_options(state, options);
	if (options != NULL)
	{
		state->options_raw = MemoryContextAlloc(context, VARSIZE(options));
		memcpy(state->options_raw, options, VARSIZE(options));
	}
	state->capacity = CLV_INITIAL_CAPACITY;
	state->entries = clv_alloc_entries(context, state->capacity);
	return state;
}

/* Raise 22023 about a summary value given to fname. */
static void
clv_bad_input(const char *fname, const char *msg, double value)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: %s", fname, msg),
			 errdetail("The value given was %s.", float8out_internal(value))));
}

/* Raise 22023 unless x is a finite whole number >= 0. */
void
clv_check_x(const char *fname, double x)
{
	if (!isfinite(x) || x < 0.0 || x != floor(x))
		clv_bad_input(fname, "x must be a non-negative whole number", x);
}

/* Raise 22023 unless (x, t_x, t) is a valid BTYD summary. */
void
clv_check_summary(const char *fname, double x, double t_x, double t)
{
	clv_check_x(fname, x);
	if (!isfinite(t) || t < 0.0)
		clv_bad_input(fname, "t must be a non-negative finite number", t);
	if (!isfinite(t_x) || t_x < 0.0 || t_x > t)
		clv_bad_input(fname, "t_x must be between 0 and t", t_x);
	if (x == 0.0 && t_x != 0.0)
		clv_bad_input(fname, "t_x must be 0 when x is 0", t_x);
}

/*
 * Check one row's summary values v[] for kind (22023 if invalid); true for
 * a Gamma-Gamma one-time buyer (x = 0), which is skipped and counted.
 */
static bool
clv_row_is_one_time(ClvKind kind, const double *v)
{
	if (kind == CLV_GAMMA_GAMMA)
	{
		clv_check_x(clv_agg_name(kind), v[0]);
		if (v[0] == 0.0)
			return true;
		if (!isfinite(v[1]) || v[1] <= 0.0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("gamma_gamma_fit: avg_amount must be a positive finite number for a repeat buyer"),
					 errdetail("The value given was %s with x = %s.",
							   float8out_internal(v[1]), float8out_internal(v[0])),
					 errhint("The Gamma-Gamma model describes positive spend; filter out or net refunds first.")));
		return false;
	}
	clv_check_summary(clv_agg_name(kind), v[0], v[1], v[2]);
	return false;
}

/*
 * Read a transition call's nvalues summary arguments (after the state) into
 * v; false when the row is skipped: a NULL argument (counted in *n_null) or
 * a Gamma-Gamma one-time buyer (counted in *n_one_time).
 */
static bool
clv_row_values(FunctionCallInfo fcinfo, ClvKind kind, int nvalues, double *v,
			   int64 *n_null, int64 *n_one_time)
{
	int			i;

	for (i = 0; i < nvalues; i++)
	{
		if (PG_ARGISNULL(i + 1))
		{
			(*n_null)++;
			return false;
		}
		v[i] = PG_GETARG_FLOAT8(i + 1);
	}
	if (clv_row_is_one_time(kind, v))
	{
		(*n_one_time)++;
		return false;
	}
	return true;
}

/* Shared transition: nvalues summary arguments at 1.., options after them. */
static Datum
clv_transition(FunctionCallInfo fcinfo, ClvKind kind, int nvalues)
{
	MemoryContext aggcontext = clv_aggcontext(fcinfo);
	ClvAggState *state = PG_ARGISNULL(0) ? NULL : (ClvAggState *) PG_GETARG_POINTER(0);
	Jsonb	   *options = NULL;
	double		v[3] = {0, 0, 0};

	if (PG_NARGS() > nvalues + 1 && !PG_ARGISNULL(nvalues + 1))
		options = PG_GETARG_JSONB_P(nvalues + 1);

	if (state == NULL)
		state = clv_state_new(aggcontext, kind, options);
	else if ((options == NULL) != (state->options_raw == NULL) ||
			 (options != NULL &&
			  (VARSIZE(options) != VARSIZE(state->options_raw) ||
			   memcmp(options, state->options_raw, VARSIZE(options)) != 0)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be the same for every row of a %s group",
						clv_agg_name(kind))));

	if (!clv_row_values(fcinfo, kind, nvalues, v, &state->n_null, &state->n_one_time))
		PG_RETURN_POINTER(state);
	clv_state_add(state, v[0], v[1], kind == CLV_GAMMA_GAMMA ? 0.0 : v[2], 1);
	PG_RETURN_POINTER(state);
}

/* bgnbd_fit transition (with or without options). */
Datum
segment_bgnbd_fit_transfn(PG_FUNCTION_ARGS)
{
	return clv_transition(fcinfo, CLV_BGNBD, 3);
}

/* pareto_nbd_fit transition (with or without options). */
Datum
segment_pareto_nbd_fit_transfn(PG_FUNCTION_ARGS)
{
	return clv_transition(fcinfo, CLV_PARETO_NBD, 3);
}

/* gamma_gamma_fit transition (with or without options). */
Datum
segment_gamma_gamma_fit_transfn(PG_FUNCTION_ARGS)
{
	return clv_transition(fcinfo, CLV_GAMMA_GAMMA, 2);
}

/* Refuse to merge states of different kinds or options. */
static void
clv_check_compatible(const ClvAggState *a, const ClvAggState *b)
{
	if (a->kind != b->kind)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("cannot combine %s and %s states",
						clv_agg_name(a->kind), clv_agg_name(b->kind))));
	if (a->options.penalizer != b->options.penalizer ||
		a->options.max_iter != b->options.max_iter ||
		a->options.tol != b->options.tol ||
		a->options.verbose != b->options.verbose ||
		a->unit != b->unit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be the same for every row of a %s group",
						clv_agg_name(a->kind))));
}

/* Combine: add b's counts and entries into a. */
Datum
segment_clv_fit_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = clv_aggcontext(fcinfo);
	ClvAggState *a = PG_ARGISNULL(0) ? NULL : (ClvAggState *) PG_GETARG_POINTER(0);
	ClvAggState *b = PG_ARGISNULL(1) ? NULL : (ClvAggState *) PG_GETARG_POINTER(1);
	int64		i;

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
	{
		a = clv_state_new(aggcontext, b->kind, NULL);
		a->options = b->options;
		a->unit = b->unit;
		if (b->options_raw != NULL)
		{
			a->options_raw = MemoryContextAlloc(aggcontext, VARSIZE(b->options_raw));
			memcpy(a->options_raw, b->options_raw, VARSIZE(b->options_raw));
		}
	}
	else
		clv_check_compatible(a, b);

	a->n_null += b->n_null;
	a->n_one_time += b->n_one_time;
	for (i = 0; i < b->capacity; i++)
	{
		ClvEntry   *e = &b->entries[i];

		if (e->count > 0)
			clv_state_add(a, e->x, e->u, e->t, e->count);
	}
	PG_RETURN_POINTER(a);
}

/* Serialize a state to bytea (pqformat, with a version byte). */
Datum
segment_clv_fit_serialfn(PG_FUNCTION_ARGS)
{
	ClvAggState *state = (ClvAggState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int64		i;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, CLV_STATE_VERSION);
	pq_sendbyte(&buf, state->kind);
	pq_sendbyte(&buf, state->unit);
	pq_sendbyte(&buf, state->options.verbose ? 1 : 0);
	pq_sendfloat8(&buf, state->options.penalizer);
	pq_sendint32(&buf, state->options.max_iter);
	pq_sendfloat8(&buf, state->options.tol);
	pq_sendint64(&buf, state->n_null);
	pq_sendint64(&buf, state->n_one_time);
	pq_sendint64(&buf, state->nentries);
	for (i = 0; i < state->capacity; i++)
	{
		ClvEntry   *e = &state->entries[i];

		if (e->count == 0)
			continue;
		pq_sendfloat8(&buf, e->x);
		pq_sendfloat8(&buf, e->u);
		pq_sendfloat8(&buf, e->t);
		pq_sendint64(&buf, e->count);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Rebuild a state from its serialized form, validating it. */
Datum
segment_clv_fit_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = clv_aggcontext(fcinfo);
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	ClvAggState *state;
	int			kind;
	int64		nentries;
	int64		i;

	segment_state_open(bytes, &buf, CLV_STATE_VERSION, "clv fit");
	kind = pq_getmsgbyte(&buf);
	if (kind < CLV_BGNBD || kind > CLV_GAMMA_GAMMA)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid clv fit state")));
	state = clv_state_new(aggcontext, (ClvKind) kind, NULL);
	state->unit = pq_getmsgbyte(&buf);
	state->options.verbose = pq_getmsgbyte(&buf) != 0;
	state->options.penalizer = pq_getmsgfloat8(&buf);
	state->options.max_iter = pq_getmsgint(&buf, 4);
	state->options.tol = pq_getmsgfloat8(&buf);
	state->n_null = pq_getmsgint64(&buf);
	state->n_one_time = pq_getmsgint64(&buf);
	nentries = pq_getmsgint64(&buf);
	if (clv_unit_name(state->unit)[0] == 'u' || state->n_null < 0 ||
		state->n_one_time < 0 || nentries < 0 ||
		nentries * 32 != (int64) (buf.len - buf.cursor))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid clv fit state")));
	for (i = 0; i < nentries; i++)
	{
		double		x = pq_getmsgfloat8(&buf);
		double		u = pq_getmsgfloat8(&buf);
		double		t = pq_getmsgfloat8(&buf);
		int64		count = pq_getmsgint64(&buf);

		if (count <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid clv fit state")));
		clv_state_add(state, x, u, t, count);
	}
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(state);
}

/* Order entries by x (the kernel caches per-x terms), then T, then u. */
static int
clv_entry_cmp(const void *pa, const void *pb)
{
	const ClvEntry *a = (const ClvEntry *) pa;
	const ClvEntry *b = (const ClvEntry *) pb;

	if (a->x != b->x)
		return a->x < b->x ? -1 : 1;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	if (a->u != b->u)
		return a->u < b->u ? -1 : 1;
	return 0;
}

/*
 * Fit kind to the occupied entries of a summary table (count > 0; empty
 * slots are skipped) and build the model; shared by the 1.0 final function
 * and clv_fit(clv_state).
 */
static ClvModel *
clv_fit_entries(ClvKind kind, const ClvFitOptions *options, ClvUnit unit,
				const ClvEntry *entries, int64 nslots, int64 nentries,
				int64 n_customers, int64 n_null, int64 n_one_time)
{
	ClvEntry   *sorted;
	double	   *x,
			   *u,
			   *t,
			   *w;
	ClvData		data;
	ClvFitResult result;
	ClvModel   *model;
	int64		n = 0;
	int64		i;
	bool		any_repeat = false;

	sorted = MemoryContextAllocHuge(CurrentMemoryContext,
									mul_size(Max(nentries, 1), sizeof(ClvEntry)));
	for (i = 0; i < nslots; i++)
		if (entries[i].count > 0)
		{
			if (n >= nentries)
				elog(ERROR, "clv summary table holds more entries than it counts");
			sorted[n++] = entries[i];
			if (entries[i].x > 0)
				any_repeat = true;
		}
	if (!any_repeat)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s needs at least one customer with a repeat purchase (x > 0)",
						clv_agg_name(kind)),
				 kind == CLV_GAMMA_GAMMA ?
				 errdetail("Every row had x = 0 and was skipped: one-time buyers carry no repeat spend.") :
				 errdetail("Without repeat purchases the likelihood has no maximum.")));
	qsort(sorted, n, sizeof(ClvEntry), clv_entry_cmp);

	x = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(n, sizeof(double)));
	u = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(n, sizeof(double)));
	t = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(n, sizeof(double)));
	w = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(n, sizeof(double)));
	for (i = 0; i < n; i++)
	{
		x[i] = sorted[i].x;
		u[i] = sorted[i].u;
		t[i] = sorted[i].t;
		w[i] = (double) sorted[i].count;
	}
	data.n = n;
	data.x = x;
	data.t_x = u;
	data.t = t;
	data.w = w;

	clv_fit(kind, &data, options, &result);

	if (!isfinite(result.loglik))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s could not evaluate the log-likelihood of this data",
						clv_agg_name(kind)),
				 errdetail("The log-likelihood was not finite at any starting point.")));
	if (!result.converged)
		ereport(WARNING,
				(errmsg("%s did not converge", clv_agg_name(kind)),
				 errdetail("After %d iterations the largest gradient component was %g%s.",
						   result.iterations, result.grad_norm,
						   result.at_bound ? " and a parameter reached the bound 1e-8 or 1e8" : ""),
				 errhint("The model reports \"converged\": false. Raise max_iter or tol, "
						 "or add a small penalizer such as 0.001.")));

	model = clv_model_new(kind);
	model->unit = unit;
	model->converged = result.converged;
	model->iterations = result.iterations;
	model->n_customers = n_customers;
	model->n_distinct = nentries;
	model->n_skipped_null = n_null;
	model->n_skipped_one_time = n_one_time;
	model->loglik = result.loglik;
	model->gradient_norm = result.grad_norm;
	model->penalizer = options->penalizer;
	memcpy(model->params, result.params, sizeof(result.params));
	return model;
}

/* Final: fit the model to the distinct summaries; NULL for no rows. */
Datum
segment_clv_fit_finalfn(PG_FUNCTION_ARGS)
{
	ClvAggState *state = PG_ARGISNULL(0) ? NULL : (ClvAggState *) PG_GETARG_POINTER(0);

	if (state == NULL || (state->nentries == 0 && state->n_one_time == 0))
		PG_RETURN_NULL();
	PG_RETURN_POINTER(clv_fit_entries(state->kind, &state->options, state->unit,
									  state->entries, state->capacity, state->nentries,
									  state->n_customers, state->n_null, state->n_one_time));
}

/*-------------------------------------------------------------------------
 * segment.clv_state: the portable state of bgnbd_partial, pareto_nbd_partial
 * and gamma_gamma_partial, merged by clv_merge and fitted by clv_fit.
 *
 * The same distinct-summary table as above, but flat (a varlena with no
 * pointers) and with a text form, so that Citus can push the partial
 * aggregates down to its workers and ship the states back through the
 * type's output and input functions, and postgres_fdw can read them from
 * remote servers.  The table is exact, so a fit from merged states is the
 * fit from all rows, whatever the sharding.  Two forms share the layout:
 * hash form (nslots a power of two, empty slots have count 0), used while
 * aggregating, and dense form (nslots = nentries, sorted by x, T, t_x),
 * produced by the partial aggregates' final function, the input functions
 * and clv_merge, so that stored and shipped states carry no empty slots
 * and print the same whatever the order the rows came in.
 *-------------------------------------------------------------------------
 */

#define CLV_PSTATE_VERSION 1
#define CLV_PSTATE_MIN_SLOTS 64
#define CLV_PSTATE_VERBOSE 1
#define CLV_PSTATE_DENSE 2

typedef struct ClvStateData
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	uint8		version;		/* CLV_PSTATE_VERSION */
	uint8		kind;			/* ClvKind */
	uint8		unit;			/* ClvUnit */
	uint8		flags;			/* CLV_PSTATE_VERBOSE, CLV_PSTATE_DENSE */
	int32		max_iter;
	double		penalizer;
	double		tol;
	int64		n_null;
	int64		n_one_time;
	int64		n_customers;
	int64		nentries;
	int64		nslots;
	ClvEntry	entries[FLEXIBLE_ARRAY_MEMBER];
} ClvStateData;

#define CLV_PSTATE_HEADER offsetof(ClvStateData, entries)
#define CLV_PSTATE_MAX_SLOTS ((int64) ((MaxAllocSize - CLV_PSTATE_HEADER) / sizeof(ClvEntry)))

/* Parsed options of the last options argument seen by a transition function. */
typedef struct ClvOptionsCache
{
	bool		valid;
	Jsonb	   *raw;			/* NULL: no options argument */
	ClvFitOptions options;
	ClvUnit		unit;
} ClvOptionsCache;

PG_FUNCTION_INFO_V1(segment_clv_state_in);
PG_FUNCTION_INFO_V1(segment_clv_state_out);
PG_FUNCTION_INFO_V1(segment_clv_state_recv);
PG_FUNCTION_INFO_V1(segment_clv_state_send);
PG_FUNCTION_INFO_V1(segment_bgnbd_partial_transfn);
PG_FUNCTION_INFO_V1(segment_pareto_nbd_partial_transfn);
PG_FUNCTION_INFO_V1(segment_gamma_gamma_partial_transfn);
PG_FUNCTION_INFO_V1(segment_clv_state_combine);
PG_FUNCTION_INFO_V1(segment_clv_state_pack);
PG_FUNCTION_INFO_V1(segment_clv_state_fit);

/* A zeroed state with nslots slots, in CurrentMemoryContext. */
static ClvStateData *
cs_alloc(int64 nslots)
{
	ClvStateData *s;

	if (nslots > CLV_PSTATE_MAX_SLOTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("clv_state would exceed 1 GB"),
				 errhint("Round t_x and T (for example to whole days) to reduce the number of distinct summaries.")));
	s = palloc0(CLV_PSTATE_HEADER + nslots * sizeof(ClvEntry));
	SET_VARSIZE(s, CLV_PSTATE_HEADER + nslots * sizeof(ClvEntry));
	s->version = CLV_PSTATE_VERSION;
	s->nslots = nslots;
	return s;
}

/* Structural check of a state received as an argument (XX001 if broken). */
static ClvStateData *
cs_arg(Datum d)
{
	ClvStateData *s = (ClvStateData *) PG_DETOAST_DATUM(d);

	if (VARSIZE(s) < CLV_PSTATE_HEADER || s->version != CLV_PSTATE_VERSION ||
		s->kind < CLV_BGNBD || s->kind > CLV_GAMMA_GAMMA ||
		s->nslots < 0 || s->nentries < 0 || s->nentries > s->nslots ||
		VARSIZE(s) != CLV_PSTATE_HEADER + (Size) s->nslots * sizeof(ClvEntry) ||
		(!(s->flags & CLV_PSTATE_DENSE) && (s->nslots & (s->nslots - 1)) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid clv_state value")));
	return s;
}

/* A hash-form copy of s with nslots slots (a power of two, room enough). */
static ClvStateData *
cs_rehash(const ClvStateData *s, int64 nslots)
{
	ClvStateData *c = cs_alloc(nslots);
	int64		n = 0;
	int64		i;

	memcpy(c, s, CLV_PSTATE_HEADER);
	SET_VARSIZE(c, CLV_PSTATE_HEADER + nslots * sizeof(ClvEntry));
	c->nslots = nslots;
	c->flags &= ~CLV_PSTATE_DENSE;
	for (i = 0; i < s->nslots; i++)
	{
		const ClvEntry *e = &s->entries[i];

		if (e->count > 0)
			clv_table_insert(c->entries, nslots, &n, e->x, e->u, e->t, e->count);
	}
	c->nentries = n;
	return c;
}

/* Slots (a power of two) for nentries entries under 70% occupancy. */
static int64
cs_slots_for(int64 nentries)
{
	int64		nslots = CLV_PSTATE_MIN_SLOTS;

	while (nentries * 10 > nslots * 7)
	{
		nslots *= 2;
		if (nslots > CLV_PSTATE_MAX_SLOTS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("clv_state would exceed 1 GB"),
					 errhint("Round t_x and T (for example to whole days) to reduce the number of distinct summaries.")));
	}
	return nslots;
}

/* Add count customers with summary (x, u, t); may return a new, larger state. */
static ClvStateData *
cs_add(ClvStateData *s, double x, double u, double t, int64 count)
{
	if ((s->flags & CLV_PSTATE_DENSE) || (s->nentries + 1) * 10 > s->nslots * 7)
		s = cs_rehash(s, cs_slots_for(s->nentries + 1 + s->nentries / 2));
	clv_table_insert(s->entries, s->nslots, &s->nentries, x, u, t, count);
	if (pg_add_s64_overflow(s->n_customers, count, &s->n_customers))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("clv_state customer count out of range")));
	return s;
}

/* A dense copy of s: occupied entries only, sorted (canonical form). */
static ClvStateData *
cs_pack(const ClvStateData *s)
{
	ClvStateData *c = cs_alloc(s->nentries);
	int64		n = 0;
	int64		i;

	memcpy(c, s, CLV_PSTATE_HEADER);
	SET_VARSIZE(c, CLV_PSTATE_HEADER + s->nentries * sizeof(ClvEntry));
	for (i = 0; i < s->nslots && n < s->nentries; i++)
		if (s->entries[i].count > 0)
			c->entries[n++] = s->entries[i];
	c->nentries = n;
	c->nslots = n;
	c->flags |= CLV_PSTATE_DENSE;
	qsort(c->entries, n, sizeof(ClvEntry), clv_entry_cmp);
	return c;
}

/* The fit options a state carries. */
static void
cs_options(const ClvStateData *s, ClvFitOptions *options)
{
	options->penalizer = s->penalizer;
	options->max_iter = s->max_iter;
	options->tol = s->tol;
	options->verbose = (s->flags & CLV_PSTATE_VERBOSE) != 0;
}

/* Parsed options of this row (cached across rows in fn_extra). */
static ClvOptionsCache *
cs_row_options(FunctionCallInfo fcinfo, ClvKind kind, Jsonb *options)
{
	ClvOptionsCache *cache = (ClvOptionsCache *) fcinfo->flinfo->fn_extra;

	if (cache == NULL)
		cache = fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ClvOptionsCache));
	if (!cache->valid || (cache->raw == NULL) != (options == NULL) ||
		(options != NULL &&
		 (VARSIZE(options) != VARSIZE(cache->raw) ||
		  memcmp(options, cache->raw, VARSIZE(options)) != 0)))
	{
		ClvAggState tmp;

		memset(&tmp, 0, sizeof(tmp));
		tmp.kind = kind;
		clv_parse_options(&tmp, options);
		if (cache->raw != NULL)
			pfree(cache->raw);
		cache->raw = NULL;
		if (options != NULL)
		{
			cache->raw = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE(options));
			memcpy(cache->raw, options, VARSIZE(options));
		}
		cache->options = tmp.options;
		cache->unit = tmp.unit;
		cache->valid = true;
	}
	return cache;
}

/* Whether a state's options equal the given ones. */
static bool
cs_same_options(const ClvStateData *s, const ClvFitOptions *o, ClvUnit unit)
{
	return s->penalizer == o->penalizer && s->max_iter == o->max_iter &&
		s->tol == o->tol && ((s->flags & CLV_PSTATE_VERBOSE) != 0) == o->verbose &&
		s->unit == unit;
}

/* Shared partial transition: nvalues summary arguments at 1.., options after them. */
static Datum
cs_transition(FunctionCallInfo fcinfo, ClvKind kind, int nvalues)
{
	MemoryContext aggcontext;
	ClvStateData *s;
	ClvOptionsCache *opts;
	double		v[3] = {0, 0, 0};

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "clv partial aggregate called in non-aggregate context");
	opts = cs_row_options(fcinfo, kind,
						  PG_NARGS() > nvalues + 1 && !PG_ARGISNULL(nvalues + 1) ?
						  PG_GETARG_JSONB_P(nvalues + 1) : NULL);
	if (PG_ARGISNULL(0))
	{
		s = cs_alloc(CLV_PSTATE_MIN_SLOTS);
		s->kind = kind;
		s->unit = opts->unit;
		s->flags = opts->options.verbose ? CLV_PSTATE_VERBOSE : 0;
		s->max_iter = opts->options.max_iter;
		s->penalizer = opts->options.penalizer;
		s->tol = opts->options.tol;
	}
	else
	{
		/* our own state, made by this function in the aggregate context */
		s = (ClvStateData *) PG_GETARG_POINTER(0);
		if (s->kind != kind)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s cannot add to a state of another model", clv_agg_name(kind))));
		if (!cs_same_options(s, &opts->options, opts->unit))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("options must be the same for every row of a %s group",
							clv_agg_name(kind))));
	}

	if (!clv_row_values(fcinfo, kind, nvalues, v, &s->n_null, &s->n_one_time))
		PG_RETURN_POINTER(s);
	PG_RETURN_POINTER(cs_add(s, v[0], v[1], kind == CLV_GAMMA_GAMMA ? 0.0 : v[2], 1));
}

/* bgnbd_partial transition (with or without options). */
Datum
segment_bgnbd_partial_transfn(PG_FUNCTION_ARGS)
{
	return cs_transition(fcinfo, CLV_BGNBD, 3);
}

/* pareto_nbd_partial transition (with or without options). */
Datum
segment_pareto_nbd_partial_transfn(PG_FUNCTION_ARGS)
{
	return cs_transition(fcinfo, CLV_PARETO_NBD, 3);
}

/* gamma_gamma_partial transition (with or without options). */
Datum
segment_gamma_gamma_partial_transfn(PG_FUNCTION_ARGS)
{
	return cs_transition(fcinfo, CLV_GAMMA_GAMMA, 2);
}

/* Combine two states (STRICT): b's counts and entries into a. */
Datum
segment_clv_state_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	bool		in_agg = AggCheckCallContext(fcinfo, &aggcontext) != 0;
	ClvStateData *a = cs_arg(PG_GETARG_DATUM(0));
	ClvStateData *b = cs_arg(PG_GETARG_DATUM(1));
	ClvFitOptions bo;
	int64		i;

	if (a->kind != b->kind)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot merge %s and %s states",
						clv_kind_name((ClvKind) a->kind), clv_kind_name((ClvKind) b->kind))));
	cs_options(b, &bo);
	if (!cs_same_options(a, &bo, (ClvUnit) b->unit))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot merge %s states fitted with different options",
						clv_kind_name((ClvKind) a->kind))));

	/* change a in place only when it is the aggregate's own hash-form state */
	if (!in_agg || (Pointer) a != DatumGetPointer(PG_GETARG_DATUM(0)) ||
		(a->flags & CLV_PSTATE_DENSE) ||
		(a->nentries + b->nentries) * 10 > a->nslots * 7)
		a = cs_rehash(a, cs_slots_for(a->nentries + b->nentries));
	if (pg_add_s64_overflow(a->n_null, b->n_null, &a->n_null) ||
		pg_add_s64_overflow(a->n_one_time, b->n_one_time, &a->n_one_time))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("clv_state customer count out of range")));
	for (i = 0; i < b->nslots; i++)
	{
		ClvEntry   *e = &b->entries[i];

		if (e->count > 0)
			a = cs_add(a, e->x, e->u, e->t, e->count);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_POINTER(a);
}

/* Final function of the partial and merge aggregates: the dense, sorted state. */
Datum
segment_clv_state_pack(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(cs_pack(cs_arg(PG_GETARG_DATUM(0))));
}

/* clv_fit(state): fit the state's model kind; NULL for a state of no rows. */
Datum
segment_clv_state_fit(PG_FUNCTION_ARGS)
{
	ClvStateData *s = cs_arg(PG_GETARG_DATUM(0));
	ClvFitOptions options;

	if (s->nentries == 0 && s->n_one_time == 0)
		PG_RETURN_NULL();
	cs_options(s, &options);
	PG_RETURN_POINTER(clv_fit_entries((ClvKind) s->kind, &options, (ClvUnit) s->unit,
									  s->entries, s->nslots, s->nentries,
									  s->n_customers, s->n_null, s->n_one_time));
}

/* Why one summary cannot be in a state of kind, or NULL if it can. */
static const char *
cs_bad_summary(ClvKind kind, double x, double u, double t, int64 count)
{
	if (count <= 0)
		return "a summary's count must be positive";
	if (!isfinite(x) || x < 0.0 || x != floor(x))
		return "x must be a non-negative whole number";
	if (kind == CLV_GAMMA_GAMMA)
	{
		if (x == 0.0)
			return "Gamma-Gamma summaries need x > 0";
		if (!isfinite(u) || u <= 0.0)
			return "zbar must be a positive finite number";
		if (t != 0.0)
			return "Gamma-Gamma summaries have no T";
		return NULL;
	}
	if (!isfinite(t) || t < 0.0)
		return "t must be a non-negative finite number";
	if (!isfinite(u) || u < 0.0 || u > t)
		return "t_x must be between 0 and t";
	if (x == 0.0 && u != 0.0)
		return "t_x must be 0 when x is 0";
	return NULL;
}

/* Why a state's header is invalid, or NULL. */
static const char *
cs_bad_header(const ClvStateData *s)
{
	if (s->kind < CLV_BGNBD || s->kind > CLV_GAMMA_GAMMA)
		return "unknown model";
	if (clv_unit_name((ClvUnit) s->unit)[0] == 'u')
		return "unknown unit";
	if (!(s->penalizer >= 0.0) || !isfinite(s->penalizer))
		return "penalizer must be a non-negative number";
	if (s->max_iter < 1 || s->max_iter > 1000000)
		return "max_iter must be between 1 and 1000000";
	if (!(s->tol > 0.0) || !isfinite(s->tol))
		return "tol must be a positive number";
	if (s->n_null < 0 || s->n_one_time < 0)
		return "counts must not be negative";
	if (s->kind != CLV_GAMMA_GAMMA && s->n_one_time != 0)
		return "only Gamma-Gamma states skip one-time buyers";
	return NULL;
}

/* Report a bad text or binary state (code 22P02 or 22P03). */
static void
cs_reject(int code, const char *problem)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("invalid %s for type clv_state",
					code == ERRCODE_INVALID_TEXT_REPRESENTATION ? "input" : "binary input"),
			 errdetail("%s.", problem)));
}

/* clv_state input: the JSON text form, validated. */
Datum
segment_clv_state_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	StateText	st;
	ClvStateData *s = cs_alloc(CLV_PSTATE_MIN_SLOTS);
	char		name[32];
	const char *problem;

	st_init(&st, str, "clv_state");
	st_expect(&st, "{");
	st_expect(&st, "\"version\":");
	if (st_int64(&st, "version") != CLV_PSTATE_VERSION)
		st_error(&st, "Unsupported \"version\"");
	st_expect(&st, ",");
	st_expect(&st, "\"model\":");
	st_string(&st, name, sizeof(name), "model");
	s->kind = clv_kind_from_name(name);
	if (s->kind == 0)
		st_error(&st, "\"model\" must be \"bgnbd\", \"pareto_nbd\" or \"gamma_gamma\"");
	st_expect(&st, ",");
	st_expect(&st, "\"unit\":");
	st_string(&st, name, sizeof(name), "unit");
	s->unit = clv_unit_from_name(name);
	st_expect(&st, ",");
	st_expect(&st, "\"penalizer\":");
	s->penalizer = st_double(&st, "penalizer");
	st_expect(&st, ",");
	st_expect(&st, "\"max_iter\":");
	{
		int64		m = st_int64(&st, "max_iter");

		s->max_iter = (m < 1 || m > 1000000) ? 0 : (int32) m;
	}
	st_expect(&st, ",");
	st_expect(&st, "\"tol\":");
	s->tol = st_double(&st, "tol");
	st_expect(&st, ",");
	st_expect(&st, "\"verbose\":");
	if (st_accept(&st, "true"))
		s->flags |= CLV_PSTATE_VERBOSE;
	else if (!st_accept(&st, "false"))
		st_error(&st, "\"verbose\" must be true or false");
	st_expect(&st, ",");
	st_expect(&st, "\"n_skipped_null\":");
	s->n_null = st_int64(&st, "n_skipped_null");
	st_expect(&st, ",");
	st_expect(&st, "\"n_skipped_one_time\":");
	s->n_one_time = st_int64(&st, "n_skipped_one_time");
	if ((problem = cs_bad_header(s)) != NULL)
		cs_reject(ERRCODE_INVALID_TEXT_REPRESENTATION, problem);
	st_expect(&st, ",");
	st_expect(&st, "\"summaries\":");
	st_expect(&st, "[");
	if (!st_accept(&st, "]"))
	{
		do
		{
			double		x,
						u,
						t = 0.0;
			int64		count;

			st_expect(&st, "[");
			x = st_double(&st, "x");
			st_expect(&st, ",");
			u = st_double(&st, s->kind == CLV_GAMMA_GAMMA ? "zbar" : "t_x");
			st_expect(&st, ",");
			if (s->kind != CLV_GAMMA_GAMMA)
			{
				t = st_double(&st, "t");
				st_expect(&st, ",");
			}
			count = st_int64(&st, "count");
			st_expect(&st, "]");
			if ((problem = cs_bad_summary((ClvKind) s->kind, x, u, t, count)) != NULL)
				cs_reject(ERRCODE_INVALID_TEXT_REPRESENTATION, problem);
			s = cs_add(s, x, u, t, count);
		} while (st_accept(&st, ","));
		st_expect(&st, "]");
	}
	st_expect(&st, "}");
	st_end(&st);
	PG_RETURN_POINTER(cs_pack(s));
}

/* clv_state output: the JSON text form, summaries sorted. */
Datum
segment_clv_state_out(PG_FUNCTION_ARGS)
{
	ClvStateData *s = cs_arg(PG_GETARG_DATUM(0));
	StringInfoData buf;
	int64		i;

	if (!(s->flags & CLV_PSTATE_DENSE))
		s = cs_pack(s);
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"version\": %d, \"model\": \"%s\", \"unit\": \"%s\", \"penalizer\": ",
					 CLV_PSTATE_VERSION, clv_kind_name((ClvKind) s->kind),
					 clv_unit_name((ClvUnit) s->unit));
	st_append_double(&buf, s->penalizer);
	appendStringInfo(&buf, ", \"max_iter\": %d, \"tol\": ", s->max_iter);
	st_append_double(&buf, s->tol);
	appendStringInfo(&buf, ", \"verbose\": %s, \"n_skipped_null\": " INT64_FORMAT
					 ", \"n_skipped_one_time\": " INT64_FORMAT ", \"summaries\": [",
					 (s->flags & CLV_PSTATE_VERBOSE) ? "true" : "false",
					 s->n_null, s->n_one_time);
	for (i = 0; i < s->nentries; i++)
	{
		ClvEntry   *e = &s->entries[i];

		appendStringInfoString(&buf, i ? ",[" : "[");
		st_append_double(&buf, e->x);
		appendStringInfoChar(&buf, ',');
		st_append_double(&buf, e->u);
		if (s->kind != CLV_GAMMA_GAMMA)
		{
			appendStringInfoChar(&buf, ',');
			st_append_double(&buf, e->t);
		}
		appendStringInfo(&buf, "," INT64_FORMAT "]", e->count);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	appendStringInfoString(&buf, "]}");
	PG_RETURN_CSTRING(buf.data);
}

/* clv_state binary input (pqformat, version byte first), validated. */
Datum
segment_clv_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	ClvStateData *s = cs_alloc(CLV_PSTATE_MIN_SLOTS);
	const char *problem;
	int64		nentries;
	int64		i;

	if (pq_getmsgbyte(buf) != CLV_PSTATE_VERSION)
		cs_reject(ERRCODE_INVALID_BINARY_REPRESENTATION, "unsupported version");
	s->kind = pq_getmsgbyte(buf);
	s->unit = pq_getmsgbyte(buf);
	s->flags = pq_getmsgbyte(buf) ? CLV_PSTATE_VERBOSE : 0;
	s->max_iter = (int32) pq_getmsgint(buf, 4);
	s->penalizer = pq_getmsgfloat8(buf);
	s->tol = pq_getmsgfloat8(buf);
	s->n_null = pq_getmsgint64(buf);
	s->n_one_time = pq_getmsgint64(buf);
	nentries = pq_getmsgint64(buf);
	if ((problem = cs_bad_header(s)) != NULL)
		cs_reject(ERRCODE_INVALID_BINARY_REPRESENTATION, problem);
	if (nentries < 0 || nentries > (buf->len - buf->cursor) / 32)
		cs_reject(ERRCODE_INVALID_BINARY_REPRESENTATION, "the summary count does not match the message");
	for (i = 0; i < nentries; i++)
	{
		double		x = pq_getmsgfloat8(buf);
		double		u = pq_getmsgfloat8(buf);
		double		t = pq_getmsgfloat8(buf);
		int64		count = pq_getmsgint64(buf);

		if ((problem = cs_bad_summary((ClvKind) s->kind, x, u, t, count)) != NULL)
			cs_reject(ERRCODE_INVALID_BINARY_REPRESENTATION, problem);
		s = cs_add(s, x, u, t, count);
	}
	PG_RETURN_POINTER(cs_pack(s));
}

/* clv_state binary output. */
Datum
segment_clv_state_send(PG_FUNCTION_ARGS)
{
	ClvStateData *s = cs_arg(PG_GETARG_DATUM(0));
	StringInfoData buf;
	int64		i;

	if (!(s->flags & CLV_PSTATE_DENSE))
		s = cs_pack(s);
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, CLV_PSTATE_VERSION);
	pq_sendbyte(&buf, s->kind);
	pq_sendbyte(&buf, s->unit);
	pq_sendbyte(&buf, (s->flags & CLV_PSTATE_VERBOSE) ? 1 : 0);
	pq_sendint32(&buf, s->max_iter);
	pq_sendfloat8(&buf, s->penalizer);
	pq_sendfloat8(&buf, s->tol);
	pq_sendint64(&buf, s->n_null);
	pq_sendint64(&buf, s->n_one_time);
	pq_sendint64(&buf, s->nentries);
	for (i = 0; i < s->nentries; i++)
	{
		pq_sendfloat8(&buf, s->entries[i].x);
		pq_sendfloat8(&buf, s->entries[i].u);
		pq_sendfloat8(&buf, s->entries[i].t);
		pq_sendint64(&buf, s->entries[i].count);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
