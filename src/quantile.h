/*-------------------------------------------------------------------------
 *
 * quantile.h
 *	  Tie-aware quantile cut points and scores on plain arrays.
 *
 * src/quantile.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_QUANTILE_H
#define SEGMENT_QUANTILE_H

/* Sort values ascending in place (-0 folded to +0); scratch holds n doubles. */
extern void quantile_sort(double *values, int64 n, double *scratch);

/* Cut points of sorted[0..n-1] into bins quantile bins: bins - 1 values. */
extern void quantile_breaks_sorted(const double *sorted, int64 n, int bins,
								   double *breaks);

/* Score 1..nbreaks+1 of value: one plus the number of breaks below it. */
extern int	quantile_score(double value, const double *breaks, int nbreaks);

/* Validate bins (1..SEGMENT_MAX_BINS) and raise 22023 otherwise. */
extern void quantile_check_bins(int bins);

#endif							/* SEGMENT_QUANTILE_H */
