/*-------------------------------------------------------------------------
 *
 * row_order.c
 *	  The canonical (lexicographic) order of feature rows that makes every
 *	  k-means fit independent of the order rows arrive in.
 *
 * Rationale.  k-means++ seeding draws rows by position and Lloyd sums rows
 * in position order, so a fit is a function of the row sequence.  Sorting
 * the rows by value makes the model a function of the multiset of rows
 * and the seed: serial, parallel and shuffled inputs give bit-identical
 * models.  Lexicographic order, rather than any cheaper scrambled order,
 * because neighbouring rows then tend to share a nearest centroid, which
 * keeps the kernel's branches predictable (with the rows in hash order
 * the assignment loops took about twice as long on 1M RFM rows).
 *
 * Up to four features the sort is an in-place most-significant-digit
 * bucket sort: each level spreads a run over up to 1024 buckets by a
 * monotone map of one column's range and moves rows by the American flag
 * permutation (McIlroy, Bostic and McIlroy, "Engineering Radix Sort",
 * Computing Systems 6(1), 1993); buckets recurse, small runs and the rare
 * run whose values span too many magnitudes finish with PostgreSQL's sort
 * template.  Real customer features have long runs of ties (few distinct
 * recency days and order counts), which cost a comparison sort about a
 * third of a whole 1M-row fit; the bucket sort takes about half the time
 * (1M RFM-like rows: ~85 ms against ~175 ms standalone).  Wider rows,
 * whose fits are dominated by distance work, use the sort template
 * directly.  No extra memory either way.
 *
 * -0.0 and 0.0 fall in the same bucket and compare equal, as they behave
 * alike in every distance; NaN never reaches here (inputs reject it).
 *
 * src/row_order.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "row_order.h"

/*
 * runs at or below this many rows are finished by a comparison sort: a
 * bucket level costs two passes and a permutation, which tiny runs do not
 * repay
 */
#define ROW_ORDER_SMALL 32

/* bucket levels before a run is finished by comparison */
#define ROW_ORDER_MAX_DEPTH 48

/* buckets per level (at most n/8): 1024 parts 730 recency days in one level */
#define ROW_ORDER_MAX_BUCKETS 1024

/* the bucket sort serves up to this many features; wider rows use sort_template */
#define ROW_ORDER_RADIX_MAX_D 4

/* Lexicographic comparison of two rows of d doubles (-0.0 equals 0.0). */
static inline int
row_compare(const double *x, const double *y, int d)
{
	int			j;

	for (j = 0; j < d; j++)
	{
		if (x[j] < y[j])
			return -1;
		if (x[j] > y[j])
			return 1;
	}
	return 0;
}

/* Copy one row of d doubles (inlined: rows are a few doubles wide). */
static inline void
row_copy(double *dst, const double *src, int d)
{
	int			j;

	for (j = 0; j < d; j++)
		dst[j] = src[j];
}

/*
 * Comparison sorts from PostgreSQL's sort template with the comparison
 * inlined: fixed-size rows for d = 2..4 (the radix sort's small runs), a
 * generic one for wider rows.
 */
typedef struct Row2
{
	double		v[2];
} Row2;
typedef struct Row3
{
	double		v[3];
} Row3;
typedef struct Row4
{
	double		v[4];
} Row4;

#define ST_SORT row_sort2
#define ST_ELEMENT_TYPE Row2
#define ST_COMPARE(a, b) row_compare((a)->v, (b)->v, 2)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT row_sort3
#define ST_ELEMENT_TYPE Row3
#define ST_COMPARE(a, b) row_compare((a)->v, (b)->v, 3)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT row_sort4
#define ST_ELEMENT_TYPE Row4
#define ST_COMPARE(a, b) row_compare((a)->v, (b)->v, 4)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT row_sort_lexicographic
#define ST_ELEMENT_TYPE_VOID
#define ST_COMPARE_ARG_TYPE int
#define ST_COMPARE(a, b, arg) row_compare((const double *) (a), (const double *) (b), *(arg))
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* Comparison-sort a run of rows (d <= ROW_ORDER_RADIX_MAX_D). */
static void
row_sort_small(double *X, int64 n, int d)
{
	if (d == 2)
		row_sort2((Row2 *) X, n);
	else if (d == 3)
		row_sort3((Row3 *) X, n);
	else if (d == 4)
		row_sort4((Row4 *) X, n);
	else
		row_sort_lexicographic(X, n, sizeof(double) * d, &d);
}

