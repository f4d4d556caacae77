/*-------------------------------------------------------------------------
 *
 * scaler.h
 *	  Feature scalers shared by the k-means and k-prototypes fits.
 *
 * src/scaler.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_SCALER_H
#define SEGMENT_SCALER_H

#include "model.h"

/* Compute the scaler of n transformed rows X (n*d) into center/scale (d each). */
extern void segment_compute_scaler(const double *X, int64 n, int d, SegmentScale method,
								   double *center, double *scale);

#endif							/* SEGMENT_SCALER_H */
