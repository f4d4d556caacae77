/*-------------------------------------------------------------------------
 *
 * kmeans_driver.c
 *	  Command-line driver for the k-means kernel (src/kmeans.c), used by
 *	  check_sklearn.py to compare against scikit-learn and to time it.
 *
 * Input: a CSV file (--csv FILE --cols i,j,... [--header]) or raw
 * little-endian float64 rows (--raw FILE --d D).  Output on stdout, one
 * "key: value" per line: algo, n, d, inertia, n_iter, best_run, converged,
 * time_ms (kmeans_run only), sizes, k centroid lines, labels.
 *
 * test/kernel/kmeans_driver.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "kmeans.h"

/* growable array of doubles */
typedef struct DBuf
{
	double	   *v;
	int64		len;
	int64		cap;
} DBuf;

/* append one value */
static void
dbuf_push(DBuf *b, double x)
{
	if (b->len == b->cap)
	{
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->v = realloc(b->v, sizeof(double) * b->cap);
		if (!b->v)
		{
			fprintf(stderr, "out of memory\n");
			exit(2);
		}
	}
	b->v[b->len++] = x;
}

/* read selected columns (all if ncols == 0) of a CSV; returns rows */
static int64
read_csv(const char *path, const int *cols, int ncols, bool header, DBuf *out, int *d_out)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	int64		rows = 0;
	int			d = -1;

	if (!f)
	{
		perror(path);
		exit(2);
	}
	while ((len = getline(&line, &cap, f)) >= 0)
	{
		char	   *fields[1024];
		int			nf = 0;
		char	   *p = line;
		int			c;
		int			got = 0;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (header)
		{
			header = false;
			continue;
		}
		fields[nf++] = p;
		for (; *p; p++)
			if (*p == ',' && nf < 1024)
			{
				*p = '\0';
				fields[nf++] = p + 1;
			}
		if (ncols == 0)
		{
			for (c = 0; c < nf; c++)
				dbuf_push(out, strtod(fields[c], NULL));
			got = nf;
		}
		else
		{
			for (c = 0; c < ncols; c++)
			{
				if (cols[c] >= nf)
				{
					fprintf(stderr, "%s: row %lld has %d fields\n", path, (long long) rows, nf);
					exit(2);
				}
				dbuf_push(out, strtod(fields[cols[c]], NULL));
			}
			got = ncols;
		}
		if (d < 0)
			d = got;
		else if (d != got)
		{
			fprintf(stderr, "%s: ragged rows\n", path);
			exit(2);
		}
		rows++;
	}
	free(line);
	fclose(f);
	*d_out = d;
	return rows;
}

