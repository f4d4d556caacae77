#!/usr/bin/env bash
# bench/kmeans_scale.sh -- k-means at scale (issue 7), same run, same data:
#   1. kmeans_step (one Lloyd pass) with 2 parallel workers vs parallel off;
#   2. kmeans_fit mode "sample" (default sample_size 100,000) vs the full
#      in-memory fit, k = 5: time, and the inertia of both models over ALL
#      rows (kmeans_evaluate, exact);
#   3. kmeans_fit_scan with segment.kmeans_memory_limit set to a quarter of
#      the raw features: completes, peak backend memory (RssAnon sampled
#      every 10 ms, over the idle backend) against that budget; kmeans_fit
#      in memory mode refuses (54000) under the same budget.
#
#   bench/kmeans_scale.sh [rows]      (default 10,000,000 rows x 3 features)
#
# Times are server execution times (EXPLAIN ANALYZE, TIMING OFF); medians of
# 3 alternating runs for (1), single runs for the long fits of (2) and (3).
# SEGMENT_BENCH_NO_BUILD=1 uses the installed build (shared trees).
set -euo pipefail
. "$(dirname "$0")/common.sh"
rows="${1:-10000000}"

if [ -n "${SEGMENT_BENCH_NO_BUILD:-}" ]; then
    make_workdir
    start_cluster "shared_buffers = '256MB'" "max_parallel_workers = 8"
else
    bench_setup
fi

q -c "CREATE EXTENSION segment"
log "generating $rows rows around 5 centers in 3 features"
q -c "CREATE TABLE kms WITH (parallel_workers = 2) AS
      SELECT i, (i % 5) * 4 + sin(i * 12.9898) * 1.6 AS x,
             ((i % 5) * 7) % 5 * 3 + cos(i * 78.233) * 1.4 AS y,
             (i % 3) + sin(i * 3.7) * 1.2 AS z
      FROM generate_series(1, $rows) i"
q -c "VACUUM ANALYZE kms"
q -c "CREATE TABLE kms_model AS
      SELECT segment.kmeans_fit(ARRAY[x, y, z], 5, '{\"mode\": \"sample\", \"sample_size\": 20000}') AS m FROM kms"

step="SELECT segment.kmeans_step(ARRAY[x, y, z], (SELECT m FROM kms_model)) FROM kms"
log "1. kmeans_step over $rows rows: 2 parallel workers vs parallel off"
par=(); ser=()
for i in 1 2 3; do
    par+=("$(PGOPTIONS='-c max_parallel_workers_per_gather=2' time_ms "$step")")
    ser+=("$(PGOPTIONS='-c max_parallel_workers_per_gather=0' time_ms "$step")")
done
PGOPTIONS='-c max_parallel_workers_per_gather=2' q -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $step" |
    grep -E "Workers Launched|Partial Aggregate" | sed 's/^ */    /'
/usr/bin/python3 - "${par[@]}" "${ser[@]}" <<'PY'
import sys, statistics
p = [float(v) for v in sys.argv[1:4]]; s = [float(v) for v in sys.argv[4:7]]
print(f"kmeans_step: 2 workers {statistics.median(p):.0f} ms (runs {', '.join(f'{v:.0f}' for v in p)}), "
      f"parallel off {statistics.median(s):.0f} ms (runs {', '.join(f'{v:.0f}' for v in s)}): "
      f"speed-up {statistics.median(s)/statistics.median(p):.2f}x (goal >= 1.6x)")
PY

log "2. kmeans_fit k = 5: mode sample vs the full in-memory fit"
full_ms=$(time_ms "SELECT segment.kmeans_fit(ARRAY[x, y, z], 5) FROM kms")
sample_ms=()
for i in 1 2 3; do
    sample_ms+=("$(time_ms "SELECT segment.kmeans_fit(ARRAY[x, y, z], 5, '{\"mode\": \"sample\"}') FROM kms")")
