/*-------------------------------------------------------------------------
 *
 * model.h
 *	  The segment_model type (a fitted k-means model) and the k-means glue
 *	  shared by kmeans_fit, the kmeans window function and assign_segment.
 *
 * A model maps a raw feature vector x (original units) to model space in
 * two steps, per feature j: an optional transform t_j (log1p or none),
 * then scaling z_j = (t_j(x_j) - center[j]) / scale[j].  Centroids are
 * stored in model space, so assignment is exact nearest-centroid search;
 * model_centroids() maps them back to original units.
 *
 * Glossary:
 *	  raw		a feature vector as the user passed it
 *	  model space	after transform and scaling; where k-means ran
 *	  segment	1-based cluster id in canonical order (size desc, then
 *				centroid lexicographic), as SQL sees it
 *
 * src/model.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_MODEL_H
#define SEGMENT_MODEL_H

#include "fmgr.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "kmeans.h"
#include "kprototypes.h"

/*
 * version byte of the stored (and send/recv) form of segment_model; version
 * 2 added requested_k, min_segment_share and reduction (issue 4); version 3
 * (extension 1.1) added the fit mode and sample size (issue 7) and the
 * categorical part of k-prototypes models (issue 8; m = 0 for k-means).
 * Older values are still read (as requested_k = k, no floor, no reduction,
 * mode memory, no categorical part)
 */
#define SEGMENT_MODEL_VERSION 3
#define SEGMENT_MODEL_VERSION_MIN 1

/* a fitted segment below this share of rows draws a NOTICE */
#define SEGMENT_SMALL_SHARE 0.02

/* limits that keep every size product far from overflow */
#define SEGMENT_KMEANS_MAX_K 10000
#define SEGMENT_KMEANS_MAX_D 10000

/*
 * k-prototypes limits (issue 8): categorical features per row, distinct
 * levels per categorical feature (the fit keeps a k x levels count table
 * per feature), bytes per category value, and how many of the most frequent
 * categories of each segment a model stores (with their counts) for
 * profiles.  Past the first three, a fit fails with 54000.
 */
#define SEGMENT_KPROTO_MAX_M SEGMENT_KPROTO_MAX_M_KERNEL
#define SEGMENT_KPROTO_MAX_LEVELS 10000
#define SEGMENT_KPROTO_MAX_VALUE_BYTES 1000
#define SEGMENT_KPROTO_TOP_SHARES 10

typedef enum SegmentScale
{
	SEGMENT_SCALE_NONE = 0,
	SEGMENT_SCALE_ZSCORE,
	SEGMENT_SCALE_MINMAX,
	SEGMENT_SCALE_ROBUST
} SegmentScale;

/* how kmeans_fit saw the rows (option "mode"; issue 7) */
typedef enum SegmentFitMode
{
	SEGMENT_MODE_MEMORY = 0,	/* every row held in memory */
	SEGMENT_MODE_SAMPLE,		/* fitted on a seeded uniform sample */
	SEGMENT_MODE_SCAN			/* Lloyd as repeated aggregate passes */
} SegmentFitMode;

typedef enum SegmentTransform
{
	SEGMENT_TRANSFORM_NONE = 0,
	SEGMENT_TRANSFORM_LOG1P
} SegmentTransform;

/* one entry of the "transform" option before feature names are resolved */
typedef struct KMeansTransformSpec
{
	char	   *key;			/* feature name, or 1-based index as text */
	SegmentTransform kind;
} KMeansTransformSpec;

/* parsed options of kmeans_fit / kmeans (see kmeans_parse_options) */
typedef struct KMeansOptions
{
	int64		seed;
	int			n_init;
	int			max_iter;
	double		tol;
	KMeansInit	init;
	double	   *init_centroids; /* original units, init_k rows of init_d */
	int			init_k;
	int			init_d;
	SegmentScale scale;
	int			n_transform;
	KMeansTransformSpec *transform;
	int			n_feature_names;	/* -1 when not given */
	char	  **feature_names;
	bool		verbose;
	double		min_segment_share;	/* 0: keep every segment */
	bool		quiet;			/* no small-segment NOTICE (kmeans_sweep) */
	const KMeansSeedCache *seed_cache;	/* k-means++ seedings made ahead (kmeans_sweep), or NULL */
} KMeansOptions;

/*
 * One categorical feature within one segment of a k-prototypes model: the
 * prototype's category (the mode) and the segment's most frequent
 * categories, at most SEGMENT_KPROTO_TOP_SHARES, by count descending, then
 * byte order.  Rows of other categories are size minus the listed counts.
 */
