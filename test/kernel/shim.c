/*-------------------------------------------------------------------------
 *
 * shim.c
 *	  Minimal stand-ins for the backend symbols kmeans.c references, so the
 *	  kernel can be linked into a standalone driver without a server.
 *
 * ereport/elog print to stderr (and exit on ERROR), palloc is malloc,
 * interrupts never fire.
 *
 * test/kernel/shim.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "miscadmin.h"

volatile sig_atomic_t InterruptPending = false;

static int	shim_elevel = 0;

/* never called: InterruptPending stays false */
void
ProcessInterrupts(void)
{
}

/* start an error report: remember the level */
bool
errstart(int elevel, const char *domain)
{
	shim_elevel = elevel;
	return true;
}

/* cold variant used for elevel >= ERROR */
bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

/* finish an error report: exit on ERROR or worse */
void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (shim_elevel >= ERROR)
	{
		fprintf(stderr, "ERROR raised at %s:%d (%s)\n", filename, lineno, funcname);
		exit(2);
	}
}

/* SQLSTATE: ignored */
int
errcode(int sqlerrcode)
{
	return 0;
}

/* primary message to stderr */
int
errmsg(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: ", shim_elevel >= ERROR ? "ERROR" : "NOTICE");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 0;
}

/* internal message to stderr */
int
errmsg_internal(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: ", shim_elevel >= ERROR ? "ERROR" : "NOTICE");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 0;
}

/* palloc is malloc here */
void *
palloc(Size size)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

/* pfree is free here */
void
pfree(void *pointer)
{
	free(pointer);
}

/* palloc_extended is malloc here (no size limit; MCXT_ALLOC_ZERO honoured) */
void *
palloc_extended(Size size, int flags)
{
	void	   *p = palloc(size);

	if (flags & MCXT_ALLOC_ZERO)
		memset(p, 0, size ? size : 1);
	return p;
}
