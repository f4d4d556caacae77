# Makefile for the segment extension (PGXS)

EXTENSION = segment
MODULE_big = segment
PGFILEDESC = "segment - customer segmentation: RFM scoring, k-means clustering, CLV"

# One object per SQL-facing feature plus the pure kernels they share.
OBJS = \
	src/segment.o \
	src/quantile.o \
	src/quantile_agg.o \
	src/rfm.o \
	src/rfm_window.o \
	src/rfm_segment.o \
	src/clv.o \
	src/clv_model.o \
	src/clv_agg.o \
	src/clv_predict.o \
	src/kmeans.o \
	src/row_order.o \
	src/scaler.o \
	src/options.o \
	src/model.o \
	src/feature_rows.o \
	src/kmeans_agg.o \
	src/kmeans_window.o \
	src/kmeans_assign.o \
	src/hungarian.o \
	src/segmentation.o \
	src/metrics.o \
	src/kmeans_eval.o \
	src/segment_profile.o \
	src/kprototypes.o \
	src/kprototypes_agg.o \
	src/kprototypes_window.o \
	src/state_text.o \
	src/quantile_state.o \
	src/kmeans_step.o \
	src/kmeans_scan.o

DATA = segment--1.0.sql $(wildcard segment--*--*.sql)

# Regression tests, in order; each file creates the extension itself.
REGRESS = rfm_summary rfm_score quantile_breaks rfm_segment kmeans kmeans_errors kmeans_window kmeans_parallel managed_segmentation segment_quality security clv clv_errors parallel scaleout kmeans_scale catalog_lint kprototypes kprototypes_errors kprototypes_parallel oldextversions
REGRESS_OPTS = --inputdir=. --outputdir=.

PG_CONFIG ?= pg_config

# OpenBLAS: prefer the single-threaded build (Debian's libopenblas-serial-dev).
# The pthread build starts its thread pool when the library is loaded, before
# _PG_init can pin it to one thread; a backend must stay single-threaded.
# The run path makes the backend load that build, whatever the system default.
OPENBLAS_PC_DIR ?= $(firstword $(wildcard /usr/lib/*/openblas-serial/pkgconfig))
OPENBLAS_PKG_CONFIG = $(if $(OPENBLAS_PC_DIR),PKG_CONFIG_PATH=$(OPENBLAS_PC_DIR) )pkg-config
OPENBLAS_LIBDIR ?= $(shell $(OPENBLAS_PKG_CONFIG) --variable=libdir openblas 2>/dev/null)
OPENBLAS_CFLAGS ?= $(shell $(OPENBLAS_PKG_CONFIG) --cflags openblas 2>/dev/null)
OPENBLAS_LIBS ?= $(shell $(OPENBLAS_PKG_CONFIG) --libs openblas 2>/dev/null || echo -lopenblas) \
	$(if $(OPENBLAS_LIBDIR),-Wl$(comma)-rpath$(comma)$(OPENBLAS_LIBDIR))
comma := ,
PG_CPPFLAGS += -I$(srcdir)/src $(OPENBLAS_CFLAGS)
SHLIB_LINK += $(OPENBLAS_LIBS) -lm

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# TAP tests in test/t (PostgreSQL::Test::Cluster), kept apart from installcheck.
PROVE ?= prove
PROVE_FLAGS ?= -v
PROVE_TESTS ?= test/t/*.pl
PG_PERL_LIB = $(dir $(PGXS))../../src/test/perl
.PHONY: prove_installcheck
prove_installcheck:
	rm -rf $(CURDIR)/tmp_check
	cd $(srcdir) && TESTDIR='$(CURDIR)' PATH="$(bindir):$$PATH" PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' \
		SEGMENT_SRCDIR='$(CURDIR)' $(PROVE) -I $(PG_PERL_LIB) -I test/perl $(PROVE_FLAGS) $(PROVE_TESTS)
