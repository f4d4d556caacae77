/*-------------------------------------------------------------------------
 *
 * kprototypes.c
 *	  k-prototypes kernel: clustering of rows with numeric and categorical
 *	  features; Huang, Cao and k-means++-style initialization, batch
 *	  iterations, deterministic restarts.
 *
 * This file works on plain C arrays only.  The caller validates input
 * (finite numeric values in model space, codes within n_levels, 1 <= k <=
 * number of distinct rows), owns every big array and passes one scratch
 * workspace of kproto_workspace_bytes() bytes.  Nothing here allocates
 * except kproto_canonicalize() (O(k*(d+m)), once).
 *
 * Glossary:
 *	  n, d, m, k	rows, numeric features, categorical features, clusters
 *	  X, C		numeric rows (n*d) and categorical codes (n*m), row-major
 *	  cost(x, q)	sum_j (x_j - q_j)^2 + gamma * #{l : c_l != mode_l(q)}
 *
 * ALGORITHMS AND RATIONALE
 *
 * The dissimilarity and the algorithm are those of Z. Huang, "Clustering
 * large data sets with mixed numeric and categorical values", Proc. 1st
 * Pacific-Asia Conference on Knowledge Discovery and Data Mining (PAKDD),
 * 1997, pp. 21-34, and Z. Huang, "Extensions to the k-means algorithm for
 * clustering large data sets with categorical values", Data Mining and
 * Knowledge Discovery 2(3), 1998, pp. 283-304: a prototype is the mean of
 * the numeric features and the mode of each categorical feature of its
 * members; a row's cost to a prototype is the squared Euclidean distance
 * of the numeric part plus gamma times the number of categorical
 * mismatches; the clustering minimizes the total cost.  For fixed labels
 * the mean minimizes the numeric part and the mode the mismatch count
 * (Huang 1998, Theorem 1), so each half-step below never raises the cost.
 *
 * Iterations are the batch form (Huang 1998 section 3 allocates rows one
 * at a time and updates prototypes after each move; the batch form reaches
 * the same kind of fixed point and does not depend on row order, which the
 * caller has made canonical anyway):
 *	  labels := nearest prototype of every row (ties: lowest index)
 *	  repeat up to max_iter times:
 *		  give every empty cluster a row (below)
 *		  prototypes := mean and modes of each cluster's rows
 *		  new labels := nearest prototype of every row
 *		  stop, converged, if no label changed, or if the cost fell by no
 *		  more than tol * previous cost (tol 0: the cost stopped decreasing)
 * so the final labels are always the nearest prototypes' (assign_segment
 * gives every training row its fitted segment) and the reported cost is
 * that of those labels and prototypes.  Modes break ties by the lowest
 * code, i.e. the category first in byte order.  An empty cluster, in index
 * order, takes the row farthest (by cost) from its own prototype among
 * clusters with at least two rows (ties: lowest row index).
 *
 * Initialization (init):
 *	  "huang"	Huang 1998, section 3.1, second method, randomized as the
 *				kmodes package does: each provisional prototype draws every
 *				categorical value with probability proportional to its
 *				frequency in the data and its numeric part from a uniformly
 *				drawn row; each is then replaced by the row nearest to it
 *				(cost; ties: lowest index) that differs from the prototypes
 *				already chosen, so prototypes are real, distinct rows.
 *	  "cao"		F. Cao, J. Liang, L. Bai, "A new initialization method for
 *				categorical data clustering", Expert Systems with
 *				Applications 36(7), 2009, pp. 10223-10228: the first
 *				prototype is the row of highest density (mean relative
 *				frequency of its categories); each next one maximizes
 *				density times the mismatch count to the nearest chosen
 *				prototype, on the categorical features as in the paper
 *				(ties: lowest index; the numeric part comes with the row).
 *				Only when no row's categories differ from every chosen
 *				prototype does density times the mixed cost decide.
 *				Deterministic: one run.
 *	  "k-means++"	D. Arthur, S. Vassilvitskii, "k-means++: the advantages
 *				of careful seeding", SODA 2007, with the mixed cost in place
 *				of the squared distance: a uniformly drawn first row, then
 *				rows drawn with probability proportional to their cost to
 *				the nearest chosen prototype.
 *	  given		the caller's prototypes; one run.
 * Randomness comes only from a local pg_prng_state; run r is seeded with a
 * splitmix64 hash of (seed, r).
 *
 * Acceleration.  D(x, q) = sqrt(cost(x, q)) is a metric: the Euclidean
 * distance and sqrt(gamma * Hamming) are metrics, and so is the l2
 * combination of two metrics (Minkowski).  So the bounds of G. Hamerly,
 * "Making k-means even faster", SDM 2010, hold for it: per row a lower
 * bound l on D to every prototype but its own, lowered after each update
 * by the largest shift D(old, new) of another prototype, and half the
 * distance s from each prototype to its nearest other one.  Each iteration
 * computes the exact cost to the row's own prototype (the cost must be
 * exact); when sqrt of it is below max(s, l) by a margin far above
 * rounding error the row cannot be nearer to another prototype, so the
 * other k - 1 costs are skipped; otherwise all k are computed as before
 * (ties: lowest index).  Labels and costs are therefore exactly those of
 * the plain loop.
 *
 * Cost.  The numeric part of cost(x, q) is summed feature by feature in
 * index order, then gamma * mismatches is added: one expression
 * (kproto_cost) everywhere, fit and assign_segment alike, so a training
 * row gets its fitted segment back bit for bit.
 *
 * src/kprototypes.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "utils/float.h"

#include "segment.h"
#include "kprototypes.h"

/* the pieces of the scratch workspace */
typedef struct KProtoWork
{
	int32	   *labels;			/* n: labels of the current run */
	double	   *dist;			/* n: cost to the own / nearest prototype */
	double	   *cent;			/* k*d: centroids of the current run */
	int32	   *modes;			/* k*m: modes of the current run */
	double	   *sums;			/* k*d */
	int64	   *counts;			/* k*total_levels */
	int64	   *freq;			/* total_levels: counts over all rows */
	int64	   *csize;			/* k */
	int64	   *chosen;			/* k: rows chosen by init */
	int32	   *loff;			/* m: offset of feature j in a level row */
	double	   *lower;			/* n: lower bound on D to every other prototype */
	double	   *prev_cent;		/* k*d: centroids before the update */
	int32	   *prev_modes;		/* k*m: modes before the update */
	double	   *shift;			/* k: D(previous, new prototype) */
	double	   *half;			/* k: half D to the nearest other prototype */
	int64		total_levels;
} KProtoWork;

