/*-------------------------------------------------------------------------
 *
 * kmeans_scale.h
 *	  k-means at scale (issue 7): the fit modes of kmeans_fit and kmeans
 *	  (memory, sample, auto), the kmeans_step pass state shared by the
 *	  kmeans_step aggregates and the kmeans_fit_scan driver.
 *
 * src/kmeans_scale.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_KMEANS_SCALE_H
#define SEGMENT_KMEANS_SCALE_H

#include "utils/jsonb.h"

#include "model.h"

/* default sample size of mode "sample" (and of kmeans_fit_scan's seeding) */
#define SEGMENT_SAMPLE_SIZE_DEFAULT 100000
#define SEGMENT_SAMPLE_SIZE_MAX 100000000

/* option "mode" as requested (the model records what ran) */
typedef enum KMeansModeRequest
{
	KMEANS_MODE_MEMORY = 0,		/* every row in memory; 54000 over budget */
	KMEANS_MODE_SAMPLE,			/* always a seeded sample */
	KMEANS_MODE_SCAN,			/* Lloyd passes over the table */
	KMEANS_MODE_AUTO			/* memory when it fits, else sample */
} KMeansModeRequest;

/* the scale-out options of kmeans_fit / kmeans / kmeans_fit_scan */
typedef struct KMeansModeOptions
{
	KMeansModeRequest mode;
	int64		sample_size;
	bool		mode_given;
	bool		sample_size_given;
} KMeansModeOptions;

/* kmeans_agg.c */
extern void kmeans_parse_options_ext(Jsonb *options, KMeansOptions *opts,
									 KMeansModeOptions *mopts);
extern Size kmeans_fit_memory_need(int64 n, int d, int k, SegmentScale scale);
extern int64 kmeans_fit_max_rows(int d, int k, SegmentScale scale);
extern void kmeans_resolve_transforms(const KMeansOptions *opts, int d,
									  uint8 *transform);
extern SegmentModel *kmeans_fit_sample(double *X, int64 n_sample, int64 n_total,
									   int d, int64 n_null, int k,
									   const KMeansOptions *opts);

/* kmeans_step.c: the pass state, as C sees it (see kmeans_step.c) */
typedef struct KMeansStepState KMeansStepState;

extern KMeansStepState *kmeans_step_state_check(Datum datum);
extern KMeansStepState *kmeans_step_state_new(MemoryContext context, const SegmentModel *m);
extern void kmeans_step_state_add(KMeansStepState *st, const SegmentModel *m, const double *x,
								  double *z, double *dist2);
extern SegmentModel *kmeans_step_state_model(const KMeansStepState *st);
extern int64 kmeans_step_state_rows(const KMeansStepState *st, int64 *n_null);
extern void kmeans_step_state_stats(const KMeansStepState *st, double *mean,
									double *var, double *fmin, double *fmax);
extern SegmentModel *kmeans_step_update(const KMeansStepState *st, bool move,
										double *shift, double *tol_abs);
extern SegmentModel *kmeans_step_template_model(int d, const KMeansOptions *opts);
extern SegmentModel *kmeans_step_initial_model(const KMeansStepState *stats, int k,
											   const KMeansOptions *opts,
											   const double *init_raw);

#endif							/* SEGMENT_KMEANS_SCALE_H */
