/*-------------------------------------------------------------------------
 *
 * clv.c
 *	  Customer lifetime value kernels: BG/NBD, Pareto/NBD and Gamma-Gamma
 *	  log-likelihoods, a bounded BFGS maximum-likelihood fit, and the
 *	  prediction formulas.  Plain C arrays in, numbers out; no Datums.
 *
 * Models and formulas (all derived in the cited papers; the numbers in
 * parentheses are the paper's equations):
 *
 *	BG/NBD -- Fader, Hardie & Lee (2005), "Counting your customers the easy
 *	way: an alternative to the Pareto/NBD model", Marketing Science 24(2).
 *	Per customer (6):
 *	  L = B(a,b+x)/B(a,b) G(r+x) a^r / (G(r) (alpha+T)^(r+x))
 *	    + [x>0] B(a+1,b+x-1)/B(a,b) G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x)),
 *	  computed as A1 + A2 + logsumexp(A3, A4) with lgamma, never as a
 *	  ratio of gammas.  E[X(t)] (7), E[Y(t) | x, t_x, T] (10) and
 *	  P(alive) (from the appendix / Fader-Hardie note 2008) use the Gauss
 *	  hypergeometric function 2F1.
 *
 *	Pareto/NBD -- Schmittlein, Morrison & Colombo (1987), "Counting your
 *	customers: who are they and what will they do next?", Management
 *	Science 33(1); likelihood in the closed form of Fader & Hardie (2005),
 *	"A note on deriving the Pareto/NBD model and related expressions":
 *	  L = G(r+x) alpha^r beta^s / G(r) * [ 1 / ((alpha+T)^(r+x) (beta+T)^s)
 *	      + s/(r+s+x) * A0 ],
 *	  A0 = F(t_x) - F(T), F(u) = 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+u))
 *	       / (alpha+u)^(r+s+x) when alpha >= beta, and the mirror image
 *	       2F1(r+s+x, r+x; r+s+x+1; (beta-alpha)/(beta+u)) / (beta+u)^(r+s+x)
 *	       otherwise, so that the argument of 2F1 is always in [0, 1).
 *	  Both terms are kept as logarithms; A0 is formed with log1mexp.
 *
 *	Gamma-Gamma -- Fader, Hardie & Lee (2005), "RFM and CLV: using
 *	iso-value curves for customer base analysis", JMR 42(4); Colombo &
 *	Jiang (1999); Fader & Hardie (2013) note 025.  The mean zbar of x
 *	repeat spends has density
 *	  G(px+q) / (G(px) G(q)) gamma^q zbar^(px-1) x^(px) / (gamma + x zbar)^(px+q),
 *	  and E[M | x, zbar] = p (gamma + x zbar) / (p x + q - 1).
 *
 * 2F1 is summed from its power series with all terms positive (every
 * caller has a, b, c > 0 and 0 <= z < 1), so there is no cancellation;
 * the running sum is rescaled to stay in range and the result returned as
 * a logarithm.  The series is abandoned (NaN) past CLV_HYP2F1_MAX_TERMS
 * terms in predictions (z within about 3e-4 of 1: 22003) and past
 * CLV_HYP2F1_FIT_TERMS while fitting, where the point is treated as
 * infeasible: that bounds the cost of one likelihood evaluation when a
 * diverging Pareto/NBD fit (no visible drop-out: s, beta -> infinity)
 * drives the argument toward 1, and such a fit ends "not converged".
 *
 * Optimizer: BFGS on the logarithms of the parameters (positivity for
 * free), Armijo backtracking, inverse-Hessian reset on a failed line
 * search, every log-parameter boxed to [-CLV_LOG_BOUND, CLV_LOG_BOUND].
 * The objective is lifetimes' (Davidson-Pilon): the mean negative
 * log-likelihood per customer plus penalizer * sum(params^2).  Gradients
 * are analytic for BG/NBD and Gamma-Gamma (digamma) and central
 * differences for Pareto/NBD.  The first run starts from all parameters
 * 1 (as lifetimes does); when it does not converge, or ends on the box, a
 * second run starts with the time or money scale parameters (alpha and
 * beta, or gamma) at the data's mean T (or mean spend), and the lower
 * objective wins.  Converged means the largest gradient component
 * fell below tol away from the box; anything else is reported as not
 * converged, never silently.
 *
 * Terms that depend only on x (lgamma, digamma) are recomputed only when
 * x changes, so callers pass summaries sorted by x.
 *
 * src/clv.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "miscadmin.h"

#include "clv.h"

#define CLV_LOG_BOUND 18.420680743952367	/* log(1e8) */
#define CLV_HYP2F1_MAX_TERMS 100000
#define CLV_HYP2F1_FIT_TERMS 5000
#define CLV_FD_STEP 1e-5