/* Sum of categories over all features, as the width of the count tables. */
static int64
total_levels(int m, const int32 *n_levels)
{
	int64		t = 0;
	int			j;

	for (j = 0; j < m; j++)
		t += n_levels[j];
	return t;
}

/* bytes of scratch kproto_run needs */
Size
kproto_workspace_bytes(int64 n, int d, int m, int k, const int32 *n_levels)
{
	Size		t = (Size) total_levels(m, n_levels);
	Size		bytes = 0;

	bytes = add_size(bytes, MAXALIGN(mul_size((Size) n, sizeof(int32))));
	bytes = add_size(bytes, MAXALIGN(mul_size((Size) n, sizeof(double))));
	bytes = add_size(bytes, MAXALIGN(mul_size(mul_size(k, d), sizeof(double))) * 2);
	bytes = add_size(bytes, MAXALIGN(mul_size(mul_size(k, m), sizeof(int32))));
	bytes = add_size(bytes, MAXALIGN(mul_size(mul_size(k, t), sizeof(int64))));
	bytes = add_size(bytes, MAXALIGN(mul_size(t, sizeof(int64))));
	bytes = add_size(bytes, MAXALIGN(mul_size(k, sizeof(int64))) * 2);
	bytes = add_size(bytes, MAXALIGN(mul_size(m, sizeof(int32))));
	bytes = add_size(bytes, MAXALIGN(mul_size((Size) n, sizeof(double))));
	bytes = add_size(bytes, MAXALIGN(mul_size(mul_size(k, d), sizeof(double))));
	bytes = add_size(bytes, MAXALIGN(mul_size(mul_size(k, m), sizeof(int32))));
	bytes = add_size(bytes, MAXALIGN(mul_size(k, sizeof(double))) * 2);
	return bytes;
}

