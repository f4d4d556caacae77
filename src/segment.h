/*-------------------------------------------------------------------------
 *
 * segment.h
 *	  Limits, shared helpers and PostgreSQL version shims for segment.
 *
 * Every C file of the extension includes this header right after
 * postgres.h.  Version differences are bridged here and nowhere else, so
 * the rest of the code is written against PostgreSQL 15's API (the oldest
 * supported: pg_prng and InitMaterializedSRF appeared in 15).
 *
 * src/segment.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_H
#define SEGMENT_H

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"

#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/* pg_prng, InitMaterializedSRF and MarkGUCPrefixReserved are 15+ APIs */
#if PG_VERSION_NUM < 150000
#error "segment requires PostgreSQL 15 or later"
#endif

/* Largest number of quantile bins accepted by rfm_score and friends. */
#define SEGMENT_MAX_BINS 100

/* GUC: values kept exactly by quantile_breaks before it refuses (54000). */
extern int	segment_quantile_exact_limit;

/* Detoast a float8[] argument, check it is 1-D and NULL-free; return its data. */
extern double *segment_float8_array_data(ArrayType *array, int *length,
										 const char *what);

/* Point buf at a serialized aggregate state and check its version byte (XX001). */
extern void segment_state_open(bytea *bytes, StringInfo buf, int version, const char *what);

/* Raise 22000 if value is NaN; what names the input in the message. */
extern void segment_reject_nan(double value, const char *what);

#endif							/* SEGMENT_H */
