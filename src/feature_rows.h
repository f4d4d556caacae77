/*-------------------------------------------------------------------------
 *
 * feature_rows.h
 *	  The feature rows a k-means aggregate collects, with their options.
 *
 * src/feature_rows.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_FEATURE_ROWS_H
#define SEGMENT_FEATURE_ROWS_H

#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "kmeans_scale.h"
#include "model.h"

typedef struct FeatureRows
{
	MemoryContext context;		/* where options and rows live */
	Jsonb	   *options;		/* copy of the first row's options (NULL: none) */
	KMeansOptions opts;			/* parsed options */
	int32		d;				/* 0 until the first non-NULL row */
	int64		n;				/* rows collected */
	int64		n_null;			/* NULL feature arrays skipped */
	int64		capacity;		/* rows that fit in rows[] */
	double	   *rows;			/* n*d, row-major */
	/* issue 7: sampling (feature_rows_init_modes; else mode memory) */
	KMeansModeOptions mopts;	/* mode and sample_size */
	int32		k;				/* k of the fit (auto threshold) */
	int64		max_rows;		/* auto: rows a memory fit can hold (0: not yet known) */
	bool		sampled;		/* rows[] is the bottom-S sample, a max-heap on (key, row) */
	uint64	   *keys;			/* sampled: the key of each kept row */
	int64		n_total;		/* non-NULL rows seen (n unless sampled) */
	uint64		hash_seed;		/* salt of the sampling keys */
} FeatureRows;

/* Start an empty collection in context, keeping and parsing options. */
extern void feature_rows_init(FeatureRows *fr, MemoryContext context, Jsonb *options);

/* The same for a fit that accepts options mode and sample_size (k: the fit's k). */
extern void feature_rows_init_modes(FeatureRows *fr, MemoryContext context, Jsonb *options,
									int k);

/* Are these (possibly NULL) options the ones the collection was made with? */
extern bool feature_rows_same_options(const FeatureRows *fr, Jsonb *options);

/* Append one feature array (NULL: count a NULL row); fname names the caller. */
extern void feature_rows_add(FeatureRows *fr, ArrayType *array, const char *fname);

/* Append all rows of b to a (options are the caller's to compare). */
extern void feature_rows_merge(FeatureRows *a, const FeatureRows *b, const char *fname);

/* Free the rows of a collection that has been merged into another. */
extern void feature_rows_release(FeatureRows *fr);

/* Write options, d, counts and rows after the caller's header. */
extern void feature_rows_send(StringInfo buf, const FeatureRows *fr, const char *fname);

/* Read the options written by feature_rows_send (NULL: none), validated. */
extern Jsonb *feature_rows_recv_options(StringInfo buf, const char *fname);

/* Read d, counts and rows written by feature_rows_send into fr, validated. */
extern void feature_rows_recv_rows(StringInfo buf, FeatureRows *fr, const char *fname);

#endif							/* SEGMENT_FEATURE_ROWS_H */