/* Carve the workspace into its pieces. */
static void
work_layout(KProtoWork *w, void *work, int64 n, int d, int m, int k,
			const int32 *n_levels)
{
	char	   *p = (char *) work;
	int			j;

	w->total_levels = total_levels(m, n_levels);
	w->labels = (int32 *) p;
	p += MAXALIGN(sizeof(int32) * n);
	w->dist = (double *) p;
	p += MAXALIGN(sizeof(double) * n);
	w->cent = (double *) p;
	p += MAXALIGN(sizeof(double) * k * d);
	w->sums = (double *) p;
	p += MAXALIGN(sizeof(double) * k * d);
	w->modes = (int32 *) p;
	p += MAXALIGN(sizeof(int32) * k * m);
	w->counts = (int64 *) p;
	p += MAXALIGN(sizeof(int64) * k * w->total_levels);
	w->freq = (int64 *) p;
	p += MAXALIGN(sizeof(int64) * w->total_levels);
	w->csize = (int64 *) p;
	p += MAXALIGN(sizeof(int64) * k);
	w->chosen = (int64 *) p;
	p += MAXALIGN(sizeof(int64) * k);
	w->loff = (int32 *) p;
	p += MAXALIGN(sizeof(int32) * m);
	w->lower = (double *) p;
	p += MAXALIGN(sizeof(double) * n);
	w->prev_cent = (double *) p;
	p += MAXALIGN(sizeof(double) * k * d);
	w->prev_modes = (int32 *) p;
	p += MAXALIGN(sizeof(int32) * k * m);
	w->shift = (double *) p;
	p += MAXALIGN(sizeof(double) * k);
	w->half = (double *) p;
	w->loff[0] = 0;
	for (j = 1; j < m; j++)
		w->loff[j] = w->loff[j - 1] + n_levels[j - 1];
}

/* Mixed cost of one row to one prototype (inlined in the loops). */
static inline double
row_cost(const double *x, const int32 *xc, const double *centroid,
		 const int32 *mode, int d, int m, double gamma)
{
	double		s = 0.0;
	int			mis = 0;
	int			j;

	for (j = 0; j < d; j++)
	{
		double		diff = x[j] - centroid[j];

		s += diff * diff;
	}
	for (j = 0; j < m; j++)
		mis += (xc[j] != mode[j]);
	return s + gamma * (double) mis;
}

/* Mixed cost of one row to one prototype. */
double
kproto_cost(const double *x, const int32 *xc, const double *centroid,
			const int32 *mode, int d, int m, double gamma)
{
	return row_cost(x, xc, centroid, mode, d, m, gamma);
}

/*
 * Label every row with its nearest prototype (ties: lowest index); store
 * each row's cost in dist.  Returns the total cost; *moved counts rows
 * whose label differs from the previous one (when labels held one).  With
 * acc, the same pass accumulates the per-cluster sums, category counts and
 * sizes of the new labels (in row order, exactly as update_prototypes
 * would), so an iteration reads the rows once.
 */