/* Objective state shared by the optimizer callbacks. */
typedef struct ClvObjective
{
	ClvKind		kind;
	const ClvData *data;
	double		total_weight;
	double		penalizer;
	int			k;
} ClvObjective;

/* Number of parameters of a model kind. */
int
clv_nparams(ClvKind kind)
{
	return kind == CLV_GAMMA_GAMMA ? 3 : 4;
}

/* Name of parameter i of kind ("r", "alpha", ...). */
const char *
clv_param_name(ClvKind kind, int i)
{
	static const char *const bgnbd[] = {"r", "alpha", "a", "b"};
	static const char *const pnbd[] = {"r", "alpha", "s", "beta"};
	static const char *const gg[] = {"p", "q", "gamma"};

	switch (kind)
	{
		case CLV_BGNBD:
			return bgnbd[i];
		case CLV_PARETO_NBD:
			return pnbd[i];
		case CLV_GAMMA_GAMMA:
			return gg[i];
	}
	return "?";
}

/* Digamma psi(x) for x > 0: recurrence up to 6, then the asymptotic series. */
static double
clv_digamma(double x)
{
	double		result = 0.0;
	double		f;

	while (x < 6.0)
	{
		result -= 1.0 / x;
		x += 1.0;
	}
	f = 1.0 / (x * x);
	return result + log(x) - 0.5 / x
		- f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
}

/* log(exp(u) + exp(v)) without overflow. */
static double
clv_logaddexp(double u, double v)
{
	if (u == -INFINITY)
		return v;
	if (v == -INFINITY)
		return u;
	if (u > v)
		return u + log1p(exp(v - u));
	return v + log1p(exp(u - v));
}

/* log(1 - exp(u)) for u <= 0 (Maechler 2012). */
static double
clv_log1mexp(double u)
{
	if (u >= 0.0)
		return -INFINITY;
	if (u > -M_LN2)
		return log(-expm1(u));
	return log1p(-exp(u));
}

/* 2F1(a, b; c; z) for 0 <= z < 1 as a logarithm, NaN past max_terms terms. */
static double
clv_log_hyp2f1_n(double a, double b, double c, double z, int max_terms)
{
	double		term = 1.0;
	double		sum = 1.0;
	double		offset = 0.0;
	int			n;

	if (!(z >= 0.0 && z < 1.0) || !(c > 0.0))
		return NAN;
	if (z == 0.0)
		return 0.0;
	for (n = 0; n < max_terms; n++)
	{
		term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
		sum += term;
		if (sum > 1e280)
		{
			sum *= 1e-280;
			term *= 1e-280;
			offset += 280.0 * M_LN10;
		}
		/*
		 * Terms are positive.  Once they shrink, the tail is at most
		 * term * z / (1 - z) for large n; stop when that no longer counts.
		 */
		if (term * z <= sum * 1e-17 * (1.0 - z) &&
			(a + n + 1) * (b + n + 1) * z < (c + n + 1) * (n + 2.0))
			return offset + log(sum);
		if (!isfinite(sum))
			return NAN;
	}
	return NAN;
}

/* Gauss hypergeometric 2F1(a, b; c; z) for 0 <= z < 1, as a logarithm. */
double
clv_log_hyp2f1(double a, double b, double c, double z)
{
	return clv_log_hyp2f1_n(a, b, c, z, CLV_HYP2F1_MAX_TERMS);
}

/*
 * BG/NBD total log-likelihood; grad (natural parameters) when not NULL.
 */
