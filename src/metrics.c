/*-------------------------------------------------------------------------
 *
 * metrics.c
 *	  Clustering quality metrics on plain C arrays: the kernel behind
 *	  kmeans_evaluate and kmeans_sweep (kmeans_eval.c).
 *
 * Rationale and references.  All three metrics follow the definitions
 * scikit-learn implements, so results can be checked against it:
 *
 *	  Silhouette (Rousseeuw 1987, "Silhouettes: a graphical aid to the
 *	  interpretation and validation of cluster analysis", J. Comput. Appl.
 *	  Math. 20): for point i, a = mean distance to the other points of its
 *	  cluster, b = smallest mean distance to the points of another cluster,
 *	  s = (b - a) / max(a, b); s = 0 for a point alone in its cluster; the
 *	  score is the mean of s over all points.  This is the full coefficient,
 *	  not the "simplified" one that measures distances to centroids.  It
 *	  costs n^2 distances, so the callers compute it exactly up to
 *	  SEGMENT_SILHOUETTE_EXACT_LIMIT rows and above that on a stratified
 *	  sample of that many rows (each cluster contributes in proportion to
 *	  its size), as scikit-learn's sample_size does without the strata.
 *	  The standard error of a sample of 10,000 is about 0.003 for the
 *	  spread of s seen on real segmentations.
 *
 *	  Davies-Bouldin (Davies & Bouldin 1979, "A cluster separation
 *	  measure", IEEE TPAMI 1(2)): S_c = mean distance of cluster c's points
 *	  to its mean, M_ij = distance between means; DB = mean over clusters
 *	  of max_{j != i} (S_i + S_j) / M_ij.  Lower is better.  Coincident means
 *	  contribute nothing, as in scikit-learn.
 *
 *	  Calinski-Harabasz (Calinski & Harabasz 1974, "A dendrite method for
 *	  cluster analysis", Comm. Statist. 3(1)): [B / (k - 1)] / [W / (n - k)]
 *	  with B the between-cluster and W the within-cluster sum of squares.
 *	  Higher is better.  W = 0 gives 1, as in scikit-learn.
 *
 * k counts non-empty clusters only (scikit-learn sees the labels that
 * occur).  A metric that is undefined (fewer than 2 clusters, or as many
 * clusters as points for the silhouette) is returned as NaN; the SQL glue
 * turns NaN into a JSON null.
 *
 * Sampling keys are a hash of the row's bytes and the seed (hash_bytes
 * extended, 64 bits), so the sample of a group is a function of the
 * multiset of its rows: serial and parallel runs, and any row order,
 * choose the same rows.
 *
 * src/metrics.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/float.h"

#include "segment.h"
#include "metrics.h"

/* Euclidean distance between two rows. */
static inline double
dist(const double *x, const double *y, int d)
{
	double		s = 0.0;
	int			j;

	for (j = 0; j < d; j++)
	{
		double		t = x[j] - y[j];

		s += t * t;
	}
	return sqrt(s);
}

/* Squared Euclidean distance between two rows. */
static inline double
sqdist(const double *x, const double *y, int d)
{
	double		s = 0.0;
	int			j;

	for (j = 0; j < d; j++)
	{
		double		t = x[j] - y[j];

		s += t * t;
	}
	return s;
}

/*
 * Mean silhouette (Rousseeuw 1987).  The points are first copied grouped
 * by cluster, so that for each point the distances to one cluster are a
 * contiguous run summed into two local accumulators: no scattered writes,
 * no loop-carried dependency through memory, and the sqrt latency is the
 * bound.  n^2 distances (each pair twice): visiting each pair once would
 * halve the arithmetic but needs an n*k array of scattered sums, which
 * misses the cache once n*k outgrows it (slower at n = 10,000, k = 10).
 */
