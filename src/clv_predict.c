/*-------------------------------------------------------------------------
 *
 * clv_predict.c
 *	  Predictions from a segment.clv_model: expected purchases of a new
 *	  customer, conditional expected purchases and P(alive) of a known one,
 *	  Gamma-Gamma expected average spend, and customer lifetime value.
 *
 * Every function is IMMUTABLE STRICT PARALLEL SAFE: the result depends
 * only on the model value and the arguments.  Summaries are validated as
 * the fitting aggregates validate them (22023); a model of the wrong kind
 * is 22023; a result that is not a finite number is 22003, never returned.
 *
 * CLV follows lifetimes' customer_lifetime_value (Davidson-Pilon), a
 * discrete-time version of the discounted expected transactions of Fader,
 * Hardie & Lee (2005, JMR): for months m = 1..M,
 *	  CLV = sum_m  E[M] * (E[Y(m f)] - E[Y((m-1) f)]) / (1 + d)^m,
 * with E[M] the Gamma-Gamma expected average spend, E[Y(t)] the
 * conditional expected purchases, f the model's periods per month (30
 * for days, 4.345 for weeks, 1 for months) and d the monthly discount
 * rate.
 *
 * src/clv_predict.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/float.h"

#include "segment.h"
#include "clv.h"

#define CLV_MAX_MONTHS 12000

PG_FUNCTION_INFO_V1(segment_clv_expected_purchases);
PG_FUNCTION_INFO_V1(segment_clv_conditional_purchases);
PG_FUNCTION_INFO_V1(segment_clv_probability_alive);
PG_FUNCTION_INFO_V1(segment_clv_expected_spend);
PG_FUNCTION_INFO_V1(segment_clv_lifetime_value);

/* Fetch argument n as a model, checking its format. */
static ClvModel *
clv_getarg_model(FunctionCallInfo fcinfo, int n)
{
	ClvModel   *model = (ClvModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(n));

	if (VARSIZE(model) != sizeof(ClvModel) || model->version != CLV_MODEL_VERSION)
		clv_model_validate(model);
	return model;
}

/* Raise 22023 unless model is a purchase (BG/NBD or Pareto/NBD) model. */
static void
clv_require_purchase_model(const ClvModel *model, const char *fname)
{
	if (model->kind != CLV_BGNBD && model->kind != CLV_PARETO_NBD)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs a bgnbd or pareto_nbd model, not %s",
						fname, clv_kind_name((ClvKind) model->kind))));
}

/* Raise 22023 unless horizon is a non-negative finite number. */
static void
clv_check_horizon(double horizon, const char *fname)
{
	if (!isfinite(horizon) || horizon < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: horizon must be a non-negative finite number", fname),
				 errdetail("The value given was %s.", float8out_internal(horizon))));
}

/* Return value, or raise 22003 when it is not finite. */
static double
clv_finite_result(double value, const char *fname)
{
	if (!isfinite(value))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s: the result is not a finite number for these parameters", fname),
				 errhint("BG/NBD predictions need a + b > 1 (the hypergeometric series); "
						 "horizons that bring t / (alpha + T + t) within about 3e-4 of 1 are too long.")));
	return value;
}

/* Expected spend of a customer (x, zbar) under a Gamma-Gamma model. */
static double
clv_spend(const ClvModel *model, double x, double zbar, const char *fname)
{
	if (model->kind != CLV_GAMMA_GAMMA)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs a gamma_gamma model, not %s",
						fname, clv_kind_name((ClvKind) model->kind))));
	clv_check_x(fname, x);
	if (x > 0 && (!isfinite(zbar) || zbar <= 0.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: avg_amount must be a positive finite number for a repeat buyer", fname),
				 errdetail("The value given was %s.", float8out_internal(zbar))));
	/* p (gamma + x zbar) / (p x + q - 1) is a mean only while p x + q > 1 */
	if (model->params[0] * x + model->params[1] <= 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: the expected spend is undefined when p x + q <= 1", fname),
				 errdetail("Here p x + q = %s. For a customer without repeat purchases (x = 0) the prediction is the population mean p gamma / (q - 1).",
						   float8out_internal(model->params[0] * x + model->params[1]))));
	return clv_finite_result(clv_expected_spend(model->params, x, x > 0 ? zbar : 0.0), fname);
}

