/*-------------------------------------------------------------------------
 *
 * kmeans.c
 *	  k-means kernel: k-means++ / random seeding, Lloyd iterations with
 *	  Hamerly bounds or BLAS distance blocks, deterministic restarts.
 *
 * This file works on plain C arrays only.  The caller validates input
 * (finite values, 1 <= k <= number of distinct rows), owns every big array
 * and passes one scratch workspace of kmeans_workspace_bytes() bytes, so a
 * memory budget can be enforced before any work starts.  Nothing here
 * allocates except kmeans_canonicalize() (O(k*d), once).
 *
 * Glossary:
 *	  n, d, k	points, features, clusters
 *	  run		one restart: seeding followed by Lloyd iterations
 *	  potential	sum over points of the squared distance to the closest
 *				chosen center (k-means++)
 *	  u, l		Hamerly upper bound on the distance to the assigned center,
 *				lower bound on the distance to every other center
 *	  s(j)		half the distance from center j to its nearest other center
 *
 * ALGORITHMS AND RATIONALE
 *
 * Seeding.  "k-means++" is the greedy variant of Arthur & Vassilvitskii,
 * "k-means++: the advantages of careful seeding", SODA 2007, exactly as
 * scikit-learn implements it (sklearn/cluster/_kmeans.py,
 * _kmeans_plusplus): the first center is a uniformly drawn point; each
 * further center is chosen among n_local_trials = 2 + floor(ln k)
 * candidates drawn with probability proportional to the current squared
 * distance to the closest center, keeping the candidate that minimizes the
 * resulting potential (ties: earliest trial).  All candidates of one step
 * are evaluated in a single pass over X, then the closest distances are
 * updated in a second pass, so only one n-vector is needed.  Points with
 * zero weight (duplicates of chosen centers) can never be drawn, so with
 * at least k distinct rows the centers are distinct.  "random" draws k rows
 * uniformly, rejecting rows equal by value to one already drawn (with a
 * bounded number of draws, then a deterministic scan for distinct rows).
 * Randomness comes only from a local pg_prng_state; run r is seeded with a
 * splitmix64 hash of (seed, r), so results depend only on input order and
 * seed (the caller sorts rows to remove the order dependence).
 *
 * Lloyd iterations follow scikit-learn's _kmeans_single_lloyd: assign
 * labels to the current centers and recompute centers as means; stop with
 * "strict convergence" if no label changed, else if the sum of squared
 * center shifts is <= tol * mean(per-feature variance of X); after the loop,
 * if not strictly converged, assign once more so labels match the final
 * centers.  Inertia uses the final centers and labels.  Means are
 * accumulated in double from scratch every iteration (never updated
 * incrementally), so every assignment method below yields bit-identical
 * centers for identical labels.
 *
 * Empty clusters are relocated as scikit-learn does
 * (_relocate_empty_clusters_dense): the empty clusters take, in index order,
 * the points farthest from their assigned (pre-update) centers, farthest
 * first, ties to the lowest row index; each such point is moved from its
 * old cluster's sum to the empty cluster.  Labels are not changed (the next
 * assignment does that).  If every point coincides with its center
 * (fewer distinct rows than k) relocation is pointless and skipped.  After
 * the final assignment any cluster that is still empty (possible only in
 * degenerate inputs) takes the farthest point, which is relabelled, and
 * the donor's center becomes the mean of its remaining points; so no
 * cluster is left empty whenever the rows allow it.
 *
 * Acceleration.  For small d*k the assignment uses Hamerly, "Making
 * k-means even faster", SDM 2010: one upper bound u and one lower bound l
 * per point, updated by the center shifts (u += shift(a), l -= the largest
 * shift of another center); a point keeps its label without any distance
 * if u < max(s(a), l), else after tightening u to the exact distance, and
 * only otherwise all k distances are computed.  The comparison keeps a
 * safety margin (relative 1e-12 plus 1e-13*sqrt(d)*max|x|, far above the
 * rounding error of the bounds), so a point is only skipped when its label
 * provably cannot change; recomputed points use the same distance loop as
 * plain Lloyd, ties to the lowest index.  Hence Hamerly gives exactly the
 * labels and centers of plain Lloyd (tested).  Elkan (2003) keeps k lower
 * bounds per point; Hamerly's single bound costs 16 bytes per point and
 * is faster for the small k of customer segmentation (Hamerly 2010, Table 3).
 *
 * For large d*k distances come from BLAS: ||x||^2 - 2 X C^T + ||c||^2
 * (clamped at 0) with cblas_dgemm on blocks of a few thousand rows copied,
 * centered on the column means (as scikit-learn centers X), into the
 * workspace; CHECK_FOR_INTERRUPTS runs between blocks since it cannot run
 * inside a BLAS call.  The default there (HAMERLY_BLAS) keeps Hamerly's
 * bounds and queues only the rows whose bounds fail into dgemm blocks; the
 * bounds of such rows are widened by the rounding bound of that formula,
 * (4d + 8) * DBL_EPSILON * (||x||^2 + max ||c||^2), so they stay valid.
 * When more than half of the rows fail (poorly separated data) it does
 * plain dgemm passes for the next 4 iterations, then tries the bounds
 * again.  The BLAS paths may differ from the loop paths only in exact
 * near-ties.  Thresholds are in kmeans_choose_algorithm().
 *
 * src/kmeans.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>
#include <limits.h>

#include <cblas.h>

#include "common/int.h"
#include "common/pg_prng.h"
#include "miscadmin.h"

#include "kmeans.h"

/* rows between interrupt checks in loops over n */
#define KM_CHUNK		16384
/* bounds on the rows of one BLAS distance block */
#define KM_BLOCK_MAX	4096
#define KM_BLOCK_MIN	8
/* HAMERLY_BLAS: above this fraction of recomputed rows, do plain passes */
#define KM_HB_FULL_FRACTION	0.5
#define KM_HB_FULL_PASSES	4
/* target size of one BLAS block (X rows + distances), in doubles */
#define KM_BLOCK_DOUBLES	131072
/* rows per k-means++ prefix-sum block */
#define KM_SEED_BLOCK	1024

/* scratch arrays carved out of the caller's workspace */
typedef struct KMWork
{
	int32	   *labels;			/* n: labels of the current run */
	float	   *upper;			/* n: Hamerly u, rounded up to float */
	float	   *lower;			/* n: Hamerly l, rounded down to float */
	double	   *closest;		/* n: seeding's squared distances (the same
								 * memory as upper and lower) */
	double	   *cum_block;		/* n/KM_SEED_BLOCK + 1: seeding's prefix sums
								 * at block ends */
	double	   *centers;		/* k*d: current centers */
	double	   *centers_new;	/* k*d: sums, then new centers */
	int64	   *counts;			/* k */
	double	   *shift;			/* k: center shift of the last update */
	double	   *half_sep;		/* k: Hamerly s(j) */
	double	   *cum_shift;		/* k: Hamerly cumulative shift per center */
	double	   *mean;			/* d: column means of X */
	int64	   *far_idx;		/* k: relocation candidates */
	double	   *far_d2;			/* k */
	int64	   *cand;			/* k-means++ candidates */
	double	   *xblock;			/* B*d: centered rows of a BLAS block */
	double	   *dblock;			/* B*k: distances of a BLAS block */
	double	   *xnorm;			/* B: squared norms of the block rows */
	double	   *ccent;			/* k*d: centered centers */
	double	   *cnorm;			/* k: their squared norms */
	double		cnorm_max;		/* largest cnorm */
	int64	   *pend;			/* B: rows queued for a BLAS block */
	int			block_rows;		/* B */
} KMWork;

