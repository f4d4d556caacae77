/*-------------------------------------------------------------------------
 *
 * clv.h
 *	  Customer lifetime value kernels on plain C arrays (no Datums, no fmgr):
 *	  BG/NBD, Pareto/NBD and Gamma-Gamma log-likelihoods, the bounded
 *	  maximum-likelihood optimizer, and the prediction formulas.
 *
 * Glossary:
 *	  x		repeat purchases of a customer (a whole number >= 0)
 *	  t_x	time of the last purchase, from the first ("recency")
 *	  T		time from the first purchase to the end of calibration
 *	  zbar	mean spend of the x repeat purchases (Gamma-Gamma)
 *	  w		how many customers share one distinct summary (a weight)
 *
 * Parameter order in every params[] array:
 *	  BG/NBD		r, alpha, a, b
 *	  Pareto/NBD	r, alpha, s, beta
 *	  Gamma-Gamma	p, q, gamma
 *
 * src/clv.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_CLV_H
#define SEGMENT_CLV_H

#define CLV_MAX_PARAMS 4

typedef enum ClvKind
{
	CLV_BGNBD = 1,
	CLV_PARETO_NBD = 2,
	CLV_GAMMA_GAMMA = 3
} ClvKind;

/* Distinct customer summaries with their multiplicities. */
typedef struct ClvData
{
	int64		n;				/* distinct summaries */
	const double *x;			/* repeat purchases */
	const double *t_x;			/* recency; Gamma-Gamma: zbar */
	const double *t;			/* T; unused by Gamma-Gamma */
	const double *w;			/* customers per summary (> 0) */
} ClvData;

typedef struct ClvFitOptions
{
	double		penalizer;		/* L2 on the parameters, as in lifetimes */
	int			max_iter;		/* BFGS iterations per start */
	double		tol;			/* gradient tolerance (mean NLL, log-params) */
	bool		verbose;		/* NOTICE per start */
} ClvFitOptions;

typedef struct ClvFitResult
{
	double		params[CLV_MAX_PARAMS];
	double		loglik;			/* total log-likelihood, unpenalized */
	double		grad_norm;		/* max |gradient| of the objective at the end */
	int			iterations;		/* BFGS iterations of the winning start */
	bool		converged;		/* gradient below tol, not at a bound */
	bool		at_bound;		/* some log-parameter hit its box */
} ClvFitResult;

/* Number of parameters of a model kind. */
extern int	clv_nparams(ClvKind kind);

/* Name of parameter i of kind ("r", "alpha", ...). */
extern const char *clv_param_name(ClvKind kind, int i);

/* Total log-likelihood of data at params (unpenalized); -inf if undefined. */
extern double clv_loglik(ClvKind kind, const double *params, const ClvData *data);

/* Fit kind to data by penalized maximum likelihood. */
extern void clv_fit(ClvKind kind, const ClvData *data,
					const ClvFitOptions *options, ClvFitResult *result);

/* Gauss hypergeometric 2F1(a, b; c; z) for 0 <= z < 1, as a logarithm. */
extern double clv_log_hyp2f1(double a, double b, double c, double z);

/* Expected purchases of a new customer by time t (BG/NBD, Pareto/NBD). */
extern double clv_expected_purchases(ClvKind kind, const double *params, double t);

/* Expected purchases in (T, T + t] given the summary (x, t_x, T). */
extern double clv_conditional_purchases(ClvKind kind, const double *params,
										double t, double x, double t_x, double T);

/* Probability that a customer with summary (x, t_x, T) is still alive. */
extern double clv_probability_alive(ClvKind kind, const double *params,
									double x, double t_x, double T);

/* Gamma-Gamma conditional expected mean spend given x and zbar. */
extern double clv_expected_spend(const double *params, double x, double zbar);

/*
 * The SQL-facing model value (segment.clv_model, clv_model.c): a plain
 * varlena, never toasted (STORAGE = plain), so readers get it aligned
 * without a copy.  format_version is the first byte after the header.
 */
#define CLV_MODEL_VERSION 1

typedef enum ClvUnit
{
	CLV_UNIT_DAYS = 1,
	CLV_UNIT_WEEKS = 2,
	CLV_UNIT_MONTHS = 3
} ClvUnit;

typedef struct ClvModel
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	uint8		version;		/* CLV_MODEL_VERSION */
	uint8		kind;			/* ClvKind */
	uint8		unit;			/* ClvUnit of t_x and T */
	uint8		converged;		/* bool */
	int32		iterations;
	int64		n_customers;	/* rows the fit used */
	int64		n_distinct;		/* distinct summaries among them */
	int64		n_skipped_null; /* rows skipped for a NULL input */
	int64		n_skipped_one_time; /* Gamma-Gamma rows skipped for x = 0 */
	double		loglik;			/* NaN when unknown (hand-written model) */
	double		gradient_norm;	/* NaN when unknown */
	double		penalizer;
	double		params[CLV_MAX_PARAMS];
} ClvModel;

/* Model kind name ("bgnbd", ...) and back (0 if unknown). */
extern const char *clv_kind_name(ClvKind kind);
extern ClvKind clv_kind_from_name(const char *name);

/* Unit name ("weeks", ...), back (0 if unknown), and periods per month. */
extern const char *clv_unit_name(ClvUnit unit);
extern ClvUnit clv_unit_from_name(const char *name);
extern double clv_unit_per_month(ClvUnit unit);

/* A zeroed model of kind with its varlena header set (palloc'd). */
extern ClvModel *clv_model_new(ClvKind kind);

/* Raise 22023 unless x is a finite whole number >= 0 (clv_agg.c). */
extern void clv_check_x(const char *fname, double x);

/* Raise 22023 unless (x, t_x, t) is a valid BTYD summary (clv_agg.c). */
extern void clv_check_summary(const char *fname, double x, double t_x, double t);

/* Raise 22023/XX001 unless model is a well-formed model of a known kind. */
extern void clv_model_validate(const ClvModel *model);

#endif							/* SEGMENT_CLV_H */
