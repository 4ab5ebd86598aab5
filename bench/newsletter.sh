#!/usr/bin/env bash
# Newsletter sending benchmark: a newsletter to N recipients (100,000 by default) sent by
# `talentpool serve` to a local SMTP sink with no rate limit, on SQLite and on PostgreSQL:
# messages/s, time to done, peak RSS of the app, the batch-claim time, next to a ceiling
# measured in the same run (a plain lettre loop sending the same rendered newsletter over
# the same number of TCP_NODELAY connections to the same sink), and next to the same
# loop rendering and building each message for its own recipient (no database). Then,
# with a rate limit set, the measured rate next to the limit. See bench/README.md.
#
# Usage:  bash bench/newsletter.sh
# Knobs (environment): N=100000  CONC=8  RATE=2000  DBS="sqlite postgres"  SKIP_BUILD=1
#   KEEP=1 (keep the temp dir)  PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres (trust auth)
set -Eeuo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
N=${N:-100000}
CONC=${CONC:-8}
RATE=${RATE:-2000}
DBS=${DBS:-"sqlite postgres"}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/release

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

APP_PID="" SINK_PID="" PG_DB="" WORK=""
stop_app() {
  [[ -n $APP_PID ]] || return 0
  kill -TERM "$APP_PID" 2>/dev/null || true
  wait "$APP_PID" 2>/dev/null || true
  APP_PID=""
}
drop_pg() {
  [[ -n $PG_DB ]] || return 0
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  PG_DB=""
}
cleanup() {
  local rc=$?
  set +e
  stop_app
  [[ -n $SINK_PID ]] && kill "$SINK_PID" 2>/dev/null
  drop_pg
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ ${KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT

command -v python3 >/dev/null || die "python3 is needed"
if [[ $DBS == *postgres* ]]; then
  command -v psql >/dev/null || die "psql is needed for PostgreSQL"
fi
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "cargo build --release (talentpool, the sink and the ceiling loop)"
  (cd "$ROOT" && cargo build --release --quiet -p talentpool -p talentpool-tests --bins)
fi
for b in talentpool bench_smtp_sink bench_smtp_ceiling; do
  [[ -x $TARGET/$b ]] || die "$TARGET/$b not found"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/talentpool-nlbench.XXXXXX")
cp "$TARGET/talentpool" "$TARGET/bench_smtp_sink" "$TARGET/bench_smtp_ceiling" "$WORK/"
BIN=$WORK/talentpool
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {"d": d}))' "$1"; }

SINK_PORT=$(free_port)
"$WORK/bench_smtp_sink" "$SINK_PORT" >"$WORK/sink.log" 2>&1 &
SINK_PID=$!
sleep 0.5
SECRET=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')

sql() { # sql DB_KIND URL STATEMENT
  if [[ $1 == postgres ]]; then psql -X -Atq -d "$PG_DB" -c "$3"; else
    python3 - "$2" "$3" <<'PY'
import sqlite3, sys
path = sys.argv[1].split("sqlite://", 1)[1].split("?", 1)[0]
con = sqlite3.connect(path)
rows = con.execute(sys.argv[2]).fetchall()
con.commit()
for r in rows: print("|".join(str(x) for x in r))
PY
  fi
}

start_app() { # start_app URL RATE LOGFILE
  PORT=$(free_port)
  APP_URL=http://127.0.0.1:$PORT
  env -u APP_ENV DATABASE_URL="$1" DATA_DIR="$WORK/data" PORT="$PORT" BASE_URL="$APP_URL" \
    SECRET_KEY="$SECRET" SMTP_URL="smtp://127.0.0.1:$SINK_PORT" SEND_RATE_PER_SEC="$2" \
    NEWSLETTER_CONCURRENCY="$CONC" MAIL_FROM="Talent Pool <talentpool@bench.example>" \
    JOB_POLL_MILLIS=100 RUST_LOG=info NO_COLOR=1 "$BIN" serve >"$3" 2>&1 &
  APP_PID=$!
  for _ in $(seq 1 600); do
    curl -fsS "$APP_URL/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$APP_PID" 2>/dev/null || { tail -n 20 "$3" >&2; die "the app exited"; }
    sleep 0.1
  done
  die "the app did not start"
}

api() { # api METHOD PATH [BODY]
  curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "$APP_URL$2"
}

# send_and_wait FILTER_JSON → prints "sent seconds newsletter_id"
send_and_wait() {
  local segment id body t0 t1 view status
  segment=$(api POST /api/v1/segments "{\"name\":\"bench $RANDOM\",\"filter\":$1}" | json 'd["id"]')
  body=$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$BENCH_DIR/newsletter_body.md")
  id=$(api POST /api/v1/newsletters "{\"subject\":\"News from the talent pool, {{ candidate.first_name }}\",\"body_markdown\":$body,\"segment_id\":$segment}" | json 'd["id"]')
  t0=$(date +%s.%N)
  api POST "/api/v1/newsletters/$id/send" >/dev/null
  while :; do
    view=$(api GET "/api/v1/newsletters/$id")
    status=$(json 'd["status"]' <<<"$view")
    [[ $status == done ]] && break
    [[ $status == sending || $status == scheduled ]] || die "newsletter $id is $status: $view"
    sleep 0.2
  done
  t1=$(date +%s.%N)
  echo "$(json 'd["sent"]' <<<"$view") $(python3 -c "print(f'{$t1-$t0:.2f}')") $id"
}

