#!/usr/bin/env bash
# Sign-up throughput benchmark: POST /api/v1/signups under wrk, on SQLite and on
# PostgreSQL, next to each database's raw single-row insert rate (the ceiling).
# See bench/README.md. Usage:  bash bench/signups.sh
#
# Knobs (environment): CONNS="8 32 64"  DURATION=20  WARMUP=5  RAW_SECONDS=10
#   THREADS=2  DBS="sqlite postgres"  SKIP_BUILD=1  KEEP=1 (keep the temp dir)
#   WORKERS=1 (0: `serve --no-workers`, the web app without the email workers)
#   WAIT_IDLE=SECONDS (before each measurement, wait for other processes to go quiet;
#   at most that long in all)
#   PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres (trust auth)
set -Eeuo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CONNS=${CONNS:-"8 32 64"}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
RAW_SECONDS=${RAW_SECONDS:-10}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-1}
DBS=${DBS:-"sqlite postgres"}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
# Targets the figures are compared against.
TARGET_PG_RPS=1000
TARGET_PG_P99_MS=50
TARGET_CEILING_PCT=50

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- state for cleanup ------------------------------------------------------------------
APP_PID=""
PG_DB=""
WORK=""
cleanup() {
  local rc=$?
  set +e
  stop_app
  if [[ -n $PG_DB ]]; then
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 \
      && log "dropped database $PG_DB"
    PG_DB=""
  fi
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ ${KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "failed (status $?) at line $LINENO: $BASH_COMMAND"' ERR
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

# --- tools -------------------------------------------------------------------------------
APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "need $* but apt-get is not available"
  if [[ $APT_UPDATED == 0 ]]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
command -v wrk >/dev/null || { log "installing wrk (apt)"; apt_install wrk; }
command -v python3 >/dev/null || { log "installing python3 (apt)"; apt_install python3; }
python3 -c 'import sqlite3' 2>/dev/null || die "python3 lacks the sqlite3 module"
if [[ $DBS == *postgres* ]]; then
  command -v psql >/dev/null || { log "installing postgresql-client (apt)"; apt_install postgresql-client; }
  command -v pgbench >/dev/null || { log "installing pgbench (apt)"; apt_install postgresql-client postgresql-contrib || true; }
  command -v pgbench >/dev/null || die "pgbench not found (it ships with the PostgreSQL packages)"
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
WORK=$(mktemp -d "${TMPDIR:-/tmp}/talentpool-bench.XXXXXX")
RUN_ID=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
RESULTS=$WORK/results.tsv
: >"$RESULTS"
ERRORS=0
CLK_TCK=$(getconf CLK_TCK)
# A private copy, so that a rebuild during the run cannot swap the binary under us.
cp "$BIN" "$WORK/talentpool"
BIN=$WORK/talentpool

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# --- CPU accounting (ticks) ---------------------------------------------------------------
# Whole machine: busy and total ticks from /proc/stat.
machine_ticks() { awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t-$5-$6, t, $7+$8}' /proc/stat; }
# One process incl. all its threads: utime+stime.
proc_ticks() {
  awk '{sub(/^.*\) /,""); print $12+$13}' "/proc/$1/stat" 2>/dev/null || echo 0
}
# PostgreSQL processes working for this benchmark: the backends (and autovacuum workers)
# of its database plus the shared ones (postmaster, WAL writer, checkpointer, ...), not
# other databases' backends. 0 when no benchmark database exists (SQLite).
ours_pg() { # ours_pg PID: is this postgres process working for our database?
  local title
  [[ -n $PG_DB ]] || return 1
  title=$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null) || return 1
  [[ $title == *"$PG_DB"* ]] || [[ $title != *"("* && $title != *"autovacuum worker"* ]]
}
# CPU ticks our PostgreSQL used between two all_ticks snapshots: live processes' growth,
# plus what ended processes used inside the interval (the postmaster's children time grows
# by their whole life; their part before the interval is subtracted). Backends end when
# the app's pool drops a connection (a request cancelled as wrk stops) and with pgbench.
# Ended backends of other databases would be counted too (hence WAIT_IDLE).
pg_delta() { # pg_delta BEFORE AFTER
  [[ -n $PG_DB ]] || { echo 0; return; }
  awk 'NR==FNR { if ($2 == "(postgres)" || $2 == "(pg-ended-backends)") before[$1]=$3; next }
    $2 == "(postgres)" || $2 == "(pg-ended-backends)" { total += $3 - (($1 in before) ? before[$1] : 0); seen[$1]=1 }
    END { for (p in before) if (!(p in seen)) total -= before[p]; print (total > 0) ? total : 0 }' "$1" "$2"
}
# Per-process CPU ticks of everything, "pid comm ticks", to name what else was busy.
all_ticks() {
  local f pid ours=" "
  for pid in $(pgrep -x postgres 2>/dev/null || true); do if ours_pg "$pid"; then ours+="$pid "; fi; done
  for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null || true; done |
    awk -v ours="$ours" '{ pid=$1; comm=$2; sub(/^.*\) /,""); ppid[pid]=$2; cname[pid]=comm
        kids[pid]=$14+$15
        if (comm == "(postgres)") comm = index(ours, " " pid " ") ? "(postgres)" : "(pg-other-dbs)"
        print pid, comm, $12+$13 }
      END { # the postmaster: ended backends and autovacuum workers (any database) land here
        for (p in cname) if (cname[p] == "(postgres)" && cname[ppid[p]] != "(postgres)")
          print "pm" p, "(pg-ended-backends)", kids[p] }'
}
# Top other processes between two all_ticks files, as "comm:pct,..." (% of one core).
# Whatever of OTHER_TICKS no listed process accounts for was used by processes that
# ended during the interval (compilers, test binaries, ...): "exited".
top_other() { # top_other BEFORE AFTER SECONDS OTHER_TICKS
  awk -v hz="$CLK_TCK" -v s="$3" -v other="${4:-0}" -v ours="${PG_DB:+1}" '
    NR==FNR { before[$1]=$3; next }
    { d = $3 - (($1 in before) ? before[$1] : 0); c = $2; gsub(/[()]/, "", c); sub(/-[0-9a-f]+$/, "", c)
      if (c == "pg-ended-backends") next # whole lives of ended backends: not a rate
      if (c != "talentpool" && c != "wrk" && c != "postgres" && d > 0) use[c] += d }
    END { for (c in use) { printf "%s %.0f\n", c, 100*use[c]/hz/s; other -= use[c] }
          if (other > 0) printf "exited %.0f\n", 100*other/hz/s }' "$1" "$2" |
    sort -k2 -nr | head -n 3 | awk '$2 >= 5 { printf "%s%s:%s%%", (n++ ? "," : ""), $1, $2 } END { if (!n) printf "-" }'
}
# Percent of one core over an interval: pct TICKS SECONDS
pct() { awk -v t="$1" -v s="$2" -v hz="$CLK_TCK" 'BEGIN{ if (s<=0) print "-"; else printf "%.0f", 100*t/hz/s }'; }

