/*-------------------------------------------------------------------------
 *
 * state_text.c
 *	  Text form of the portable aggregate states (quantile_state,
 *	  clv_state).
 *
 * Citus ships a custom aggregate's partial state from a worker to the
 * coordinator through the state type's output and input functions, and
 * postgres_fdw does the same for a state column, so the text form is a
 * wire format: it must round-trip every double exactly and reject
 * anything malformed with a clear error.  Doubles are written in the
 * shortest form that reads back to the same bits (Ryu, as float8out), and
 * read with strtod, which rounds correctly.  The documents are JSON (a
 * client can cast them to jsonb to look inside) with a fixed key order,
 * which keeps this reader a few dozen lines and its errors precise.
 *
 * src/state_text.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>

#include "common/int.h"
#include "common/shortest_dec.h"

#include "segment.h"
#include "state_text.h"

/* Start reading str as a value of type type_name. */
void
st_init(StateText *st, const char *str, const char *type_name)
{
	st->start = str;
	st->p = str;
	st->type_name = type_name;
}

/* Raise 22P02 (invalid input syntax) with detail. */
void
st_error(StateText *st, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s", st->type_name),
			 errdetail("%s (at character %d).", detail, (int) (st->p - st->start) + 1)));
}

/* Skip white space. */
static void
st_skip(StateText *st)
{
	while (*st->p == ' ' || *st->p == '\t' || *st->p == '\n' || *st->p == '\r')
		st->p++;
}

/* Skip white space; consume token and return true if it comes next. */
bool
st_accept(StateText *st, const char *token)
{
	size_t		len = strlen(token);

	st_skip(st);
	if (strncmp(st->p, token, len) != 0)
		return false;
	st->p += len;
	return true;
}

/* Skip white space, then require token (punctuation or a "key":). */
void
st_expect(StateText *st, const char *token)
{
	if (!st_accept(st, token))
		st_error(st, psprintf("Expected %s", token));
}

/* A JSON integer. */
int64
st_int64(StateText *st, const char *what)
{
	bool		negative = false;
	int64		value = 0;
	int			digits = 0;

	st_skip(st);
	if (*st->p == '-')
	{
		negative = true;
		st->p++;
	}
	while (isdigit((unsigned char) *st->p))
	{
		/* accumulate negatively so that INT64_MIN fits */
		if (pg_mul_s64_overflow(value, 10, &value) ||
			pg_sub_s64_overflow(value, *st->p - '0', &value))
			st_error(st, psprintf("\"%s\" is out of range", what));
		st->p++;
		digits++;
	}
	if (digits == 0)
		st_error(st, psprintf("\"%s\" must be an integer", what));
	if (*st->p == '.' || *st->p == 'e' || *st->p == 'E')
		st_error(st, psprintf("\"%s\" must be an integer", what));
	if (!negative)
	{
		if (value == PG_INT64_MIN)
			st_error(st, psprintf("\"%s\" is out of range", what));
		value = -value;
	}
	return value;
}

/* A JSON number, or the strings "Infinity" / "-Infinity"; never NaN. */
double
st_double(StateText *st, const char *what)
{
	char		buf[64];
	const char *q;
	char	   *end;
	int			len;
	double		value;

	st_skip(st);
	if (st_accept(st, "\"Infinity\""))
		return INFINITY;
	if (st_accept(st, "\"-Infinity\""))
		return -INFINITY;

	/* the JSON number grammar's characters only: no hex, inf or nan */
	q = st->p;
	while (isdigit((unsigned char) *q) || *q == '-' || *q == '+' || *q == '.' ||
		   *q == 'e' || *q == 'E')
		q++;
	len = q - st->p;
	if (len == 0 || len >= (int) sizeof(buf) ||
		!(isdigit((unsigned char) st->p[0]) || (st->p[0] == '-' && isdigit((unsigned char) st->p[1]))))
		st_error(st, psprintf("\"%s\" must be a number", what));
	memcpy(buf, st->p, len);
	buf[len] = '\0';
	errno = 0;
	value = strtod(buf, &end);
	if (end != buf + len)
		st_error(st, psprintf("\"%s\" must be a number", what));
	if (errno == ERANGE && isinf(value))
		st_error(st, psprintf("\"%s\" is out of range for type double precision", what));
	st->p = q;
	return value + 0.0;
}

/* A JSON string without escapes, into buf of size len (NUL-terminated). */
void
st_string(StateText *st, char *buf, int len, const char *what)
{
	int			i = 0;

	st_expect(st, "\"");
	while (*st->p != '"')
	{
		if (*st->p == '\0' || *st->p == '\\' || i >= len - 1)
			st_error(st, psprintf("\"%s\" is not a valid string", what));
		buf[i++] = *st->p++;
	}
	st->p++;
	buf[i] = '\0';
}

/* Require the end of the text (trailing white space allowed). */
void
st_end(StateText *st)
{
	st_skip(st);
	if (*st->p != '\0')
		st_error(st, "Unexpected text after the end of the value");
}

/* Append value in shortest round-trip form ("Infinity" strings for infinities). */
void
st_append_double(StringInfo buf, double value)
{
	char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (isinf(value))
	{
		appendStringInfoString(buf, value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	Assert(!isnan(value));
	double_to_shortest_decimal_buf(value + 0.0, digits);
	appendStringInfoString(buf, digits);
}