done
q -c "CREATE TABLE kms_fits AS
      SELECT (SELECT segment.kmeans_fit(ARRAY[x, y, z], 5) FROM kms) AS full_m,
             (SELECT segment.kmeans_fit(ARRAY[x, y, z], 5, '{\"mode\": \"sample\"}') FROM kms) AS sample_m"
read -r full_inertia sample_inertia sample_size <<<"$(q -F ' ' -c "
      SELECT segment.kmeans_evaluate(ARRAY[x, y, z], (SELECT full_m FROM kms_fits))->>'inertia',
             segment.kmeans_evaluate(ARRAY[x, y, z], (SELECT sample_m FROM kms_fits))->>'inertia',
             (SELECT sample_m::jsonb->>'sample_size' FROM kms_fits)
      FROM kms")"
/usr/bin/python3 - "$full_ms" "$full_inertia" "$sample_inertia" "$sample_size" "${sample_ms[@]}" <<'PY'
import sys, statistics
full_ms, fi, si, size = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
s = [float(v) for v in sys.argv[5:8]]
sm = statistics.median(s)
print(f"full in-memory fit: {full_ms:.0f} ms, inertia over all rows {fi:.6g}")
print(f"mode sample ({size} rows): {sm:.0f} ms (runs {', '.join(f'{v:.0f}' for v in s)}), "
      f"inertia over all rows {si:.6g}: {100*(si/fi-1):+.3f}% (goal within 1%), "
      f"time {sm/full_ms:.3f} of the full fit (goal < 0.333)")
PY

log "3. kmeans_fit_scan with a memory budget of a quarter of the raw features"
budget_kb=$(( rows * 3 * 8 / 4 / 1024 ))
q -c "SELECT 'raw features: ' || pg_size_pretty($rows::bigint * 24) || ', budget: ' || pg_size_pretty($budget_kb::bigint * 1024)"
err=$(PGOPTIONS="-c segment.kmeans_memory_limit=${budget_kb}kB" psql -X -q -At -c \
    "SELECT segment.kmeans_fit(ARRAY[x, y, z], 5) FROM kms" 2>&1 || true)
echo "kmeans_fit (mode memory) under that budget: ${err%%$'\n'*}"
rm -f "$SEGMENT_WORK/scan.out" "$SEGMENT_WORK/scan.pid"
# one session: report its pid, wait for the sampler, then run the scan fit
mkfifo "$SEGMENT_WORK/go"
( PGOPTIONS="-c segment.kmeans_memory_limit=${budget_kb}kB -c max_parallel_workers_per_gather=0" \
  psql -X -q -At -v ON_ERROR_STOP=1 -o "$SEGMENT_WORK/scan.out" <<SQL
\o $SEGMENT_WORK/scan.pid
SELECT pg_backend_pid();
\o $SEGMENT_WORK/scan.out
\! cat $SEGMENT_WORK/go >/dev/null
\timing on
SELECT (m::jsonb - '{centroids,center,scale,transform,feature_names}'::text[])::text
FROM (SELECT segment.kmeans_fit_scan('kms', '{x,y,z}', 5) AS m) s;
SQL
) &
psql_job=$!
while [ ! -s "$SEGMENT_WORK/scan.pid" ]; do sleep 0.05; done
pid=$(tr -dc 0-9 < "$SEGMENT_WORK/scan.pid")
base=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status")
echo go > "$SEGMENT_WORK/go"
peak=$base
while kill -0 "$psql_job" 2>/dev/null; do
    cur=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${cur:-0}" -gt "$peak" ] && peak=$cur
    sleep 0.01
done
wait "$psql_job"
cat "$SEGMENT_WORK/scan.out"
echo "kmeans_fit_scan peak backend memory: RssAnon $(( base / 1024 )) MiB idle -> $(( peak / 1024 )) MiB peak" \
     "(+$(( (peak - base) / 1024 )) MiB), budget $(( budget_kb / 1024 )) MiB"