/* clv_expected_purchases(model, horizon): E[X(t)] of a new customer. */
Datum
segment_clv_expected_purchases(PG_FUNCTION_ARGS)
{
	const char *fname = "clv_expected_purchases";
	ClvModel   *model = clv_getarg_model(fcinfo, 0);
	double		horizon = PG_GETARG_FLOAT8(1);

	clv_require_purchase_model(model, fname);
	clv_check_horizon(horizon, fname);
	PG_RETURN_FLOAT8(clv_finite_result(clv_expected_purchases((ClvKind) model->kind,
															  model->params, horizon),
									   fname));
}

/* clv_conditional_purchases(model, x, t_x, t, horizon): E[Y(horizon) | x, t_x, T]. */
Datum
segment_clv_conditional_purchases(PG_FUNCTION_ARGS)
{
	const char *fname = "clv_conditional_purchases";
	ClvModel   *model = clv_getarg_model(fcinfo, 0);
	double		x = PG_GETARG_FLOAT8(1);
	double		t_x = PG_GETARG_FLOAT8(2);
	double		t = PG_GETARG_FLOAT8(3);
	double		horizon = PG_GETARG_FLOAT8(4);

	clv_require_purchase_model(model, fname);
	clv_check_summary(fname, x, t_x, t);
	clv_check_horizon(horizon, fname);
	PG_RETURN_FLOAT8(clv_finite_result(clv_conditional_purchases((ClvKind) model->kind,
																 model->params, horizon,
																 x, t_x, t),
									   fname));
}

/* clv_probability_alive(model, x, t_x, t): P(alive at T | x, t_x, T). */
Datum
segment_clv_probability_alive(PG_FUNCTION_ARGS)
{
	const char *fname = "clv_probability_alive";
	ClvModel   *model = clv_getarg_model(fcinfo, 0);
	double		x = PG_GETARG_FLOAT8(1);
	double		t_x = PG_GETARG_FLOAT8(2);
	double		t = PG_GETARG_FLOAT8(3);

	clv_require_purchase_model(model, fname);
	clv_check_summary(fname, x, t_x, t);
	PG_RETURN_FLOAT8(clv_finite_result(clv_probability_alive((ClvKind) model->kind,
															 model->params, x, t_x, t),
									   fname));
}

/* clv_expected_spend(model, x, avg_amount): Gamma-Gamma E[M | x, zbar]. */
Datum
segment_clv_expected_spend(PG_FUNCTION_ARGS)
{
	ClvModel   *model = clv_getarg_model(fcinfo, 0);

	PG_RETURN_FLOAT8(clv_spend(model, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
							   "clv_expected_spend"));
}

/*
 * clv_lifetime_value(purchases, spend, x, t_x, t, avg_amount, months,
 * discount_rate): discounted expected spend over the next months.
 */
Datum
segment_clv_lifetime_value(PG_FUNCTION_ARGS)
{
	const char *fname = "clv_lifetime_value";
	ClvModel   *purchases = clv_getarg_model(fcinfo, 0);
	ClvModel   *spend_model = clv_getarg_model(fcinfo, 1);
	double		x = PG_GETARG_FLOAT8(2);
	double		t_x = PG_GETARG_FLOAT8(3);
	double		t = PG_GETARG_FLOAT8(4);
	double		zbar = PG_GETARG_FLOAT8(5);
	int32		months = PG_GETARG_INT32(6);
	double		rate = PG_GETARG_FLOAT8(7);
	double		per_month;
	double		spend;
	double		previous = 0.0;
	double		value = 0.0;
	int			m;

	clv_require_purchase_model(purchases, fname);
	clv_check_summary(fname, x, t_x, t);
	if (months < 0 || months > CLV_MAX_MONTHS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: months must be between 0 and %d", fname, CLV_MAX_MONTHS)));
	if (!isfinite(rate) || rate <= -1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: discount_rate must be a finite number greater than -1", fname)));
	spend = clv_spend(spend_model, x, zbar, fname);
	per_month = clv_unit_per_month((ClvUnit) purchases->unit);

	for (m = 1; m <= months; m++)
	{
		double		cumulative = clv_conditional_purchases((ClvKind) purchases->kind,
														   purchases->params,
														   m * per_month, x, t_x, t);

		value += spend * (cumulative - previous) / pow(1.0 + rate, m);
		previous = cumulative;
	}
	PG_RETURN_FLOAT8(clv_finite_result(value, fname));
}