double
metrics_silhouette(const double *X, int64 n, int d, const int32 *labels, int k)
{
	int64	   *sizes = palloc0(sizeof(int64) * (k + 1));
	int64	   *start = palloc0(sizeof(int64) * (k + 1));
	int64	   *fill = palloc0(sizeof(int64) * k);
	double	   *G;
	double	   *si = palloc(sizeof(double) * k);
	double		total = 0.0;
	int			nonempty = 0;
	int64		i;
	int64		j;
	int			c;

	for (i = 0; i < n; i++)
		sizes[labels[i]]++;
	for (c = 0; c < k; c++)
	{
		if (sizes[c] > 0)
			nonempty++;
		start[c + 1] = start[c] + sizes[c];
	}
	if (nonempty < 2 || nonempty > n - 1)
	{
		pfree(sizes);
		pfree(start);
		pfree(fill);
		pfree(si);
		return get_float8_nan();
	}

	G = palloc_extended(sizeof(double) * (Size) n * d, MCXT_ALLOC_HUGE);
	for (i = 0; i < n; i++)
	{
		c = labels[i];
		memcpy(G + (Size) (start[c] + fill[c]++) * d, X + (Size) i * d, sizeof(double) * d);
	}

	for (i = 0; i < n; i++)
	{
		const double *xi = G + (Size) i * d;
		int			li = 0;
		double		a;
		double		b = get_float8_infinity();
		double		m;

		if ((i & 0x3F) == 0)
			CHECK_FOR_INTERRUPTS();
		while (i >= start[li + 1])
			li++;
		if (sizes[li] <= 1)
			continue;			/* s = 0 for a point alone in its cluster */
		for (c = 0; c < k; c++)
		{
			double		s0 = 0.0;
			double		s1 = 0.0;
			int64		end = start[c + 1];

			if (d == 3)
			{
				for (j = start[c]; j + 1 < end; j += 2)
				{
					const double *p = G + (Size) j * 3;
					double		t0 = xi[0] - p[0];
					double		t1 = xi[1] - p[1];
					double		t2 = xi[2] - p[2];
					double		u0 = xi[0] - p[3];
					double		u1 = xi[1] - p[4];
					double		u2 = xi[2] - p[5];

					s0 += sqrt(t0 * t0 + t1 * t1 + t2 * t2);
					s1 += sqrt(u0 * u0 + u1 * u1 + u2 * u2);
				}
				if (j < end)
					s0 += dist(xi, G + (Size) j * 3, 3);
			}
			else
			{
				for (j = start[c]; j < end; j++)
					s0 += dist(xi, G + (Size) j * d, d);
			}
			si[c] = s0 + s1;
		}
		a = si[li] / (double) (sizes[li] - 1);	/* the self-distance is 0 */
		for (c = 0; c < k; c++)
			if (c != li && sizes[c] > 0)
				b = Min(b, si[c] / (double) sizes[c]);
		m = Max(a, b);
		if (m > 0)
			total += (b - a) / m;
	}
	pfree(G);
	pfree(si);
	pfree(fill);
	pfree(start);
	pfree(sizes);
	return total / (double) n;
}

/* Sizes and means of labelled points; the number of non-empty clusters. */
int
metrics_cluster_means(const double *X, int64 n, int d, const int32 *labels, int k,
					  int64 *sizes, double *means)
{
	int64		i;
	int			c;
	int			j;
	int			nonempty = 0;

	memset(sizes, 0, sizeof(int64) * k);
	memset(means, 0, sizeof(double) * k * d);
	for (i = 0; i < n; i++)
	{
		double	   *mc = means + (Size) labels[i] * d;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		sizes[labels[i]]++;
		for (j = 0; j < d; j++)
			mc[j] += X[(Size) i * d + j];
	}
	for (c = 0; c < k; c++)
	{
		if (sizes[c] == 0)
			continue;
		nonempty++;
		for (j = 0; j < d; j++)
			means[(Size) c * d + j] /= (double) sizes[c];
	}
	return nonempty;
}

/* Within-cluster sum of squares around the cluster means. */
double
metrics_within_ss(const double *X, int64 n, int d, const int32 *labels,
				  const double *means)
{
	double		w = 0.0;
	int64		i;

	for (i = 0; i < n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		w += sqdist(X + (Size) i * d, means + (Size) labels[i] * d, d);
	}
	return w;
}

/* Calinski-Harabasz (1974) from sizes, means and the within SS. */
double
metrics_calinski_harabasz(int64 n, int d, int k, const int64 *sizes,
						  const double *means, double within_ss)
{
	double	   *grand = palloc0(sizeof(double) * d);
	double		between = 0.0;
	int			nonempty = 0;
	int			c;
	int			j;

	for (c = 0; c < k; c++)
	{
		if (sizes[c] == 0)
			continue;
		nonempty++;
		for (j = 0; j < d; j++)
			grand[j] += (double) sizes[c] * means[(Size) c * d + j];
	}
	if (nonempty < 2 || n <= nonempty)
	{
		pfree(grand);
		return get_float8_nan();
	}
	for (j = 0; j < d; j++)
		grand[j] /= (double) n;
	for (c = 0; c < k; c++)
		if (sizes[c] > 0)
			between += (double) sizes[c] * sqdist(means + (Size) c * d, grand, d);
	pfree(grand);
	if (within_ss == 0.0)
		return 1.0;
	return between * (double) (n - nonempty) / (within_ss * (double) (nonempty - 1));
}

