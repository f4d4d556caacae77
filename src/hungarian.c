/*-------------------------------------------------------------------------
 *
 * hungarian.c
 *	  Optimal assignment of rows to columns of a cost matrix: the
 *	  Hungarian method (Kuhn-Munkres), O(n^2 m) for n <= m.
 *
 * Used by managed segmentations to match a refit's centroids to the
 * previous run's so that segment ids keep their meaning.  Plain C arrays
 * only: no fmgr, no Datums, no allocation (the caller passes the
 * workspace), so it can be tested alone.
 *
 * Glossary:
 *	  n, m		rows (the smaller side) and columns of the cost matrix
 *	  u, v		dual potentials of rows and columns; cost[i][j] - u[i] - v[j]
 *				is the reduced cost, >= 0 for every pair, 0 on the matching
 *	  p[j]		row matched to column j (1-based, 0 = free)
 *	  way[j]	previous column on the shortest augmenting path to j
 *
 * ALGORITHM AND RATIONALE
 *
 * H. W. Kuhn, "The Hungarian method for the assignment problem", Naval
 * Research Logistics Quarterly 2 (1955) 83-97, solved the square
 * assignment problem by maintaining a feasible dual (u, v) and growing the
 * matching along zero reduced-cost edges; J. Munkres, "Algorithms for the
 * assignment and transportation problems", J. SIAM 5 (1957) 32-38, showed
 * it is polynomial and extended it to rectangular matrices.  We use the
 * shortest-augmenting-path form (as in Jonker & Volgenant 1987 and the
 * classical e-maxx formulation): each of the n rows is added in turn and
 * a Dijkstra-like scan over the reduced costs finds the cheapest
 * augmenting path in O(n m), so the whole is O(n^2 m) <= O(k^3).
 *
 * Why not greedy nearest-centroid matching: greedy can take a pair that
 * forces two other centroids into a bad match, and its result depends on
 * the order of the centroids; the optimal assignment is well defined
 * (ties aside) and minimizes the total centroid displacement.
 *
 * Rectangular input: when n > m the matrix is processed transposed (the
 * algorithm needs rows <= columns), so exactly min(n, m) pairs are made
 * and the rest of the larger side stays unmatched (-1).
 *
 * src/hungarian.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>

#include "miscadmin.h"

#include "hungarian.h"

/* Doubles of workspace hungarian_solve needs for an n x m matrix. */
int
hungarian_work_size(int n, int m)
{
	int			a = Min(n, m);
	int			b = Max(n, m);

	/* u (a+1), v (b+1), minv (b+1), and p, way, used stored as doubles */
	return (a + 1) + 4 * (b + 1) + (b + 1);
}

/* Solve the assignment problem; see hungarian.h. */
double
hungarian_solve(const double *cost, int n, int m, int *row_to_col,
				double *work)
{
	bool		transpose = n > m;
	int			rows = transpose ? m : n;
	int			cols = transpose ? n : m;
	double	   *u = work;
	double	   *v = u + rows + 1;
	double	   *minv = v + cols + 1;
	double	   *pd = minv + cols + 1;	/* p[j], stored as double */
	double	   *wayd = pd + cols + 1;	/* way[j] */
	double	   *used = wayd + cols + 1; /* used[j] as 0/1 */
	double		total = 0.0;
	int			i,
				j;

#define COST(r, c) (transpose ? cost[(c) * m + (r)] : cost[(r) * m + (c)])

	for (j = 0; j <= cols; j++)
	{
		v[j] = 0.0;
		pd[j] = 0;
		wayd[j] = 0;
	}
	for (i = 0; i <= rows; i++)
		u[i] = 0.0;

	for (i = 1; i <= rows; i++)
	{
		int			j0 = 0;

		CHECK_FOR_INTERRUPTS();	/* O(rows * cols) per row; k may be large */
		pd[0] = i;
		for (j = 0; j <= cols; j++)
		{
			minv[j] = DBL_MAX;
			used[j] = 0;
		}
		do
		{
			int			i0 = (int) pd[j0];
			int			j1 = 0;
			double		delta = DBL_MAX;

			used[j0] = 1;
			for (j = 1; j <= cols; j++)
			{
				if (!used[j])
				{
					double		cur = COST(i0 - 1, j - 1) - u[i0] - v[j];

					if (cur < minv[j])
					{
						minv[j] = cur;
						wayd[j] = j0;
					}
					if (minv[j] < delta)
					{
						delta = minv[j];
						j1 = j;
					}
				}
			}
			for (j = 0; j <= cols; j++)
			{
				if (used[j])
				{
					u[(int) pd[j]] += delta;
					v[j] -= delta;
				}
				else
					minv[j] -= delta;
			}
			j0 = j1;
		} while (pd[j0] != 0);
		/* augment along the path back to column 0 */
		do
		{
			int			j1 = (int) wayd[j0];

			pd[j0] = pd[j1];
			j0 = j1;
		} while (j0 != 0);
	}

	for (i = 0; i < n; i++)
		row_to_col[i] = -1;
	for (j = 1; j <= cols; j++)
	{
		int			r = (int) pd[j];

		if (r == 0)
			continue;
		if (transpose)
		{
			/* internal row r-1 is original column r-1; internal column j-1 is original row */
			row_to_col[j - 1] = r - 1;
			total += cost[(j - 1) * m + (r - 1)];
		}
		else
		{
			row_to_col[r - 1] = j - 1;
			total += cost[(r - 1) * m + (j - 1)];
		}
	}
#undef COST
	return total;
}