/* state of one run shared by the assignment steps */
typedef struct KMRunState
{
	const double *X;
	int64		n;
	int			d;
	int			k;
	KMeansAlgorithm algo;
	KMWork	   *w;
	bool		bounds_valid;	/* Hamerly bounds initialized */
	int			full_passes_left;	/* HAMERLY_BLAS: plain dgemm passes
									 * before trying bounds again */
	double		cum_max;		/* Hamerly: sum of the largest shift of
								 * each update */
	double		margin_abs;		/* absolute safety margin for bounds */
} KMRunState;

/* checked size arithmetic; errors with 54000 on overflow */
static Size
km_mul(Size a, Size b)
{
	uint64		r;

	if (pg_mul_u64_overflow((uint64) a, (uint64) b, &r) || r > (uint64) SIZE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("k-means workspace size overflows")));
	return (Size) r;
}

/* checked addition of a MAXALIGNed segment to a running total */
static Size
km_add(Size total, Size bytes)
{
	uint64		r;

	if (pg_add_u64_overflow((uint64) total, (uint64) MAXALIGN(bytes), &r) ||
		r > (uint64) SIZE_MAX - MAXIMUM_ALIGNOF)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("k-means workspace size overflows")));
	return (Size) r;
}

/*
 * Squared Euclidean distance; the one distance loop every exact path uses.
 * d <= 4 is written out (callers inline it with a constant d); the sum is
 * formed in the same order either way, so results are bit-identical.
 */
static pg_attribute_always_inline double
sqdist(const double *a, const double *b, int d)
{
	double		s;
	double		t;
	int			j;

	if (d >= 1 && d <= 4)
	{
		t = a[0] - b[0];
		s = t * t;
		if (d > 1)
		{
			t = a[1] - b[1];
			s += t * t;
		}
		if (d > 2)
		{
			t = a[2] - b[2];
			s += t * t;
		}
		if (d > 3)
		{
			t = a[3] - b[3];
			s += t * t;
		}
		return s;
	}
	s = 0.0;
	for (j = 0; j < d; j++)
	{
		t = a[j] - b[j];
		s += t * t;
	}
	return s;
}

/* number of k-means++ local trials, as scikit-learn: 2 + floor(ln k) */
static int
km_local_trials(int k)
{
	return Min(2 + (int) floor(log((double) k)), KMEANS_MAX_TRIALS);
}

/* rows per BLAS distance block */
static int
km_block_rows(int64 n, int d, int k)
{
	int64		b = KM_BLOCK_DOUBLES / ((int64) d + k + 1);

	if (b > KM_BLOCK_MAX)
		b = KM_BLOCK_MAX;
	if (b < KM_BLOCK_MIN)
		b = KM_BLOCK_MIN;
	if (b > n)
		b = Max(n, 1);
	return (int) b;
}

/* can the BLAS path run without int overflow in dgemm arguments? */
static bool
km_blas_fits(int64 n, int d, int k)
{
	int64		b = km_block_rows(n, d, k);

	return (int64) k * d <= INT_MAX &&
		b * d <= INT_MAX &&
		b * k <= INT_MAX;
}

/*
 * The algorithm AUTO resolves to for these dimensions.
 *
 * Measured with test/kernel (single-threaded OpenBLAS, 2-core x86-64,
 * 50 Lloyd iterations, ms): at d = 3, k = 5, n = 1M: loop 1730, Hamerly
 * 360, dgemm 1230.  At d*k >= 128 dgemm beats the loops once the bounds
 * fail often (uniform 200k x 8, k = 16: Hamerly 567, dgemm 408,
 * Hamerly+dgemm 448; uniform 200k x 32, k = 16: 2034 / 1176 / 1112) while
 * bounds win on separated clusters (blobs 200k x 32, k = 16: 641 / 1249 /
 * 551), so Hamerly+dgemm is the choice for d >= 16 or d*k >= 128.
 */
KMeansAlgorithm
kmeans_choose_algorithm(int64 n, int d, int k)
{
	if (k > 1 && (d >= 16 || (int64) d * k >= 128) && km_blas_fits(n, d, k))
		return KMEANS_ALGO_HAMERLY_BLAS;
	return KMEANS_ALGO_HAMERLY;
}

/* lay out the workspace (base may be NULL to only size it); returns bytes */
static Size
km_layout(int64 n, int d, int k, char *base, KMWork *w)
{
	Size		off = 0;
	Size		nn = (Size) Max(n, 1);
	Size		kd = km_mul((Size) k, (Size) d);
	int			trials = km_local_trials(k);
	int			B = km_block_rows(n, d, k);

#define KM_SEG(field, type, count) \
	do { \
		Size	bytes_ = km_mul(sizeof(type), (count)); \
		if (base) \
			w->field = (type *) (base + off); \
		off = km_add(off, bytes_); \
	} while (0)

	KM_SEG(labels, int32, nn);
	KM_SEG(closest, double, nn);	/* upper and lower live here too */
	KM_SEG(cum_block, double, nn / KM_SEED_BLOCK + 1);
	KM_SEG(centers, double, kd);
	KM_SEG(centers_new, double, kd);
	KM_SEG(counts, int64, (Size) k);
	KM_SEG(shift, double, (Size) k);
	KM_SEG(half_sep, double, (Size) k);
	KM_SEG(cum_shift, double, (Size) k);
	KM_SEG(mean, double, (Size) d);
	KM_SEG(far_idx, int64, (Size) k);
	KM_SEG(far_d2, double, (Size) k);
	KM_SEG(cand, int64, (Size) trials);
	KM_SEG(xblock, double, km_mul((Size) B, (Size) d));
	KM_SEG(dblock, double, km_mul((Size) B, (Size) k));
	KM_SEG(xnorm, double, (Size) B);
	KM_SEG(ccent, double, kd);
	KM_SEG(cnorm, double, (Size) k);
	KM_SEG(pend, int64, (Size) B);
#undef KM_SEG

	if (base)
	{
		w->block_rows = B;
		w->upper = (float *) w->closest;
		w->lower = (float *) w->closest + nn;
	}
	return off;
}

/* bytes of scratch kmeans_run needs for n points (not counting X, centroids, labels, sizes) */
Size
kmeans_workspace_bytes(int64 n, int d, int k)
{
	return km_layout(n, d, k, NULL, NULL);
}

