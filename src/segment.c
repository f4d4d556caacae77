/*-------------------------------------------------------------------------
 *
 * segment.c
 *	  Module magic, _PG_init (GUCs, OpenBLAS thread policy) and the small
 *	  input-validation helpers every SQL-facing file shares.
 *
 * Glossary: a "kernel" is numeric code on plain C arrays (quantile.c,
 * kmeans.c); "glue" is the fmgr code that turns Datums into those arrays.
 *
 * src/segment.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "utils/guc.h"

#include "segment.h"

PG_MODULE_MAGIC;

/* OpenBLAS exports this; declared here so cblas.h is not needed. */
extern void openblas_set_num_threads(int num_threads);

int			segment_quantile_exact_limit = 50000000;
int			segment_kmeans_memory_limit = 1048576;	/* kB: 1GB */

void		_PG_init(void);

/* Define GUCs and pin OpenBLAS to one thread inside this backend. */
void
_PG_init(void)
{
	/*
	 * A backend is single-threaded: BLAS threads would multiply with
	 * connections and parallel workers, and PostgreSQL APIs are not
	 * thread-safe.  Parallelism comes from parallel query instead.
	 */
	openblas_set_num_threads(1);

	DefineCustomIntVariable("segment.quantile_exact_limit",
							"Values quantile_breaks keeps exactly per group before refusing.",
							"Each value costs 8 bytes of memory in the aggregate state.",
							&segment_quantile_exact_limit,
							50000000, 1000, 1000000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("segment.kmeans_memory_limit",
							"Memory a k-means fit may use for its rows and workspace.",
							"Checked before allocating; a fit needing more fails with SQLSTATE 54000.",
							&segment_kmeans_memory_limit,
							1048576, 64, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("segment");
}

/* Detoast a float8[] argument, check it is 1-D and NULL-free; return its data. */
double *
segment_float8_array_data(ArrayType *array, int *length, const char *what)
{
	if (ARR_ELEMTYPE(array) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must be of type double precision[]", what)));
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain null elements", what)));
	*length = ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
	return (double *) ARR_DATA_PTR(array);
}

/* Raise 22000 if value is NaN; what names the input in the message. */
void
segment_reject_nan(double value, const char *what)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN is not allowed in %s", what)));
}

/* Point buf at a serialized aggregate state and check its version byte (XX001). */
void
segment_state_open(bytea *bytes, StringInfo buf, int version, const char *what)
{
	buf->data = VARDATA_ANY(bytes);
	buf->len = VARSIZE_ANY_EXHDR(bytes);
	buf->maxlen = buf->len;
	buf->cursor = 0;
	if (pq_getmsgbyte(buf) != version)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("unsupported %s state version", what)));
}