# --- app ---------------------------------------------------------------------------------
start_app() { # start_app NAME [DATABASE_URL]
  local name=$1 url=${2:-}
  DATA_DIR=$WORK/$name
  mkdir -p "$DATA_DIR"
  PORT=$(free_port)
  APP_URL=http://127.0.0.1:$PORT
  APP_LOG=$WORK/app-$name.log
  local secret
  secret=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n') # 40 hex characters
  log "$name: starting app on port $PORT (DATA_DIR=$DATA_DIR)"
  env -u SMTP_URL -u APP_ENV -u DATABASE_URL \
    DATA_DIR="$DATA_DIR" PORT="$PORT" BASE_URL="$APP_URL" SECRET_KEY="$secret" \
    SIGNUP_RATE_PER_MINUTE=0 RUST_LOG=warn ${url:+DATABASE_URL="$url"} \
    "$BIN" serve $([[ $WORKERS == 0 ]] && echo --no-workers) >"$APP_LOG" 2>&1 &
  APP_PID=$!
  for _ in $(seq 1 600); do
    kill -0 "$APP_PID" 2>/dev/null || { tail -n 30 "$APP_LOG" >&2; die "$name: app exited during start-up"; }
    if python3 - "$APP_URL/healthz" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200 else 1)
PY
    sleep 0.1
  done
  python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$APP_URL/healthz" \
    || die "$name: /healthz did not answer within 60 s"
  log "$name: app is up (pid $APP_PID)"
}

