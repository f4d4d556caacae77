/* segment--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION segment UPDATE TO '1.2'" to load this file. \quit

-- Version 1.2.  Fresh installs run segment--1.0.sql, segment--1.0--1.1.sql
-- and then this script, so install and upgrade cannot drift.  The 1.0 and
-- 1.1 scripts are released and never edited; every C symbol they name stays
-- exported with the same behaviour, and new behaviour gets a new symbol.
