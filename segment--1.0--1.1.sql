/* segment--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION segment UPDATE TO '1.1'" to load this file. \quit

-- Version 1.1.  Fresh installs run segment--1.0.sql and then this script
-- (there is deliberately no segment--1.1.sql), so install and upgrade cannot
-- drift.  segment--1.0.sql is released and never edited; every C symbol it
-- names stays exported with the same behaviour.
--
-- The segment_model stored form moves to version 3 (fit mode and sample
-- size); models written by 1.0 (version 2) are still read.

-------------------------------------------------------------------------------
-- Scale-out (issue 7): text-form partial states, partial/merge aggregates,
-- kmeans_step and the sample/scan fit modes : section owned by the scale-out work
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- k-prototypes (issue 8): mixed numeric and categorical features : section
-- owned by the k-prototypes work
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- Segment quality and k-means (issues 3, 4) : section owned by the maintainer
-------------------------------------------------------------------------------
