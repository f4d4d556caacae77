/*-------------------------------------------------------------------------
 *
 * clv_model.c
 *	  The segment.clv_model type: a fitted (or hand-written) BG/NBD,
 *	  Pareto/NBD or Gamma-Gamma model.  Text form is JSON, binary form is
 *	  pqformat with a version byte, and a cast gives jsonb.
 *
 * Text form (keys in this order on output; on input only "model" and
 * "params" are required, unknown keys are rejected):
 *	  {"model": "bgnbd", "params": {"r": .., "alpha": .., "a": .., "b": ..},
 *	   "log_likelihood": .., "n_customers": .., "n_distinct": ..,
 *	   "n_skipped_null": .., "n_skipped_one_time": .., "iterations": ..,
 *	   "converged": true, "gradient_norm": .., "penalizer": 0,
 *	   "unit": "weeks", "version": 1}
 * Numbers are written in the shortest form that reads back to the same
 * double (Ryu, as float8out with extra_float_digits >= 1 but independent
 * of that setting), so text output round-trips exactly.  Unknown values
 * (log_likelihood and gradient_norm of a hand-written model) are null.
 *
 * src/clv_model.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "segment.h"
#include "clv.h"

PG_FUNCTION_INFO_V1(segment_clv_model_in);
PG_FUNCTION_INFO_V1(segment_clv_model_out);
PG_FUNCTION_INFO_V1(segment_clv_model_recv);
PG_FUNCTION_INFO_V1(segment_clv_model_send);
PG_FUNCTION_INFO_V1(segment_clv_model_jsonb);

/* Model kind name ("bgnbd", ...). */
const char *
clv_kind_name(ClvKind kind)
{
	switch (kind)
	{
		case CLV_BGNBD:
			return "bgnbd";
		case CLV_PARETO_NBD:
			return "pareto_nbd";
		case CLV_GAMMA_GAMMA:
			return "gamma_gamma";
	}
	return "unknown";
}

/* Model kind from its name; 0 if unknown. */
ClvKind
clv_kind_from_name(const char *name)
{
	if (strcmp(name, "bgnbd") == 0)
		return CLV_BGNBD;
	if (strcmp(name, "pareto_nbd") == 0)
		return CLV_PARETO_NBD;
	if (strcmp(name, "gamma_gamma") == 0)
		return CLV_GAMMA_GAMMA;
	return (ClvKind) 0;
}

/* Unit name ("weeks", ...). */
const char *
clv_unit_name(ClvUnit unit)
{
	switch (unit)
	{
		case CLV_UNIT_DAYS:
			return "days";
		case CLV_UNIT_WEEKS:
			return "weeks";
		case CLV_UNIT_MONTHS:
			return "months";
	}
	return "unknown";
}

/* Unit from its name; 0 if unknown. */
ClvUnit
clv_unit_from_name(const char *name)
{
	if (strcmp(name, "days") == 0)
		return CLV_UNIT_DAYS;
	if (strcmp(name, "weeks") == 0)
		return CLV_UNIT_WEEKS;
	if (strcmp(name, "months") == 0)
		return CLV_UNIT_MONTHS;
	return (ClvUnit) 0;
}

/* Periods of unit per month, as lifetimes' customer_lifetime_value counts them. */
double
clv_unit_per_month(ClvUnit unit)
{
	switch (unit)
	{
		case CLV_UNIT_DAYS:
			return 30.0;
		case CLV_UNIT_WEEKS:
			return 4.345;
		case CLV_UNIT_MONTHS:
			return 1.0;
	}
	return NAN;
}

/* A zeroed model of kind with its varlena header set (palloc'd). */
ClvModel *
clv_model_new(ClvKind kind)
{
	ClvModel   *model = palloc0(sizeof(ClvModel));

	SET_VARSIZE(model, sizeof(ClvModel));
	model->version = CLV_MODEL_VERSION;
	model->kind = kind;
	model->unit = CLV_UNIT_WEEKS;
	model->loglik = NAN;
	model->gradient_norm = NAN;
	return model;
}

/* Raise 22023 unless model is a well-formed model of a known kind. */
void
clv_model_validate(const ClvModel *model)
{
	int			i;

	if (VARSIZE(model) != sizeof(ClvModel) || model->version != CLV_MODEL_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid clv_model value"),
				 errdetail("Unsupported size or format version.")));
	if (clv_kind_name((ClvKind) model->kind)[0] == 'u')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid clv_model kind %d", model->kind)));
	if (clv_unit_name((ClvUnit) model->unit)[0] == 'u')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid clv_model unit %d", model->unit)));
	for (i = 0; i < clv_nparams((ClvKind) model->kind); i++)
		if (!(model->params[i] > 0.0) || !isfinite(model->params[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("clv_model parameter \"%s\" must be a positive finite number",
							clv_param_name((ClvKind) model->kind, i))));
	if (model->penalizer < 0.0 || !isfinite(model->penalizer))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("clv_model penalizer must be a non-negative finite number")));
	if (model->n_customers < 0 || model->n_distinct < 0 ||
		model->n_skipped_null < 0 || model->n_skipped_one_time < 0 ||
		model->iterations < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("clv_model counts must not be negative")));
}

