/*-------------------------------------------------------------------------
 *
 * quantile.c
 *	  Kernel: tie-aware quantile cut points and scores.
 *
 * Rationale.  ntile(b) OVER (ORDER BY v) deals rows into b buckets by
 * position, so two customers with the same frequency can land in different
 * buckets; with heavily tied data (40% of customers ordering once) the
 * score then depends on the physical row order.  We keep ntile's bucket
 * boundaries, which are positions: with n values, q = n / b and r = n % b,
 * bucket j (0-based) starts at s_j = j*q + min(j, r), so the first r
 * buckets hold one row more, exactly as ntile does.  But a value is scored
 * by the position of the FIRST occurrence of that value (the number of
 * values strictly below it), so equal values always get equal scores and
 * on distinct values the score equals ntile's bucket.
 *
 * That rule is equivalent to comparing against b - 1 cut points:
 * break_j = sorted[s_j - 1], and score(v) = 1 + #{ j : v > break_j }.
 * The breaks are therefore a complete description of the scoring, so
 * breaks stored today score new customers the same way tomorrow.  When a
 * tie group spans a whole bucket, consecutive breaks are equal and the
 * scores between them are not used: a score keeps its meaning ("at least
 * this share of customers is below you") instead of being renumbered.
 *
 * Sorting uses a least-significant-digit radix sort on the IEEE-754 bit
 * patterns mapped to unsigned order (Knuth, TAOCP vol. 3, 5.2.5; the
 * sign-flip mapping of Herf, "Radix tricks", 2001), which beats a
 * comparison sort severalfold on millions of doubles.
 *
 * src/quantile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "segment.h"
#include "quantile.h"

#define RADIX_BITS 11
#define RADIX_SIZE (1 << RADIX_BITS)
#define RADIX_PASSES 6			/* 6 * 11 >= 64 */

/* Map a double's bits to an unsigned key with the same order. */
static inline uint64
double_to_key(double value)
{
	uint64		bits;

	value += 0.0;				/* fold -0 into +0 */
	memcpy(&bits, &value, sizeof(bits));
	return (bits & UINT64CONST(0x8000000000000000)) ? ~bits
		: bits | UINT64CONST(0x8000000000000000);
}

/* Inverse of double_to_key. */
static inline double
key_to_double(uint64 key)
{
	uint64		bits;
	double		value;

	bits = (key & UINT64CONST(0x8000000000000000)) ?
		key & ~UINT64CONST(0x8000000000000000) : ~key;
	memcpy(&value, &bits, sizeof(value));
	return value;
}

/* Sort values ascending in place (-0 folded to +0); scratch holds n doubles. */
void
quantile_sort(double *values, int64 n, double *scratch)
{
	uint64	   *src = (uint64 *) values;
	uint64	   *dst = (uint64 *) scratch;
	int64		counts[RADIX_PASSES][RADIX_SIZE];
	int64		i;
	int			pass;

	if (n < 2)
	{
		if (n == 1)
			values[0] += 0.0;
		return;
	}

	/* One read to build every pass's histogram. */
	memset(counts, 0, sizeof(counts));
	for (i = 0; i < n; i++)
	{
		uint64		key = double_to_key(values[i]);

		src[i] = key;
		for (pass = 0; pass < RADIX_PASSES; pass++)
			counts[pass][(key >> (pass * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	for (pass = 0; pass < RADIX_PASSES; pass++)
	{
		int64	   *count = counts[pass];
		int64		offset = 0;
		int			shift = pass * RADIX_BITS;
		uint64	   *tmp;
		int			digit;

		/* A pass where every key has the same digit changes nothing. */
		if (count[(src[0] >> shift) & (RADIX_SIZE - 1)] == n)
			continue;
		for (digit = 0; digit < RADIX_SIZE; digit++)
		{
			int64		c = count[digit];

			count[digit] = offset;
			offset += c;
		}
		for (i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & (RADIX_SIZE - 1)]++] = src[i];
		tmp = src;
		src = dst;
		dst = tmp;
		CHECK_FOR_INTERRUPTS();
	}

	if (src != (uint64 *) values)
		memcpy(values, src, n * sizeof(double));
	for (i = 0; i < n; i++)
		values[i] = key_to_double(((uint64 *) values)[i]);
}

/* Cut points of sorted[0..n-1] into bins quantile bins: bins - 1 values. */
void
quantile_breaks_sorted(const double *sorted, int64 n, int bins, double *breaks)
{
	int64		q = n / bins;
	int64		r = n % bins;
	int			j;

	Assert(n > 0);
	for (j = 1; j < bins; j++)
	{
		int64		start = j * q + Min((int64) j, r);

		breaks[j - 1] = sorted[start - 1];
	}
}

/* Score 1..nbreaks+1 of value: one plus the number of breaks below it. */
int
quantile_score(double value, const double *breaks, int nbreaks)
{
	int			lo = 0;
	int			hi = nbreaks;

	/* few breaks (the usual 4): count without branches */
	if (nbreaks <= 16)
	{
		int			below = 0;
		int			j;

		for (j = 0; j < nbreaks; j++)
			below += (breaks[j] < value);
		return below + 1;
	}

	/* many breaks: first index whose break is >= value */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (breaks[mid] < value)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo + 1;
}

/* Validate bins (1..SEGMENT_MAX_BINS) and raise 22023 otherwise. */
void
quantile_check_bins(int bins)
{
	if (bins < 1 || bins > SEGMENT_MAX_BINS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of bins must be between 1 and %d", SEGMENT_MAX_BINS),
				 errdetail("The value given was %d.", bins)));
}
