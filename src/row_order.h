/*-------------------------------------------------------------------------
 *
 * row_order.h
 *	  Canonical order of feature rows (order-independent k-means fits).
 *
 * src/row_order.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_ROW_ORDER_H
#define SEGMENT_ROW_ORDER_H

/* Put n rows of d doubles in canonical order (hash, then values), in place. */
extern void kmeans_sort_rows(double *X, int64 n, int d);

/* Number of distinct rows among n rows in canonical order. */
extern int64 kmeans_count_distinct_rows(const double *X, int64 n, int d);

#endif							/* SEGMENT_ROW_ORDER_H */