static double
assign_rows(const double *X, const int32 *C, int64 n, int d, int m, int k,
			const double *cent, const int32 *modes, double gamma,
			int32 *labels, double *dist, bool have_labels, int64 *moved,
			KProtoWork *acc)
{
	double		total = 0.0;
	int64		changed = 0;
	int64		i;
	bool		bounded = acc != NULL && have_labels && k > 1;
	double		shift1 = 0.0;	/* largest prototype shift */
	double		shift2 = 0.0;	/* second largest */
	int			shift1_at = -1;
	int			c;

	if (bounded)
	{
		/* the two largest shifts, and half the distance to the nearest other prototype */
		for (c = 0; c < k; c++)
		{
			int			o;

			if (acc->shift[c] > shift1)
			{
				shift2 = shift1;
				shift1 = acc->shift[c];
				shift1_at = c;
			}
			else if (acc->shift[c] > shift2)
				shift2 = acc->shift[c];
			if ((c & 0xFF) == 0)
				CHECK_FOR_INTERRUPTS();
			acc->half[c] = get_float8_infinity();
			for (o = 0; o < k; o++)
				if (o != c)
					acc->half[c] = Min(acc->half[c],
									   0.5 * sqrt(row_cost(cent + (Size) c * d, modes + (Size) c * m,
														   cent + (Size) o * d, modes + (Size) o * m,
														   d, m, gamma)));
		}
	}

	if (acc)
	{
		memset(acc->sums, 0, sizeof(double) * k * d);
		memset(acc->counts, 0, sizeof(int64) * k * acc->total_levels);
		memset(acc->csize, 0, sizeof(int64) * k);
	}
	for (i = 0; i < n; i++)
	{
		const double *x = X + i * d;
		const int32 *xc = C + i * m;
		int			best = 0;
		double		bd;
		double		second;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (bounded)
		{
			int			a = labels[i];
			double		ca = row_cost(x, xc, cent + (Size) a * d, modes + (Size) a * m,
									  d, m, gamma);
			double		lower = acc->lower[i] - (a == shift1_at ? shift2 : shift1);
			double		bound = Max(acc->half[a], lower);

			/* strictly nearest, with a margin far above rounding: keep a */
			if (sqrt(ca) * (1.0 + 1e-10) + 1e-12 < bound)
			{
				acc->lower[i] = lower;
				best = a;
				bd = ca;
				goto assigned;
			}
		}
		bd = row_cost(x, xc, cent, modes, d, m, gamma);
		second = get_float8_infinity();
		for (c = 1; c < k; c++)
		{
			double		dd = row_cost(x, xc, cent + (Size) c * d, modes + (Size) c * m,
									  d, m, gamma);

			if (dd < bd)
			{
				second = bd;
				bd = dd;
				best = c;
			}
			else if (dd < second)
				second = dd;
		}
		if (acc)
			acc->lower[i] = sqrt(second);
assigned:
		if (have_labels && labels[i] != best)
			changed++;
		labels[i] = best;
		dist[i] = bd;
		total += bd;
		if (acc)
		{
			double	   *sum = acc->sums + (Size) best * d;
			int64	   *cnt = acc->counts + best * acc->total_levels;
			int			j;

			acc->csize[best]++;
			for (j = 0; j < d; j++)
				sum[j] += x[j];
			for (j = 0; j < m; j++)
				cnt[acc->loff[j] + xc[j]]++;
		}
	}
	if (moved)
		*moved = changed;
	return total;
}

/* Cluster sizes of the labels. */
static void
count_sizes(const int32 *labels, int64 n, int k, int64 *csize)
{
	int64		i;

	memset(csize, 0, sizeof(int64) * k);
	for (i = 0; i < n; i++)
		csize[labels[i]]++;
}

/*
 * Give every empty cluster, in index order, the row farthest from its own
 * prototype among clusters of two rows or more (ties: lowest row index).
 */
static void
fill_empty_clusters(int64 n, int k, int32 *labels, double *dist, int64 *csize,
					double *lower)
{
	int			c;

	for (c = 0; c < k; c++)
	{
		int64		far = -1;
		int64		i;

		if (csize[c] > 0)
			continue;
		CHECK_FOR_INTERRUPTS();
		for (i = 0; i < n; i++)
			if (csize[labels[i]] >= 2 && (far < 0 || dist[i] > dist[far]))
				far = i;
		if (far < 0)
			break;				/* fewer rows than clusters: cannot happen */
		csize[labels[far]]--;
		csize[c] = 1;
		labels[far] = c;
		dist[far] = 0.0;
		lower[far] = 0.0;		/* no bound: computed in full next time */
	}
}

