/*-------------------------------------------------------------------------
 *
 * segment_profile.c
 *	  segment_profile(model [, feature_names]): one readable row per
 *	  segment of a fitted segment_model.
 *
 * Per segment: size and share of the training rows, the centroid in
 * original units, each feature's standardized deviation from the
 * population, a short description and, when the features are recency,
 * frequency and monetary value, the nearest named RFM segment.
 *
 * Deviation.  In model space (after transforms and scaling) the population
 * mean is the size-weighted mean of the centroids (exact for a Lloyd fit:
 * each centroid is the mean of its rows).  The deviation of feature j is
 * (centroid_j - population mean_j) / s_j where s_j is the population
 * standard deviation for the default scale "zscore" (the scaler stores it,
 * so model space is already in standard units); for "robust", "minmax" and
 * "none" the model keeps no standard deviation and the deviation is in the
 * scaler's unit (IQR, range, raw unit) - said in the function comment.
 *
 * Description.  The features with |deviation| >= 0.5, largest first, at
 * most three, in words: "recent" / "lapsed" for recency (a number of days:
 * lower is more recent), "frequent" / "infrequent", "high spend" / "low
 * spend" for monetary value, "high <name>" / "low <name>" otherwise;
 * "very" from 1.5.  No such feature: "typical".
 *
 * k-prototypes models (issue 8): the description goes on, after "; ",
 * with each categorical feature's mode and its share of the segment, e.g.
 * "high income; gender Female (72%)", at most PROFILE_MAX_TERMS features;
 * model_categories gives every stored share.
 *
 * RFM.  Features are recognised by name (case-insensitive): recency* or r,
 * frequency* or f, monetary* or m.  Each centroid value gets the 1..5
 * score a customer with that value would get from the population's
 * quintile breaks, which the fit stores in the model (reversed for
 * recency); the name is rfm_segment's default map for those scores.
 * Customer features are skewed (recency, spend), so the breaks, not a
 * normal approximation, place a centroid: 59 days is the middle quintile
 * of Online Retail's recency even though it is below the mean.  Models
 * without breaks (kmeans_fit_scan) fall back to the normal quantiles of
 * the standardized deviation z, 1 + floor(5 * Phi(z)).
 *
 * src/segment_profile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "segment.h"
#include "model.h"
#include "quantile.h"

/* deviations below this (in absolute value) are not described */
#define PROFILE_DESCRIBE_MIN 0.5
#define PROFILE_VERY 1.5
#define PROFILE_MAX_TERMS 3

typedef enum FeatureRole
{
	ROLE_OTHER = 0,
	ROLE_RECENCY,
	ROLE_FREQUENCY,
	ROLE_MONETARY
} FeatureRole;

PG_FUNCTION_INFO_V1(segment_segment_profile);

/* rfm_segment.c's SQL entry point (default map) */
extern Datum segment_rfm_segment(PG_FUNCTION_ARGS);

/* Does lower-cased name equal short or start with prefix? */
static bool
name_is(const char *name, const char *shortname, const char *prefix)
{
	char	   *low = pstrdup(name);
	char	   *p;
	bool		result;

	for (p = low; *p; p++)
		*p = pg_tolower((unsigned char) *p);
	result = strcmp(low, shortname) == 0 ||
		strncmp(low, prefix, strlen(prefix)) == 0;
	pfree(low);
	return result;
}

/* Role of a feature from its name. */
static FeatureRole
feature_role(const char *name)
{
	if (name == NULL)
		return ROLE_OTHER;
	if (name_is(name, "r", "recency"))
		return ROLE_RECENCY;
	if (name_is(name, "f", "frequency"))
		return ROLE_FREQUENCY;
	if (name_is(name, "m", "monetary"))
		return ROLE_MONETARY;
	return ROLE_OTHER;
}

/* Words for a feature's deviation. */
static void
describe_feature(StringInfo buf, FeatureRole role, const char *name, int j, double z)
{
	bool		high = z > 0;

	if (fabs(z) >= PROFILE_VERY)
		appendStringInfoString(buf, "very ");
	switch (role)
	{
		case ROLE_RECENCY:
			appendStringInfoString(buf, high ? "lapsed" : "recent");
			break;
		case ROLE_FREQUENCY:
			appendStringInfoString(buf, high ? "frequent" : "infrequent");
			break;
		case ROLE_MONETARY:
			appendStringInfoString(buf, high ? "high spend" : "low spend");
			break;
		default:
			if (name)
				appendStringInfo(buf, "%s %s", high ? "high" : "low", name);
			else
				appendStringInfo(buf, "%s feature %d", high ? "high" : "low", j + 1);
	}
}

/*
 * 1..5 score of feature j of a centroid (original units): against the
 * population quintile breaks the model stores, as rfm_score / score()
 * would score a customer with those values; for models without them
 * (fitted by passes over a table), through the normal quantiles of the
 * standardized deviation z.
 */
static int
rfm_quintile(const SegmentModel *m, int j, double value, double z)
{
	double		p;
	int			s;

	if (m->quintiles != NULL)
		return quantile_score(value, m->quintiles + (Size) j * SEGMENT_QUINTILE_BREAKS,
							  SEGMENT_QUINTILE_BREAKS);
	p = 0.5 * erfc(-z / M_SQRT2);
	s = 1 + (int) floor(5.0 * p);
	return Max(1, Min(5, s));
}

