#!/usr/bin/env bash
# Candidate-pool query benchmark: seed 1,000,000 candidates on PostgreSQL and on SQLite,
# then GET /api/v1/candidates with five typical filters under wrk (first page + exact
# total), with the query plans of the SQL the app runs. See bench/README.md, section
# "Pool query benchmark". Usage:  bash bench/pool.sh
#
# Knobs (environment): CANDIDATES=1000000  DURATION=10  WARMUP=2  CONNS=4  THREADS=2
#   DBS="postgres sqlite"  FILTERS="a b c d e"  RUNS=3 (timed direct executions per query)
#   SKIP_BUILD=1  KEEP=1 (keep the temp dir)  KEEP_DB=1 (also keep the PostgreSQL database
#   and the SQLite file)  WAIT_IDLE=SECONDS (wait for other processes to go quiet before
#   each phase, at most that long in all)  DROP_CACHES=1 (root: drop the OS page cache
#   before the cold requests)  RETENTION_DAYS=36500
#   PROPOSALS=0 (skip trying the proposed indexes and rewrites)
#   PG_SOCKET_DIR=/var/run/postgresql (the app reaches PostgreSQL over a Unix socket)
#   PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres (trust auth)
set -Eeuo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CANDIDATES=${CANDIDATES:-1000000}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-4}
THREADS=${THREADS:-2}
DBS=${DBS:-"postgres sqlite"}
FILTER_KEYS=${FILTERS:-"a b c d e"}
RUNS=${RUNS:-3}
# The hourly retention job runs once at start-up and deletes unconfirmed candidates
# older than UNCONFIRMED_RETENTION_DAYS (default 7): ~10 % of the seeded pool (the seed
# spreads sign-ups over a year). A long period keeps the pool at CANDIDATES rows and the
# purge out of the measurements.
RETENTION_DAYS=${RETENTION_DAYS:-36500}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
TARGET_SEED_S=120
TARGET_P95_MS_postgres=50
TARGET_P95_MS_sqlite=150

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- state for cleanup ------------------------------------------------------------------
APP_PID=""
SEED_PID=""
PG_DB=""
WORK=""
cleanup() {
  local rc=$?
  set +e
  stop_app
  if [[ -n $SEED_PID ]] && kill -0 "$SEED_PID" 2>/dev/null; then
    kill -TERM "$SEED_PID" 2>/dev/null; wait "$SEED_PID" 2>/dev/null
  fi
  drop_pg_db
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ ${KEEP:-0} == 1 || ${KEEP_DB:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_app() {
  [[ -n $APP_PID ]] || return 0
  if kill -0 "$APP_PID" 2>/dev/null; then
    kill -TERM "$APP_PID" 2>/dev/null
    for _ in $(seq 1 300); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$APP_PID" 2>/dev/null; then
      log "app $APP_PID did not stop within 30 s of SIGTERM; SIGKILL"
      kill -KILL "$APP_PID" 2>/dev/null
    fi
  fi
  wait "$APP_PID" 2>/dev/null
  APP_PID=""
}

drop_pg_db() {
  [[ -n $PG_DB ]] || return 0
  if [[ ${KEEP_DB:-0} == 1 ]]; then log "kept database $PG_DB (KEEP_DB=1): drop it yourself"; PG_DB=""; return 0; fi
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 \
    && log "dropped database $PG_DB"
  PG_DB=""
}

# --- tools -------------------------------------------------------------------------------
APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "need $* but apt-get is not available"
  if [[ $APT_UPDATED == 0 ]]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
command -v wrk >/dev/null || { log "installing wrk (apt)"; apt_install wrk; }
command -v python3 >/dev/null || { log "installing python3 (apt)"; apt_install python3; }
command -v strings >/dev/null || { log "installing binutils (apt)"; apt_install binutils; }
python3 -c 'import sqlite3' 2>/dev/null || die "python3 lacks the sqlite3 module"
if [[ $DBS == *postgres* ]]; then
  command -v psql >/dev/null || { log "installing postgresql-client (apt)"; apt_install postgresql-client; }
  psql -X -Atq -d postgres -c 'select 1' >/dev/null \
    || die "cannot reach PostgreSQL at $PGHOST:$PGPORT as $PGUSER"
fi

# --- build -------------------------------------------------------------------------------
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/talentpool
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "cargo build --release -p talentpool (may take minutes the first time)"
  (cd "$ROOT" && cargo build --release -p talentpool --quiet)
fi
[[ -x $BIN ]] || die "$BIN not found; build it with cargo build --release -p talentpool"

# --- scratch space and run id ------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/talentpool-pool.XXXXXX")
RUN_ID=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
CLK_TCK=$(getconf CLK_TCK)
ERRORS=0
# A private copy, so that a rebuild during the run cannot swap the binary under us.
cp "$BIN" "$WORK/talentpool"
BIN=$WORK/talentpool
: >"$WORK/seed.tsv"; : >"$WORK/http.tsv"; : >"$WORK/plans.tsv"; : >"$WORK/notes.txt"

# SQLite plans and timings with the app's own SQLite version (bundled in the binary, with
# STAT4): apsw of the same version from PyPI in a venv in the temp dir. Debian's python
# sqlite3 is older and its planner can choose differently.
PY_SQLITE=python3
if [[ $DBS == *sqlite* ]]; then
  APP_SQLITE=$(strings -n 5 "$BIN" | grep -xE '3\.[0-9]{2}\.[0-9]+' | sort -u | head -n1 || true)
  if [[ -n $APP_SQLITE ]] && python3 -m venv "$WORK/venv" >/dev/null 2>&1 \
    && "$WORK/venv/bin/pip" install -q --disable-pip-version-check "apsw==$APP_SQLITE.0" >/dev/null 2>&1; then
    PY_SQLITE=$WORK/venv/bin/python
  else
    log "could not install apsw==${APP_SQLITE:-?}.0: SQLite plans use python's sqlite3 $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)') (the app has ${APP_SQLITE:-?})"
  fi
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; } # kv KEY LINE

# --- CPU accounting (ticks) ---------------------------------------------------------------
# "busy total irq pg": machine busy/total ticks (/proc/stat), interrupt ticks, and every
# PostgreSQL process's CPU including ended backends (the postmaster's children time).
cpu_snap() {
  local m pg
  m=$(awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t-$5-$6, t, $7+$8}' /proc/stat)
  pg=$(for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null; done |
    awk '{ pid=$1; comm=$2; sub(/^.*\) /,""); if (comm == "(postgres)") { own[pid]=$12+$13; kids[pid]=$14+$15; pp[pid]=$2 } }
      END { t=0; for (p in own) { t+=own[p]; if (!(pp[p] in own)) t+=kids[p] }; print t+0 }')
  echo "$m $pg"
}
proc_ticks() { awk '{sub(/^.*\) /,""); print $12+$13}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pct() { awk -v t="$1" -v s="$2" -v hz="$CLK_TCK" 'BEGIN{ if (s<=0) print "-"; else printf "%.0f", 100*t/hz/s }'; }
# CPU % of one core used by everything but PROC_TICKS (ours) and PostgreSQL over 2 s.
others_busy() {
  local b0 t0 q0 g0 b1 t1 q1 g1 a0=0 a1=0
  [[ -n $APP_PID ]] && a0=$(proc_ticks "$APP_PID")
  read -r b0 t0 q0 g0 < <(cpu_snap); sleep 2; read -r b1 t1 q1 g1 < <(cpu_snap)
  [[ -n $APP_PID ]] && a1=$(proc_ticks "$APP_PID")
  awk -v b=$((b1 - b0 - (a1 - a0) - (g1 - g0) - (q1 - q0))) -v t=$((t1 - t0)) -v n="$(nproc)" \
    'BEGIN{ printf "%.0f", (t>0 && b>0) ? 100*n*b/t : 0 }'
}
IDLE_BUDGET=${WAIT_IDLE:-0}
wait_idle() { # with WAIT_IDLE=N, wait (N s in all over the run) until others use < 15 % of a core
  ((IDLE_BUDGET > 0)) || return 0
  local busy
  busy=$(others_busy)
  while ((busy > 15 && IDLE_BUDGET > 0)); do
    log "other processes use $busy % of a core; waiting for quiet (${IDLE_BUDGET}s of WAIT_IDLE left)"
    sleep 3; IDLE_BUDGET=$((IDLE_BUDGET - 5)); busy=$(others_busy)
  done
}

# --- the app -----------------------------------------------------------------------------
app_env() { # app_env: the environment every talentpool command of this database gets
  APP_ENVV=(env -u SMTP_URL -u APP_ENV -u DATABASE_URL DATA_DIR="$DATA_DIR" PORT="$PORT"
    BASE_URL="$APP_URL" SECRET_KEY="$SECRET" SIGNUP_RATE_PER_MINUTE=0 RUST_LOG=warn
    UNCONFIRMED_RETENTION_DAYS="$RETENTION_DAYS" ${DB_URL:+DATABASE_URL="$DB_URL"})
}

start_app() { # start_app NAME
  local name=$1
  APP_LOG=$WORK/app-$name.log
  log "$name: starting app on port $PORT"
  "${APP_ENVV[@]}" "$BIN" serve >"$APP_LOG" 2>&1 &
  APP_PID=$!
  for _ in $(seq 1 600); do
    kill -0 "$APP_PID" 2>/dev/null || { tail -n 30 "$APP_LOG" >&2; die "$name: app exited during start-up"; }
    if python3 -c 'import sys,urllib.request; sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200 else 1)' \
      "$APP_URL/healthz" 2>/dev/null; then break; fi
    sleep 0.1
  done
  python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$APP_URL/healthz" \
    || die "$name: /healthz did not answer within 60 s"
  log "$name: app is up (pid $APP_PID)"
}

filter_qs() { python3 "$BENCH_DIR/pool_sql.py" filters | awk -F'\t' -v k="$1" '$1==k{print $2}'; }

# One wrk run; prints the BENCH line plus CPU figures (% of one core) as key=value pairs.
run_wrk() { # run_wrk PATH SECONDS LOGFILE
  local path=$1 secs=$2 out=$3 threads=$THREADS
  ((threads > CONNS)) && threads=$CONNS
  local b0 t0 q0 g0 b1 t1 q1 g1 a0 a1 wrk_ticks r0 r1
  read -r b0 t0 q0 g0 < <(cpu_snap); a0=$(proc_ticks "$APP_PID"); r0=$(date +%s.%N)
  # A subshell, so that its cutime after `wait` is exactly wrk's CPU time.
  wrk_ticks=$(
    wrk -t"$threads" -c"$CONNS" -d"${secs}s" --timeout 30s -s "$BENCH_DIR/pool.lua" \
      "$APP_URL" -- "$path" "$TOKEN" >"$out" 2>&1 || echo "wrk exited with $?" >>"$out"
    awk '{sub(/^.*\) /,""); print $14+$15}' "/proc/$BASHPID/stat"
  )
  read -r b1 t1 q1 g1 < <(cpu_snap); a1=$(proc_ticks "$APP_PID"); r1=$(date +%s.%N)
  local line secs_real other
  line=$(grep '^BENCH ' "$out" || true)
  [[ -n $line ]] || { cat "$out" >&2; die "wrk produced no summary (see above)"; }
  secs_real=$(awk -v a="$r0" -v b="$r1" 'BEGIN{ print b - a }')
  other=$(((b1 - b0) - (a1 - a0) - (g1 - g0) - wrk_ticks - (q1 - q0)))
  ((other >= 0)) || other=0
  echo "${line#BENCH } cpu_app=$(pct $((a1 - a0)) "$secs_real") cpu_pg=$(pct $((g1 - g0)) "$secs_real") cpu_wrk=$(pct "$wrk_ticks" "$secs_real") cpu_other=$(pct "$other" "$secs_real")"
}

pg_table_stats() { # autovacuum/analyze state of the big tables
  psql -X -Atq -F ' ' -d "$PG_DB" -c "SELECT s.relname || ': live=' || n_live_tup || ' mod_since_analyze=' || n_mod_since_analyze
      || ' autoanalyze=' || autoanalyze_count || ' autovacuum=' || autovacuum_count
      || ' allvisible=' || COALESCE(round(100.0 * c.relallvisible / NULLIF(c.relpages, 0)), 0) || '%'
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.relname IN ('candidates', 'signups') ORDER BY s.relname" | paste -sd ';' -
}

# Waits (up to 180 s) until no autovacuum worker is busy in the benchmark database, so that
# the insert-triggered vacuum of the freshly seeded tables does not run during the load.
settle_pg() {
  local n
  for _ in $(seq 1 180); do
    n=$(psql -X -Atq -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$PG_DB' AND backend_type = 'autovacuum worker'")
    ((n == 0)) && return 0
    sleep 1
  done
  log "postgres: autovacuum still running after 180 s; measuring anyway"
}

# --- one database ------------------------------------------------------------------------
bench_db() { # bench_db sqlite|postgres
  local db=$1
  DB_URL=""
  DATA_DIR=$WORK/$db
  mkdir -p "$DATA_DIR"
  if [[ $db == postgres ]]; then
    PG_DB=talentpool_pool_$RUN_ID
    psql -X -q -d postgres -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    log "postgres: created database $PG_DB"
    DB_URL=postgres://$PGUSER@$PGHOST:$PGPORT/$PG_DB
    # sqlx 0.9.0 does not set TCP_NODELAY: large statements (the seed's 1000-row INSERTs)
    # wait for delayed ACKs. A Unix socket has no Nagle: PG_SOCKET_DIR=/var/run/postgresql.
    [[ -z ${PG_SOCKET_DIR:-} ]] || DB_URL="postgres://$PGUSER@localhost/$PG_DB?host=$PG_SOCKET_DIR&port=$PGPORT"
  fi
  PORT=$(free_port)
  APP_URL=http://127.0.0.1:$PORT
  SECRET=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n') # 40 hex characters
  app_env

  # 1. Seed.
  wait_idle
  log "$db: seeding $CANDIDATES candidates"
  local b0 t0 q0 g0 b1 t1 q1 g1 w0 w1 c0 c1 seed_ticks rc=0
  read -r b0 t0 q0 g0 < <(cpu_snap); w0=$(date +%s.%N)
  # The seed's CPU time: this shell's children time grows by exactly it across `wait`.
  c0=$(awk '{sub(/^.*\) /,""); print $14+$15}' /proc/$$/stat)
  "${APP_ENVV[@]}" "$BIN" seed --candidates "$CANDIDATES" >"$WORK/seed-$db.log" 2>&1 &
  SEED_PID=$!
  wait "$SEED_PID" || rc=$?
  SEED_PID=""
  c1=$(awk '{sub(/^.*\) /,""); print $14+$15}' /proc/$$/stat)
  read -r b1 t1 q1 g1 < <(cpu_snap); w1=$(date +%s.%N)
  seed_ticks=$((c1 - c0))
  ((rc == 0)) || echo "seed exited with $rc" >>"$WORK/seed-$db.log"
  local seeded wall
  seeded=$(grep -E '^seeded [0-9]+ candidates in' "$WORK/seed-$db.log" || true)
  [[ -n $seeded ]] || { tail -n 20 "$WORK/seed-$db.log" >&2; die "$db: seed failed"; }
  wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN{ printf "%.1f", b - a }')
  local other=$(((b1 - b0) - seed_ticks - (g1 - g0) - (q1 - q0)))
  ((other >= 0)) || other=0
  # db n secs rate wall cpu_seed cpu_pg cpu_other
  echo "$db $(awk '{print $2, $5, $7}' <<<"$seeded" | tr -d '(') $wall $(pct "$seed_ticks" "$wall") $(pct $((g1 - g0)) "$wall") $(pct "$other" "$wall")" >>"$WORK/seed.tsv"
  log "$db: $seeded (wall ${wall}s incl. migrations)"

  # 2. Plans as seeded (the app does not analyze), ANALYZE, plans again later.
  if [[ $db == postgres ]]; then
    echo "postgres before ANALYZE: $(pg_table_stats)" >>"$WORK/notes.txt"
    log "postgres: plans before ANALYZE"
    python3 "$BENCH_DIR/pool_sql.py" plans postgres "$PG_DB" "$WORK/plans/postgres-before-analyze" before 0 \
      | sed 's/^/postgres\t/' >>"$WORK/plans.tsv"
    local t_an
    t_an=$(psql -X -q -d "$PG_DB" -c '\timing on' -c 'ANALYZE' | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
    echo "postgres ANALYZE took $(awk -v t="$t_an" 'BEGIN{printf "%.1f", t/1000}') s; after it: $(pg_table_stats)" >>"$WORK/notes.txt"
    log "postgres: waiting for autovacuum to finish"
    settle_pg
    echo "postgres before the load: $(pg_table_stats)" >>"$WORK/notes.txt"
    echo "postgres size: database $(psql -X -Atq -d "$PG_DB" -c "SELECT pg_size_pretty(pg_database_size(current_database()))"), candidates $(psql -X -Atq -d "$PG_DB" -c "SELECT pg_size_pretty(pg_table_size('candidates')) || ' + indexes ' || pg_size_pretty(pg_indexes_size('candidates'))")" >>"$WORK/notes.txt"
  else
    echo "sqlite as seeded: $("$PY_SQLITE" "$BENCH_DIR/pool_sql.py" sqlite-info "$DATA_DIR/talentpool.db")" >>"$WORK/notes.txt"
    log "sqlite: plans before ANALYZE"
    "$PY_SQLITE" "$BENCH_DIR/pool_sql.py" plans sqlite "$DATA_DIR/talentpool.db" "$WORK/plans/sqlite-before-analyze" before 2 \
      | sed 's/^/sqlite\t/' >>"$WORK/plans.tsv"
    # What the app does by itself: on every start apalis' SQLite setup runs PRAGMA optimize,
    # which (with an automatic analysis_limit) analyzes tables that have no statistics.
    start_app "$db-first-start"
    stop_app
    echo "sqlite after a first app start (before our ANALYZE): $("$PY_SQLITE" "$BENCH_DIR/pool_sql.py" sqlite-info "$DATA_DIR/talentpool.db")" >>"$WORK/notes.txt"
    log "sqlite: plans after the app's first start"
    "$PY_SQLITE" "$BENCH_DIR/pool_sql.py" plans sqlite "$DATA_DIR/talentpool.db" "$WORK/plans/sqlite-after-app-start" appstart 2 \
      | sed 's/^/sqlite\t/' >>"$WORK/plans.tsv"
    local t_an
    t_an=$("$PY_SQLITE" "$BENCH_DIR/pool_sql.py" sqlite-analyze "$DATA_DIR/talentpool.db")
    echo "sqlite ANALYZE took $t_an s; now: $("$PY_SQLITE" "$BENCH_DIR/pool_sql.py" sqlite-info "$DATA_DIR/talentpool.db")" >>"$WORK/notes.txt"
    echo "sqlite size: $(du -sh "$DATA_DIR" | cut -f1) ($DATA_DIR)" >>"$WORK/notes.txt"
  fi

  # 3. Token, app, cold requests, load.
  TOKEN=$("${APP_ENVV[@]}" "$BIN" create-api-token --name bench 2>>"$WORK/token-$db.log" | tail -n 1)
  [[ $TOKEN == tp_* ]] || die "$db: create-api-token printed no token (got '$TOKEN')"
  start_app "$db"
  if [[ ${DROP_CACHES:-0} == 1 ]]; then
    sync; echo 1 >/proc/sys/vm/drop_caches && log "$db: dropped the OS page cache"
  fi
  python3 "$BENCH_DIR/pool_sql.py" cold "$APP_URL" "$TOKEN" >"$WORK/cold-$db.tsv"
  local key qs line path
  for key in $FILTER_KEYS; do
    qs=$(filter_qs "$key")
    path="/api/v1/candidates?$qs&limit=50"
    wait_idle
    if ((WARMUP > 0)); then run_wrk "$path" "$WARMUP" "$WORK/wrk-$db-$key-warm.log" >/dev/null; fi
    log "$db: filter $key ($qs): ${DURATION}s, $CONNS connections"
    line=$(run_wrk "$path" "$DURATION" "$WORK/wrk-$db-$key.log")
    local sock=$(($(kv connect_err "$line") + $(kv read_err "$line") + $(kv write_err "$line") + $(kv timeouts "$line")))
    printf '    %-8s %s  %7s req/s  p50 %7s  p95 %7s  p99 %7s ms  non-200 %s  socket errors %s  CPU%% app %s pg %s wrk %s other %s\n' \
      "$db" "$key" "$(kv rps "$line")" "$(kv p50_ms "$line")" "$(kv p95_ms "$line")" "$(kv p99_ms "$line")" \
      "$(kv non200 "$line")" "$sock" "$(kv cpu_app "$line")" "$(kv cpu_pg "$line")" "$(kv cpu_wrk "$line")" "$(kv cpu_other "$line")" >&2
    if [[ $(kv non200 "$line") != 0 || $sock != 0 ]]; then ERRORS=$((ERRORS + 1)); fi
    echo "$db $key $line" >>"$WORK/http.tsv"
  done

  # 4. PostgreSQL: sample the statements the app really sends, to check the
  #    reconstruction used for the plans.
  if [[ $db == postgres ]]; then
    log "postgres: sampling the app's SQL from pg_stat_activity"
    : >"$WORK/captured-sql.txt"
    for key in $FILTER_KEYS; do
      path="/api/v1/candidates?$(filter_qs "$key")&limit=50"
      wrk -t1 -c2 -d3s -s "$BENCH_DIR/pool.lua" "$APP_URL" -- "$path" "$TOKEN" >/dev/null 2>&1 &
      local wpid=$!
      printf '%s\n' "SELECT query FROM pg_stat_activity WHERE datname = '$PG_DB' AND query LIKE 'SELECT %candidates%'" '\watch 0.01' \
        | timeout 2.5 psql -X -Atq -d postgres >>"$WORK/captured-sql.txt" 2>/dev/null || true
      wait "$wpid" || true
    done
    sort -u -o "$WORK/captured-sql.txt" "$WORK/captured-sql.txt"
    { echo "postgres: SQL the app sent (sampled) vs the reconstruction used for the plans:"
      python3 "$BENCH_DIR/pool_sql.py" check-sql "$WORK/captured-sql.txt"; } >>"$WORK/notes.txt"
    echo "postgres after the load: $(pg_table_stats)" >>"$WORK/notes.txt"
  fi
  stop_app
  local errs
  errs=$(grep -c 'ERROR' "$APP_LOG" || true)
  ((errs == 0)) || { log "$db: app logged $errs ERROR lines:"; grep 'ERROR' "$APP_LOG" | head -n 5 >&2; ERRORS=$((ERRORS + 1)); }
  [[ $db == sqlite ]] && echo "sqlite after the app ran: $("$PY_SQLITE" "$BENCH_DIR/pool_sql.py" sqlite-info "$DATA_DIR/talentpool.db")" >>"$WORK/notes.txt"

  # 5. Plans after ANALYZE (and after the load, so caches are as warm as the app had them).
  log "$db: plans after ANALYZE"
  if [[ $db == postgres ]]; then
    python3 "$BENCH_DIR/pool_sql.py" plans postgres "$PG_DB" "$WORK/plans/postgres" after "$RUNS" \
      | sed 's/^/postgres\t/' >>"$WORK/plans.tsv"
  else
    "$PY_SQLITE" "$BENCH_DIR/pool_sql.py" plans sqlite "$DATA_DIR/talentpool.db" "$WORK/plans/sqlite" after "$((RUNS + 1))" \
      | sed 's/^/sqlite\t/' >>"$WORK/plans.tsv"
  fi

  # 6. Proposed indexes and query rewrites, applied to this copy only (it is thrown away):
  #    the same SQL (and rewritten SQL) timed again.
  if [[ ${PROPOSALS:-1} == 1 ]]; then
    log "$db: proposed indexes and rewrites"
    local py=python3 target=$PG_DB
    [[ $db == sqlite ]] && { py=$PY_SQLITE; target=$DATA_DIR/talentpool.db; }
    "$py" "$BENCH_DIR/pool_sql.py" proposals "$db" "$target" "$WORK/plans/$db-proposals" "$RUNS" | sed "s/^/$db\t/" \
      | awk -F'\t' -v ddl="$WORK/ddl.tsv" -v plans="$WORK/plans.tsv" '$2 == "ddl" { print >> ddl; next } { print >> plans }'
  fi
  if [[ $db == postgres ]]; then
    drop_pg_db
  else
    [[ ${KEEP_DB:-0} == 1 ]] || rm -f "$DATA_DIR"/talentpool.db*
  fi
}

# --- run -----------------------------------------------------------------------------------
BUSY_BEFORE=$(others_busy)
LOAD_BEFORE="other processes ${BUSY_BEFORE}% of a core, load average $(cut -d' ' -f1-3 /proc/loadavg)"
log "run $RUN_ID: $CANDIDATES candidates; filters [$FILTER_KEYS], ${DURATION}s each after ${WARMUP}s warm-up, $CONNS connections; temp dir $WORK"
T_START=$SECONDS
for db in $DBS; do
  case $db in sqlite | postgres) bench_db "$db" ;; *) die "unknown database $db" ;; esac
done

# --- report --------------------------------------------------------------------------------
python3 "$BENCH_DIR/pool_report.py" "$WORK" "$CANDIDATES" "$TARGET_SEED_S" "$TARGET_P95_MS_postgres" "$TARGET_P95_MS_sqlite" \
  "$(nproc) CPU ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)); before the run: $LOAD_BEFORE" \
  "$( [[ $DBS == *postgres* ]] && psql -X -Atq -d postgres -c "select split_part(version(), ' on ', 1) || ', autovacuum=' || current_setting('autovacuum') || ', shared_buffers=' || current_setting('shared_buffers') || ', work_mem=' || current_setting('work_mem') || ', max_parallel_workers_per_gather=' || current_setting('max_parallel_workers_per_gather')")" \
  "$( [[ $DBS == *sqlite* ]] && echo "app SQLite ${APP_SQLITE:-?} (bundled); plans with $("$PY_SQLITE" -c 'import apsw; print("apsw", apsw.sqlite_lib_version())' 2>/dev/null || python3 -c 'import sqlite3; print("python sqlite3", sqlite3.sqlite_version)')")" \
  "wrk -t$THREADS -c$CONNS, ${DURATION}s per filter after ${WARMUP}s warm-up; app to PostgreSQL over ${PG_SOCKET_DIR:+a Unix socket in }${PG_SOCKET_DIR:-TCP $PGHOST:$PGPORT}; app $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') release build; run $RUN_ID; $((SECONDS - T_START)) s" \
  "$ERRORS" | tee "$WORK/report.txt"
[[ ${KEEP:-0} == 1 ]] && log "plans, logs and report in $WORK (KEEP=1)"
((ERRORS == 0))
