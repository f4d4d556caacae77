/*-------------------------------------------------------------------------
 *
 * state_text.h
 *	  Reading and writing the text form of segment's portable aggregate
 *	  states (quantile_state, clv_state): a fixed-shape JSON document whose
 *	  keys come in one order, numbers in shortest round-trip form.
 *
 * src/state_text.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_STATE_TEXT_H
#define SEGMENT_STATE_TEXT_H

#include "lib/stringinfo.h"

/* A cursor over the text being read; errors name type_name. */
typedef struct StateText
{
	const char *start;
	const char *p;
	const char *type_name;
} StateText;

/* Start reading str as a value of type type_name. */
extern void st_init(StateText *st, const char *str, const char *type_name);

/* Raise 22P02 (invalid input syntax) with detail. */
extern void st_error(StateText *st, const char *detail) pg_attribute_noreturn();

/* Skip white space, then require token (punctuation or a "key":). */
extern void st_expect(StateText *st, const char *token);

/* Skip white space; consume token and return true if it comes next. */
extern bool st_accept(StateText *st, const char *token);

/* A JSON integer. */
extern int64 st_int64(StateText *st, const char *what);

/* A JSON number, or the strings "Infinity" / "-Infinity"; never NaN. */
extern double st_double(StateText *st, const char *what);

/* A JSON string without escapes, into buf of size len (NUL-terminated). */
extern void st_string(StateText *st, char *buf, int len, const char *what);

/* Require the end of the text (trailing white space allowed). */
extern void st_end(StateText *st);

/* Append value in shortest round-trip form ("Infinity" strings for infinities). */
extern void st_append_double(StringInfo buf, double value);

#endif							/* SEGMENT_STATE_TEXT_H */
