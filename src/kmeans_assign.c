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
 * k-prototypes models (issue 8) take numeric and categorical features:
 * assign_segment(model, numeric, categorical) and segment_distances
 * likewise, with the cost gamma * mismatches added to the squared numeric
 * distance (a category never seen in training mismatches every segment).
 * The numeric-only forms refuse such a model (22023).  model_prototypes
 * and model_categories show the modes and category shares; model_centroids
 * keeps its 1.0 row type and shows the numeric part of any model.
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
PG_FUNCTION_INFO_V1(segment_assign_segment_mixed);
PG_FUNCTION_INFO_V1(segment_segment_distances_mixed);
PG_FUNCTION_INFO_V1(segment_model_prototypes);
PG_FUNCTION_INFO_V1(segment_model_categories);

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

	segment_model_require_kmeans(m, "assign_segment", true);
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

	segment_model_require_kmeans(m, "segment_distances", true);
	model_point(m, array, point);
	(void) kmeans_nearest(point, m->d, m->centroids, m->k, dist2);
	for (c = 0; c < m->k; c++)
		elems[c] = Float8GetDatum(sqrt(dist2[c]));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, m->k, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* A k-prototypes model from argument argno (cached), or 22023 for a k-means one. */
static SegmentModel *
kproto_model_arg(FunctionCallInfo fcinfo, int argno, const char *fname)
{
	SegmentModel *m = segment_model_cached(fcinfo, argno);

	if (m->m == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s with categorical features needs a k-prototypes model", fname),
				 errdetail("The model is a k-means model with %d numeric features.", m->d),
				 errhint("Call %s(model, features) for a model fitted by kmeans_fit.", fname)));
	return m;
}

/* assign_segment(model, numeric, categorical): nearest prototype, 1..k. */
Datum
segment_assign_segment_mixed(PG_FUNCTION_ARGS)
{
	SegmentModel *m = kproto_model_arg(fcinfo, 0, "assign_segment");

	PG_RETURN_INT32(kproto_model_nearest(m, PG_GETARG_ARRAYTYPE_P(1),
										 PG_GETARG_ARRAYTYPE_P(2), NULL) + 1);
}

/*
 * segment_distances(model, numeric, categorical): per segment
 * sqrt(squared numeric distance + gamma * mismatches), in model space.
 */
