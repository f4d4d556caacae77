# bench/common.sh -- shared by the benchmark scripts: set-up of a throwaway
# cluster with segment installed, and same-run timing of two queries.
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

# Install, build, and start a throwaway cluster (stopped on exit).
bench_setup() {
    install_deps
    build_install
    make_workdir
    start_cluster
}

# psql with errors fatal, unaligned quiet output.
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# Server execution time (ms) of one run of a query.
time_ms() {
    q -c "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) $1" |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Execution Time"])'
}

# Time segment's query against the baseline, 3 runs each, alternating;
# print the medians and both ratios.
compare() {
    local name="$1" ours="$2" theirs="$3" a=() b=() i
    for i in 1 2 3; do
        a+=("$(time_ms "$ours")")
        b+=("$(time_ms "$theirs")")
    done
    /usr/bin/python3 - "$name" "${a[@]}" "${b[@]}" <<'PY'
import sys, statistics
name = sys.argv[1]
a = statistics.median(map(float, sys.argv[2:5]))
b = statistics.median(map(float, sys.argv[5:8]))
print(f"{name}: segment {a:.0f} ms, baseline {b:.0f} ms; "
      f"segment takes {a/b:.2f}x the baseline's time (baseline/segment = {b/a:.2f}x)")
PY
}