/* Append a double in shortest round-trip form, or null for NaN. */
static void
clv_append_double(StringInfo buf, double value)
{
	char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (isnan(value) || isinf(value))
	{
		appendStringInfoString(buf, "null");
		return;
	}
	double_to_shortest_decimal_buf(value, digits);
	appendStringInfoString(buf, digits);
}

/* JSON text of a model. */
static char *
clv_model_to_json(const ClvModel *model)
{
	StringInfoData buf;
	ClvKind		kind = (ClvKind) model->kind;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"model\": \"%s\", \"params\": {", clv_kind_name(kind));
	for (i = 0; i < clv_nparams(kind); i++)
	{
		appendStringInfo(&buf, "%s\"%s\": ", i ? ", " : "", clv_param_name(kind, i));
		clv_append_double(&buf, model->params[i]);
	}
	appendStringInfoString(&buf, "}, \"log_likelihood\": ");
	clv_append_double(&buf, model->loglik);
	appendStringInfo(&buf, ", \"n_customers\": " INT64_FORMAT
					 ", \"n_distinct\": " INT64_FORMAT
					 ", \"n_skipped_null\": " INT64_FORMAT
					 ", \"n_skipped_one_time\": " INT64_FORMAT
					 ", \"iterations\": %d, \"converged\": %s, \"gradient_norm\": ",
					 model->n_customers, model->n_distinct,
					 model->n_skipped_null, model->n_skipped_one_time,
					 model->iterations, model->converged ? "true" : "false");
	clv_append_double(&buf, model->gradient_norm);
	appendStringInfoString(&buf, ", \"penalizer\": ");
	clv_append_double(&buf, model->penalizer);
	appendStringInfo(&buf, ", \"unit\": \"%s\", \"version\": %d}",
					 clv_unit_name((ClvUnit) model->unit), model->version);
	return buf.data;
}

/* Complain about a malformed clv_model text (22P02). */
static void
clv_bad_text(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type clv_model"),
			 errdetail("%s", detail)));
}

/* A JSON number (or null, giving NaN when allow_null) as a double. */
static double
clv_json_double(JsonbValue *v, const char *key, bool allow_null)
{
	if (v->type == jbvNull && allow_null)
		return NAN;
	if (v->type != jbvNumeric)
		clv_bad_text(psprintf("\"%s\" must be a number.", key));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(v->val.numeric)));
}

/* A JSON number as a non-negative whole int64. */
static int64
clv_json_count(JsonbValue *v, const char *key)
{
	double		d = clv_json_double(v, key, false);

	if (!(d >= 0.0) || d != floor(d) || d > 9.2e18)
		clv_bad_text(psprintf("\"%s\" must be a non-negative whole number.", key));
	return (int64) d;
}

/* A JSON string as a palloc'd C string. */
static char *
clv_json_string(JsonbValue *v, const char *key)
{
	if (v->type != jbvString)
		clv_bad_text(psprintf("\"%s\" must be a string.", key));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* Parse the "params" object into model->params (kind must be known). */
static void
clv_parse_params(ClvModel *model, JsonbValue *obj)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		seen[CLV_MAX_PARAMS] = {false};
	int			k = clv_nparams((ClvKind) model->kind);
	int			i;

	if (obj->type != jbvBinary || !JsonContainerIsObject(obj->val.binary.data))
		clv_bad_text("\"params\" must be an object.");
	it = JsonbIteratorInit(obj->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		int			found = -1;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (i = 0; i < k; i++)
			if (strcmp(key, clv_param_name((ClvKind) model->kind, i)) == 0)
				found = i;
		if (found < 0)
			clv_bad_text(psprintf("Unknown parameter \"%s\" for a %s model.",
								  key, clv_kind_name((ClvKind) model->kind)));
		tok = JsonbIteratorNext(&it, &v, true);
		model->params[found] = clv_json_double(&v, key, false);
		seen[found] = true;
	}
	for (i = 0; i < k; i++)
		if (!seen[i])
			clv_bad_text(psprintf("Parameter \"%s\" is missing.",
								  clv_param_name((ClvKind) model->kind, i)));
}