/*
 * Bucket-sort n rows whose columns before col are equal, in place.  Each
 * level spreads the run over up to ROW_ORDER_MAX_BUCKETS buckets by a monotone map of
 * column col's range, bucket = floor((x - min) * nb / (max - min)), so
 * buckets hold consecutive ranges of the order and one level usually
 * separates many distinct values even when their bit patterns share long
 * prefixes (small integers as doubles); rows move by the American flag
 * permutation and each bucket recurses.  The minimum lands in the first
 * bucket and the maximum in the last, so every level splits; past
 * ROW_ORDER_MAX_DEPTH levels (values spread over many orders of
 * magnitude) the run is finished by comparison.  carry and tmp hold one
 * row each.
 */
static void
row_order_radix(double *X, int64 n, int d, int col, int depth, double *carry, double *tmp)
{
	int64		count_local[256];
	int64		next_local[256];
	int64	   *count = count_local;
	int64	   *next = next_local;
	int64		end;
	double		lo;
	double		hi;
	double		scale;
	int64		i;
	int			nb;
	int			b;

	check_stack_depth();
	for (;;)
	{
		if (n <= ROW_ORDER_SMALL || depth > ROW_ORDER_MAX_DEPTH)
		{
			row_sort_small(X, n, d);
			return;
		}
		if (col >= d)
			return;				/* all rows equal */
		lo = hi = X[col];
		for (i = 1; i < n; i++)
		{
			double		x = X[i * d + col];

			lo = Min(lo, x);
			hi = Max(hi, x);
		}
		if (lo < hi)
			break;
		col++;
	}

	CHECK_FOR_INTERRUPTS();
	nb = (int) Min(ROW_ORDER_MAX_BUCKETS, Max(2, n / 8));
	scale = (double) nb / (hi - lo);
	if (!isfinite(scale) || !(scale > 0))
	{
		/* a range too wide (or too narrow) for doubles: compare */
		row_sort_small(X, n, d);
		return;
	}
	if (nb > lengthof(count_local))
	{
		/* only large runs: a level of up to 1024 buckets separates more at once */
		count = palloc(sizeof(int64) * nb);
		next = palloc(sizeof(int64) * nb);
	}
#define ROW_BUCKET(x) ((int) Min((double) (nb - 1), ((x) - lo) * scale))
	memset(count, 0, sizeof(int64) * nb);
	for (i = 0; i < n; i++)
		count[ROW_BUCKET(X[i * d + col])]++;
	end = 0;
	for (b = 0; b < nb; b++)
	{
		next[b] = end;
		end += count[b];
	}

	/* American flag permutation: follow each displaced row to its bucket */
	end = 0;
	for (b = 0; b < nb; b++)
	{
		end += count[b];
		while (next[b] < end)
		{
			int			c;

			row_copy(carry, X + next[b] * d, d);
			c = ROW_BUCKET(carry[col]);
			while (c != b)
			{
				int64		pos = next[c]++;

				row_copy(tmp, X + pos * d, d);
				row_copy(X + pos * d, carry, d);
				row_copy(carry, tmp, d);
				c = ROW_BUCKET(carry[col]);
			}
			row_copy(X + next[b] * d, carry, d);
			next[b]++;
		}
	}
#undef ROW_BUCKET

	for (b = 0, i = 0; b < nb; i += count[b], b++)
		if (count[b] > 1)
			row_order_radix(X + i * d, count[b], d, col, depth + 1, carry, tmp);
	if (count != count_local)
	{
		pfree(count);
		pfree(next);
	}
}

/* Are the rows already in order? */
static bool
row_order_is_sorted(const double *X, int64 n, int d)
{
	int64		i;

	for (i = 1; i < n; i++)
		if (row_compare(X + (i - 1) * d, X + i * d, d) > 0)
			return false;
	return true;
}

/* Put n rows of d doubles in lexicographic order, in place. */
void
kmeans_sort_rows(double *X, int64 n, int d)
{
	double	   *carry;
	double	   *tmp;

	if (row_order_is_sorted(X, n, d))
		return;
	if (d > ROW_ORDER_RADIX_MAX_D)
	{
		row_sort_lexicographic(X, n, sizeof(double) * d, &d);
		return;
	}
	carry = palloc(sizeof(double) * d);
	tmp = palloc(sizeof(double) * d);
	row_order_radix(X, n, d, 0, 0, carry, tmp);
	pfree(carry);
	pfree(tmp);
}

/* Number of distinct rows among n rows in order. */
int64
kmeans_count_distinct_rows(const double *X, int64 n, int d)
{
	int64		distinct = n > 0 ? 1 : 0;
	int64		i;

	for (i = 1; i < n; i++)
		if (row_compare(X + (i - 1) * d, X + i * d, d) != 0)
			distinct++;
	return distinct;
}