/* nearest centroid for one point; writes k squared distances to dist2 if not NULL */
int
kmeans_nearest(const double *x, int d, const double *centroids, int k, double *dist2)
{
	int			best = 0;
	double		bestd = DBL_MAX;
	int			j;

	for (j = 0; j < k; j++)
	{
		double		dj = sqdist(x, centroids + (Size) j * d, d);

		if (dist2)
			dist2[j] = dj;
		if (dj < bestd)
		{
			bestd = dj;
			best = j;
		}
	}
	return best;
}

/* nearest and second-nearest squared distances of one point (ties: lowest index) */
static pg_attribute_always_inline int
km_nearest2(const double *x, int d, const double *C, int k,
			double *best_d2, double *second_d2)
{
	int			best = 0;
	double		b1 = DBL_MAX;
	double		b2 = DBL_MAX;
	int			j;

	for (j = 0; j < k; j++)
	{
		double		dj = sqdist(x, C + (Size) j * d, d);
		bool		lt = (dj < b1);

		/* branch-free form of: if (dj < b1) shift b1 to b2; else if (dj < b2) */
		b2 = lt ? b1 : (dj < b2 ? dj : b2);
		best = lt ? j : best;
		b1 = lt ? dj : b1;
	}
	*best_d2 = b1;
	*second_d2 = b2;
	return best;
}

/* labels of every point for fixed centroids, and the inertia; used by assign / evaluation. */
double
kmeans_assign(const double *X, int64 n, int d, const double *centroids, int k, int32 *labels)
{
	double		inertia = 0.0;
	int64		i0;

	for (i0 = 0; i0 < n; i0 += KM_CHUNK)
	{
		int64		iend = Min(n, i0 + KM_CHUNK);
		int64		i;

		CHECK_FOR_INTERRUPTS();
		for (i = i0; i < iend; i++)
		{
			double		d1,
						d2;
			int			a = km_nearest2(X + i * d, d, centroids, k, &d1, &d2);

			if (labels)
				labels[i] = a;
			inertia += d1;
		}
	}
	return inertia;
}

/* sum of squared distances of points to their labelled centers */
static double
km_inertia(const double *X, int64 n, int d, const double *C, const int32 *labels)
{
	double		inertia = 0.0;
	int64		i0;

	for (i0 = 0; i0 < n; i0 += KM_CHUNK)
	{
		int64		iend = Min(n, i0 + KM_CHUNK);
		int64		i;

		CHECK_FOR_INTERRUPTS();
		for (i = i0; i < iend; i++)
			inertia += sqdist(X + i * d, C + (Size) labels[i] * d, d);
	}
	return inertia;
}

