/*-------------------------------------------------------------------------
 *
 * metrics.h
 *	  Clustering quality metrics on plain C arrays (no Datums, no fmgr):
 *	  silhouette, Davies-Bouldin, Calinski-Harabasz, and the seeded
 *	  stratified sample the silhouette uses above its exact limit.
 *
 * Glossary:
 *	  labels	0-based cluster of each point, 0..k-1 (empty clusters allowed)
 *	  means		k*d per-cluster means of the labelled points (row-major)
 *	  key		64-bit pseudo-random sampling key of a row (smaller = sampled
 *				first); a hash of the row's bytes and the seed, so a sample
 *				depends only on the multiset of rows, never on row order
 *
 * src/metrics.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_METRICS_H
#define SEGMENT_METRICS_H

/* rows up to which kmeans_evaluate computes the exact silhouette (sample size above) */
#define SEGMENT_SILHOUETTE_EXACT_LIMIT 10000

/*
 * the same for kmeans_sweep, per k: smaller, since a sweep computes one
 * silhouette per k (n^2 distances each) and only compares them
 */
#define SEGMENT_SWEEP_SILHOUETTE_LIMIT 5000

/* mean silhouette of n points (scikit-learn's silhouette_score); NaN when undefined */
extern double metrics_silhouette(const double *X, int64 n, int d,
								 const int32 *labels, int k);

/* per-cluster sizes and means of labelled points; returns the non-empty cluster count */
extern int	metrics_cluster_means(const double *X, int64 n, int d,
								  const int32 *labels, int k,
								  int64 *sizes, double *means);

/* sum of squared distances of points to their cluster mean */
extern double metrics_within_ss(const double *X, int64 n, int d,
								const int32 *labels, const double *means);

/* Calinski-Harabasz from sizes, means and within SS; NaN when undefined */
extern double metrics_calinski_harabasz(int64 n, int d, int k, const int64 *sizes,
										const double *means, double within_ss);

/* Davies-Bouldin; scatter[c] = mean distance of cluster c's points to its mean; NaN when undefined */
extern double metrics_davies_bouldin(int d, int k, const int64 *sizes,
									 const double *means, const double *scatter);

/* scatter[c] (mean distance to the cluster mean) from points X with labels */
extern void metrics_scatter(const double *X, int64 n, int d, const int32 *labels,
							int k, const double *means, double *scatter);

/* sampling key of one row of d doubles */
extern uint64 metrics_row_key(const double *x, int d, uint64 seed);

/* proportional (largest remainder) allocation of total over k strata, at least one per non-empty stratum */
extern void metrics_stratified_quota(int64 total, int k, const int64 *sizes,
									 int64 *quota);

/* indices 0..n-1 ordered by (keys, index) */
extern void metrics_order_by_key(const uint64 *keys, int64 n, int64 *order);

#endif							/* SEGMENT_METRICS_H */