static double
bgnbd_loglik(const double *params, const ClvData *data, double *grad)
{
	double		r = params[0],
				alpha = params[1],
				a = params[2],
				b = params[3];
	double		ll = 0.0;
	double		last_x = -1.0;
	double		last_T = -1.0;
	double		log_aT = 0.0;
	double		lg_x = 0.0,
				dr_x = 0.0,
				da_x = 0.0,
				db_x = 0.0;
	double		lg_r = lgamma(r),
				lg_b = lgamma(b),
				lg_ab = lgamma(a + b),
				log_alpha = log(alpha),
				log_a = log(a);
	double		psi_r = 0,
				psi_b = 0,
				psi_ab = 0;
	double		g[4] = {0, 0, 0, 0};
	int64		i;

	if (grad)
	{
		psi_r = clv_digamma(r);
		psi_b = clv_digamma(b);
		psi_ab = clv_digamma(a + b);
	}

	for (i = 0; i < data->n; i++)
	{
		double		x = data->x[i],
					tx = data->t_x[i],
					T = data->t[i],
					w = data->w[i];
		double		a3,
					a4,
					lse;

		if ((i & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
		/* rows come sorted by (x, T, t_x): T repeats in runs */
		if (T != last_T)
		{
			log_aT = log(alpha + T);
			last_T = T;
		}
		if (x != last_x)
		{
			/* A1 + A2 without the alpha and T terms */
			lg_x = lgamma(r + x) - lg_r + lg_ab + lgamma(b + x) - lg_b - lgamma(a + b + x);
			if (grad)
			{
				double		psi_abx = clv_digamma(a + b + x);

				dr_x = clv_digamma(r + x) - psi_r;
				da_x = psi_ab - psi_abx;
				db_x = psi_ab + clv_digamma(b + x) - psi_b - psi_abx;
			}
			last_x = x;
		}
		a3 = -(r + x) * log_aT;
		if (x > 0)
		{
			double		log_atx = log(alpha + tx);

			a4 = log_a - log(b + x - 1) - (r + x) * log_atx;
			lse = clv_logaddexp(a3, a4);
			if (grad)
			{
				double		w4 = exp(a4 - lse);
				double		w3 = 1.0 - w4;

				g[0] += w * (dr_x + log_alpha - w3 * log_aT - w4 * log_atx);
				g[1] += w * (r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + tx)));
				g[2] += w * (da_x + w4 / a);
				g[3] += w * (db_x - w4 / (b + x - 1));
			}
		}
		else
		{
			lse = a3;
			if (grad)
			{
				g[0] += w * (dr_x + log_alpha - log_aT);
				g[1] += w * (r / alpha - (r + x) / (alpha + T));
				g[2] += w * da_x;
				g[3] += w * db_x;
			}
		}
		ll += w * (lg_x + r * log_alpha + lse);
	}
	if (grad)
		memcpy(grad, g, sizeof(g));
	return ll;
}

/*
 * log F(u) of the Pareto/NBD A0 term (see the file header), through
 * Euler's transformation 2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a,c-b;c;z):
 * with c = a + 1 the transformed series has first parameter 1 and terms
 * that shrink monotonically from the start, so it neither overflows nor
 * needs more terms than the original.
 */
static double
pnbd_log_f(double r, double alpha, double s, double beta, double x, double u,
		   int max_terms)
{
	double		m = r + s + x;
	double		z;

	if (alpha >= beta)
	{
		/* 2F1(m, s+1; m+1; z) = (1-z)^(-s) 2F1(1, r+x; m+1; z) */
		z = (alpha - beta) / (alpha + u);
		return -s * log1p(-z) + clv_log_hyp2f1_n(1.0, r + x, m + 1.0, z, max_terms)
			- m * log(alpha + u);
	}
	/* 2F1(m, r+x; m+1; z) = (1-z)^(1-r-x) 2F1(1, s+1; m+1; z) */
	z = (beta - alpha) / (beta + u);
	return (1.0 - r - x) * log1p(-z) + clv_log_hyp2f1_n(1.0, s + 1.0, m + 1.0, z, max_terms)
		- m * log(beta + u);
}

/*
 * Pareto/NBD: log of the two likelihood terms of one customer, without
 * the common factor G(r+x) alpha^r beta^s / G(r).  *l1 is the "alive at
 * T" term, *l2 the "died in (t_x, T]" term (-inf when t_x = T).
 */
static void
pnbd_terms(const double *params, double x, double tx, double T,
		   int max_terms, double *l1, double *l2)
{
	double		r = params[0],
				alpha = params[1],
				s = params[2],
				beta = params[3];
	double		ftx,
				fT;

	*l1 = -(r + x) * log(alpha + T) - s * log(beta + T);
	if (tx >= T)
	{
		*l2 = -INFINITY;
		return;
	}
	ftx = pnbd_log_f(r, alpha, s, beta, x, tx, max_terms);
	fT = pnbd_log_f(r, alpha, s, beta, x, T, max_terms);
	*l2 = log(s / (r + s + x)) + ftx + clv_log1mexp(fT - ftx);
	if (isnan(*l2))
		*l2 = NAN;
}