/* Per-cluster sums, category counts and sizes of the labels, in row order. */
static void
accumulate_labels(const double *X, const int32 *C, int64 n, int d, int m, int k,
				  const int32 *labels, KProtoWork *w)
{
	int64		T = w->total_levels;
	int64		i;
	int			j;

	memset(w->sums, 0, sizeof(double) * k * d);
	memset(w->counts, 0, sizeof(int64) * k * T);
	memset(w->csize, 0, sizeof(int64) * k);
	for (i = 0; i < n; i++)
	{
		int			l = labels[i];
		double	   *s = w->sums + (Size) l * d;
		int64	   *cnt = w->counts + l * T;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		w->csize[l]++;
		for (j = 0; j < d; j++)
			s[j] += X[i * d + j];
		for (j = 0; j < m; j++)
			cnt[w->loff[j] + C[i * m + j]]++;
	}
}

/*
 * Prototypes from the accumulated sums and counts: means of numeric
 * features, modes (ties: lowest code); an empty cluster keeps its
 * prototype.
 */
static void
update_prototypes(int d, int m, int k, KProtoWork *w, const int32 *n_levels)
{
	int64		T = w->total_levels;
	int			c;
	int			j;

	for (c = 0; c < k; c++)
	{
		if (w->csize[c] == 0)
			continue;			/* keeps its prototype */
		for (j = 0; j < d; j++)
			w->cent[(Size) c * d + j] = w->sums[(Size) c * d + j] / (double) w->csize[c];
		for (j = 0; j < m; j++)
		{
			const int64 *cnt = w->counts + c * T + w->loff[j];
			int			best = 0;
			int			v;

			for (v = 1; v < n_levels[j]; v++)
				if (cnt[v] > cnt[best])
					best = v;
			w->modes[(Size) c * m + j] = best;
		}
	}
}

/* Category frequencies over all rows, into w->freq. */
static void
count_frequencies(const int32 *C, int64 n, int m, KProtoWork *w)
{
	int64		i;
	int			j;

	memset(w->freq, 0, sizeof(int64) * w->total_levels);
	for (i = 0; i < n; i++)
		for (j = 0; j < m; j++)
			w->freq[w->loff[j] + C[i * m + j]]++;
}

/* Make prototype l the row r. */
static void
set_prototype(const double *X, const int32 *C, int d, int m, int64 r, int l,
			  KProtoWork *w)
{
	memcpy(w->cent + (Size) l * d, X + r * d, sizeof(double) * d);
	memcpy(w->modes + (Size) l * m, C + r * m, sizeof(int32) * m);
	w->chosen[l] = r;
}

/* Is row i identical to one of the first l prototypes? */
static bool
row_is_chosen(const double *X, const int32 *C, int d, int m, int64 i, int l,
			  const KProtoWork *w)
{
	int			q;

	for (q = 0; q < l; q++)
		if (memcmp(X + i * d, w->cent + (Size) q * d, sizeof(double) * d) == 0 &&
			memcmp(C + i * m, w->modes + (Size) q * m, sizeof(int32) * m) == 0)
			return true;
	return false;
}

/*
 * The first row that equals none of the first l prototypes: the fallback
 * when every remaining row costs 0 to the chosen ones (gamma 0 with rows
 * differing only in categories).  The caller checked k <= distinct rows.
 */
static int64
first_unchosen_row(const double *X, const int32 *C, int64 n, int d, int m, int l,
				   const KProtoWork *w)
{
	int64		i;

	for (i = 0; i < n; i++)
		if (!row_is_chosen(X, C, d, m, i, l, w))
			return i;
	/* scaling can merge raw-distinct rows (e.g. 0 and 1e-20 beside 1e20) */
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("k is greater than the number of distinct rows after scaling"),
			 errhint("Choose a smaller k, or another scale option.")));
	return -1;					/* keep compiler quiet */
}