# Runs wrk once; prints the BENCH line plus CPU figures as key=value pairs.
run_wrk() { # run_wrk CONNS SECONDS PREFIX LOGFILE
  local conns=$1 secs=$2 prefix=$3 out=$4 threads=$THREADS
  ((threads > conns)) && threads=$conns
  local m0 m1 a0 a1 t0 t1 wrk_ticks
  all_ticks >"$out.ticks0"
  local q0 q1
  read -r m0 t0 q0 < <(machine_ticks); a0=$(proc_ticks "$APP_PID")
  # A subshell, so that its cutime after `wait` is exactly wrk's CPU time.
  wrk_ticks=$(
    wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s -s "$BENCH_DIR/signups.lua" \
      "$APP_URL" -- "$prefix" >"$out" 2>&1 || echo "wrk exited with $?" >>"$out"
    awk '{sub(/^.*\) /,""); print $14+$15}' "/proc/$BASHPID/stat"
  )
  read -r m1 t1 q1 < <(machine_ticks); a1=$(proc_ticks "$APP_PID")
  all_ticks >"$out.ticks1"
  local pg_used
  pg_used=$(pg_delta "$out.ticks0" "$out.ticks1")
  local line
  line=$(grep '^BENCH ' "$out" || true)
  [[ -n $line ]] || { cat "$out" >&2; die "wrk produced no summary (see above)"; }
  local machine_pct ncpu
  ncpu=$(nproc)
  machine_pct=$(awk -v b=$((m1 - m0)) -v t=$((t1 - t0)) -v n="$ncpu" 'BEGIN{ if (t<=0) print "-"; else printf "%.0f", 100*n*b/t }')
  local secs_real
  secs_real=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")
  local other_ticks=$(((m1 - m0) - (a1 - a0) - pg_used - wrk_ticks - (q1 - q0)))
  ((other_ticks >= 0)) || other_ticks=0
  echo "${line#BENCH } cpu_app=$(pct $((a1 - a0)) "$secs_real") cpu_pg=$(pct "$pg_used" "$secs_real") cpu_wrk=$(pct "$wrk_ticks" "$secs_real") cpu_irq=$(pct $((q1 - q0)) "$secs_real") cpu_other=$(pct "$other_ticks" "$secs_real") cpu_machine=$machine_pct others=$(top_other "$out.ticks0" "$out.ticks1" "$secs_real" "$other_ticks")"
}
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; } # kv KEY LINE

# Counts in the app's database (SQLite file or PostgreSQL database).
db_counts() { # db_counts sqlite|postgres -> "candidates signups outbox jobs unfinished"
  local q_unfinished="job_type = 'candidate_email' AND (status IN ('Pending','Queued','Running') OR (status = 'Failed' AND attempts < max_attempts))"
  if [[ $1 == sqlite ]]; then
    python3 - "$DATA_DIR/talentpool.db" "$q_unfinished" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=30)
one = lambda q: db.execute(q).fetchone()[0]
print(one("SELECT COUNT(*) FROM candidates"), one("SELECT COUNT(*) FROM signups"),
      one("SELECT COUNT(*) FROM outbox_messages"), one("SELECT COUNT(*) FROM Jobs"),
      one("SELECT COUNT(*) FROM Jobs WHERE " + sys.argv[2]))
PY
  else
    psql -X -Atq -F ' ' -d "$PG_DB" -c "SELECT (SELECT COUNT(*) FROM candidates), (SELECT COUNT(*) FROM signups),
      (SELECT COUNT(*) FROM outbox_messages), (SELECT COUNT(*) FROM apalis.jobs),
      (SELECT COUNT(*) FROM apalis.jobs WHERE $q_unfinished)"
  fi
}

