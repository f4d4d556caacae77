/*-------------------------------------------------------------------------
 *
 * rfm_segment.c
 *	  rfm_segment(r, f, m [, map]): the named RFM segment of a customer.
 *
 * The map is a 5x5 grid of recency score R (rows) against the combined
 * frequency-monetary score FM = round((F + M) / 2), halves rounded up
 * (columns), the layout popularised by the RFM segment charts used in
 * marketing practice.  Every cell is named, so every customer gets a
 * segment; the eleven names are the usual ones (Champions ... Lost).  A
 * user map is a text[5][5] in the same layout (map[r][fm]);
 * rfm_segment_map() returns the default one to start from.
 *
 * src/rfm_segment.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "segment.h"

#define RFM_GRID 5

/* default_map[r - 1][fm - 1] */
static const char *const default_map[RFM_GRID][RFM_GRID] = {
	/* R = 1 */ {"Lost", "Lost", "At Risk", "At Risk", "Can't Lose"},
	/* R = 2 */ {"Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose"},
	/* R = 3 */ {"About to Sleep", "About to Sleep", "Need Attention", "Loyal", "Loyal"},
	/* R = 4 */ {"Promising", "Potential Loyalist", "Potential Loyalist", "Loyal", "Loyal"},
	/* R = 5 */ {"New", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"},
};

PG_FUNCTION_INFO_V1(segment_rfm_segment);
PG_FUNCTION_INFO_V1(segment_rfm_segment_custom);
PG_FUNCTION_INFO_V1(segment_rfm_segment_map);

/* Check a score is on the 1..5 scale the map uses. */
static void
check_grid_score(int32 score, const char *name)
{
	if (score < 1 || score > RFM_GRID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s score must be between 1 and %d", name, RFM_GRID),
				 errdetail("The value given was %d.", score),
				 errhint("Compute the scores with bins => %d.", RFM_GRID)));
}

/* Validate (r, f, m) and return the zero-based grid cell index r*5 + fm. */
static int
rfm_cell(FunctionCallInfo fcinfo)
{
	int32		r = PG_GETARG_INT32(0);
	int32		f = PG_GETARG_INT32(1);
	int32		m = PG_GETARG_INT32(2);
	int32		fm;

	check_grid_score(r, "recency");
	check_grid_score(f, "frequency");
	check_grid_score(m, "monetary");
	fm = (f + m + 1) / 2;
	return (r - 1) * RFM_GRID + (fm - 1);
}

/* rfm_segment(r, f, m): segment name from the default map. */
Datum
segment_rfm_segment(PG_FUNCTION_ARGS)
{
	int			cell = rfm_cell(fcinfo);

	PG_RETURN_TEXT_P(cstring_to_text(default_map[cell / RFM_GRID][cell % RFM_GRID]));
}

/* rfm_segment(r, f, m, map): segment name from a user's text[5][5] map. */
Datum
segment_rfm_segment_custom(PG_FUNCTION_ARGS)
{
	int			cell = rfm_cell(fcinfo);
	ArrayType  *map = PG_GETARG_ARRAYTYPE_P(3);
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;

	if (ARR_NDIM(map) != 2 || ARR_DIMS(map)[0] != RFM_GRID ||
		ARR_DIMS(map)[1] != RFM_GRID)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("segment map must be a %d by %d text array", RFM_GRID, RFM_GRID),
				 errhint("Start from segment.rfm_segment_map().")));
	deconstruct_array(map, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	if (nulls[cell])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("segment map must not contain null elements")));
	PG_RETURN_TEXT_P(DatumGetTextPCopy(elems[cell]));
}

/* rfm_segment_map(): the default map as text[5][5], map[r][fm]. */
Datum
segment_rfm_segment_map(PG_FUNCTION_ARGS)
{
	Datum		elems[RFM_GRID * RFM_GRID];
	int			dims[2] = {RFM_GRID, RFM_GRID};
	int			lbs[2] = {1, 1};
	int			i;

	for (i = 0; i < RFM_GRID * RFM_GRID; i++)
		elems[i] = PointerGetDatum(cstring_to_text(default_map[i / RFM_GRID][i % RFM_GRID]));
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, NULL, 2, dims, lbs, TEXTOID,
											 -1, false, TYPALIGN_INT));
}