/* init "huang": frequency-drawn provisional prototypes, replaced by nearest distinct rows. */
static void
init_huang(const double *X, const int32 *C, int64 n, const KProtoParams *p,
		   KProtoWork *w, pg_prng_state *rng)
{
	int			d = p->d;
	int			m = p->m;
	double	   *pnum = w->sums;		/* scratch: d */
	int32		pcat[SEGMENT_KPROTO_MAX_M_KERNEL];
	int			l;
	int			j;

	count_frequencies(C, n, m, w);
	for (l = 0; l < p->k; l++)
	{
		int64		row = (int64) pg_prng_uint64_range(rng, 0, (uint64) (n - 1));
		int64		best = -1;
		double		bd = 0.0;
		int64		i;

		memcpy(pnum, X + row * d, sizeof(double) * d);
		for (j = 0; j < m; j++)
		{
			/* a category with probability proportional to its frequency */
			int64		u = (int64) pg_prng_uint64_range(rng, 0, (uint64) (n - 1));
			const int64 *f = w->freq + w->loff[j];
			int			v = 0;

			while (u >= f[v])
			{
				u -= f[v];
				v++;
			}
			pcat[j] = v;
		}
		for (i = 0; i < n; i++)
		{
			double		dd;

			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			dd = row_cost(X + i * d, C + i * m, pnum, pcat, d, m, p->gamma);
			if ((best < 0 || dd < bd) && !row_is_chosen(X, C, d, m, i, l, w))
			{
				best = i;
				bd = dd;
			}
		}
		if (best < 0)
			best = first_unchosen_row(X, C, n, d, m, l, w);
		set_prototype(X, C, d, m, best, l, w);
	}
}

/* Number of categorical mismatches between row codes xc and prototype mode. */
static inline int
mismatches(const int32 *xc, const int32 *mode, int m)
{
	int			mis = 0;
	int			j;

	for (j = 0; j < m; j++)
		mis += (xc[j] != mode[j]);
	return mis;
}

/*
 * init "cao": the densest row first, then the row maximizing density times
 * its mismatch count to the nearest chosen prototype (Cao et al. 2009, on
 * the categorical features as in the paper; ties: lowest index).  When no
 * row differs in its categories from every chosen prototype, density times
 * the mixed cost decides instead.  Uses w->dist for the mixed cost and
 * w->labels for the mismatch counts.
 */
static void
init_cao(const double *X, const int32 *C, int64 n, const KProtoParams *p,
		 KProtoWork *w)
{
	int			d = p->d;
	int			m = p->m;
	double		norm = (double) n * (double) m;
	int64		best = 0;
	double		bestv = -1.0;
	int64		i;
	int			l;
	int			j;

	count_frequencies(C, n, m, w);
	for (i = 0; i < n; i++)
	{
		double		dens = 0.0;

		for (j = 0; j < m; j++)
			dens += (double) w->freq[w->loff[j] + C[i * m + j]];
		dens /= norm;
		if (dens > bestv)
		{
			bestv = dens;
			best = i;
		}
	}
	set_prototype(X, C, d, m, best, 0, w);
	for (i = 0; i < n; i++)
	{
		w->dist[i] = row_cost(X + i * d, C + i * m, w->cent, w->modes, d, m, p->gamma);
		w->labels[i] = mismatches(C + i * m, w->modes, m);
	}
	for (l = 1; l < p->k; l++)
	{
		int			pass;

		best = -1;
		for (pass = 0; pass < 2 && best < 0; pass++)
		{
			bestv = 0.0;
			for (i = 0; i < n; i++)
			{
				double		dens = 0.0;
				double		v;

				if ((i & 0xFFFF) == 0)
					CHECK_FOR_INTERRUPTS();
				for (j = 0; j < m; j++)
					dens += (double) w->freq[w->loff[j] + C[i * m + j]];
				dens /= norm;
				v = dens * (pass == 0 ? (double) w->labels[i] : w->dist[i]);
				if (v > bestv)
				{
					bestv = v;
					best = i;
				}
			}
		}
		if (best < 0)
			best = first_unchosen_row(X, C, n, d, m, l, w);
		set_prototype(X, C, d, m, best, l, w);
		for (i = 0; i < n; i++)
		{
			double		dd = row_cost(X + i * d, C + i * m, w->cent + (Size) l * d,
										 w->modes + (Size) l * m, d, m, p->gamma);
			int			mis = mismatches(C + i * m, w->modes + (Size) l * m, m);

			if (dd < w->dist[i])
				w->dist[i] = dd;
			if (mis < w->labels[i])
				w->labels[i] = mis;
		}
	}
}