/* Build a model from its JSON text. */
static ClvModel *
clv_model_from_json(char *text)
{
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	JsonbValue	kindv;
	JsonbValue	paramsv;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	ClvModel   *model;
	ClvKind		kind;
	bool		have_params = false;

	memset(&paramsv, 0, sizeof(paramsv));

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		clv_bad_text("A clv_model is a JSON object.");
	if (getKeyJsonValueFromContainer(&jb->root, "model", 5, &kindv) == NULL)
		clv_bad_text("Key \"model\" is missing.");
	kind = clv_kind_from_name(clv_json_string(&kindv, "model"));
	if (kind == 0)
		clv_bad_text("\"model\" must be \"bgnbd\", \"pareto_nbd\" or \"gamma_gamma\".");
	model = clv_model_new(kind);

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "model") == 0)
			continue;
		else if (strcmp(key, "params") == 0)
		{
			paramsv = v;
			have_params = true;
		}
		else if (strcmp(key, "log_likelihood") == 0)
			model->loglik = clv_json_double(&v, key, true);
		else if (strcmp(key, "gradient_norm") == 0)
			model->gradient_norm = clv_json_double(&v, key, true);
		else if (strcmp(key, "penalizer") == 0)
			model->penalizer = clv_json_double(&v, key, false);
		else if (strcmp(key, "n_customers") == 0)
			model->n_customers = clv_json_count(&v, key);
		else if (strcmp(key, "n_distinct") == 0)
			model->n_distinct = clv_json_count(&v, key);
		else if (strcmp(key, "n_skipped_null") == 0)
			model->n_skipped_null = clv_json_count(&v, key);
		else if (strcmp(key, "n_skipped_one_time") == 0)
			model->n_skipped_one_time = clv_json_count(&v, key);
		else if (strcmp(key, "iterations") == 0)
		{
			int64		iterations = clv_json_count(&v, key);

			if (iterations > PG_INT32_MAX)
				clv_bad_text("\"iterations\" is out of range.");
			model->iterations = (int32) iterations;
		}
		else if (strcmp(key, "converged") == 0)
		{
			if (v.type != jbvBool)
				clv_bad_text("\"converged\" must be true or false.");
			model->converged = v.val.boolean;
		}
		else if (strcmp(key, "unit") == 0)
		{
			ClvUnit		unit = clv_unit_from_name(clv_json_string(&v, key));

			if (unit == 0)
				clv_bad_text("\"unit\" must be \"days\", \"weeks\" or \"months\".");
			model->unit = unit;
		}
		else if (strcmp(key, "version") == 0)
		{
			if (clv_json_count(&v, key) != CLV_MODEL_VERSION)
				clv_bad_text("Unsupported \"version\".");
		}
		else
			clv_bad_text(psprintf("Unknown key \"%s\".", key));
	}
	if (!have_params)
		clv_bad_text("Key \"params\" is missing.");
	clv_parse_params(model, &paramsv);
	clv_model_validate(model);
	return model;
}

/* clv_model input: JSON text. */
Datum
segment_clv_model_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);

	PG_RETURN_POINTER(clv_model_from_json(text));
}

/* clv_model output: JSON text. */
Datum
segment_clv_model_out(PG_FUNCTION_ARGS)
{
	ClvModel   *model = (ClvModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));

	PG_RETURN_CSTRING(clv_model_to_json(model));
}

/* clv_model binary input (pqformat, version byte first), validated. */
Datum
segment_clv_model_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	ClvModel   *model;
	int			version = pq_getmsgbyte(buf);
	int			kind;
	int			i;

	if (version != CLV_MODEL_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported clv_model binary version %d", version)));
	kind = pq_getmsgbyte(buf);
	if (kind < CLV_BGNBD || kind > CLV_GAMMA_GAMMA)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid clv_model kind %d", kind)));
	model = clv_model_new((ClvKind) kind);
	model->unit = pq_getmsgbyte(buf);
	model->converged = pq_getmsgbyte(buf) != 0;
	model->iterations = pq_getmsgint(buf, 4);
	model->n_customers = pq_getmsgint64(buf);
	model->n_distinct = pq_getmsgint64(buf);
	model->n_skipped_null = pq_getmsgint64(buf);
	model->n_skipped_one_time = pq_getmsgint64(buf);
	model->loglik = pq_getmsgfloat8(buf);
	model->gradient_norm = pq_getmsgfloat8(buf);
	model->penalizer = pq_getmsgfloat8(buf);
	for (i = 0; i < clv_nparams((ClvKind) kind); i++)
		model->params[i] = pq_getmsgfloat8(buf);
	clv_model_validate(model);
	PG_RETURN_POINTER(model);
}

/* clv_model binary output (pqformat, version byte first). */
Datum
segment_clv_model_send(PG_FUNCTION_ARGS)
{
	ClvModel   *model = (ClvModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;
	int			i;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, CLV_MODEL_VERSION);
	pq_sendbyte(&buf, model->kind);
	pq_sendbyte(&buf, model->unit);
	pq_sendbyte(&buf, model->converged ? 1 : 0);
	pq_sendint32(&buf, model->iterations);
	pq_sendint64(&buf, model->n_customers);
	pq_sendint64(&buf, model->n_distinct);
	pq_sendint64(&buf, model->n_skipped_null);
	pq_sendint64(&buf, model->n_skipped_one_time);
	pq_sendfloat8(&buf, model->loglik);
	pq_sendfloat8(&buf, model->gradient_norm);
	pq_sendfloat8(&buf, model->penalizer);
	for (i = 0; i < clv_nparams((ClvKind) model->kind); i++)
		pq_sendfloat8(&buf, model->params[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Cast clv_model to jsonb (the same document as the text form). */
Datum
segment_clv_model_jsonb(PG_FUNCTION_ARGS)
{
	ClvModel   *model = (ClvModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));

	return DirectFunctionCall1(jsonb_in, CStringGetDatum(clv_model_to_json(model)));
}
