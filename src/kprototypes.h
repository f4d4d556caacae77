/*-------------------------------------------------------------------------
 *
 * kprototypes.h
 *	  k-prototypes kernel on plain C arrays (no Datums, no fmgr): clustering
 *	  of rows with numeric and categorical features (Huang 1997, 1998).
 *
 * The caller owns every big array: the numeric rows X (n*d, already in
 * model space), the categorical codes C (n*m, feature j's categories coded
 * 0..n_levels[j]-1 in byte order of their text), the outputs, and one
 * scratch workspace of kproto_workspace_bytes() bytes, so the glue can
 * check the memory need before allocating anything.
 *
 * Glossary:
 *	  n, d, m, k	rows, numeric features, categorical features, clusters
 *	  prototype	a numeric centroid (mean) plus one category (mode) per
 *				categorical feature
 *	  cost		sum over rows of the squared Euclidean distance of the
 *				numeric part to the prototype's centroid plus gamma times the
 *				number of categorical features differing from its modes
 *
 * src/kprototypes.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_KPROTOTYPES_H
#define SEGMENT_KPROTOTYPES_H

/* most categorical features a row may have (segment_model uses the same) */
#define SEGMENT_KPROTO_MAX_M_KERNEL 1000

/* initialization methods (values are stored in segment_model) */
typedef enum SegmentKProtoInit
{
	SEGMENT_KPROTO_INIT_HUANG = 0,
	SEGMENT_KPROTO_INIT_CAO,
	SEGMENT_KPROTO_INIT_PLUSPLUS,
	SEGMENT_KPROTO_INIT_GIVEN
} SegmentKProtoInit;

typedef struct KProtoParams
{
	int			k;
	int			d;				/* numeric features, >= 1 */
	int			m;				/* categorical features, >= 1 */
	const int32 *n_levels;		/* m: categories of each categorical feature */
	double		gamma;			/* weight of one categorical mismatch, >= 0 */
	int			max_iter;		/* cap on iterations per run */
	double		tol;			/* a run stops when an iteration lowers the
								 * cost by no more than tol * cost (0: stops
								 * when the cost stops decreasing) */
	int			n_init;			/* restarts; lowest cost wins (ties: earliest) */
	uint64		seed;			/* run r draws from a pg_prng seeded by (seed, r) */
	SegmentKProtoInit init;
	const double *init_num;		/* k*d, model space, for INIT_GIVEN */
	const int32 *init_cat;		/* k*m codes (-1: not a category of the
								 * data), for INIT_GIVEN */
	bool		verbose;		/* NOTICE per run */
} KProtoParams;

typedef struct KProtoResult
{
	double	   *centroids;		/* caller-provided k*d, output */
	int32	   *modes;			/* caller-provided k*m, output */
	int32	   *labels;			/* caller-provided n, output, 0..k-1 */
	int64	   *sizes;			/* caller-provided k, output */
	double		cost;			/* of the final labels and prototypes */
	int			n_iter;			/* iterations of the winning run */
	int			best_run;		/* 0-based index of the winning run */
	bool		converged;		/* stopped on no move / cost, not max_iter */
} KProtoResult;

/* bytes of scratch kproto_run needs */
extern Size kproto_workspace_bytes(int64 n, int d, int m, int k, const int32 *n_levels);

/* Cluster n rows; the caller checked 1 <= k <= distinct rows. */
extern void kproto_run(const double *X, const int32 *C, int64 n,
					   const KProtoParams *params, KProtoResult *result, void *work);

/* Mixed cost of one row to one prototype. */
extern double kproto_cost(const double *x, const int32 *xc, const double *centroid,
						  const int32 *mode, int d, int m, double gamma);

/* Renumber clusters: size descending, then centroid, then mode codes, ascending. */
extern void kproto_canonicalize(double *centroids, int32 *modes, int64 *sizes,
								int32 *labels, int64 n, int d, int m, int k);

#endif							/* SEGMENT_KPROTOTYPES_H */