/* init "k-means++": cost-weighted draws (Arthur & Vassilvitskii with the mixed cost). */
static void
init_plusplus(const double *X, const int32 *C, int64 n, const KProtoParams *p,
			  KProtoWork *w, pg_prng_state *rng)
{
	int			d = p->d;
	int			m = p->m;
	int64		first = (int64) pg_prng_uint64_range(rng, 0, (uint64) (n - 1));
	int64		i;
	int			l;

	set_prototype(X, C, d, m, first, 0, w);
	for (i = 0; i < n; i++)
		w->dist[i] = row_cost(X + i * d, C + i * m, w->cent, w->modes, d, m, p->gamma);
	for (l = 1; l < p->k; l++)
	{
		double		pot = 0.0;
		double		r;
		int64		pick = -1;

		CHECK_FOR_INTERRUPTS();
		for (i = 0; i < n; i++)
			pot += w->dist[i];
		r = pg_prng_double(rng) * pot;
		for (i = 0; i < n; i++)
		{
			if (w->dist[i] <= 0.0)
				continue;
			pick = i;
			if (r < w->dist[i])
				break;
			r -= w->dist[i];
		}
		if (pick < 0)
			pick = first_unchosen_row(X, C, n, d, m, l, w);
		set_prototype(X, C, d, m, pick, l, w);
		for (i = 0; i < n; i++)
		{
			double		dd = row_cost(X + i * d, C + i * m, w->cent + (Size) l * d,
										 w->modes + (Size) l * m, d, m, p->gamma);

			if (dd < w->dist[i])
				w->dist[i] = dd;
		}
	}
}