/* read raw float64 rows of width d */
static int64
read_raw(const char *path, int d, DBuf *out)
{
	FILE	   *f = fopen(path, "rb");
	long		bytes;

	if (!f)
	{
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	bytes = ftell(f);
	fseek(f, 0, SEEK_SET);
	out->len = bytes / (long) sizeof(double);
	out->v = malloc(sizeof(double) * (out->len ? out->len : 1));
	if (fread(out->v, sizeof(double), out->len, f) != (size_t) out->len)
	{
		fprintf(stderr, "%s: short read\n", path);
		exit(2);
	}
	fclose(f);
	return out->len / d;
}

/* print usage and exit */
static void
usage(void)
{
	fprintf(stderr,
			"usage: kmeans_driver (--csv FILE [--cols 0,1,..] [--header] | --raw FILE --d D)\n"
			"  --k K [--init pp|random|given] [--centroids CSV] [--seed S] [--n-init N]\n"
			"  [--max-iter M] [--tol T] [--algo auto|loop|blas|hamerly|hblas] [--verbose]\n"
			"  [--canon] [--no-labels] [--no-centroids]\n");
	exit(2);
}

/* parse options, run the kernel, print the result */
int
main(int argc, char **argv)
{
	const char *csv = NULL;
	const char *raw = NULL;
	const char *cpath = NULL;
	int			cols[256];
	int			ncols = 0;
	bool		header = false;
	bool		canon = false;
	bool		print_labels = true;
	bool		print_centroids = true;
	int			d = 0;
	int64		n;
	DBuf		X = {0};
	DBuf		C0 = {0};
	KMeansParams p;
	KMeansResult res;
	void	   *work;
	Size		wbytes;
	struct timespec t0,
				t1;
	int			i;
	int64		r;
	const char *algo_names[] = {"auto", "loop", "blas", "hamerly", "hblas"};

	openblas_set_num_threads(1);

	memset(&p, 0, sizeof(p));
	p.k = 0;
	p.max_iter = 300;
	p.tol = 1e-4;
	p.n_init = 1;
	p.seed = 0;
	p.init = KMEANS_INIT_PLUSPLUS;
	p.algorithm = KMEANS_ALGO_AUTO;

	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;

		if (strcmp(a, "--header") == 0)
			header = true;
		else if (strcmp(a, "--verbose") == 0)
			p.verbose = true;
		else if (strcmp(a, "--canon") == 0)
			canon = true;
		else if (strcmp(a, "--no-labels") == 0)
			print_labels = false;
		else if (strcmp(a, "--no-centroids") == 0)
			print_centroids = false;
		else if (v == NULL)
			usage();
		else
		{
			i++;
			if (strcmp(a, "--csv") == 0)
				csv = v;
			else if (strcmp(a, "--raw") == 0)
				raw = v;
			else if (strcmp(a, "--d") == 0)
				d = atoi(v);
			else if (strcmp(a, "--cols") == 0)
			{
				char	   *s = strdup(v);
				char	   *tok;

				for (tok = strtok(s, ","); tok && ncols < 256; tok = strtok(NULL, ","))
					cols[ncols++] = atoi(tok);
			}
			else if (strcmp(a, "--k") == 0)
				p.k = atoi(v);
			else if (strcmp(a, "--init") == 0)
			{
				if (strcmp(v, "pp") == 0 || strcmp(v, "k-means++") == 0)
					p.init = KMEANS_INIT_PLUSPLUS;
				else if (strcmp(v, "random") == 0)
					p.init = KMEANS_INIT_RANDOM;
				else if (strcmp(v, "given") == 0)
					p.init = KMEANS_INIT_GIVEN;
				else
					usage();
			}
			else if (strcmp(a, "--centroids") == 0)
				cpath = v;
			else if (strcmp(a, "--seed") == 0)
				p.seed = strtoull(v, NULL, 10);
			else if (strcmp(a, "--n-init") == 0)
				p.n_init = atoi(v);
			else if (strcmp(a, "--max-iter") == 0)
				p.max_iter = atoi(v);
			else if (strcmp(a, "--tol") == 0)
				p.tol = strtod(v, NULL);
			else if (strcmp(a, "--algo") == 0)
			{
				int			j;

				for (j = 0; j < 5; j++)
					if (strcmp(v, algo_names[j]) == 0)
						p.algorithm = (KMeansAlgorithm) j;
			}
			else
				usage();
		}
	}

	if (csv)
		n = read_csv(csv, cols, ncols, header, &X, &d);
	else if (raw && d > 0)
		n = read_raw(raw, d, &X);
	else
		usage();
	if (p.k < 1 || n < p.k)
		usage();
	p.d = d;

	if (cpath)
	{
		int			cd;
		int64		ck = read_csv(cpath, NULL, 0, false, &C0, &cd);

		if (cd != d || ck != p.k)
		{
			fprintf(stderr, "centroids file must have k rows of d columns\n");
			exit(2);
		}
		p.init_centroids = C0.v;
		p.init = KMEANS_INIT_GIVEN;
	}

	res.centroids = malloc(sizeof(double) * p.k * d);
	res.labels = malloc(sizeof(int32) * n);
	res.sizes = malloc(sizeof(int64) * p.k);
	wbytes = kmeans_workspace_bytes(n, d, p.k);
	work = malloc(wbytes);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	kmeans_run(X.v, n, &p, &res, work);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	if (canon)
		kmeans_canonicalize(res.centroids, res.sizes, res.labels, n, d, p.k);

	printf("algo: %s\n", algo_names[p.algorithm == KMEANS_ALGO_AUTO ?
									kmeans_choose_algorithm(n, d, p.k) : p.algorithm]);
	printf("n: %lld\nd: %d\nk: %d\n", (long long) n, d, p.k);
	printf("workspace_bytes: %zu\n", (size_t) wbytes);
	printf("inertia: %.17g\n", res.inertia);
	printf("n_iter: %d\n", res.n_iter);
	printf("best_run: %d\n", res.best_run);
	printf("converged: %d\n", res.converged ? 1 : 0);
	printf("time_ms: %.3f\n", (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	printf("sizes:");
	for (i = 0; i < p.k; i++)
		printf(" %lld", (long long) res.sizes[i]);
	printf("\n");
	if (print_centroids)
		for (i = 0; i < p.k; i++)
		{
			int			j;

			printf("centroid:");
			for (j = 0; j < d; j++)
				printf(" %.17g", res.centroids[(Size) i * d + j]);
			printf("\n");
		}
	if (print_labels)
	{
		printf("labels:");
		for (r = 0; r < n; r++)
			printf(" %d", res.labels[r]);
		printf("\n");
	}
	return 0;
}
