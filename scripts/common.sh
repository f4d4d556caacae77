# scripts/common.sh -- shared by scripts/demo, scripts/test and .ci/run.
#
# Installs what segment needs from Debian's packages, builds and installs
# the extension, and runs a throwaway PostgreSQL cluster in a temporary
# directory (Unix socket only, no TCP), owned by the postgres user when we
# are root because initdb refuses to run as root.

set -euo pipefail

SEGMENT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_MAJOR="${PG_MAJOR:-15}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/${PG_MAJOR}/bin}"
export PG_CONFIG="${PG_CONFIG:-$PG_BIN/pg_config}"
SEGMENT_DATASETS="${SEGMENT_DATASETS:-$(cd "$SEGMENT_ROOT/.." && pwd)/shared/datasets}"
export SEGMENT_DATASETS
# Warnings are errors; -Wno-sign-compare because PostgreSQL's own array.h
# macros compare signed and unsigned under -Wextra (pgvector does the same).
SEGMENT_CFLAGS="${SEGMENT_CFLAGS:--Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare}"

SEGMENT_PACKAGES=(
    make gcc pkg-config
    "postgresql-${PG_MAJOR}" "postgresql-server-dev-${PG_MAJOR}" "postgresql-contrib"
    libopenblas-dev libopenblas-serial-dev
    "postgresql-${PG_MAJOR}-cron" "postgresql-${PG_MAJOR}-pgtap"
    libipc-run-perl libtest-simple-perl
    python3 python3-sklearn python3-psycopg2 python3-numpy
)

log() { printf '\n==> %s\n' "$*" >&2; }

# Install the Debian packages that are missing (root only).
install_deps() {
    local missing=()
    local p
    for p in "${SEGMENT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages: ${missing[*]} (run as root, or install them)" >&2
        return 1
    fi
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # the cluster is ours to create; do not let the package start one
    mkdir -p /etc/postgresql-common
    [ -f /etc/postgresql-common/createcluster.conf ] || echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Build with warnings as errors and install into the server's directories.
build_install() {
    log "building segment"
    make -C "$SEGMENT_ROOT" -s clean >/dev/null
    make -C "$SEGMENT_ROOT" -s PG_CONFIG="$PG_CONFIG" PG_CFLAGS="$SEGMENT_CFLAGS" >/dev/null
    if [ "$(id -u)" -eq 0 ]; then
        make -C "$SEGMENT_ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
    else
        sudo make -C "$SEGMENT_ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
    fi
}

# Run a command as the cluster owner (postgres when we are root).
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- env PATH="$PG_BIN:$PATH" SEGMENT_DATASETS="$SEGMENT_DATASETS" "$@"
    else
        env PATH="$PG_BIN:$PATH" "$@"
    fi
}

# Make a temporary work directory the cluster owner can use.
make_workdir() {
    SEGMENT_WORK="$(mktemp -d "${TMPDIR:-/tmp}/segment.XXXXXX")"
    chmod 755 "$SEGMENT_WORK"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$SEGMENT_WORK"
    export SEGMENT_WORK
}

# Start a throwaway cluster in $SEGMENT_WORK/data; extra postgres options in $@.
start_cluster() {
    export PGHOST="$SEGMENT_WORK" PGPORT="${PGPORT:-5432}" PGUSER=postgres PGDATABASE=postgres
    log "starting a throwaway PostgreSQL ${PG_MAJOR} in $SEGMENT_WORK"
    as_owner initdb -D "$SEGMENT_WORK/data" -U postgres --auth=trust --no-sync >/dev/null
    cat >> "$SEGMENT_WORK/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$SEGMENT_WORK'
port = $PGPORT
fsync = off
max_worker_processes = 16
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
CONF
    for opt in "$@"; do echo "$opt" >> "$SEGMENT_WORK/data/postgresql.conf"; done
    as_owner pg_ctl -D "$SEGMENT_WORK/data" -l "$SEGMENT_WORK/server.log" -w start >/dev/null
    trap stop_cluster EXIT
}

# Stop the throwaway cluster and remove its directory.
stop_cluster() {
    if [ -n "${SEGMENT_WORK:-}" ] && [ -d "$SEGMENT_WORK/data" ]; then
        as_owner pg_ctl -D "$SEGMENT_WORK/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    [ -z "${SEGMENT_KEEP:-}" ] && [ -n "${SEGMENT_WORK:-}" ] && rm -rf "$SEGMENT_WORK"
    return 0
}
