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
 * radix sort on the order-preserving integer image of each double
 * (McIlroy, Bostic and McIlroy, "Engineering Radix Sort", Computing
 * Systems 6(1), 1993: the American flag permutation), which skips the key
 * bytes that do not vary within a run.  Real customer features have long
 * runs of ties (few distinct recency days and order counts), which cost a
 * comparison sort about a third of a whole 1M-row fit.  Wider rows, whose
 * fits are dominated by distance work, use PostgreSQL's sort template.
 * No extra memory either way.
 *
 * -0.0 and 0.0 key alike and compare equal, as they behave alike in every
 * distance; NaN never reaches here (inputs reject it).
 *
 * src/row_order.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/pg_bitutils.h"

#include "row_order.h"

/*
 * runs at or below this many rows are finished by a comparison sort: a
 * radix level costs a few passes over 256 buckets, which small runs do
 * not repay
 */
#define ROW_ORDER_SMALL 2048

/* the radix path serves up to this many features; wider rows use sort_template */
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

/* An unsigned key ordered as the double is (-0.0 keyed as 0.0). */
static inline uint64
double_key(double x)
{
	double		v = x + 0.0;	/* -0.0 + 0.0 is +0.0 */
	uint64		u;

	memcpy(&u, &v, sizeof(u));
	return (u & UINT64CONST(0x8000000000000000)) ? ~u : u ^ UINT64CONST(0x8000000000000000);
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
 * Radix-sort n rows whose columns before col are equal (and whose column
 * col agrees on the key bits above the ones still varying).  Each level
 * first finds the highest key byte that varies within the run (one pass),
 * so runs of equal values cost one pass, not eight; then it moves rows to
 * their buckets by the American flag permutation and recurses per bucket.
 * Depth is at most 8 levels per column.  carry and tmp hold one row each.
 */
static void
row_order_radix(double *X, int64 n, int d, int col, double *carry, double *tmp)
{
	int64		count[256];
	int64		next[256];
	int64		end;
	uint64		first;
	uint64		diff;
	int64		i;
	int			shift;
	int			b;

	check_stack_depth();
	for (;;)
	{
		if (n <= ROW_ORDER_SMALL)
		{
			row_sort_small(X, n, d);
			return;
		}
		if (col >= d)
			return;				/* all rows equal */
		first = double_key(X[col]);
		diff = 0;
		for (i = 1; i < n; i++)
			diff |= double_key(X[i * d + col]) ^ first;
		if (diff != 0)
			break;
		col++;
	}

	CHECK_FOR_INTERRUPTS();
	shift = pg_leftmost_one_pos64(diff) & ~7;
	memset(count, 0, sizeof(count));
	for (i = 0; i < n; i++)
		count[(double_key(X[i * d + col]) >> shift) & 0xFF]++;
	end = 0;
	for (b = 0; b < 256; b++)
	{
		next[b] = end;
		end += count[b];
	}

	/* American flag permutation: follow each displaced row to its bucket */
	end = 0;
	for (b = 0; b < 256; b++)
	{
		end += count[b];
		while (next[b] < end)
		{
			int			c;

			row_copy(carry, X + next[b] * d, d);
			c = (int) ((double_key(carry[col]) >> shift) & 0xFF);
			while (c != b)
			{
				int64		pos = next[c]++;

				row_copy(tmp, X + pos * d, d);
				row_copy(X + pos * d, carry, d);
				row_copy(carry, tmp, d);
				c = (int) ((double_key(carry[col]) >> shift) & 0xFF);
			}
			row_copy(X + next[b] * d, carry, d);
			next[b]++;
		}
	}

	/* a bucket agrees on bits >= shift of this column; the next pass finds what varies */
	for (b = 0, i = 0; b < 256; i += count[b], b++)
		if (count[b] > 1)
			row_order_radix(X + i * d, count[b], d, shift == 0 ? col + 1 : col, carry, tmp);
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
	row_order_radix(X, n, d, 0, carry, tmp);
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
