/*-------------------------------------------------------------------------
 *
 * kmeans.h
 *	  k-means kernel on plain C arrays (no Datums, no fmgr).
 *
 * The caller owns every big array: X, the outputs, and one scratch
 * workspace whose size kmeans_workspace_bytes() reports up front, so the
 * fmgr glue can check it against work_mem before allocating anything.
 *
 * Glossary:
 *	  n		number of points (rows of X), always int64
 *	  d		number of features (columns of X)
 *	  k		number of clusters
 *	  run	one restart (seeding + Lloyd iterations); n_init runs per fit
 *
 * src/kmeans.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_KMEANS_H
#define SEGMENT_KMEANS_H

typedef enum KMeansInit
{
	KMEANS_INIT_PLUSPLUS,
	KMEANS_INIT_RANDOM,
	KMEANS_INIT_GIVEN
} KMeansInit;

/* how the Lloyd assignment step is computed; AUTO (0) picks by d and k */
typedef enum KMeansAlgorithm
{
	KMEANS_ALGO_AUTO = 0,
	KMEANS_ALGO_LLOYD_LOOP,		/* plain Lloyd, tight distance loops */
	KMEANS_ALGO_LLOYD_BLAS,		/* plain Lloyd, cblas_dgemm distance blocks */
	KMEANS_ALGO_HAMERLY,		/* Hamerly bounds, tight distance loops */
	KMEANS_ALGO_HAMERLY_BLAS	/* Hamerly bounds, dgemm blocks for the rows
								 * whose bounds fail */
} KMeansAlgorithm;

/* k-means++ trials: 2 + ln k is at most 11 for k <= 10000 */
#define KMEANS_MAX_TRIALS 16

/*
 * Initial centers of k-means++ runs computed ahead for several k on the
 * same rows (kmeans_sweep).  Greedy k-means++ is incremental: with the same
 * random stream and the same number of local trials, the first k centers
 * of a seeding for a larger k are exactly the seeding for k.  So one
 * seeding per run and per trial count serves every k of a sweep, and each
 * fit still equals kmeans_fit with the same seed.
 */
typedef struct KMeansSeedCache
{
	uint64		seed;			/* params->seed the seedings were made with */
	int			n_init;			/* runs seeded */
	int			d;
	int			k_max[KMEANS_MAX_TRIALS + 1];	/* per trial count: centers per run, 0: none */
	double	   *centers[KMEANS_MAX_TRIALS + 1]; /* per trial count: n_init * k_max * d */
} KMeansSeedCache;

typedef struct KMeansParams
{
	int			k;				/* clusters, 1..n distinct */
	int			d;				/* dimensions */
	int			max_iter;		/* cap on Lloyd iterations per run (sklearn
								 * default 300) */
	double		tol;			/* relative tolerance as in scikit-learn:
								 * absolute tol = tol * mean(per-feature
								 * variance of X); stop when sum of squared
								 * center shifts <= that */
	int			n_init;			/* restarts; best inertia wins (ties: earliest
								 * run) */
	uint64		seed;			/* drives a local pg_prng_state; run r uses a
								 * seed derived deterministically from (seed,
								 * r) */
	KMeansInit	init;
	const double *init_centroids;	/* k*d row-major, only for
									 * KMEANS_INIT_GIVEN (then n_init is
									 * forced to 1) */
	bool		verbose;		/* ereport(NOTICE) per run and per iteration:
								 * run, iteration, inertia, center shift */
	KMeansAlgorithm algorithm;	/* AUTO unless testing; all choices give
								 * the same clustering up to rounding in
								 * near-ties (LOOP and HAMERLY: identical) */
	const KMeansSeedCache *seed_cache;	/* optional k-means++ seedings made
										 * ahead on the same X (NULL: seed
										 * each run here) */
} KMeansParams;

typedef struct KMeansResult
{
	double	   *centroids;		/* caller-provided k*d, output */
	int32	   *labels;			/* caller-provided n, output, 0..k-1 */
	int64	   *sizes;			/* caller-provided k, output */
	double		inertia;		/* sum of squared distances to assigned
								 * centroid */
	int			n_iter;			/* iterations of the winning run */
	int			best_run;		/* 0-based index of the winning restart */
	bool		converged;		/* winning run stopped on tol/unchanged
								 * labels, not on max_iter */
} KMeansResult;

/* bytes of scratch kmeans_run needs for n points (not counting X, centroids, labels, sizes) */
extern Size kmeans_workspace_bytes(int64 n, int d, int k);

/* X: n*d row-major, finite values (caller validated). work: kmeans_workspace_bytes() bytes, MAXALIGNed. */
extern void kmeans_run(const double *X, int64 n, const KMeansParams *params,
					   KMeansResult *result, void *work);

/* Seed every k-means++ run for each k in [k_min, k_max] ahead into cache (pfree with kmeans_seed_cache_free). */
extern void kmeans_seed_cache_fill(KMeansSeedCache *cache, const double *X, int64 n, int d,
								   int k_min, int k_max, uint64 seed, int n_init);

/* Free what kmeans_seed_cache_fill allocated. */
extern void kmeans_seed_cache_free(KMeansSeedCache *cache);

/* labels of every point for fixed centroids, and the inertia; used by assign / evaluation. */
extern double kmeans_assign(const double *X, int64 n, int d,
							const double *centroids, int k, int32 *labels);

/* nearest centroid for one point; writes k squared distances to dist2 if not NULL */
extern int	kmeans_nearest(const double *x, int d, const double *centroids,
						   int k, double *dist2);

/* renumber clusters canonically: by size descending, then centroids lexicographically ascending; permutes centroids, sizes, labels in place */
extern void kmeans_canonicalize(double *centroids, int64 *sizes, int32 *labels,
								int64 n, int d, int k);

/* the algorithm AUTO resolves to for these dimensions */
extern KMeansAlgorithm kmeans_choose_algorithm(int64 n, int d, int k);

#endif							/* SEGMENT_KMEANS_H */