/* splitmix64 of (seed, run): the seed of run r. */
static uint64
run_seed(uint64 seed, int r)
{
	uint64		z = seed + 0x9E3779B97F4A7C15ULL * (uint64) (r + 1);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Cluster n rows; the caller checked 1 <= k <= distinct rows. */
void
kproto_run(const double *X, const int32 *C, int64 n, const KProtoParams *p,
		   KProtoResult *result, void *work)
{
	KProtoWork	w;
	int			d = p->d;
	int			m = p->m;
	int			k = p->k;
	int			n_init = (p->init == SEGMENT_KPROTO_INIT_GIVEN ||
						  p->init == SEGMENT_KPROTO_INIT_CAO) ? 1 : p->n_init;
	int			r;

	Assert(m <= SEGMENT_KPROTO_MAX_M_KERNEL);
	work_layout(&w, work, n, d, m, k, p->n_levels);
	result->cost = -1.0;
	for (r = 0; r < n_init; r++)
	{
		pg_prng_state rng;
		double		cost;
		bool		converged = false;
		int			it;
		int			n_iter = 0;

		pg_prng_seed(&rng, run_seed(p->seed, r));
		switch (p->init)
		{
			case SEGMENT_KPROTO_INIT_HUANG:
				init_huang(X, C, n, p, &w, &rng);
				break;
			case SEGMENT_KPROTO_INIT_CAO:
				init_cao(X, C, n, p, &w);
				break;
			case SEGMENT_KPROTO_INIT_PLUSPLUS:
				init_plusplus(X, C, n, p, &w, &rng);
				break;
			case SEGMENT_KPROTO_INIT_GIVEN:
				memcpy(w.cent, p->init_num, sizeof(double) * k * d);
				memcpy(w.modes, p->init_cat, sizeof(int32) * k * m);
				break;
		}

		cost = assign_rows(X, C, n, d, m, k, w.cent, w.modes, p->gamma,
						   w.labels, w.dist, false, NULL, &w);
		for (it = 1; it <= p->max_iter; it++)
		{
			int64		moved;
			double		newcost;
			int			c;

			CHECK_FOR_INTERRUPTS();
			for (c = 0; c < k; c++)
				if (w.csize[c] == 0)
					break;
			if (c < k)
			{
				/* rare: move rows into empty clusters, then recount */
				fill_empty_clusters(n, k, w.labels, w.dist, w.csize, w.lower);
				accumulate_labels(X, C, n, d, m, k, w.labels, &w);
			}
			memcpy(w.prev_cent, w.cent, sizeof(double) * k * d);
			memcpy(w.prev_modes, w.modes, sizeof(int32) * k * m);
			update_prototypes(d, m, k, &w, p->n_levels);
			for (c = 0; c < k; c++)
				w.shift[c] = sqrt(row_cost(w.prev_cent + (Size) c * d, w.prev_modes + (Size) c * m,
										   w.cent + (Size) c * d, w.modes + (Size) c * m,
										   d, m, p->gamma));
			newcost = assign_rows(X, C, n, d, m, k, w.cent, w.modes, p->gamma,
								  w.labels, w.dist, true, &moved, &w);
			n_iter = it;
			if (p->verbose)
				ereport(NOTICE,
						(errmsg("k-prototypes run %d iteration %d: cost %.10g, " INT64_FORMAT " rows moved",
								r + 1, it, newcost, moved)));
			if (moved == 0 || cost - newcost <= p->tol * cost)
			{
				converged = true;
				cost = newcost;
				break;
			}
			cost = newcost;
		}
		if (p->verbose)
			ereport(NOTICE,
					(errmsg("k-prototypes run %d: cost %.10g after %d iterations%s",
							r + 1, cost, n_iter, converged ? "" : " (max_iter reached)")));
		if (result->cost < 0 || cost < result->cost)
		{
			result->cost = cost;
			result->n_iter = n_iter;
			result->best_run = r;
			result->converged = converged;
			memcpy(result->centroids, w.cent, sizeof(double) * k * d);
			memcpy(result->modes, w.modes, sizeof(int32) * k * m);
			memcpy(result->labels, w.labels, sizeof(int32) * n);
		}
	}
	count_sizes(result->labels, n, k, result->sizes);
}

/* Renumber clusters: size descending, then centroid, then mode codes, ascending. */
void
kproto_canonicalize(double *centroids, int32 *modes, int64 *sizes, int32 *labels,
					int64 n, int d, int m, int k)
{
	int		   *order = palloc(sizeof(int) * k);
	int		   *newid = palloc(sizeof(int) * k);
	double	   *cent2 = palloc(sizeof(double) * k * d);
	int32	   *modes2 = palloc(sizeof(int32) * k * m);
	int64	   *sizes2 = palloc(sizeof(int64) * k);
	int			a;
	int			b;
	int64		i;

	for (a = 0; a < k; a++)
		order[a] = a;
	/* insertion sort: k is small and the order must be total and stable */
	for (a = 1; a < k; a++)
	{
		int			x = order[a];

		for (b = a - 1; b >= 0; b--)
		{
			int			y = order[b];
			int			cmp = 0;
			int			j;

			if (sizes[x] != sizes[y])
				cmp = sizes[x] > sizes[y] ? -1 : 1;
			for (j = 0; cmp == 0 && j < d; j++)
				if (centroids[(Size) x * d + j] != centroids[(Size) y * d + j])
					cmp = centroids[(Size) x * d + j] < centroids[(Size) y * d + j] ? -1 : 1;
			for (j = 0; cmp == 0 && j < m; j++)
				if (modes[(Size) x * m + j] != modes[(Size) y * m + j])
					cmp = modes[(Size) x * m + j] < modes[(Size) y * m + j] ? -1 : 1;
			if (cmp >= 0)
				break;
			order[b + 1] = y;
		}
		order[b + 1] = x;
	}
	for (a = 0; a < k; a++)
	{
		newid[order[a]] = a;
		memcpy(cent2 + (Size) a * d, centroids + (Size) order[a] * d, sizeof(double) * d);
		memcpy(modes2 + (Size) a * m, modes + (Size) order[a] * m, sizeof(int32) * m);
		sizes2[a] = sizes[order[a]];
	}
	memcpy(centroids, cent2, sizeof(double) * k * d);
	memcpy(modes, modes2, sizeof(int32) * k * m);
	memcpy(sizes, sizes2, sizeof(int64) * k);
	for (i = 0; i < n; i++)
		labels[i] = newid[labels[i]];
	pfree(order);
	pfree(newid);
	pfree(cent2);
	pfree(modes2);
	pfree(sizes2);
}