/* Mean distance of each cluster's points to the cluster mean. */
void
metrics_scatter(const double *X, int64 n, int d, const int32 *labels, int k,
				const double *means, double *scatter)
{
	int64	   *count = palloc0(sizeof(int64) * k);
	int64		i;
	int			c;

	memset(scatter, 0, sizeof(double) * k);
	for (i = 0; i < n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		scatter[labels[i]] += dist(X + (Size) i * d, means + (Size) labels[i] * d, d);
		count[labels[i]]++;
	}
	for (c = 0; c < k; c++)
		if (count[c] > 0)
			scatter[c] /= (double) count[c];
	pfree(count);
}

/* Davies-Bouldin (1979) over the non-empty clusters. */
double
metrics_davies_bouldin(int d, int k, const int64 *sizes, const double *means,
					   const double *scatter)
{
	double		total = 0.0;
	int			nonempty = 0;
	int			a;
	int			b;

	for (a = 0; a < k; a++)
		if (sizes[a] > 0)
			nonempty++;
	if (nonempty < 2)
		return get_float8_nan();
	for (a = 0; a < k; a++)
	{
		double		worst = 0.0;

		if (sizes[a] == 0)
			continue;
		CHECK_FOR_INTERRUPTS();
		for (b = 0; b < k; b++)
		{
			double		m;

			if (b == a || sizes[b] == 0)
				continue;
			m = dist(means + (Size) a * d, means + (Size) b * d, d);
			if (m > 0)
				worst = Max(worst, (scatter[a] + scatter[b]) / m);
		}
		total += worst;
	}
	return total / (double) nonempty;
}

/* Sampling key of a row: 64-bit hash of its bytes, seeded. */
uint64
metrics_row_key(const double *x, int d, uint64 seed)
{
	return hash_bytes_extended((const unsigned char *) x, (int) (sizeof(double) * d), seed);
}

/*
 * Split total sample rows over k strata in proportion to sizes (largest
 * remainder), at least one row per non-empty stratum and never more than
 * the stratum holds.
 */
void
metrics_stratified_quota(int64 total, int k, const int64 *sizes, int64 *quota)
{
	int64		n = 0;
	int64		given = 0;
	double	   *rem = palloc(sizeof(double) * k);
	int			c;

	for (c = 0; c < k; c++)
		n += sizes[c];
	for (c = 0; c < k; c++)
	{
		double		exact = n > 0 ? (double) total * (double) sizes[c] / (double) n : 0;

		quota[c] = (int64) floor(exact);
		rem[c] = exact - (double) quota[c];
		if (sizes[c] > 0 && quota[c] < 1)
		{
			quota[c] = 1;
			rem[c] = -1;
		}
		quota[c] = Min(quota[c], sizes[c]);
		given += quota[c];
	}
	while (given < total && given < n)
	{
		int			best = -1;

		for (c = 0; c < k; c++)
			if (quota[c] < sizes[c] && (best < 0 || rem[c] > rem[best]))
				best = c;
		if (best < 0)
			break;
		quota[best]++;
		rem[best] = -2;
		given++;
	}
	pfree(rem);
}

/* Comparison data for metrics_order_by_key. */
#define ST_SORT sort_key_order
#define ST_ELEMENT_TYPE int64
#define ST_COMPARE_ARG_TYPE const uint64
#define ST_COMPARE(a, b, keys) \
	((keys)[*(a)] < (keys)[*(b)] ? -1 : (keys)[*(a)] > (keys)[*(b)] ? 1 : \
	 (*(a) < *(b) ? -1 : *(a) > *(b) ? 1 : 0))
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* Row indices ordered by (key, index). */
void
metrics_order_by_key(const uint64 *keys, int64 n, int64 *order)
{
	int64		i;

	for (i = 0; i < n; i++)
		order[i] = i;
	sort_key_order(order, n, keys);
}