Datum
segment_segment_distances_mixed(PG_FUNCTION_ARGS)
{
	SegmentModel *m = kproto_model_arg(fcinfo, 0, "segment_distances");
	double	   *cost = palloc(sizeof(double) * m->k);
	Datum	   *elems = palloc(sizeof(Datum) * m->k);
	int			c;

	(void) kproto_model_nearest(m, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_ARRAYTYPE_P(2), cost);
	for (c = 0; c < m->k; c++)
		elems[c] = Float8GetDatum(sqrt(cost[c]));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, m->k, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* A text[] of n C strings. */
static ArrayType *
text_array(char **values, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(values[i]);
	return construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
}

/* Rows of segment c with category value (0 if not among the stored counts). */
static int64
category_count(const SegmentCatStat *cs, const char *value)
{
	int			t;

	for (t = 0; t < cs->n_top; t++)
		if (strcmp(cs->top[t], value) == 0)
			return cs->top_count[t];
	return 0;
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

/*
 * model_prototypes(model): per segment the numeric centroid in original
 * units, the modes, each mode's share of the segment, size and share (a
 * k-means model gives NULL modes).
 */
Datum
segment_model_prototypes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SegmentModel *m = segment_model_from_datum(PG_GETARG_DATUM(0));
	double	   *centroid = palloc(sizeof(double) * m->d);
	char	  **modes = palloc(sizeof(char *) * Max(m->m, 1));
	double	   *mode_share = palloc(sizeof(double) * Max(m->m, 1));
	int			c;
	int			j;

	InitMaterializedSRF(fcinfo, 0);
	for (c = 0; c < m->k; c++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		segment_model_centroid_original(m, c, centroid);
		for (j = 0; j < m->m; j++)
		{
			const SegmentCatStat *cs = &m->cat[(Size) c * m->m + j];

			modes[j] = cs->mode;
			mode_share[j] = m->sizes[c] > 0 ?
				(double) category_count(cs, cs->mode) / (double) m->sizes[c] : 0.0;
		}
		values[0] = Int32GetDatum(c + 1);
		values[1] = PointerGetDatum(float8_array(centroid, m->d));
		if (m->m > 0)
		{
			values[2] = PointerGetDatum(text_array(modes, m->m));
			values[3] = PointerGetDatum(float8_array(mode_share, m->m));
		}
		else
			nulls[2] = nulls[3] = true;
		values[4] = Int64GetDatum(m->sizes[c]);
		values[5] = Float8GetDatum((double) m->sizes[c] / (double) m->n);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * model_categories(model): per segment and categorical feature, the most
 * frequent categories the model keeps (at most SEGMENT_KPROTO_TOP_SHARES),
 * with count, share of the segment and whether it is the mode; no rows
 * for a k-means model.
 */
Datum
segment_model_categories(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SegmentModel *m = segment_model_from_datum(PG_GETARG_DATUM(0));
	int			c;
	int			j;
	int			t;

	InitMaterializedSRF(fcinfo, 0);
	for (c = 0; c < m->k; c++)
		for (j = 0; j < m->m; j++)
		{
			const SegmentCatStat *cs = &m->cat[(Size) c * m->m + j];

			for (t = 0; t < cs->n_top; t++)
			{
				Datum		values[7];
				bool		nulls[7] = {false, false, false, false, false, false, false};

				values[0] = Int32GetDatum(c + 1);
				values[1] = Int32GetDatum(j + 1);
				if (m->cat_names)
					values[2] = CStringGetTextDatum(m->cat_names[j]);
				else
					nulls[2] = true;
				values[3] = CStringGetTextDatum(cs->top[t]);
				values[4] = Int64GetDatum(cs->top_count[t]);
				values[5] = Float8GetDatum((double) cs->top_count[t] / (double) m->sizes[c]);
				values[6] = BoolGetDatum(strcmp(cs->top[t], cs->mode) == 0);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
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
					 segment_model_init_name(m), segment_scale_name(m->scale_method),
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
		if (m->m > 0)
		{
			appendStringInfoString(&buf, ", \"modes\": [");
			for (j = 0; j < m->m; j++)
			{
				const SegmentCatStat *cs = &m->cat[(Size) c * m->m + j];
				int			t;

				appendStringInfoString(&buf, j > 0 ? ", {\"mode\": " : "{\"mode\": ");
				escape_json(&buf, cs->mode);
				appendStringInfoString(&buf, ", \"shares\": {");
				for (t = 0; t < cs->n_top; t++)
				{
					if (t > 0)
						appendStringInfoString(&buf, ", ");
					escape_json(&buf, cs->top[t]);
					appendStringInfoString(&buf, ": ");
					segment_append_float8(&buf, (double) cs->top_count[t] / (double) m->sizes[c]);
				}
				appendStringInfoString(&buf, "}}");
			}
			appendStringInfoChar(&buf, ']');
		}
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoChar(&buf, ']');
	if (m->m > 0)
	{
		appendStringInfoString(&buf, ", \"gamma\": ");
		segment_append_float8(&buf, m->gamma);
		appendStringInfo(&buf, ", \"m\": %d, \"categorical_features\": [", m->m);
		for (j = 0; j < m->m; j++)
		{
			if (j > 0)
				appendStringInfoString(&buf, ", ");
			appendStringInfo(&buf, "{\"index\": %d, \"name\": ", j + 1);
			if (m->cat_names)
				escape_json(&buf, m->cat_names[j]);
			else
				appendStringInfoString(&buf, "null");
			appendStringInfo(&buf, ", \"levels\": %d}", m->n_levels[j]);
		}
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}
