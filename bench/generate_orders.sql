-- bench/generate_orders.sql -- deterministic synthetic orders.
--
-- psql -v customers=1000000 -f bench/generate_orders.sql
-- Creates orders(customer int, ordered_at timestamptz, amount numeric(12,2)).
-- Orders per customer are heavy-tailed (1 + floor(4 (u^-1/2 - 1)), a
-- Pareto tail with index 2, mean about 4.6, capped at 400); spend is
-- lognormal (median 33, sigma 0.8) and each customer has their own level;
-- dates fall over two years, most recent customers more active.  setseed()
-- makes random() repeatable; random() is parallel restricted, so the rows
-- are produced by one process in a fixed order.
\set ON_ERROR_STOP on
SELECT setseed(0.20261122);
DROP TABLE IF EXISTS orders;
CREATE TABLE orders AS
WITH c AS (
    SELECT id AS customer,
           least(400, 1 + floor(4 * (power(random(), -0.5) - 1)))::int AS n,
           random() AS activity,
           exp(3.5 + 0.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS level
    FROM generate_series(1, :customers) id)
SELECT c.customer,
       timestamptz '2023-01-01 00:00+00'
           + (730 * (1 - power(random(), 1 + 2 * c.activity))) * interval '1 day' AS ordered_at,
       round((c.level * exp(0.6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))::numeric, 2)::numeric(12,2) AS amount
FROM c, LATERAL generate_series(1, c.n) k;
ANALYZE orders;
