/*-------------------------------------------------------------------------
 *
 * kmeans_assign.c
 *	  Using a fitted segment_model: assign_segment, segment_distances,
 *	  model_centroids (SRF) and model_summary.
 *
 * assign_segment maps a raw feature vector to model space (the stored
 * transforms and scaling) and returns the nearest centroid's segment,
 * 1..k, ties to the lower id: the same rule the fit used for its final
 * labels, so every training row gets its fitted segment back.  The model
 * is decoded once per query (segment_model_cached), not per row.
 *
 * src/kmeans_assign.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "segment.h"
#include "model.h"

/* features up to this length are mapped on the stack */
#define ASSIGN_STACK_D 64

PG_FUNCTION_INFO_V1(segment_assign_segment);
PG_FUNCTION_INFO_V1(segment_segment_distances);
PG_FUNCTION_INFO_V1(segment_model_centroids);
PG_FUNCTION_INFO_V1(segment_model_summary);

/* Validate features against the model and map them to model space in out. */
static void
model_point(const SegmentModel *m, ArrayType *array, double *out)
{
	int			d;
	double	   *x = segment_kmeans_features(array, &d);

	if (d != m->d)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features have %d elements but the model has %d features",
						d, m->d)));
	segment_model_to_space(m, x, out);
}

/* assign_segment(model, features): nearest segment, 1..k. */
Datum
segment_assign_segment(PG_FUNCTION_ARGS)
{
	SegmentModel *m = segment_model_cached(fcinfo, 0);
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(1);
	double		stackbuf[ASSIGN_STACK_D];
	double	   *point = m->d <= ASSIGN_STACK_D ? stackbuf : palloc(sizeof(double) * m->d);

	model_point(m, array, point);
	PG_RETURN_INT32(kmeans_nearest(point, m->d, m->centroids, m->k, NULL) + 1);
}

/* segment_distances(model, features): Euclidean distance to each centroid in model space. */
Datum
segment_segment_distances(PG_FUNCTION_ARGS)
{
	SegmentModel *m = segment_model_cached(fcinfo, 0);
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(1);
	double	   *point = palloc(sizeof(double) * m->d);
	double	   *dist2 = palloc(sizeof(double) * m->k);
	Datum	   *elems = palloc(sizeof(Datum) * m->k);
	int			c;

	model_point(m, array, point);
	(void) kmeans_nearest(point, m->d, m->centroids, m->k, dist2);
	for (c = 0; c < m->k; c++)
		elems[c] = Float8GetDatum(sqrt(dist2[c]));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, m->k, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* A float8[] of n values. */
static ArrayType *
float8_array(const double *values, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = Float8GetDatum(values[i]);
	return construct_array(elems, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
						   TYPALIGN_DOUBLE);
}

/* model_centroids(model): (segment, centroid in original units, size, share) rows. */
Datum
segment_model_centroids(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SegmentModel *m = segment_model_from_datum(PG_GETARG_DATUM(0));
	double	   *centroid = palloc(sizeof(double) * m->d);
	int			c;

	InitMaterializedSRF(fcinfo, 0);
	for (c = 0; c < m->k; c++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		segment_model_centroid_original(m, c, centroid);
		values[0] = Int32GetDatum(c + 1);
		values[1] = PointerGetDatum(float8_array(centroid, m->d));
		values[2] = Int64GetDatum(m->sizes[c]);
		values[3] = Float8GetDatum((double) m->sizes[c] / (double) m->n);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Append a JSON array of doubles. */
static void
append_array(StringInfo buf, const double *values, int n)
{
	int			i;

	appendStringInfoChar(buf, '[');
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		segment_append_float8(buf, values[i]);
	}
	appendStringInfoChar(buf, ']');
}

/* model_summary(model): a readable jsonb summary with centroids in original units. */
Datum
segment_model_summary(PG_FUNCTION_ARGS)
{
	SegmentModel *m = segment_model_from_datum(PG_GETARG_DATUM(0));
	double	   *centroid = palloc(sizeof(double) * m->d);
	StringInfoData buf;
	int			c;
	int			j;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"k\": %d, \"d\": %d, \"n\": " INT64_FORMAT
					 ", \"n_null\": " INT64_FORMAT ", \"inertia\": ",
					 m->k, m->d, m->n, m->n_null);
	segment_append_float8(&buf, m->inertia);
	appendStringInfo(&buf, ", \"n_iter\": %d, \"converged\": %s, \"seed\": " INT64_FORMAT
					 ", \"n_init\": %d, \"max_iter\": %d, \"tol\": ",
					 m->n_iter, m->converged ? "true" : "false", m->seed,
					 m->n_init, m->max_iter);
	segment_append_float8(&buf, m->tol);
	appendStringInfo(&buf, ", \"init\": \"%s\", \"scale\": \"%s\", \"mode\": \"%s\", \"sample_size\": "
					 INT64_FORMAT ", \"features\": [",
					 segment_init_name(m->init), segment_scale_name(m->scale_method),
					 segment_mode_name(m->mode), m->sample_size);
	for (j = 0; j < m->d; j++)
	{
		if (j > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "{\"index\": %d, \"name\": ", j + 1);
		if (m->feature_names)
			escape_json(&buf, m->feature_names[j]);
		else
			appendStringInfoString(&buf, "null");
		appendStringInfo(&buf, ", \"transform\": \"%s\", \"center\": ",
						 m->transform[j] == SEGMENT_TRANSFORM_LOG1P ? "log1p" : "none");
		segment_append_float8(&buf, m->center[j]);
		appendStringInfoString(&buf, ", \"scale\": ");
		segment_append_float8(&buf, m->scale[j]);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "], \"segments\": [");
	for (c = 0; c < m->k; c++)
	{
		if (c > 0)
			appendStringInfoString(&buf, ", ");
		segment_model_centroid_original(m, c, centroid);
		appendStringInfo(&buf, "{\"segment\": %d, \"size\": " INT64_FORMAT ", \"share\": ",
						 c + 1, m->sizes[c]);
		segment_append_float8(&buf, (double) m->sizes[c] / (double) m->n);
		appendStringInfoString(&buf, ", \"centroid\": ");
		append_array(&buf, centroid, m->d);
		appendStringInfoString(&buf, ", \"centroid_scaled\": ");
		append_array(&buf, m->centroids + (Size) c * m->d, m->d);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}