/* Build a float8[] datum. */
static Datum
float8_array(const double *v, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(elems, n, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* segment_profile(model, feature_names): one row per segment. */
Datum
segment_segment_profile(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SegmentModel *m;
	char	  **names;
	FeatureRole *role;
	double	   *mean;
	double	   *dev;
	double	   *centroid;
	bool	   *described;
	int			rfm_idx[4] = {-1, -1, -1, -1};
	bool		is_rfm;
	int			c;
	int			j;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;		/* no model, no rows */
	m = segment_model_from_datum(PG_GETARG_DATUM(0));

	names = m->feature_names;
	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;

		if (ARR_NDIM(arr) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("feature_names must be a one-dimensional array")));
		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
		if (nelems != m->d)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("feature_names has %d elements but the model has %d features",
							nelems, m->d)));
		names = palloc(sizeof(char *) * m->d);
		for (j = 0; j < m->d; j++)
		{
			if (nulls[j])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("feature_names must not contain nulls")));
			names[j] = TextDatumGetCString(elems[j]);
		}
	}

	role = palloc0(sizeof(FeatureRole) * m->d);
	for (j = 0; j < m->d; j++)
	{
		role[j] = feature_role(names ? names[j] : NULL);
		if (role[j] != ROLE_OTHER)
		{
			if (rfm_idx[role[j]] >= 0)
				role[j] = ROLE_OTHER;	/* a second "recency": plain feature */
			else
				rfm_idx[role[j]] = j;
		}
	}
	is_rfm = rfm_idx[ROLE_RECENCY] >= 0 && rfm_idx[ROLE_FREQUENCY] >= 0 &&
		rfm_idx[ROLE_MONETARY] >= 0;

	/* population mean in model space: size-weighted centroid mean */
	mean = palloc0(sizeof(double) * m->d);
	for (c = 0; c < m->k; c++)
		for (j = 0; j < m->d; j++)
			mean[j] += (double) m->sizes[c] * m->centroids[(Size) c * m->d + j];
	for (j = 0; j < m->d; j++)
		mean[j] /= (double) m->n;

	dev = palloc(sizeof(double) * m->d);
	described = palloc(sizeof(bool) * m->d);
	centroid = palloc(sizeof(double) * m->d);
	for (c = 0; c < m->k; c++)
	{
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};
		StringInfoData desc;
		int			terms = 0;

		for (j = 0; j < m->d; j++)
		{
			dev[j] = m->centroids[(Size) c * m->d + j] - mean[j];
			described[j] = false;
		}
		segment_model_centroid_original(m, c, centroid);

		/* the largest deviations first, at most PROFILE_MAX_TERMS */
		initStringInfo(&desc);
		while (terms < PROFILE_MAX_TERMS)
		{
			int			best = -1;

			for (j = 0; j < m->d; j++)
				if (!described[j] && fabs(dev[j]) >= PROFILE_DESCRIBE_MIN &&
					(best < 0 || fabs(dev[j]) > fabs(dev[best])))
					best = j;
			if (best < 0)
				break;
			if (terms > 0)
				appendStringInfoString(&desc, ", ");
			describe_feature(&desc, role[best], names ? names[best] : NULL, best, dev[best]);
			described[best] = true;
			terms++;
		}
		if (terms == 0)
			appendStringInfoString(&desc, "typical");
		for (j = 0; j < m->m && j < PROFILE_MAX_TERMS; j++)
		{
			const SegmentCatStat *cs = &m->cat[(Size) c * m->m + j];
			int64		count = 0;
			int			t;

			for (t = 0; t < cs->n_top; t++)
				if (strcmp(cs->top[t], cs->mode) == 0)
					count = cs->top_count[t];
			appendStringInfoString(&desc, j == 0 ? "; " : ", ");
			if (m->cat_names)
				appendStringInfo(&desc, "%s ", m->cat_names[j]);
			else
				appendStringInfo(&desc, "feature %d ", m->d + j + 1);
			appendStringInfo(&desc, "%s (%.0f%%)", cs->mode,
							 m->sizes[c] > 0 ? 100.0 * (double) count / (double) m->sizes[c] : 0.0);
		}

		values[0] = Int32GetDatum(c + 1);
		values[1] = Int64GetDatum(m->sizes[c]);
		values[2] = Float8GetDatum((double) m->sizes[c] / (double) m->n);
		values[3] = float8_array(centroid, m->d);
		values[4] = float8_array(dev, m->d);
		values[5] = CStringGetTextDatum(desc.data);
		if (is_rfm)
		{
			int			jr = rfm_idx[ROLE_RECENCY];
			int			jf = rfm_idx[ROLE_FREQUENCY];
			int			jm = rfm_idx[ROLE_MONETARY];
			int			r = 6 - rfm_quintile(m, jr, centroid[jr], dev[jr]);
			int			f = rfm_quintile(m, jf, centroid[jf], dev[jf]);
			int			mo = rfm_quintile(m, jm, centroid[jm], dev[jm]);

			values[6] = DirectFunctionCall3(segment_rfm_segment, Int32GetDatum(r),
											Int32GetDatum(f), Int32GetDatum(mo));
		}
		else
			nulls[6] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