RESULTS=()
for db in $DBS; do
  rm -rf "$WORK/data"; mkdir -p "$WORK/data"
  if [[ $db == postgres ]]; then
    PG_DB=tp_nlbench_$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
    psql -X -q -d postgres -c "CREATE DATABASE $PG_DB" >/dev/null
    URL="postgres://$PGUSER@$PGHOST:$PGPORT/$PG_DB"
  else
    URL="sqlite://$WORK/data/bench.db?mode=rwc"
  fi
  export DATABASE_URL=$URL DATA_DIR=$WORK/data SECRET_KEY=$SECRET
  log "$db: migrate and seed $N candidates"
  "$BIN" migrate >/dev/null 2>&1
  "$BIN" seed --candidates "$N" >/dev/null 2>&1
  # Every seeded candidate is confirmed; here every one also takes the newsletter.
  sql "$db" "$URL" "UPDATE candidates SET consent_newsletter = true" >/dev/null
  TOKEN=$("$BIN" create-api-token --name bench 2>/dev/null | tail -n 1)
  unset DATABASE_URL DATA_DIR SECRET_KEY

  log "$db: sending to $N recipients, no rate limit, $CONC connections"
  start_app "$URL" 0 "$WORK/app-$db.log"
  read -r sent secs _ < <(send_and_wait '{}')
  rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$APP_PID/status")
  # The longest claim of any round, and the mean of the round with the most claims.
  read -r claim claim_mean < <(grep -o 'claims=[0-9]* claim_ms_max=[0-9.]* claim_ms_mean=[0-9.]*' "$WORK/app-$db.log" |
    tr '=' ' ' | awk '{ if ($4 > max) max = $4; if ($2 > most) { most = $2; mean = $6 } }
      END { if (most) printf "%.1f %.1f\n", max, mean; else print "? ?" }')
  stop_app
  rate=$(python3 -c "print(f'{$sent/$secs:.0f}')")
  log "$db: $sent sent in $secs s = $rate msgs/s, peak RSS $((rss_kb / 1024)) MB, claim max $claim ms mean $claim_mean ms"

  log "$db: ceiling: plain lettre loop, same message, $CONC connections"
  ceiling=$("$WORK/bench_smtp_ceiling" "$SINK_PORT" "$CONC" "$N" | awk '/ceiling_msgs_per_sec/{print $2}')
  pct=$(python3 -c "print(f'{100*$rate/$ceiling:.0f}')")
  log "$db: ceiling $ceiling msgs/s; the app reached $pct %"
  log "$db: personal ceiling: the same loop rendering and building each message for its recipient"
  personal=$("$WORK/bench_smtp_ceiling" "$SINK_PORT" "$CONC" "$N" personalised | awk '/ceiling_msgs_per_sec/{print $2}')
  ppct=$(python3 -c "print(f'{100*$rate/$personal:.0f}')")
  log "$db: personal ceiling $personal msgs/s; the app reached $ppct %"

  log "$db: with SEND_RATE_PER_SEC=$RATE (candidates resident in Norway)"
  start_app "$URL" "$RATE" "$WORK/app-$db-rate.log"
  read -r rsent rsecs LAST_ID < <(send_and_wait '{"residence_country":"NO"}')
  stop_app
  if [[ $db == postgres ]]; then
    span=$(sql "$db" "$URL" "SELECT EXTRACT(EPOCH FROM max(sent_at) - min(sent_at)) FROM deliveries WHERE newsletter_id = $LAST_ID")
  else
    span=$(sql "$db" "$URL" "SELECT (julianday(max(sent_at)) - julianday(min(sent_at))) * 86400 FROM deliveries WHERE newsletter_id = $LAST_ID")
  fi
  measured=$(python3 -c "print(f'{($rsent-1)/$span:.0f}')")
  off=$(python3 -c "print(f'{100*($rsent-1)/$span/$RATE-100:+.1f}')")
  log "$db: $rsent sent at $measured msgs/s against a limit of $RATE ($off %)"
  RESULTS+=("| $db | $sent | $secs | $rate | $ceiling | $pct | $personal | $ppct | $((rss_kb / 1024)) | $claim / $claim_mean | $RATE → $measured ($off %) |")
  drop_pg
done

echo
echo "| DB | messages | time to done s | msgs/s | ceiling msgs/s | % of ceiling | personal ceiling msgs/s | % of it | peak RSS MB | claim ms max / mean | rate limit → measured |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${RESULTS[@]}"
