/*-------------------------------------------------------------------------
 *
 * scaler.c
 *	  The feature scalers of kmeans_fit and kprototypes_fit, on plain
 *	  arrays: z-score (population standard deviation, as scikit-learn's
 *	  StandardScaler), min-max, robust (median and interquartile range,
 *	  numpy's linear quantiles, as RobustScaler) or none.  A constant
 *	  feature keeps scale 1, as scikit-learn's scalers do.
 *
 * src/scaler.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "scaler.h"

#define ST_SORT sort_float8
#define ST_ELEMENT_TYPE double
#define ST_COMPARE(a, b) ((*(a) > *(b)) - (*(a) < *(b)))
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* Linear-interpolated quantile p of sorted values (numpy's default). */
static double
sorted_quantile(const double *v, int64 n, double p)
{
	double		pos = p * (double) (n - 1);
	int64		lo = (int64) floor(pos);
	int64		hi = Min(lo + 1, n - 1);
	double		frac = pos - (double) lo;

	return v[lo] + (v[hi] - v[lo]) * frac;
}

/* Compute the scaler of n transformed rows X (n*d) into center/scale (d each). */
void
segment_compute_scaler(const double *X, int64 n, int d, SegmentScale method,
			   double *center, double *scale)
{
	int64		i;
	int			j;

	for (j = 0; j < d; j++)
	{
		center[j] = 0.0;
		scale[j] = 1.0;
	}
	if (method == SEGMENT_SCALE_ZSCORE)
	{
		/* two passes: mean, then population variance (StandardScaler, ddof 0) */
		for (i = 0; i < n; i++)
		{
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			for (j = 0; j < d; j++)
				center[j] += X[i * d + j];
		}
		for (j = 0; j < d; j++)
		{
			center[j] /= (double) n;
			scale[j] = 0.0;
		}
		for (i = 0; i < n; i++)
		{
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			for (j = 0; j < d; j++)
			{
				double		dv = X[i * d + j] - center[j];

				scale[j] += dv * dv;
			}
		}
		for (j = 0; j < d; j++)
			scale[j] = sqrt(scale[j] / (double) n);
	}
	else if (method == SEGMENT_SCALE_MINMAX)
	{
		for (j = 0; j < d; j++)
		{
			double		lo = X[j];
			double		hi = X[j];

			for (i = 1; i < n; i++)
			{
				lo = Min(lo, X[i * d + j]);
				hi = Max(hi, X[i * d + j]);
			}
			center[j] = lo;
			scale[j] = hi - lo;
		}
	}
	else if (method == SEGMENT_SCALE_ROBUST)
	{
		double	   *col = palloc_extended(mul_size(sizeof(double), n), MCXT_ALLOC_HUGE);

		for (j = 0; j < d; j++)
		{
			CHECK_FOR_INTERRUPTS();
			for (i = 0; i < n; i++)
				col[i] = X[i * d + j];
			sort_float8(col, n);	/* one pass when already sorted */
			center[j] = sorted_quantile(col, n, 0.5);
			scale[j] = sorted_quantile(col, n, 0.75) - sorted_quantile(col, n, 0.25);
		}
		pfree(col);
	}
	for (j = 0; j < d; j++)
	{
		/* finite inputs whose mean, spread or range overflow */
		if (!isfinite(center[j]) || !isfinite(scale[j]))
			float_overflow_error();
		/* constant features: scale 1, as scikit-learn's scalers do */
		if (!(scale[j] > 0))
			scale[j] = 1.0;
	}
}
