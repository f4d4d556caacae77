/*-------------------------------------------------------------------------
 *
 * options.c
 *	  Readers of jsonb option values shared by the fitting aggregates.
 *
 * src/options.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/numeric.h"

#include "model.h"
#include "options.h"

/* Raise 22023: <family> option "<name>" <must>. */
void
segment_option_error(const SegmentOptionFamily *family, const char *name, const char *must)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s option \"%s\" %s", family->name, name, must),
			 family->valid ? errhint("Valid options are: %s.", family->valid) : 0));
	pg_unreachable();
}

/* A JSON value as a finite double, or a 22023 error. */
double
segment_option_float8(const SegmentOptionFamily *family, JsonbValue *v, const char *name)
{
	double		f;

	if (v->type != jbvNumeric)
		segment_option_error(family, name, "must be a number");
	f = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
										   NumericGetDatum(v->val.numeric)));
	if (!isfinite(f))
		segment_option_error(family, name, "must be a finite number");
	return f;
}

/* A JSON value as an integer within [lo, hi], or a 22023 error. */
int64
segment_option_int(const SegmentOptionFamily *family, JsonbValue *v, const char *name,
				   int64 lo, int64 hi)
{
	int64		x;

	if (v->type != jbvNumeric || !segment_numeric_to_int64(v->val.numeric, &x))
		segment_option_error(family, name, "must be an integer");
	if (x < lo || x > hi)
		segment_option_error(family, name,
							 psprintf("must be between " INT64_FORMAT " and " INT64_FORMAT,
									  lo, hi));
	return x;
}

/* A JSON string value as a C string, or a 22023 error. */
char *
segment_option_string(const SegmentOptionFamily *family, JsonbValue *v, const char *name)
{
	if (v->type != jbvString)
		segment_option_error(family, name, "must be a string");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* The container of a JSON array (or, with object, object) value, or NULL. */
JsonbContainer *
segment_option_container(JsonbValue *v, bool object)
{
	if (v->type != jbvBinary)
		return NULL;
	if (object ? !JsonContainerIsObject(v->val.binary.data) :
		(!JsonContainerIsArray(v->val.binary.data) ||
		 JsonContainerIsScalar(v->val.binary.data)))
		return NULL;
	return v->val.binary.data;
}

/* An array of at least min_count distinct non-empty strings, or a 22023 error. */
char **
segment_option_names(const SegmentOptionFamily *family, JsonbValue *v, const char *name,
					 int min_count, const char *must, int *count)
{
	JsonbContainer *arr = segment_option_container(v, false);
	char	  **names;
	int			n;
	int			i;
	int			j;

	if (arr == NULL || JsonContainerSize(arr) < min_count)
		segment_option_error(family, name, must);
	n = JsonContainerSize(arr);
	names = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);

		if (e->type != jbvString || e->val.string.len == 0)
			segment_option_error(family, name, must);
		names[i] = pnstrdup(e->val.string.val, e->val.string.len);
		if (strlen(names[i]) != (size_t) e->val.string.len)
			segment_option_error(family, name, "must not contain zero bytes");
		for (j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				segment_option_error(family, name, "must not repeat a name");
	}
	*count = n;
	return names;
}