typedef struct SegmentCatStat
{
	char	   *mode;
	int32		n_top;
	char	  **top;			/* n_top categories */
	int64	   *top_count;		/* n_top counts, each >= 1 */
} SegmentCatStat;

/* a decoded segment_model */
typedef struct SegmentModel
{
	int32		k;
	int32		d;
	int64		n;				/* rows fitted */
	int64		n_null;			/* NULL feature arrays skipped */
	double		inertia;		/* in model space */
	int32		n_iter;
	bool		converged;
	int64		seed;
	int32		n_init;
	int32		max_iter;
	double		tol;
	KMeansInit	init;
	SegmentScale scale_method;
	uint8	   *transform;		/* d SegmentTransform values */
	double	   *center;			/* d */
	double	   *scale;			/* d, > 0 */
	double	   *centroids;		/* k*d, model space, row-major */
	int64	   *sizes;			/* k */
	char	  **feature_names;	/* d names, or NULL */
	int32		requested_k;	/* k asked for; k is the effective one */
	double		min_segment_share;	/* option min_segment_share (0: none) */
	char	   *reduction;		/* why k < requested_k, or NULL */
	SegmentFitMode mode;		/* version 3: how the rows were seen */
	int64		sample_size;	/* version 3: rows fitted in sample mode, else 0 */
	/* version 3, k-prototypes only (m = 0 for a k-means model) */
	int32		m;				/* categorical features */
	double		gamma;			/* weight of one categorical mismatch */
	SegmentKProtoInit kp_init;
	char	  **cat_names;		/* m names, or NULL (with feature_names) */
	int32	   *n_levels;		/* m: distinct categories seen in training */
	SegmentCatStat *cat;		/* k*m, segment-major */
	/* version 3, optional */
	double	   *quintiles;		/* d*SEGMENT_QUINTILE_BREAKS: each feature's
								 * population quintile breaks in original
								 * units (from a systematic sample of the
								 * fitted rows), or NULL */
} SegmentModel;

/* breaks stored per feature in a model's quintiles */
#define SEGMENT_QUINTILE_BREAKS 4

/* rows a model's quintiles are computed from (a systematic sample) */
#define SEGMENT_QUINTILE_SAMPLE 10000

/* GUC segment.kmeans_memory_limit, in kB (defined in segment.c) */
extern int	segment_kmeans_memory_limit;

/* model.c */
/* Population quintile breaks of n raw rows in canonical order into model->quintiles. */
extern void segment_model_set_quintiles(SegmentModel *model, const double *X, int64 n);
extern bytea *segment_model_encode(const SegmentModel *model);
extern SegmentModel *segment_model_decode(const char *data, int len, int errcode_bad);
extern SegmentModel *segment_model_from_datum(Datum datum);
extern SegmentModel *segment_model_cached(FunctionCallInfo fcinfo, int argno);
extern void segment_model_to_space(const SegmentModel *model, const double *raw,
								   double *out);
extern void segment_model_centroid_original(const SegmentModel *model, int c,
											double *out);
extern double segment_apply_transform(SegmentTransform kind, double value,
									  int feature);
extern const char *segment_scale_name(SegmentScale scale);
extern const char *segment_init_name(KMeansInit init);
extern const char *segment_mode_name(SegmentFitMode mode);
extern const char *segment_kproto_init_name(SegmentKProtoInit init);
extern const char *segment_model_init_name(const SegmentModel *model);
extern void segment_model_require_kmeans(const SegmentModel *model, const char *fname,
										  bool mixed_form);
extern void segment_append_float8(StringInfo buf, double value);
extern bool segment_numeric_to_int64(Numeric num, int64 *result);
extern double *segment_kmeans_features(ArrayType *array, int *d);
extern void segment_check_memory(Size bytes, const char *what);

/* kmeans_agg.c */
extern void kmeans_parse_options(Jsonb *options, KMeansOptions *opts);
extern SegmentModel *kmeans_fit_rows(double *X, int64 n, int d, int64 n_null,
									 int k, const KMeansOptions *opts);

/* kprototypes_agg.c */
typedef struct KProtoRows KProtoRows;
extern KProtoRows *kproto_rows_new(MemoryContext context, Jsonb *options);
extern void kproto_rows_add(KProtoRows *rows, ArrayType *numeric, ArrayType *categorical,
							const char *fname);
extern int64 kproto_rows_count(const KProtoRows *rows);
extern SegmentModel *kproto_fit_rows(KProtoRows *rows, int k);
extern int	kproto_model_nearest(const SegmentModel *model, ArrayType *numeric,
								 ArrayType *categorical, double *costs);

#endif							/* SEGMENT_MODEL_H */