/* Pareto/NBD total log-likelihood (no gradient: the optimizer differences it). */
static double
pnbd_loglik(const double *params, const ClvData *data)
{
	double		r = params[0],
				alpha = params[1],
				s = params[2],
				beta = params[3];
	double		ll = 0.0;
	double		last_x = -1.0;
	double		lg_x = 0.0;
	double		lg_r = lgamma(r);
	double		common = r * log(alpha) + s * log(beta);
	int64		i;

	for (i = 0; i < data->n; i++)
	{
		double		x = data->x[i];
		double		l1,
					l2;

		if ((i & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (x != last_x)
		{
			lg_x = lgamma(r + x) - lg_r;
			last_x = x;
		}
		pnbd_terms(params, x, data->t_x[i], data->t[i], CLV_HYP2F1_FIT_TERMS,
				   &l1, &l2);
		if (isnan(l2))
			return -INFINITY;
		ll += data->w[i] * (lg_x + common + clv_logaddexp(l1, l2));
	}
	return ll;
}

/* Gamma-Gamma total log-likelihood over x > 0 rows; grad when not NULL. */
static double
gg_loglik(const double *params, const ClvData *data, double *grad)
{
	double		p = params[0],
				q = params[1],
				gam = params[2];
	double		ll = 0.0;
	double		last_x = -1.0;
	double		lg_x = 0.0,
				psi_px = 0.0,
				log_x = 0.0;
	double		lg_q = lgamma(q),
				log_gam = log(gam),
				psi_q = grad ? clv_digamma(q) : 0.0;
	double		g[3] = {0, 0, 0};
	int64		i;

	for (i = 0; i < data->n; i++)
	{
		double		x = data->x[i],
					z = data->t_x[i],
					w = data->w[i];
		double		px = p * x;
		double		log_z = log(z);
		double		log_den = log(x * z + gam);

		if ((i & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (x != last_x)
		{
			log_x = log(x);
			lg_x = lgamma(px + q) - lgamma(px) - lg_q;
			if (grad)
				psi_px = clv_digamma(px + q);
			last_x = x;
		}
		ll += w * (lg_x + q * log_gam + (px - 1.0) * log_z + px * log_x
				   - (px + q) * log_den);
		if (grad)
		{
			g[0] += w * x * (psi_px - clv_digamma(px) + log_z + log_x - log_den);
			g[1] += w * (psi_px - psi_q + log_gam - log_den);
			g[2] += w * (q / gam - (px + q) / (x * z + gam));
		}
	}
	if (grad)
		memcpy(grad, g, sizeof(g));
	return ll;
}

/* Total log-likelihood of data at params (unpenalized); -inf if undefined. */
double
clv_loglik(ClvKind kind, const double *params, const ClvData *data)
{
	double		ll;
	int			i;

	for (i = 0; i < clv_nparams(kind); i++)
		if (!(params[i] > 0.0) || !isfinite(params[i]))
			return -INFINITY;
	switch (kind)
	{
		case CLV_BGNBD:
			ll = bgnbd_loglik(params, data, NULL);
			break;
		case CLV_PARETO_NBD:
			ll = pnbd_loglik(params, data);
			break;
		case CLV_GAMMA_GAMMA:
			ll = gg_loglik(params, data, NULL);
			break;
		default:
			return -INFINITY;
	}
	return isnan(ll) ? -INFINITY : ll;
}

/* Penalized mean negative log-likelihood at log-parameters theta; gradient in theta. */
static double
clv_objective(const ClvObjective *obj, const double *theta, double *grad)
{
	double		params[CLV_MAX_PARAMS];
	double		dll[CLV_MAX_PARAMS];
	double		ll;
	double		f;
	int			i;

	for (i = 0; i < obj->k; i++)
		params[i] = exp(theta[i]);

	switch (obj->kind)
	{
		case CLV_BGNBD:
			ll = bgnbd_loglik(params, obj->data, dll);
			break;
		case CLV_GAMMA_GAMMA:
			ll = gg_loglik(params, obj->data, dll);
			break;
		default:
			ll = pnbd_loglik(params, obj->data);
			break;
	}
	if (!isfinite(ll))
		return INFINITY;

	f = -ll / obj->total_weight;
	for (i = 0; i < obj->k; i++)
		f += obj->penalizer * params[i] * params[i];

	if (grad == NULL)
		return f;

	if (obj->kind == CLV_PARETO_NBD)
	{
		/* central differences in theta */
		for (i = 0; i < obj->k; i++)
		{
			double		th[CLV_MAX_PARAMS];
			double		fp,
						fm;

			memcpy(th, theta, sizeof(double) * obj->k);
			th[i] = theta[i] + CLV_FD_STEP;
			fp = clv_objective(obj, th, NULL);
			th[i] = theta[i] - CLV_FD_STEP;
			fm = clv_objective(obj, th, NULL);
			if (!isfinite(fp) || !isfinite(fm))
				return INFINITY;
			grad[i] = (fp - fm) / (2.0 * CLV_FD_STEP);
		}
	}
	else
	{
		for (i = 0; i < obj->k; i++)
			grad[i] = params[i] * (-dll[i] / obj->total_weight
								   + 2.0 * obj->penalizer * params[i]);
	}
	for (i = 0; i < obj->k; i++)
		if (!isfinite(grad[i]))
			return INFINITY;
	return f;
}

/* Largest absolute component of v. */
static double
clv_max_abs(const double *v, int k)
{
	double		m = 0.0;
	int			i;

	for (i = 0; i < k; i++)
		m = Max(m, fabs(v[i]));
	return m;
}

/* Set h to the k x k identity times scale. */
static void
clv_identity(double *h, int k, double scale)
{
	int			i;

	memset(h, 0, sizeof(double) * k * k);
	for (i = 0; i < k; i++)
		h[i * k + i] = scale;
}

/*
 * One BFGS run from theta (in/out).  Returns the objective at the end;
 * *grad_norm, *iterations and *converged describe the run.
 */
static double
clv_bfgs(const ClvObjective *obj, double *theta, const ClvFitOptions *options,
		 double *grad_norm, int *iterations, bool *converged)
{
	int			k = obj->k;
	double		h[CLV_MAX_PARAMS * CLV_MAX_PARAMS];
	double		g[CLV_MAX_PARAMS],
				gn[CLV_MAX_PARAMS],
				d[CLV_MAX_PARAMS],
				tn[CLV_MAX_PARAMS],
				s[CLV_MAX_PARAMS],
				y[CLV_MAX_PARAMS],
				hy[CLV_MAX_PARAMS];
	double		f;
	bool		h_is_identity = true;
	bool		first_update = true;
	int			stalls = 0;
	int			it;
	int			i,
				j;

	*converged = false;
	*iterations = 0;
	f = clv_objective(obj, theta, g);
	if (!isfinite(f))
	{
		*grad_norm = INFINITY;
		return INFINITY;
	}
	clv_identity(h, k, 1.0);

	for (it = 0; it < options->max_iter; it++)
	{
		double		slope = 0.0;
		double		step = 1.0;
		double		dmax;
		double		fn = INFINITY;
		double		sy = 0.0,
					ss = 0.0,
					yy = 0.0,
					yhy = 0.0;
		bool		accepted = false;
		int			ls;

		CHECK_FOR_INTERRUPTS();

		if (clv_max_abs(g, k) <= options->tol)
		{
			*converged = true;
			break;
		}

		/* search direction d = -H g, steepest descent if not downhill */
		for (i = 0; i < k; i++)
		{
			d[i] = 0.0;
			for (j = 0; j < k; j++)
				d[i] -= h[i * k + j] * g[j];
			slope += d[i] * g[i];
		}
		if (!(slope < 0.0))
		{
			clv_identity(h, k, 1.0);
			h_is_identity = true;
			for (i = 0; i < k; i++)
				d[i] = -g[i];
		}
		/* no step longer than 5 in log-space (a factor of e^5) */
		dmax = clv_max_abs(d, k);
		if (dmax > 5.0)
			step = 5.0 / dmax;

		for (ls = 0; ls < 60; ls++)
		{
			double		decrease = 0.0;

			for (i = 0; i < k; i++)
			{
				tn[i] = theta[i] + step * d[i];
				tn[i] = Min(Max(tn[i], -CLV_LOG_BOUND), CLV_LOG_BOUND);
				s[i] = tn[i] - theta[i];
				decrease += s[i] * g[i];
			}
			fn = clv_objective(obj, tn, gn);
			if (isfinite(fn) && fn <= f + 1e-4 * decrease)
			{
				accepted = true;
				break;
			}
			step *= 0.5;
		}
		if (!accepted)
		{
			if (h_is_identity)
				break;			/* stalled even along the gradient */
			clv_identity(h, k, 1.0);
			h_is_identity = true;
			continue;
		}

		for (i = 0; i < k; i++)
		{
			y[i] = gn[i] - g[i];
			sy += s[i] * y[i];
			ss += s[i] * s[i];
			yy += y[i] * y[i];
		}
		/* skip the update unless the curvature condition holds clearly */
		if (sy > 1e-10 * sqrt(ss * yy))
		{
			double		rho;

			if (first_update)
			{
				clv_identity(h, k, sy / yy);
				first_update = false;
			}
			/* H+ = H + ((sy + yHy) s s' ) / sy^2 - (Hy s' + s y'H) / sy */
			for (i = 0; i < k; i++)
			{
				hy[i] = 0.0;
				for (j = 0; j < k; j++)
					hy[i] += h[i * k + j] * y[j];
				yhy += y[i] * hy[i];
			}
			rho = 1.0 / sy;
			for (i = 0; i < k; i++)
				for (j = 0; j < k; j++)
					h[i * k + j] += (sy + yhy) * rho * rho * s[i] * s[j]
						- rho * (hy[i] * s[j] + s[i] * hy[j]);
			h_is_identity = false;
		}

		/* a run that keeps moving without gaining anything has stalled */
		if (f - fn <= 1e-15 * fabs(f))
			stalls++;
		else
			stalls = 0;
		memcpy(theta, tn, sizeof(double) * k);
		memcpy(g, gn, sizeof(double) * k);
		f = fn;
		*iterations = it + 1;
		if (stalls >= 20)
			break;
	}
	if (!*converged && clv_max_abs(g, k) <= options->tol)
		*converged = true;
	*grad_norm = clv_max_abs(g, k);
	return f;
}

/* Fit kind to data by penalized maximum likelihood. */
void
clv_fit(ClvKind kind, const ClvData *data,
		const ClvFitOptions *options, ClvFitResult *result)
{
	ClvObjective obj;
	double		scale = 0.0;
	double		best_f = INFINITY;
	int			start;
	int			i;
	int64		j;

	obj.kind = kind;
	obj.data = data;
	obj.penalizer = options->penalizer;
	obj.k = clv_nparams(kind);
	obj.total_weight = 0.0;
	for (j = 0; j < data->n; j++)
	{
		obj.total_weight += data->w[j];
		scale += data->w[j] * (kind == CLV_GAMMA_GAMMA ? data->t_x[j] : data->t[j]);
	}
	scale = obj.total_weight > 0 ? scale / obj.total_weight : 1.0;
	if (!(scale > 0.0) || !isfinite(scale))
		scale = 1.0;

	memset(result, 0, sizeof(ClvFitResult));
	result->loglik = -INFINITY;
	result->grad_norm = INFINITY;

	for (start = 0; start < 2; start++)
	{
		double		theta[CLV_MAX_PARAMS] = {0, 0, 0, 0};
		double		f;
		double		grad_norm;
		int			iterations;
		bool		converged;

		if (start == 1)
		{
			/* the scale parameter: alpha (BTYD) or gamma (Gamma-Gamma) */
			theta[kind == CLV_GAMMA_GAMMA ? 2 : 1] = log(scale);
			if (kind == CLV_PARETO_NBD)
				theta[3] = log(scale);
		}
		/* restart only when the first run failed */
		if (start == 1 && result->converged)
			break;
		f = clv_bfgs(&obj, theta, options, &grad_norm, &iterations, &converged);
		if (options->verbose)
			ereport(NOTICE,
					(errmsg("clv fit start %d: objective %.10g after %d iterations, gradient %.3g%s",
							start + 1, f, iterations, grad_norm,
							converged ? ", converged" : "")));
		if (isfinite(f) && (f < best_f - 1e-12 * fabs(best_f) || !isfinite(best_f)))
		{
			bool		at_bound = false;

			best_f = f;
			for (i = 0; i < obj.k; i++)
			{
				result->params[i] = exp(theta[i]);
				if (fabs(theta[i]) >= CLV_LOG_BOUND - 1e-6)
					at_bound = true;
			}
			result->iterations = iterations;
			result->grad_norm = grad_norm;
			result->at_bound = at_bound;
			result->converged = converged && !at_bound;
		}
	}
	if (isfinite(best_f))
		result->loglik = clv_loglik(kind, result->params, data);
}

/* Expected purchases of a new customer by time t (BG/NBD, Pareto/NBD). */
double
clv_expected_purchases(ClvKind kind, const double *params, double t)
{
	double		r = params[0],
				alpha = params[1];

	if (t == 0.0)
		return 0.0;
	if (kind == CLV_BGNBD)
	{
		double		a = params[2],
					b = params[3];
		double		z = t / (alpha + t);
		double		logterm;

		/* (7); a = 1 is a removable singularity: step off it */
		if (fabs(a - 1.0) < 1e-9)
			a = 1.0 + 1e-9;
		logterm = r * log(alpha / (alpha + t)) + clv_log_hyp2f1(r, b, a + b - 1.0, z);
		return (a + b - 1.0) / (a - 1.0) * -expm1(logterm);
	}
	else
	{
		double		s = params[2],
					beta = params[3];
		double		lu = log(beta / (beta + t));
		double		frac = fabs(s - 1.0) < 1e-12 ? -lu : -expm1((s - 1.0) * lu) / (s - 1.0);

		return r * beta / alpha * frac;
	}
}

/* Probability that a customer with summary (x, t_x, T) is still alive. */
double
clv_probability_alive(ClvKind kind, const double *params,
					  double x, double t_x, double T)
{
	double		r = params[0],
				alpha = params[1];

	if (kind == CLV_BGNBD)
	{
		double		a = params[2],
					b = params[3];
		double		odds;
		double		logodds;

		if (x == 0.0)
			return 1.0;
		/* odds of "dropped out at t_x" against "alive" */
		odds = a / (b + x - 1.0) * pow((alpha + T) / (alpha + t_x), r + x);
		if (isfinite(odds))
			return 1.0 / (1.0 + odds);
		logodds = log(a) - log(b + x - 1.0) + (r + x) * (log(alpha + T) - log(alpha + t_x));
		return exp(-clv_logaddexp(0.0, logodds));
	}
	else
	{
		double		l1,
					l2;

		(void) r;
		(void) alpha;
		pnbd_terms(params, x, t_x, T, CLV_HYP2F1_MAX_TERMS, &l1, &l2);
		if (isnan(l2))
			return NAN;
		return exp(l1 - clv_logaddexp(l1, l2));
	}
}

/* Expected purchases in (T, T + t] given the summary (x, t_x, T). */
double
clv_conditional_purchases(ClvKind kind, const double *params,
						  double t, double x, double t_x, double T)
{
	double		r = params[0],
				alpha = params[1];
	double		palive = clv_probability_alive(kind, params, x, t_x, T);

	if (t == 0.0 || isnan(palive))
		return isnan(palive) ? NAN : 0.0;
	if (kind == CLV_BGNBD)
	{
		double		a = params[2],
					b = params[3];
		double		logterm;

		/* (10) = factor * [1 - ...] * P(alive) */
		if (fabs(a - 1.0) < 1e-9)
			a = 1.0 + 1e-9;
		logterm = (r + x) * log((alpha + T) / (alpha + T + t))
			+ clv_log_hyp2f1(r + x, b + x, a + b + x - 1.0, t / (alpha + T + t));
		return (a + b + x - 1.0) / (a - 1.0) * -expm1(logterm) * palive;
	}
	else
	{
		double		s = params[2],
					beta = params[3];
		double		lu = log((beta + T) / (beta + T + t));
		double		frac = fabs(s - 1.0) < 1e-12 ? -lu : -expm1((s - 1.0) * lu) / (s - 1.0);

		return palive * (r + x) * (beta + T) / (alpha + T) * frac;
	}
}

/* Gamma-Gamma conditional expected mean spend given x and zbar. */
double
clv_expected_spend(const double *params, double x, double zbar)
{
	double		p = params[0],
				q = params[1],
				gam = params[2];

	/* x = 0: the population mean p gamma / (q - 1) */
	return p * (gam + x * zbar) / (p * x + q - 1.0);
}