# Activity counters of the app's PostgreSQL database (and the cluster's WAL).
pg_stats() {
  psql -X -Atq -F ' ' -d "$PG_DB" -c "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted,
    tup_returned + tup_fetched, (SELECT wal_records FROM pg_stat_wal), (SELECT wal_bytes FROM pg_stat_wal),
    (SELECT wal_sync FROM pg_stat_wal),
    (SELECT COALESCE(SUM(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_user_tables)
    FROM pg_stat_database WHERE datname = current_database()"
}

# --- one database ------------------------------------------------------------------------
bench_db() { # bench_db sqlite|postgres
  local db=$1 url=""
  if [[ $db == postgres ]]; then
    PG_DB=talentpool_bench_$RUN_ID
    psql -X -q -d postgres -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    log "postgres: created database $PG_DB"
    url=postgres://$PGUSER@$PGHOST:$PGPORT/$PG_DB
  fi
  raw_ceiling "$db" before
  start_app "$db" "$url"

  local created_total=0 line
  local wconns=${CONNS##* }
  log "$db: warm-up ${WARMUP}s at $wconns connections"
  line=$(run_wrk "$wconns" "$WARMUP" "$RUN_ID-$db-warm" "$WORK/wrk-$db-warm.log")
  created_total=$((created_total + $(kv created "$line")))
  if [[ $(kv non201 "$line") != 0 ]]; then
    log "$db: warm-up had non-201 responses: $(kv codes "$line")"; ERRORS=$((ERRORS + 1))
  fi

  local c measured=0 stats0 stats_sum="0 0 0 0 0 0 0 0 0 0"
  for c in $CONNS; do
    wait_idle
    log "$db: measuring ${DURATION}s at $c connections, $THREADS wrk threads"
    [[ $db == postgres ]] && stats0=$(pg_stats)
    line=$(run_wrk "$c" "$DURATION" "$RUN_ID-$db-c$c" "$WORK/wrk-$db-c$c.log")
    if [[ $db == postgres ]]; then # sum of the counters' growth during the levels only
      stats_sum=$(echo "$stats_sum $stats0 $(pg_stats)" |
        awk '{ for (i = 1; i <= 10; i++) printf "%s%.0f", (i > 1 ? " " : ""), $i + $(i + 20) - $(i + 10); print "" }')
    fi
    created_total=$((created_total + $(kv created "$line")))
    measured=$((measured + $(kv created "$line")))
    local sock=$(($(kv connect_err "$line") + $(kv read_err "$line") + $(kv write_err "$line") + $(kv timeouts "$line")))
    printf '    %-8s c=%-3s %8s sign-ups/s  p50 %7s ms  p99 %7s ms  max %7s ms  non-201 %s (%s)  socket errors %s  CPU%% app %s pg %s wrk %s irq %s other %s (%s) machine %s/%s\n' \
      "$db" "$c" "$(kv created_per_s "$line")" "$(kv p50_ms "$line")" "$(kv p99_ms "$line")" \
      "$(kv max_ms "$line")" "$(kv non201 "$line")" "$(kv codes "$line")" "$sock" \
      "$(kv cpu_app "$line")" "$(kv cpu_pg "$line")" "$(kv cpu_wrk "$line")" "$(kv cpu_irq "$line")" "$(kv cpu_other "$line")" "$(kv others "$line")" "$(kv cpu_machine "$line")" "$(($(nproc) * 100))" >&2
    if [[ $(kv non201 "$line") != 0 || $sock != 0 ]]; then ERRORS=$((ERRORS + 1)); fi
    echo "$db $c $line" >>"$RESULTS"
  done

  # Backlog right after the load, then a graceful stop, then what is stored.
  local before after
  before=$(db_counts "$db")
  local t_stop=$SECONDS
  log "$db: stopping app (SIGTERM)"
  stop_app
  local stop_secs=$((SECONDS - t_stop))
  [[ $db == postgres ]] && echo "$measured $stats_sum" >"$WORK/pgstats.txt"
  after=$(db_counts "$db")
  local app_errors app_warns
  app_errors=$(grep -c 'ERROR' "$APP_LOG" || true)
  app_warns=$(grep -c 'WARN' "$APP_LOG" || true)
  ((app_errors == 0)) || { log "$db: app logged errors:"; grep 'ERROR' "$APP_LOG" | head -n 5 >&2; }
  # The most frequent ERROR/WARN messages, without colours and timestamps.
  sed 's/\x1b\[[0-9;]*m//g' "$APP_LOG" | grep -E '^[0-9T:.Z-]+ +(ERROR|WARN) ' |
    sed -E 's/^[0-9T:.Z-]+ +//' | cut -c1-160 | sort | uniq -c | sort -rn | head -n 3 |
    sed "s/^/  $db: /" >"$WORK/warns-$db.txt" || true
  echo "$db $created_total $before $after $stop_secs $app_errors $app_warns" >>"$WORK/stored.tsv"
  read -r cand _ <<<"$after"
  if ((cand < created_total)); then
    log "$db: only $cand candidates stored for $created_total 201 responses"; ERRORS=$((ERRORS + 1))
  fi

  raw_ceiling "$db" after
  if [[ $db == postgres ]]; then
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null
    log "postgres: dropped database $PG_DB"
    PG_DB=""
  fi
}

# Raw insert ceiling on the same database server / file, measured once before the app
# starts and once after it stops, so that a machine whose speed drifts during the run
# (shared vCPUs) moves the ceiling as it moves the sign-ups; the report uses the mean.
raw_ceiling() { # raw_ceiling sqlite|postgres before|after
  local db=$1 phase=$2
  if [[ $db == postgres ]]; then
    psql -X -q -d "$PG_DB" -f "$BENCH_DIR/raw_insert_pg_setup.sql" >/dev/null
    local c
    for c in $CONNS; do
      wait_idle
      log "postgres: raw insert ceiling ($phase the sign-ups), pgbench -c $c -T $RAW_SECONDS"
      local m0 m1 t0 t1 r0 r1 raw_secs
      all_ticks >"$WORK/pgbench-c$c.ticks0"; read -r m0 t0 _ < <(machine_ticks); r0=$(date +%s.%N)
      pgbench -n -M prepared -c "$c" -j "$THREADS" -T "$RAW_SECONDS" -f "$BENCH_DIR/raw_insert_pg.sql" \
        "$PG_DB" >"$WORK/pgbench-c$c.log" 2>&1 || { cat "$WORK/pgbench-c$c.log" >&2; die "pgbench failed"; }
      sleep 0.2 # let the postmaster reap pgbench's backends
      read -r m1 t1 _ < <(machine_ticks); r1=$(date +%s.%N); all_ticks >"$WORK/pgbench-c$c.ticks1"
      raw_secs=$(awk -v a="$r0" -v b="$r1" 'BEGIN{ print b - a }')
      local tps lat
      tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench-c$c.log" | head -n1)
      lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$WORK/pgbench-c$c.log")
      printf '    raw pg   c=%-3s %8s inserts/s (avg latency %s ms; CPU%% pg %s machine %s/%s)\n' "$c" "$tps" "$lat" \
        "$(pct "$(pg_delta "$WORK/pgbench-c$c.ticks0" "$WORK/pgbench-c$c.ticks1")" "$raw_secs")" \
        "$(awk -v b=$((m1 - m0)) -v t=$((t1 - t0)) -v n="$(nproc)" 'BEGIN{printf "%.0f", 100*n*b/t}')" "$(($(nproc) * 100))" >&2
      echo "postgres $c $(printf '%.0f' "$tps") $phase" >>"$WORK/raw.tsv"
    done
    # The sign-ups go to an empty candidates table either way; the raw rows stay apart.
    psql -X -q -d "$PG_DB" -c "TRUNCATE bench_raw_candidates" >/dev/null
  else
    wait_idle
    log "sqlite: raw insert ceiling ($phase the sign-ups), one writer, ${RAW_SECONDS}s"
    local out
    rm -f "$WORK/raw-ceiling.db"*
    out=$(python3 "$BENCH_DIR/raw_insert_sqlite.py" "$WORK/raw-ceiling.db" "$RAW_SECONDS")
    printf '    raw sqlite    %8s inserts/s (1 writer, WAL, synchronous=NORMAL)\n' "$(kv rows_per_s "$out")" >&2
    echo "sqlite 1 $(printf '%.0f' "$(kv rows_per_s "$out")") $phase" >>"$WORK/raw.tsv"
  fi
}

# --- run -----------------------------------------------------------------------------------
log "run $RUN_ID: conns [$CONNS], ${DURATION}s each after ${WARMUP}s warm-up, $THREADS wrk threads, raw ${RAW_SECONDS}s"
# CPU % (of one core) used over the next two seconds by processes other than ours (the
# app, whose workers may still be draining the email backlog, and our PostgreSQL).
others_busy() {
  local b0 t0 q0 b1 t1 q1 a0=0 a1=0 snap=${WORK:-/tmp}/idle
  [[ -n $APP_PID ]] && a0=$(proc_ticks "$APP_PID")
  all_ticks >"$snap.0"; read -r b0 t0 q0 < <(machine_ticks)
  sleep 2
  [[ -n $APP_PID ]] && a1=$(proc_ticks "$APP_PID")
  read -r b1 t1 q1 < <(machine_ticks); all_ticks >"$snap.1"
  local other=$((b1 - b0 - (q1 - q0) - (a1 - a0) - $(pg_delta "$snap.0" "$snap.1")))
  IDLE_TOP=$(top_other "$snap.0" "$snap.1" 2 "$other")
  awk -v b="$other" -v t=$((t1 - t0)) -v n="$(nproc)" \
    'BEGIN{ printf "%.0f", (t>0 && b>0) ? 100*n*b/t : 0 }'
}
# With WAIT_IDLE=N, waits (N seconds in all over the run) before each measurement until
# other processes use less than 15 % of a core, so that a parallel build or test run
# does not depress the figures.
IDLE_BUDGET=${WAIT_IDLE:-0}
wait_idle() {
  ((IDLE_BUDGET > 0)) || return 0
  local busy
  others_busy >"$WORK/idle.busy"; busy=$(<"$WORK/idle.busy")
  while ((busy > 15 && IDLE_BUDGET > 0)); do
    log "other processes use $busy % of a core ($IDLE_TOP); waiting for quiet (${IDLE_BUDGET}s of WAIT_IDLE left)"
    sleep 3; IDLE_BUDGET=$((IDLE_BUDGET - 5)); others_busy >"$WORK/idle.busy"; busy=$(<"$WORK/idle.busy")
  done
}
wait_idle
others_busy >"$WORK/idle.busy"; BUSY_BEFORE=$(<"$WORK/idle.busy")
LOAD_BEFORE="other processes used ${BUSY_BEFORE} % of a core, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for db in $DBS; do
  case $db in sqlite | postgres) bench_db "$db" ;; *) die "unknown database $db" ;; esac
done

# --- report --------------------------------------------------------------------------------
ceiling_for() { # ceiling_for DB CONNS: the mean of the measurements before and after
  awk -v db="$1" -v c="$2" '$1==db && (db=="sqlite" || $2==c) { s+=$3; n++ } END { if (n) printf "%.0f", s/n }' "$WORK/raw.tsv"
}
ceiling_range() { # ceiling_range DB CONNS: "before/after"
  awk -v db="$1" -v c="$2" '$1==db && (db=="sqlite" || $2==c) { v[$4]=$3 } END { printf "%s/%s", v["before"], v["after"] }' "$WORK/raw.tsv"
}
{
  echo
  echo "=== Talent Pool sign-up benchmark — run $RUN_ID, $(date -u +%Y-%m-%dT%H:%MZ) ==="
  echo "machine: $(nproc) CPU ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)); before the run: $LOAD_BEFORE"
  echo "load: wrk $THREADS threads, POST /api/v1/signups, distinct emails, ${DURATION}s per level after a ${WARMUP}s warm-up; app $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') release build"
  [[ $DBS == *postgres* ]] && echo "postgres: $(psql -X -Atq -d postgres -c "select split_part(version(), ' on ', 1) || ', fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit')")"
  echo "sqlite: $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)') (WAL, synchronous=NORMAL) on $(df -T "$WORK" | awk 'NR==2{print $2}') ($WORK)"
  echo "raw ceiling: postgres = pgbench single-row INSERT, autocommit, same connections; sqlite = one python writer, one INSERT per transaction; measured before the app starts and after it stops, ceiling/s = their mean"
  echo "CPU % is of one core (cpuAll out of $(($(nproc) * 100))); cpuIrq = interrupt time (loopback networking); cpuOth = every other process on the machine; appMs/su, pgMs/su = CPU ms per sign-up"
  if [[ $WORKERS == 0 ]]; then
    echo "Email workers: not running (serve --no-workers): the confirmation-email jobs wait in the queue. On SQLite the database work runs inside the app process."
  else
    echo "Email workers: in the app process (serve), rendering every confirmation email into the outbox. On SQLite the database work runs inside the app process too."
  fi
  echo
  printf '%-8s %5s %9s %7s %7s %7s %6s %7s %8s %6s | %6s %5s %6s %6s %6s %6s | %8s %7s\n' \
    DB conns signups/s p50_ms p99_ms max_ms non201 sockerr ceiling/s %ceil cpuApp cpuPG cpuWrk cpuIrq cpuOth cpuAll appMs/su pgMs/su
  printf '%s\n' "----------------------------------------------------------------------------------------------------------------------------------------"
  while read -r db c rest; do
    line="$rest"
    ceil=$(ceiling_for "$db" "$c")
    sock=$(($(kv connect_err "$line") + $(kv read_err "$line") + $(kv write_err "$line") + $(kv timeouts "$line")))
    share=$(awk -v a="$(kv created_per_s "$line")" -v b="$ceil" 'BEGIN{ if (b>0) printf "%.1f", 100*a/b; else print "-" }')
    rps=$(kv created_per_s "$line")
    per_su() { awk -v p="$1" -v r="$rps" 'BEGIN{ if (r>0) printf "%.2f", 10*p/r; else print "-" }'; }
    printf '%-8s %5s %9s %7s %7s %7s %6s %7s %8s %6s | %6s %5s %6s %6s %6s %6s | %8s %7s\n' \
      "$db" "$c" "$rps" "$(kv p50_ms "$line")" "$(kv p99_ms "$line")" "$(kv max_ms "$line")" \
      "$(kv non201 "$line")" "$sock" "${ceil:--}" "$share" "$(kv cpu_app "$line")" \
      "$( [[ $db == postgres ]] && kv cpu_pg "$line" || echo -)" "$(kv cpu_wrk "$line")" "$(kv cpu_irq "$line")" "$(kv cpu_other "$line")" "$(kv cpu_machine "$line")" \
      "$(per_su "$(kv cpu_app "$line")")" "$( [[ $db == postgres ]] && per_su "$(kv cpu_pg "$line")" || echo -)"
    if (($(kv cpu_other "$line") > 25)); then OTHER_BUSY=1; fi
  done <"$RESULTS"
  printf 'raw ceiling before/after the sign-ups:'
  while read -r db c _; do printf '  %s c=%s %s' "$db" "$c" "$(ceiling_range "$db" "$c")"; done <"$RESULTS"
  echo
  echo
  if [[ -f $WORK/pgstats.txt ]]; then
    awk '{ n=$1; if (n<=0) exit;
      printf "PostgreSQL work per accepted sign-up over the measured levels (incl. the in-process email workers): %.1f commits, %.1f rollbacks, %.1f rows inserted, %.1f updated, %.1f deleted, %.0f rows read, %.1f WAL records, %.0f WAL bytes, %.2f WAL fsyncs (WAL is cluster-wide); autovacuum/autoanalyze runs on the app tables: %d\n",
        $2/n, $3/n, $4/n, $5/n, $6/n, $7/n, $8/n, $9/n, $10/n, $11 }' "$WORK/pgstats.txt"
    echo
  fi
  if [[ ${OTHER_BUSY:-0} == 1 ]]; then
    echo "WARNING: other processes used more than 25 % of a core during some levels (cpuOth): those figures are depressed; rerun on an idle machine"
    while read -r db c rest; do
      if (($(kv cpu_other "$rest") > 25)); then echo "  $db c=$c: others $(kv cpu_other "$rest")%, top: $(kv others "$rest")"; fi
    done <"$RESULTS"
    echo
  fi
  echo "Targets: PostgreSQL >= $TARGET_PG_RPS sign-ups/s at p99 < $TARGET_PG_P99_MS ms (this $(nproc)-core machine); sign-ups/s >= $TARGET_CEILING_PCT % of the same database's raw insert ceiling"
  while read -r db c rest; do
    line="$rest"
    rps=$(kv created_per_s "$line"); p99=$(kv p99_ms "$line"); ceil=$(ceiling_for "$db" "$c")
    t1=$(awk -v r="$rps" -v p="$p99" -v R=$TARGET_PG_RPS -v P=$TARGET_PG_P99_MS 'BEGIN{print (r>=R && p<P) ? "MET" : "not met"}')
    t2=$(awk -v r="$rps" -v b="$ceil" -v X=$TARGET_CEILING_PCT 'BEGIN{ if (b<=0) print "n/a"; else print (100*r/b>=X) ? "MET" : "not met"}')
    if [[ $db == postgres ]]; then
      printf '  %-9s c=%-3s  >=%s/s at p99<%sms: %-8s  >=%s%% of ceiling: %s\n' "$db" "$c" "$TARGET_PG_RPS" "$TARGET_PG_P99_MS" "$t1" "$TARGET_CEILING_PCT" "$t2"
    else
      printf '  %-9s c=%-3s  (throughput target is for PostgreSQL; here %s)     >=%s%% of ceiling: %s\n' "$db" "$c" "$t1" "$TARGET_CEILING_PCT" "$t2"
    fi
  done <"$RESULTS"
  echo
  echo "Stored: 201 responses (incl. warm-up) vs rows in the app's database; jobs = confirmation-email jobs (unfinished = pending/running/retrying)"
  printf '  %-9s %7s  %-38s  %-38s  %6s  %s\n' "" "" "---------- right after load ----------" "-------- after SIGTERM stop ---------" "" ""
  printf '  %-9s %7s  %8s %7s %7s %6s %7s  %8s %7s %7s %6s %7s  %6s  %s\n' DB 201s cands signups outbox jobs unfin cands signups outbox jobs unfin stop_s "app log ERROR/WARN lines"
  while read -r db created c1 s1 o1 j1 u1 c2 s2 o2 j2 u2 stop errs warns; do
    printf '  %-9s %7s  %8s %7s %7s %6s %7s  %8s %7s %7s %6s %7s  %6s  %s\n' \
      "$db" "$created" "$c1" "$s1" "$o1" "$j1" "$u1" "$c2" "$s2" "$o2" "$j2" "$u2" "$stop" "$errs/$warns"
  done <"$WORK/stored.tsv"
  if cat "$WORK"/warns-*.txt 2>/dev/null | grep -q .; then
    echo "Most frequent app log ERROR/WARN messages (count, message):"
    cat "$WORK"/warns-*.txt
  fi
  echo
  if ((ERRORS > 0)); then
    echo "RESULT: $ERRORS problem(s): non-201 responses, socket errors or missing rows — see the lines above (logs in $WORK with KEEP=1)"
  else
    echo "RESULT: every response was 201 and every accepted sign-up is stored"
  fi
} | tee "$WORK/report.txt"

if ((ERRORS > 0)); then exit 1; fi
