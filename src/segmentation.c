/*-------------------------------------------------------------------------
 *
 * segmentation.c
 *	  C helpers of managed segmentations (segment.refresh): matching a
 *	  refit's centroids to the previous run's, and a sampled silhouette.
 *
 * The orchestration (catalog tables, locking, the atomic swap) is SQL, in
 * the "Managed segmentations" section of segment--1.0.sql; this file only
 * does the numeric work that would be slow or awkward in SQL.
 *
 * Glossary:
 *	  old, new	the previous run's model and the refit
 *	  new space	the refit's model space (its transforms and scaling); both
 *				models' centroids are compared there, so distances mean
 *				the same as the refit's own k-means distances
 *
 * src/segmentation.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "segment.h"
#include "metrics.h"
#include "model.h"
#include "hungarian.h"

PG_FUNCTION_INFO_V1(segment_match_segments);
PG_FUNCTION_INFO_V1(segment_sampled_silhouette);

/* Old centroid c mapped into the new model's space (out has d entries). */
static void
old_centroid_in_new_space(const SegmentModel *old, const SegmentModel *new,
						  int c, double *out)
{
	int			j;

	for (j = 0; j < new->d; j++)
	{
		double		t = old->centroids[(Size) c * old->d + j] * old->scale[j] +
			old->center[j];

		if (old->transform[j] != new->transform[j])
		{
			/* back to original units, then the new transform */
			double		raw = (old->transform[j] == SEGMENT_TRANSFORM_LOG1P) ? expm1(t) : t;

			t = (new->transform[j] == SEGMENT_TRANSFORM_LOG1P) ? log1p(Max(raw, 0.0)) : raw;
		}
		out[j] = (t - new->center[j]) / new->scale[j];
	}
}

/*
 * match_segments(old_model, new_model) -> setof (new_segment, old_segment, distance)
 *
 * Optimal one-to-one matching of the new centroids to the old ones,
 * minimizing the summed squared distance in the new model's space.  One
 * row per new segment (old_segment NULL when k grew and it is unmatched),
 * then one row per unmatched old segment (new_segment NULL).  distance is
 * the Euclidean distance between the matched centroids.
 */
Datum
segment_match_segments(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SegmentModel *old = segment_model_from_datum(PG_GETARG_DATUM(0));
	SegmentModel *new = segment_model_from_datum(PG_GETARG_DATUM(1));
	int			ko,
				kn,
				d;
	double	   *oldc;
	double	   *cost;
	double	   *work;
	int		   *new_to_old;
	bool	   *old_used;
	int			i,
				j;

	segment_model_require_kmeans(old, "match_segments", false);
	segment_model_require_kmeans(new, "match_segments", false);
	ko = old->k;
	kn = new->k;
	d = new->d;
	if (old->d != new->d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("models have different numbers of features (%d and %d)",
						old->d, new->d)));

	InitMaterializedSRF(fcinfo, 0);

	oldc = palloc(sizeof(double) * ko * d);
	for (i = 0; i < ko; i++)
		old_centroid_in_new_space(old, new, i, oldc + (Size) i * d);

	/* rows: new segments, columns: old segments */
	cost = palloc(sizeof(double) * kn * ko);
	for (i = 0; i < kn; i++)
		for (j = 0; j < ko; j++)
		{
			double		s = 0.0;
			int			f;

			for (f = 0; f < d; f++)
			{
				double		diff = new->centroids[(Size) i * d + f] - oldc[(Size) j * d + f];

				s += diff * diff;
			}
			/* finite models can still overflow here; a matching on Infinity is meaningless */
			if (!isfinite(s))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("centroid distances between the two models overflow")));
			cost[(Size) i * ko + j] = s;
		}
	CHECK_FOR_INTERRUPTS();

	work = palloc(sizeof(double) * hungarian_work_size(kn, ko));
	new_to_old = palloc(sizeof(int) * kn);
	hungarian_solve(cost, kn, ko, new_to_old, work);

	old_used = palloc0(sizeof(bool) * ko);
	for (i = 0; i < kn; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int32GetDatum(i + 1);
		if (new_to_old[i] >= 0)
		{
			old_used[new_to_old[i]] = true;
			values[1] = Int32GetDatum(new_to_old[i] + 1);
			values[2] = Float8GetDatum(sqrt(cost[(Size) i * ko + new_to_old[i]]));
		}
		else
			nulls[1] = nulls[2] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	for (j = 0; j < ko; j++)
	{
		Datum		values[3];
		bool		nulls[3] = {true, false, true};

		if (old_used[j])
			continue;
		values[0] = (Datum) 0;
		values[1] = Int32GetDatum(j + 1);
		values[2] = (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * sampled_silhouette(model, points float8[][]) -> float8
 *
 * Mean silhouette (Rousseeuw 1987) of the sample rows of points, each
 * labelled with its nearest centroid, distances in model space.  O(s^2 d)
 * for s sample rows, so the caller keeps s small (about 1000).  A point
 * alone in its cluster scores 0, as in scikit-learn; NULL when the
 * silhouette is undefined (fewer than two clusters, or as many as rows).
 */
Datum
segment_sampled_silhouette(PG_FUNCTION_ARGS)
{
	SegmentModel *m = segment_model_from_datum(PG_GETARG_DATUM(0));
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	int			d;
	int			s;
	int			i;
	double	   *raw;
	double	   *z;
	int32	   *label;
	double		silhouette;

	segment_model_require_kmeans(m, "sampled_silhouette", false);
	d = m->d;

	if (ARR_NDIM(arr) == 0)
		PG_RETURN_NULL();
	if (ARR_NDIM(arr) != 2 || ARR_DIMS(arr)[1] != d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("points must be a two-dimensional array with %d columns", d)));
	if (ARR_HASNULL(arr) && array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("points must not contain NULL")));
	s = ARR_DIMS(arr)[0];
	if (s > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("silhouette sample of %d rows is too large", s),
				 errhint("Use at most 100000 rows.")));
	raw = (double *) ARR_DATA_PTR(arr);
	z = palloc(sizeof(double) * s * d);
	label = palloc(sizeof(int32) * s);
	for (i = 0; i < s; i++)
	{
		segment_model_to_space(m, raw + (Size) i * d, z + (Size) i * d);
		label[i] = kmeans_nearest(z + (Size) i * d, d, m->centroids, m->k, NULL);
	}
	/* the same silhouette as kmeans_evaluate (metrics.c); NaN when undefined */
	silhouette = metrics_silhouette(z, s, d, label, m->k);
	if (isnan(silhouette))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(silhouette);
}