/* 64-bit mixer (splitmix64 finalizer) to derive per-run seeds */
static uint64
km_mix64(uint64 z)
{
	z += UINT64CONST(0x9E3779B97F4A7C15);
	z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/*
 * Hamerly bounds are kept as floats (half the memory of doubles), rounded
 * outward so they stay bounds: a looser bound only sends a row to an exact
 * distance computation more often, never to a wrong label.
 */
static inline float
km_round_up(double v)
{
	/* 2^-22 relative is at least two float ulps: the nearest float stays >= v */
	return (float) (v + fabs(v) * 0x1p-22 + 0x1p-140);
}

/* A float no larger than v (see km_round_up); finite when v is. */
static inline float
km_round_down(double v)
{
	float		f = (float) (v - fabs(v) * 0x1p-22 - 0x1p-140);

	return (f > FLT_MAX) ? FLT_MAX : f;
}

/*
 * First row whose cumulative weight exceeds r, or -1: binary search over
 * the prefix sums at block ends, then a scan inside the block that adds
 * the same values in the same order, so the sums are the very ones a full
 * prefix-sum array would hold.
 */
static int64
km_search_cumulative(const double *closest, const double *cum_block, int64 n, double r)
{
	int64		nblocks = (n + KM_SEED_BLOCK - 1) / KM_SEED_BLOCK;
	int64		lo = 0;
	int64		hi = nblocks;
	int64		i;
	double		acc;

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (r < cum_block[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo >= nblocks)
		return -1;
	acc = lo > 0 ? cum_block[lo - 1] : 0.0;
	for (i = lo * KM_SEED_BLOCK; i < n; i++)
	{
		acc += closest[i];
		if (r < acc)
			return i;
	}
	return -1;					/* not reached: the block's sum exceeds r */
}

/* closest[i] = min(closest[i], |x_i - c|^2) (or the distance when first); block prefix sums; the total */
static double
km_seed_update(const double *X, int64 n, int d, const double *c, double *closest,
			   double *cum_block, bool first)
{
	double		pot = 0.0;
	int64		i0;

	for (i0 = 0; i0 < n; i0 += KM_CHUNK)
	{
		int64		iend = Min(n, i0 + KM_CHUNK);
		int64		i;

		CHECK_FOR_INTERRUPTS();
		for (i = i0; i < iend; i++)
		{
			double		dt = sqdist(X + i * d, c, d);

			if (first || dt < closest[i])
				closest[i] = dt;
			pot += closest[i];
			if ((i + 1) % KM_SEED_BLOCK == 0 || i + 1 == n)
				cum_block[i / KM_SEED_BLOCK] = pot;
		}
	}
	return pot;
}

/*
 * k-means++ seeding (greedy, scikit-learn's variant) into w->centers.
 * Candidates are drawn by binary search in the prefix sums of the squared
 * distances at block ends, which the distance update writes as it goes
 * (closest[] shares memory with the Hamerly bounds, unused until the
 * iterations start).  trials is
 * km_local_trials(k) of the k being fitted (the seed cache seeds ahead for
 * a larger k with the same trials).
 */
static void
km_seed_plusplus(const double *X, int64 n, int d, int k, int trials, KMWork *w,
				 pg_prng_state *rng)
{
	double	   *closest = w->closest;
	double	   *cum_block = w->cum_block;
	double		pot;
	int64		first;
	int			c;

	first = (int64) pg_prng_uint64_range(rng, 0, (uint64) (n - 1));
	memcpy(w->centers, X + first * d, sizeof(double) * d);
	pot = km_seed_update(X, n, d, w->centers, closest, cum_block, true);

	for (c = 1; c < k; c++)
	{
		double	   *newc = w->centers + (Size) c * d;
		const double *cand[KMEANS_MAX_TRIALS];
		double		acc[KMEANS_MAX_TRIALS];
		int			t;
		int			best_t;
		int64		chosen = -1;
		int64		i0;

		CHECK_FOR_INTERRUPTS();

		if (pot <= 0.0)
		{
			/* fewer distinct rows than k: any row (duplicates a center) */
			chosen = (int64) pg_prng_uint64_range(rng, 0, (uint64) (n - 1));
			memcpy(newc, X + chosen * d, sizeof(double) * d);
			continue;
		}

		/* draw candidates: first row whose cumulative weight exceeds r */
		for (t = 0; t < trials; t++)
		{
			double		r = pg_prng_double(rng) * pot;

			w->cand[t] = km_search_cumulative(closest, cum_block, n, r);
		}
		for (t = 0; t < trials; t++)
		{
			/* rounding may leave r >= the total: take the last weighted row */
			if (w->cand[t] < 0)
			{
				if (chosen < 0)
				{
					for (chosen = n - 1; chosen > 0; chosen--)
						if (closest[chosen] > 0.0)
							break;
				}
				w->cand[t] = chosen;
			}
			cand[t] = X + w->cand[t] * d;
			acc[t] = 0.0;
		}

		/* potential of each candidate, all in one pass over X */
		for (i0 = 0; i0 < n; i0 += KM_CHUNK)
		{
			int64		iend = Min(n, i0 + KM_CHUNK);
			int64		i;

			CHECK_FOR_INTERRUPTS();
			for (i = i0; i < iend; i++)
			{
				const double *x = X + i * d;
				double		ci = closest[i];

				for (t = 0; t < trials; t++)
				{
					double		dt = sqdist(x, cand[t], d);

					acc[t] += Min(ci, dt);
				}
			}
		}
		best_t = 0;
		for (t = 1; t < trials; t++)
			if (acc[t] < acc[best_t])
				best_t = t;
		memcpy(newc, cand[best_t], sizeof(double) * d);

		/* update closest distances, their prefix sums and the potential */
		pot = km_seed_update(X, n, d, newc, closest, cum_block, false);
	}
}

/* is row x equal by value to one of the first m centers? */
static bool
km_row_in_centers(const double *x, const double *C, int m, int d)
{
	int			c;

	for (c = 0; c < m; c++)
		if (memcmp(x, C + (Size) c * d, sizeof(double) * d) == 0)
			return true;
	return false;
}

/* random seeding: k rows drawn uniformly, distinct by value where possible */
static void
km_seed_random(const double *X, int64 n, int d, int k, KMWork *w,
			   pg_prng_state *rng)
{
	int			c;

	for (c = 0; c < k; c++)
	{
		double	   *newc = w->centers + (Size) c * d;
		int64		attempts = 0;
		int64		idx = -1;
		int64		limit = 64 + 8 * (int64) k;

		CHECK_FOR_INTERRUPTS();
		while (attempts++ < limit)
		{
			int64		cand = (int64) pg_prng_uint64_range(rng, 0, (uint64) (n - 1));

			if (!km_row_in_centers(X + cand * d, w->centers, c, d))
			{
				idx = cand;
				break;
			}
		}
		if (idx < 0)
		{
			/* many duplicates: scan from a random start for a new row */
			int64		start = (int64) pg_prng_uint64_range(rng, 0, (uint64) (n - 1));
			int64		s;

			idx = start;
			for (s = 0; s < n; s++)
			{
				int64		cand = (start + s) % n;

				if ((s & (KM_CHUNK - 1)) == 0)
					CHECK_FOR_INTERRUPTS();
				if (!km_row_in_centers(X + cand * d, w->centers, c, d))
				{
					idx = cand;
					break;
				}
			}
		}
		memcpy(newc, X + idx * d, sizeof(double) * d);
	}
}

/* add row x to the sums and count of cluster a (fused into every assignment pass) */
static pg_attribute_always_inline void
km_accumulate(KMWork *w, const double *x, int a, const int d)
{
	double	   *s = w->centers_new + (Size) a * d;
	int			t;

	if (d >= 1 && d <= 4)
	{
		/* written out for small constant d */
		s[0] += x[0];
		if (d > 1)
			s[1] += x[1];
		if (d > 2)
			s[2] += x[2];
		if (d > 3)
			s[3] += x[3];
	}
	else
		for (t = 0; t < d; t++)
			s[t] += x[t];
	w->counts[a]++;
}

/*
 * Full assignment of rows [i0, iend) with tight loops.  Inlined with a
 * constant d for small d so the distance loops unroll (same operation order,
 * so bit-identical results).
 */
static pg_attribute_always_inline int64
km_loop_range(KMRunState *st, int64 i0, int64 iend, bool accumulate,
			  const int d)
{
	const double *X = st->X;
	int			k = st->k;
	KMWork	   *w = st->w;
	int32	   *labels = w->labels;
	const double *C = w->centers;
	bool		hamerly = (st->algo == KMEANS_ALGO_HAMERLY);
	int64		changed = 0;
	int64		i;

	for (i = i0; i < iend; i++)
	{
		const double *x = X + i * d;
		double		d1,
					d2;
		int			a = km_nearest2(x, d, C, k, &d1, &d2);

		if (a != labels[i])
		{
			labels[i] = a;
			changed++;
		}
		if (hamerly)
		{
			w->upper[i] = km_round_up(sqrt(d1) - w->cum_shift[a]);
			w->lower[i] = km_round_down(((k > 1) ? sqrt(d2) : DBL_MAX) + st->cum_max);
		}
		if (accumulate)
			km_accumulate(w, x, a, d);
	}
	return changed;
}

/*
 * Hamerly assignment of rows [i0, iend).  Bounds are stored relative to
 * cumulative shifts so skipped rows need no write: the upper bound is
 * upper[i] + cum_shift[a], the lower bound lower[i] - cum_max, where
 * cum_shift[j] sums the shifts of center j and cum_max sums the largest
 * shift of each update (Hamerly's u += shift(a), l -= max shift).
 */
static pg_attribute_always_inline int64
km_hamerly_range(KMRunState *st, int64 i0, int64 iend, bool accumulate,
				 const int d)
{
	const double *X = st->X;
	int			k = st->k;
	KMWork	   *w = st->w;
	int32	   *labels = w->labels;
	const double *C = w->centers;
	float	   *upper = w->upper;
	float	   *lower = w->lower;
	const double *cum_shift = w->cum_shift;
	const double *half_sep = w->half_sep;
	double		cum_max = st->cum_max;
	double		margin_abs = st->margin_abs + 1e-12 * cum_max;
	int64		changed = 0;
	int64		i;

	for (i = i0; i < iend; i++)
	{
		const double *x = X + i * d;
		int			a = labels[i];
		double		u = upper[i] + cum_shift[a];
		double		l = lower[i] - cum_max;
		double		m = Max(half_sep[a], l);
		double		d1,
					d2;
		int			b;

		if (u + (u + m) * 1e-12 + margin_abs < m)
		{
			if (accumulate)
				km_accumulate(w, x, a, d);
			continue;
		}
		u = sqrt(sqdist(x, C + (Size) a * d, d));
		if (u + (u + m) * 1e-12 + margin_abs < m)
		{
			upper[i] = km_round_up(u - cum_shift[a]);
			if (accumulate)
				km_accumulate(w, x, a, d);
			continue;
		}
		b = km_nearest2(x, d, C, k, &d1, &d2);
		if (b != a)
		{
			labels[i] = b;
			changed++;
		}
		upper[i] = km_round_up(sqrt(d1) - cum_shift[b]);
		lower[i] = km_round_down(((k > 1) ? sqrt(d2) : DBL_MAX) + cum_max);
		if (accumulate)
			km_accumulate(w, x, b, d);
	}
	return changed;
}

/* dispatch a range worker with a compile-time d for d <= 4 */
#define KM_DISPATCH_D(fn, st, i0, iend, acc) \
	((st)->d == 2 ? fn(st, i0, iend, acc, 2) : \
	 (st)->d == 3 ? fn(st, i0, iend, acc, 3) : \
	 (st)->d == 4 ? fn(st, i0, iend, acc, 4) : \
	 (st)->d == 1 ? fn(st, i0, iend, acc, 1) : \
	 fn(st, i0, iend, acc, (st)->d))

/* zero the sums and counts before an accumulating pass */
static void
km_reset_sums(KMRunState *st)
{
	memset(st->w->centers_new, 0, sizeof(double) * st->k * st->d);
	memset(st->w->counts, 0, sizeof(int64) * st->k);
}

/* full assignment with tight loops; returns the number of changed labels */
static int64
km_assign_loop(KMRunState *st, bool accumulate)
{
	int64		changed = 0;
	int64		i0;

	for (i0 = 0; i0 < st->n; i0 += KM_CHUNK)
	{
		int64		iend = Min(st->n, i0 + KM_CHUNK);

		CHECK_FOR_INTERRUPTS();
		changed += KM_DISPATCH_D(km_loop_range, st, i0, iend, accumulate);
	}
	if (st->algo == KMEANS_ALGO_HAMERLY)
		st->bounds_valid = true;
	return changed;
}

/* Hamerly's s(j): half the distance from each center to its nearest other center. */
static void
km_half_separation(double *half_sep, const double *C, int k, int d)
{
	int			j;
	int			j2;

	for (j = 0; j < k; j++)
		half_sep[j] = DBL_MAX;
	for (j = 0; j < k; j++)
		for (j2 = j + 1; j2 < k; j2++)
		{
			double		h = 0.5 * sqrt(sqdist(C + (Size) j * d, C + (Size) j2 * d, d));

			if (h < half_sep[j])
				half_sep[j] = h;
			if (h < half_sep[j2])
				half_sep[j2] = h;
		}
}

/* Hamerly assignment using the bounds; returns the number of changed labels */
static int64
km_assign_hamerly(KMRunState *st, bool accumulate)
{
	KMWork	   *w = st->w;
	const double *C = w->centers;
	int			d = st->d;
	int			k = st->k;
	int64		changed = 0;
	int64		i0;

	if (!st->bounds_valid)
		return km_assign_loop(st, accumulate);

	km_half_separation(w->half_sep, C, k, d);

	for (i0 = 0; i0 < st->n; i0 += KM_CHUNK)
	{
		int64		iend = Min(st->n, i0 + KM_CHUNK);

		CHECK_FOR_INTERRUPTS();
		changed += KM_DISPATCH_D(km_hamerly_range, st, i0, iend, accumulate);
	}
	return changed;
}

/* Copy row x, centered on the data mean, into block row r; record its squared norm. */
static inline void
km_block_load(KMWork *w, const double *x, int r, int d)
{
	double	   *xb = w->xblock + (Size) r * d;
	double		s = 0.0;
	int			t;

	for (t = 0; t < d; t++)
	{
		xb[t] = x[t] - w->mean[t];
		s += xb[t] * xb[t];
	}
	w->xnorm[r] = s;
}

/* dblock = -2 xblock ccent^T for the first rows rows of the block. */
static inline void
km_block_dgemm(KMWork *w, int rows, int k, int d)
{
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
				rows, k, d, -2.0, w->xblock, d, w->ccent, d,
				0.0, w->dblock, k);
}

/* prepare centered centers and their norms for the BLAS path */
static void
km_blas_prepare(KMRunState *st)
{
	KMWork	   *w = st->w;
	int			d = st->d;
	int			j;

	for (j = 0; j < st->k; j++)
	{
		const double *c = w->centers + (Size) j * d;
		double	   *cc = w->ccent + (Size) j * d;
		double		s = 0.0;
		int			t;

		for (t = 0; t < d; t++)
		{
			cc[t] = c[t] - w->mean[t];
			s += cc[t] * cc[t];
		}
		w->cnorm[j] = s;
	}
}

/* full assignment with dgemm distance blocks; returns the number of changed labels */
static int64
km_assign_blas(KMRunState *st, bool accumulate)
{
	const double *X = st->X;
	int			d = st->d;
	int			k = st->k;
	KMWork	   *w = st->w;
	int32	   *labels = w->labels;
	int			B = w->block_rows;
	int64		changed = 0;
	int64		i0;

	km_blas_prepare(st);
	for (i0 = 0; i0 < st->n; i0 += B)
	{
		int			rows = (int) Min((int64) B, st->n - i0);
		int			r;

		CHECK_FOR_INTERRUPTS();
		for (r = 0; r < rows; r++)
			km_block_load(w, X + (i0 + r) * d, r, d);
		km_block_dgemm(w, rows, k, d);
		for (r = 0; r < rows; r++)
		{
			const double *drow = w->dblock + (Size) r * k;
			double		xn = w->xnorm[r];
			double		bestd = DBL_MAX;
			int			best = 0;
			int			j;

			for (j = 0; j < k; j++)
			{
				double		dj = xn + drow[j] + w->cnorm[j];

				if (dj < 0.0)
					dj = 0.0;
				if (dj < bestd)
				{
					bestd = dj;
					best = j;
				}
			}
			if (labels[i0 + r] != best)
			{
				labels[i0 + r] = best;
				changed++;
			}
			if (accumulate)
				km_accumulate(w, X + (i0 + r) * d, best, d);
		}
	}
	return changed;
}

/*
 * Distances of the rows listed in w->pend (count rows) by one dgemm block;
 * sets their labels and (inflated, so still valid) Hamerly bounds and adds
 * them to the sums.  Returns the number of changed labels.
 */
static int64
km_blas_flush(KMRunState *st, int rows, bool accumulate)
{
	const double *X = st->X;
	int			d = st->d;
	int			k = st->k;
	KMWork	   *w = st->w;
	int32	   *labels = w->labels;
	double		cum_max = st->cum_max;
	/* rounding bound of ||x||^2 - 2 x.c + ||c||^2 relative to the norms */
	double		rel_err = (4.0 * d + 8.0) * DBL_EPSILON;
	int64		changed = 0;
	int			r;

	for (r = 0; r < rows; r++)
		km_block_load(w, X + w->pend[r] * d, r, d);
	km_block_dgemm(w, rows, k, d);
	for (r = 0; r < rows; r++)
	{
		const double *drow = w->dblock + (Size) r * k;
		int64		i = w->pend[r];
		double		xn = w->xnorm[r];
		double		b1 = DBL_MAX;
		double		b2 = DBL_MAX;
		double		err2 = rel_err * (xn + w->cnorm_max);
		int			best = 0;
		int			j;

		for (j = 0; j < k; j++)
		{
			double		dj = xn + drow[j] + w->cnorm[j];
			bool		lt;

			if (dj < 0.0)
				dj = 0.0;
			lt = (dj < b1);
			b2 = lt ? b1 : (dj < b2 ? dj : b2);
			best = lt ? j : best;
			b1 = lt ? dj : b1;
		}
		if (labels[i] != best)
		{
			labels[i] = best;
			changed++;
		}
		w->upper[i] = km_round_up(sqrt(b1 + err2) - w->cum_shift[best]);
		w->lower[i] = km_round_down(((k > 1) ? sqrt(Max(b2 - err2, 0.0)) : DBL_MAX) + cum_max);
		if (accumulate)
			km_accumulate(w, X + i * d, best, d);
	}
	return changed;
}

/*
 * Hamerly with BLAS for the rows whose bounds fail: such rows are queued
 * and their distances computed a block at a time with dgemm.  Labels equal
 * plain Lloyd's except possibly in near-ties (as for LLOYD_BLAS).
 */
static int64
km_assign_hamerly_blas(KMRunState *st, bool accumulate)
{
	const double *X = st->X;
	int			d = st->d;
	int			k = st->k;
	KMWork	   *w = st->w;
	int32	   *labels = w->labels;
	const double *C = w->centers;
	int			B = w->block_rows;
	double		cum_max = st->cum_max;
	double		margin_abs = st->margin_abs + 1e-12 * cum_max;
	int64		changed = 0;
	int64		recomputed = 0;
	int			npend = 0;
	int64		i;
	int			j;

	km_blas_prepare(st);
	w->cnorm_max = 0.0;
	for (j = 0; j < k; j++)
		w->cnorm_max = Max(w->cnorm_max, w->cnorm[j]);

	if (!st->bounds_valid || st->full_passes_left > 0)
	{
		int64		i0;

		if (st->full_passes_left > 0)
			st->full_passes_left--;
		for (i0 = 0; i0 < st->n; i0 += B)
		{
			int			rows = (int) Min((int64) B, st->n - i0);
			int			r;

			CHECK_FOR_INTERRUPTS();
			for (r = 0; r < rows; r++)
				w->pend[r] = i0 + r;
			changed += km_blas_flush(st, rows, accumulate);
		}
		st->bounds_valid = true;
		return changed;
	}

	km_half_separation(w->half_sep, C, k, d);

	for (i = 0; i < st->n; i++)
	{
		const double *x = X + i * d;
		int			a = labels[i];
		double		u = w->upper[i] + w->cum_shift[a];
		double		l = w->lower[i] - cum_max;
		double		m = Max(w->half_sep[a], l);

		if ((i & (KM_CHUNK - 1)) == 0)
			CHECK_FOR_INTERRUPTS();
		if (u + (u + m) * 1e-12 + margin_abs < m)
		{
			if (accumulate)
				km_accumulate(w, x, a, d);
			continue;
		}
		u = sqrt(sqdist(x, C + (Size) a * d, d));
		if (u + (u + m) * 1e-12 + margin_abs < m)
		{
			w->upper[i] = km_round_up(u - w->cum_shift[a]);
			if (accumulate)
				km_accumulate(w, x, a, d);
			continue;
		}
		w->pend[npend++] = i;
		recomputed++;
		if (npend == B)
		{
			changed += km_blas_flush(st, npend, accumulate);
			npend = 0;
		}
	}
	if (npend > 0)
		changed += km_blas_flush(st, npend, accumulate);

	/*
	 * When the bounds fail for most rows (poorly separated clusters), the
	 * bound tests only add cost: use plain dgemm passes for a few
	 * iterations, then try the bounds again.
	 */
	if ((double) recomputed > KM_HB_FULL_FRACTION * (double) st->n)
		st->full_passes_left = KM_HB_FULL_PASSES;
	return changed;
}

/* assignment step with the run's algorithm; accumulate: also sum rows per cluster */
static int64
km_assign_step(KMRunState *st, bool accumulate)
{
	if (accumulate)
		km_reset_sums(st);
	switch (st->algo)
	{
		case KMEANS_ALGO_HAMERLY:
			return km_assign_hamerly(st, accumulate);
		case KMEANS_ALGO_LLOYD_BLAS:
			return km_assign_blas(st, accumulate);
		case KMEANS_ALGO_HAMERLY_BLAS:
			return km_assign_hamerly_blas(st, accumulate);
		default:
			return km_assign_loop(st, accumulate);
	}
}

/* insert row i with squared distance dd into the top-m farthest list */
static void
km_far_insert(KMWork *w, int m, int *filled, int64 i, double dd)
{
	int			p;

	if (*filled == m && !(dd > w->far_d2[m - 1]))
		return;
	p = (*filled < m) ? (*filled)++ : m - 1;
	/* strict comparison keeps the lower row index first on ties */
	while (p > 0 && dd > w->far_d2[p - 1])
	{
		w->far_d2[p] = w->far_d2[p - 1];
		w->far_idx[p] = w->far_idx[p - 1];
		p--;
	}
	w->far_d2[p] = dd;
	w->far_idx[p] = i;
}

/*
 * Relocate empty clusters (scikit-learn's _relocate_empty_clusters_dense):
 * centers_new holds sums and counts the weights; centers are the centers
 * the labels were assigned to.
 */
static void
km_relocate_empty(KMRunState *st)
{
	KMWork	   *w = st->w;
	int			d = st->d;
	int			k = st->k;
	int			n_empty = 0;
	int			filled = 0;
	int			j;
	int			e;
	int64		i0;

	for (j = 0; j < k; j++)
		if (w->counts[j] == 0)
			n_empty++;
	if (n_empty == 0)
		return;

	for (i0 = 0; i0 < st->n; i0 += KM_CHUNK)
	{
		int64		iend = Min(st->n, i0 + KM_CHUNK);
		int64		i;

		CHECK_FOR_INTERRUPTS();
		for (i = i0; i < iend; i++)
			km_far_insert(w, n_empty, &filled, i,
						  sqdist(st->X + i * d,
								 w->centers + (Size) w->labels[i] * d, d));
	}
	if (filled == 0 || !(w->far_d2[0] > 0.0))
		return;					/* all points sit on their centers */

	e = 0;
	for (j = 0; j < k && e < filled; j++)
	{
		int64		far;
		int			old;
		const double *x;
		int			t;

		if (w->counts[j] != 0)
			continue;
		far = w->far_idx[e++];
		old = w->labels[far];
		x = st->X + far * d;
		for (t = 0; t < d; t++)
		{
			w->centers_new[(Size) old * d + t] -= x[t];
			w->centers_new[(Size) j * d + t] = x[t];
		}
		w->counts[j] = 1;
		w->counts[old]--;
		if (w->counts[old] == 0)
		{
			/* donor emptied (degenerate): keep its previous center */
			memcpy(w->centers_new + (Size) old * d, w->centers + (Size) old * d,
				   sizeof(double) * d);
			w->counts[old] = -1;	/* marker: already a center, not a sum */
		}
	}
}

/* new centers (means) into centers_new from the sums, with empty-cluster relocation */
static void
km_update_centers(KMRunState *st)
{
	KMWork	   *w = st->w;
	int			d = st->d;
	int			k = st->k;
	int			j;

	km_relocate_empty(st);

	for (j = 0; j < k; j++)
	{
		double	   *c = w->centers_new + (Size) j * d;
		int			t;

		if (w->counts[j] > 0)
		{
			double		alpha = 1.0 / (double) w->counts[j];

			for (t = 0; t < d; t++)
				c[t] *= alpha;
		}
		else if (w->counts[j] == 0)
		{
			/* still empty (duplicates only): keep the previous center */
			memcpy(c, w->centers + (Size) j * d, sizeof(double) * d);
		}
	}
}

/*
 * After the final assignment, give every empty cluster the farthest point
 * (relabelled) and recompute the donor center; only degenerate inputs get
 * here.  Returns true if anything changed.
 */
static bool
km_fix_empty_final(KMRunState *st)
{
	KMWork	   *w = st->w;
	int			d = st->d;
	int			k = st->k;
	bool		any = false;
	int			j;

	memset(w->counts, 0, sizeof(int64) * k);
	{
		int64		i;

		for (i = 0; i < st->n; i++)
			w->counts[w->labels[i]]++;
	}

	for (j = 0; j < k; j++)
	{
		int			filled = 0;
		int64		far;
		int			old;
		int64		i;
		int			t;
		double	   *c;

		if (w->counts[j] != 0)
			continue;
		CHECK_FOR_INTERRUPTS();
		for (i = 0; i < st->n; i++)
		{
			/* never take the only point of a cluster */
			if (w->counts[w->labels[i]] < 2)
				continue;
			km_far_insert(w, 1, &filled, i,
						  sqdist(st->X + i * d, w->centers + (Size) w->labels[i] * d, d));
		}
		if (filled == 0 || !(w->far_d2[0] > 0.0))
			break;
		far = w->far_idx[0];
		old = w->labels[far];
		w->labels[far] = j;
		w->counts[j] = 1;
		w->counts[old]--;
		memcpy(w->centers + (Size) j * d, st->X + far * d, sizeof(double) * d);
		c = w->centers + (Size) old * d;
		memset(c, 0, sizeof(double) * d);
		for (i = 0; i < st->n; i++)
			if (w->labels[i] == old)
				for (t = 0; t < d; t++)
					c[t] += st->X[i * d + t];
		for (t = 0; t < d; t++)
			c[t] /= (double) w->counts[old];
		any = true;
	}
	return any;
}

/* one run of Lloyd iterations from w->centers; returns inertia */
static double
km_lloyd(KMRunState *st, int max_iter, double tol_abs, bool verbose, int run,
		 int *n_iter, bool *converged)
{
	KMWork	   *w = st->w;
	int			d = st->d;
	int			k = st->k;
	bool		strict = false;
	int			it;
	int64		i;

	*converged = false;
	*n_iter = 0;
	st->bounds_valid = false;
	st->cum_max = 0.0;
	st->full_passes_left = 0;
	memset(w->cum_shift, 0, sizeof(double) * k);
	for (i = 0; i < st->n; i++)
		w->labels[i] = -1;

	for (it = 0; it < max_iter; it++)
	{
		int64		changed;
		double		shift_tot = 0.0;
		double		max_shift;
		double	   *tmp;
		int			j;

		CHECK_FOR_INTERRUPTS();
		changed = km_assign_step(st, true);
		km_update_centers(st);

		max_shift = 0.0;
		for (j = 0; j < k; j++)
		{
			double		s2 = sqdist(w->centers + (Size) j * d,
									w->centers_new + (Size) j * d, d);
			double		s = sqrt(s2);

			w->shift[j] = s;
			w->cum_shift[j] += s;
			shift_tot += s2;
			if (s > max_shift)
				max_shift = s;
		}
		st->cum_max += max_shift;

		if (verbose)
			ereport(NOTICE,
					(errmsg("k-means run %d iteration %d: inertia %.17g, center shift %.17g, %lld labels changed",
							run, it,
							km_inertia(st->X, st->n, d, w->centers, w->labels),
							shift_tot, (long long) changed)));

		tmp = w->centers;
		w->centers = w->centers_new;
		w->centers_new = tmp;
		*n_iter = it + 1;

		if (changed == 0)
		{
			strict = true;
			*converged = true;
			break;
		}
		if (shift_tot <= tol_abs)
		{
			*converged = true;
			break;
		}
	}

	if (!strict)
		(void) km_assign_step(st, false);
	(void) km_fix_empty_final(st);
	return km_inertia(st->X, st->n, d, w->centers, w->labels);
}

/* X: n*d row-major, finite values (caller validated). work: kmeans_workspace_bytes() bytes, MAXALIGNed. */
void
kmeans_run(const double *X, int64 n, const KMeansParams *params,
		   KMeansResult *result, void *work)
{
	KMWork		w;
	KMRunState	st;
	int			d = params->d;
	int			k = params->k;
	int			n_init = params->n_init;
	double		tol_abs;
	double		maxabs = 0.0;
	double		best_inertia = DBL_MAX;
	double	   *centers0;
	double	   *centers1;
	int			r;
	int			t;

	if (n < 1 || d < 1 || k < 1 || k > n)
		elog(ERROR, "kmeans_run: invalid arguments n=%lld d=%d k=%d",
			 (long long) n, d, k);
	if (params->init == KMEANS_INIT_GIVEN)
	{
		if (params->init_centroids == NULL)
			elog(ERROR, "kmeans_run: init_centroids missing");
		n_init = 1;
	}
	if (n_init < 1)
		n_init = 1;

	memset(&w, 0, sizeof(w));
	(void) km_layout(n, d, k, (char *) work, &w);
	centers0 = w.centers;
	centers1 = w.centers_new;

	/* column means, per-feature variance (tolerance) and data scale */
	{
		double		var_sum = 0.0;
		int64		i;

		for (t = 0; t < d; t++)
			w.mean[t] = 0.0;
		for (i = 0; i < n; i++)
		{
			const double *x = X + i * d;

			if ((i & (KM_CHUNK - 1)) == 0)
				CHECK_FOR_INTERRUPTS();
			for (t = 0; t < d; t++)
			{
				w.mean[t] += x[t];
				if (fabs(x[t]) > maxabs)
					maxabs = fabs(x[t]);
			}
		}
		for (t = 0; t < d; t++)
			w.mean[t] /= (double) n;
		for (i = 0; i < n; i++)
		{
			const double *x = X + i * d;

			if ((i & (KM_CHUNK - 1)) == 0)
				CHECK_FOR_INTERRUPTS();
			for (t = 0; t < d; t++)
			{
				double		dv = x[t] - w.mean[t];

				var_sum += dv * dv;
			}
		}
		tol_abs = params->tol * (var_sum / (double) n / (double) d);
	}

	memset(&st, 0, sizeof(st));
	st.X = X;
	st.n = n;
	st.d = d;
	st.k = k;
	st.w = &w;
	st.algo = params->algorithm;
	if (st.algo == KMEANS_ALGO_AUTO ||
		((st.algo == KMEANS_ALGO_LLOYD_BLAS ||
		  st.algo == KMEANS_ALGO_HAMERLY_BLAS) && !km_blas_fits(n, d, k)))
		st.algo = kmeans_choose_algorithm(n, d, k);
	st.margin_abs = 1e-13 * sqrt((double) d) * maxabs;

	for (r = 0; r < n_init; r++)
	{
		pg_prng_state rng;
		double		inertia;
		int			n_iter;
		bool		converged;

		CHECK_FOR_INTERRUPTS();
		/* the swap in km_lloyd may have exchanged the two center buffers */
		w.centers = centers0;
		w.centers_new = centers1;
		pg_prng_seed(&rng, km_mix64(params->seed ^ km_mix64((uint64) r)));

		switch (params->init)
		{
			case KMEANS_INIT_GIVEN:
				memcpy(w.centers, params->init_centroids, sizeof(double) * k * d);
				break;
			case KMEANS_INIT_RANDOM:
				km_seed_random(X, n, d, k, &w, &rng);
				break;
			default:
				{
					const KMeansSeedCache *cache = params->seed_cache;
					int			trials = km_local_trials(k);

					if (cache != NULL && cache->seed == params->seed && cache->d == d &&
						r < cache->n_init && k <= cache->k_max[trials])
						memcpy(w.centers,
							   cache->centers[trials] + (Size) r * cache->k_max[trials] * d,
							   sizeof(double) * k * d);
					else
						km_seed_plusplus(X, n, d, k, trials, &w, &rng);
				}
				break;
		}

		inertia = km_lloyd(&st, params->max_iter, tol_abs, params->verbose, r,
						   &n_iter, &converged);

		if (params->verbose)
			ereport(NOTICE,
					(errmsg("k-means run %d: inertia %.17g after %d iterations%s",
							r, inertia, n_iter,
							converged ? " (converged)" : " (max_iter reached)")));

		if (r == 0 || inertia < best_inertia)
		{
			best_inertia = inertia;
			result->inertia = inertia;
			result->n_iter = n_iter;
			result->best_run = r;
			result->converged = converged;
			memcpy(result->centroids, w.centers, sizeof(double) * k * d);
			memcpy(result->labels, w.labels, sizeof(int32) * n);
		}
	}

	/* sizes of the winning run */
	{
		int64		i;

		memset(result->sizes, 0, sizeof(int64) * k);
		for (i = 0; i < n; i++)
			result->sizes[result->labels[i]]++;
	}
}

/* Seed every k-means++ run for each k in [k_min, k_max] ahead into cache (pfree with kmeans_seed_cache_free). */
void
kmeans_seed_cache_fill(KMeansSeedCache *cache, const double *X, int64 n, int d,
					   int k_min, int k_max, uint64 seed, int n_init)
{
	KMWork		w;
	int			k;
	int			t;
	int			r;

	memset(cache, 0, sizeof(*cache));
	cache->seed = seed;
	cache->n_init = n_init;
	cache->d = d;
	for (k = k_min; k <= k_max; k++)
		cache->k_max[km_local_trials(k)] = k;

	memset(&w, 0, sizeof(w));
	w.closest = palloc_extended(km_mul((Size) Max(n, 1), sizeof(double)), MCXT_ALLOC_HUGE);
	w.cum_block = palloc(sizeof(double) * (Max(n, 1) / KM_SEED_BLOCK + 1));
	w.cand = palloc(sizeof(int64) * KMEANS_MAX_TRIALS);
	for (t = 0; t <= KMEANS_MAX_TRIALS; t++)
	{
		int			kt = cache->k_max[t];

		if (kt == 0)
			continue;
		cache->centers[t] = palloc(km_mul(sizeof(double), km_mul((Size) n_init * kt, (Size) d)));
		for (r = 0; r < n_init; r++)
		{
			pg_prng_state rng;

			/* the stream run r of kmeans_run starts from */
			pg_prng_seed(&rng, km_mix64(seed ^ km_mix64((uint64) r)));
			w.centers = cache->centers[t] + (Size) r * kt * d;
			km_seed_plusplus(X, n, d, kt, t, &w, &rng);
		}
	}
	pfree(w.closest);
	pfree(w.cum_block);
	pfree(w.cand);
}

/* Free what kmeans_seed_cache_fill allocated. */
void
kmeans_seed_cache_free(KMeansSeedCache *cache)
{
	int			t;

	for (t = 0; t <= KMEANS_MAX_TRIALS; t++)
		if (cache->centers[t] != NULL)
			pfree(cache->centers[t]);
	memset(cache, 0, sizeof(*cache));
}

/* does cluster a sort before cluster b (size desc, then centroid lexicographic asc)? */
static bool
km_canon_before(const double *C, const int64 *sizes, int d, int a, int b)
{
	int			t;

	if (sizes[a] != sizes[b])
		return sizes[a] > sizes[b];
	for (t = 0; t < d; t++)
	{
		double		ca = C[(Size) a * d + t];
		double		cb = C[(Size) b * d + t];

		if (ca != cb)
			return ca < cb;
	}
	return a < b;
}

/* renumber clusters canonically: by size descending, then centroids lexicographically ascending; permutes centroids, sizes, labels in place */
void
kmeans_canonicalize(double *centroids, int64 *sizes, int32 *labels, int64 n, int d, int k)
{
	int		   *perm = (int *) palloc(sizeof(int) * k);
	int32	   *inv = (int32 *) palloc(sizeof(int32) * k);
	double	   *ctmp = (double *) palloc(km_mul(sizeof(double), km_mul((Size) k, (Size) d)));
	int64	   *stmp = (int64 *) palloc(sizeof(int64) * k);
	int			p;
	int64		i;

	/* insertion sort of cluster ids (k is small) */
	for (p = 0; p < k; p++)
	{
		int			q = p;

		perm[p] = p;
		while (q > 0 && km_canon_before(centroids, sizes, d, perm[q], perm[q - 1]))
		{
			int			tmp = perm[q];

			perm[q] = perm[q - 1];
			perm[q - 1] = tmp;
			q--;
		}
	}

	for (p = 0; p < k; p++)
	{
		inv[perm[p]] = p;
		memcpy(ctmp + (Size) p * d, centroids + (Size) perm[p] * d, sizeof(double) * d);
		stmp[p] = sizes[perm[p]];
	}
	memcpy(centroids, ctmp, sizeof(double) * k * d);
	memcpy(sizes, stmp, sizeof(int64) * k);
	for (i = 0; i < n; i++)
	{
		if ((i & (KM_CHUNK - 1)) == 0)
			CHECK_FOR_INTERRUPTS();
		labels[i] = inv[labels[i]];
	}

	pfree(perm);
	pfree(inv);
	pfree(ctmp);
	pfree(stmp);
}
