/*-------------------------------------------------------------------------
 *
 * options.h
 *	  Readers of jsonb option values shared by the fitting aggregates
 *	  (kmeans_fit and friends, kprototypes_fit): one wording for every
 *	  "option ... must be ..." error (22023).
 *
 * src/options.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_OPTIONS_H
#define SEGMENT_OPTIONS_H

#include "utils/jsonb.h"

/* whose options: the word in messages and, optionally, the valid names for a hint */
typedef struct SegmentOptionFamily
{
	const char *name;			/* "kmeans", "kprototypes" */
	const char *valid;			/* "seed, n_init, ..." for a hint, or NULL */
} SegmentOptionFamily;

/* Raise 22023: <family> option "<name>" <must>. */
extern void segment_option_error(const SegmentOptionFamily *family, const char *name,
								 const char *must) pg_attribute_noreturn();

/* A JSON value as a finite double, or a 22023 error. */
extern double segment_option_float8(const SegmentOptionFamily *family, JsonbValue *v,
									const char *name);

/* A JSON value as an integer within [lo, hi], or a 22023 error. */
extern int64 segment_option_int(const SegmentOptionFamily *family, JsonbValue *v,
								const char *name, int64 lo, int64 hi);

/* A JSON string value as a C string, or a 22023 error. */
extern char *segment_option_string(const SegmentOptionFamily *family, JsonbValue *v,
								   const char *name);

/* The container of a JSON array (or, with object, object) value, or NULL. */
extern JsonbContainer *segment_option_container(JsonbValue *v, bool object);

/*
 * An array of at least min_count distinct, non-empty strings without zero
 * bytes; must is the 22023 wording for a value that is not such an array.
 */
extern char **segment_option_names(const SegmentOptionFamily *family, JsonbValue *v,
								   const char *name, int min_count, const char *must,
								   int *count);

#endif							/* SEGMENT_OPTIONS_H */
