/*-------------------------------------------------------------------------
 *
 * hungarian.h
 *	  Optimal assignment (Hungarian / Kuhn-Munkres) on a plain cost matrix.
 *
 * src/hungarian.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_HUNGARIAN_H
#define SEGMENT_HUNGARIAN_H

/*
 * Minimum-cost assignment for an n x m cost matrix (row-major, finite
 * values).  Rectangular matrices are allowed: min(n, m) pairs are made.
 * On return row_to_col[i] is the column assigned to row i, or -1.
 * work must hold hungarian_work_size(n, m) doubles; returns the total cost.
 */
extern int	hungarian_work_size(int n, int m);
extern double hungarian_solve(const double *cost, int n, int m,
							  int *row_to_col, double *work);

#endif							/* SEGMENT_HUNGARIAN_H */
