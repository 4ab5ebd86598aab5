#!/usr/bin/env python3
"""Helper of bench/pool.sh: the five benchmark filters, the exact SQL the app runs for
each (reconstructed from core/src/pool.rs: `condition`, `page`, `count`, as sea-query
renders it), query plans and timings on PostgreSQL (psql) and SQLite (apsw, the same
SQLite version as the app's bundled one, when available; else python's sqlite3), the
cold first request of each filter, and a check of the reconstructed SQL against the
statements the app really sent (sampled from pg_stat_activity).

Subcommands (see pool.sh for how they are used):
  filters                         key<TAB>query string, one line per filter
  plans postgres DBNAME OUTDIR STAGE [RUNS]
  plans sqlite   DBFILE OUTDIR STAGE [RUNS]
      -> writes OUTDIR/<key>-<page|count>.txt, prints one TSV line per query:
         stage key query total exec_ms sql_ms plan_kind summary first_ms first_summary
         (PostgreSQL: exec_ms = EXPLAIN ANALYZE of the steady-state plan, sql_ms = median
         psql round trip of the timed executions, first_* = the 1st (custom) plan;
         SQLite: exec_ms = sql_ms = median of the runs after the first, first_ms = 1st run)
  sqlite-analyze DBFILE           ANALYZE (with the app's SQLite version); prints seconds
  sqlite-info DBFILE              library used, whether sqlite_stat1/stat4 exist
  proposals postgres|sqlite DBNAME|DBFILE OUTDIR [RUNS]
      -> applies the proposed indexes (timed), re-runs the plans ("indexed") and the
         rewrites (EXISTS for the campaign, capped counts, FTS5 on SQLite)
  cold BASE_URL TOKEN             one request per filter; key ms status total items
  check-sql CAPTURED_FILE         compares captured app SQL with the reconstruction
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time

# --- the filters --------------------------------------------------------------------
# key, query string (as sent to GET /api/v1/candidates?<qs>&limit=50), and the parts of
# ValidFilter::condition() it turns on, in the order condition() adds them.
FILTERS = [
    ("a", "profession=2512", [("profession", "2512")]),
    ("b", "profession=2512&eu_status=eu_eea", [("profession", "2512"), ("eu_status", "eu_eea")]),
    ("c", "residence_country=PL&min_experience=5", [("residence_country", "PL"), ("min_experience", 5)]),
    ("d", "campaign=software-developers&confirmed=true&consent_newsletter=true",
     [("campaign", "software-developers"), ("confirmed", True), ("consent_newsletter", True)]),
    ("e", "q=kowalski", [("q", "kowalski")]),
]
LIMIT = 50  # page() asks for limit + 1 rows

COLUMNS = [
    "id", "email", "full_name", "residence_country", "profession_code", "years_experience",
    "english_level", "norwegian_level", "linkedin_url", "phone", "education_level",
    "work_permit_norway", "has_partner", "partner_profession", "cv_key", "eu_status",
    "consent_pool", "consent_share", "consent_newsletter", "confirmed_at", "suppressed_at",
    "last_active_at", "created_at", "updated_at",
]
SELECT_COLS = ", ".join(f'"candidates"."{c}"' for c in COLUMNS)


def escape_like(q):
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# pool::TOTAL_CAP / SEARCH_TOTAL_CAP (with free text): the app counts at most this many
# (+1, to know there are more)
COUNT_CAP = 10000
SEARCH_COUNT_CAP = 1000


def build(parts, dialect, campaign_id, variant=""):
    """{"page"|"count": (sql, params, pg_types)} as sea-query renders the app's queries
    for `dialect` ("postgres": $n placeholders; "sqlite": ?). Params are in placeholder
    order; the page query has one more (LIMIT).

    What the app runs: the campaign condition as EXISTS, and the total counted up to
    COUNT_CAP + 1 rows (`pool::total`).

    `variant` (other forms, not what the app runs; "+"-separated): "in" = the campaign
    condition as IN (subquery), as before migration 000008; "exact" = the uncapped count
    (`pool::count`, used for segment counts); "fts" (SQLite) = the free text through an
    FTS5 trigram table."""
    variants = set(filter(None, variant.split("+")))
    params, types, conds = [], [], []

    def ph(value, pg_type):
        params.append(value)
        types.append(pg_type)
        return f"${len(params)}" if dialect == "postgres" else "?"

    escape = "E'\\\\'" if dialect == "postgres" else "'\\'"
    for name, value in parts:
        if name == "campaign" and "in" not in variants:
            conds.append('EXISTS(SELECT 1 FROM "signups" WHERE "signups"."candidate_id" = "candidates"."id" '
                         f'AND "signups"."campaign_id" = {ph(campaign_id, "int8")})')
        elif name == "campaign":
            conds.append('"candidates"."id" IN (SELECT "candidate_id" FROM "signups" WHERE '
                         f'"signups"."campaign_id" = {ph(campaign_id, "int8")})')
        elif name == "q" and "fts" in variants:
            phrase = '"' + value.lower().replace('"', '""') + '"'
            conds.append('"candidates"."id" IN (SELECT rowid FROM "candidates_fts" WHERE '
                         f'"candidates_fts" MATCH {ph(phrase, "text")})')
        elif name == "profession":
            if len(value) == 4:
                conds.append(f'"candidates"."profession_code" = {ph(value, "text")}')
            else:  # starts_with: LIKE 'code%'
                conds.append(f'"candidates"."profession_code" LIKE {ph(value + "%", "text")}')
        elif name == "eu_status":
            conds.append(f'"candidates"."eu_status" = {ph(value, "text")}')
        elif name == "residence_country":
            conds.append(f'"candidates"."residence_country" = {ph(value, "text")}')
        elif name == "min_experience":
            conds.append(f'"candidates"."years_experience" >= {ph(value, "int2")}')
        elif name == "confirmed":
            conds.append('"candidates"."confirmed_at" IS ' + ("NOT NULL" if value else "NULL"))
        elif name == "consent_newsletter":
            conds.append(f'"candidates"."consent_newsletter" = {ph(value, "bool")}')
        elif name == "q" and dialect == "postgres" and "\n" not in value:
            # PostgreSQL: the stored, lowered email + "\n" + full name (migration 000008).
            conds.append(f'"candidates"."search_text" LIKE {ph(f"%{escape_like(value.lower())}%", "text")} ESCAPE {escape}')
        elif name == "q":
            pattern = f"%{escape_like(value.lower())}%"
            any_of = (f'LOWER("email") LIKE {ph(pattern, "text")} ESCAPE {escape} OR '
                      f'LOWER("full_name") LIKE {ph(pattern, "text")} ESCAPE {escape}')
            # Condition::any inside Condition::all: parenthesised only next to others.
            conds.append(any_of if len(parts) == 1 else f"({any_of})")
        else:
            raise ValueError(name)
    where = " AND ".join(conds)
    count_params, count_types = list(params), list(types)
    if "exact" in variants:
        count_sql = f'SELECT COUNT(*) AS "num_items" FROM (SELECT 1 FROM "candidates" WHERE {where}) AS "matches"'
    else:
        cap = SEARCH_COUNT_CAP if any(name == "q" for name, _v in parts) else COUNT_CAP
        count_params.append(cap + 1)
        count_types.append("int8")
        cap_ph = f"${len(count_params)}" if dialect == "postgres" else "?"
        count_sql = (f'SELECT COUNT(*) AS "num_items" FROM (SELECT 1 FROM "candidates" '
                     f'WHERE {where} LIMIT {cap_ph}) AS "matches"')
    limit_ph = ph(LIMIT + 1, "int8")
    page_sql = (f'SELECT {SELECT_COLS} FROM "candidates" WHERE {where} '
                f'ORDER BY "candidates"."created_at" DESC, "candidates"."id" DESC LIMIT {limit_ph}')
    return {"page": (page_sql, params, types), "count": (count_sql, count_params, count_types)}


# --- PostgreSQL -------------------------------------------------------------------------
def pg_literal(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def psql(db, script):
    out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-f", "-"],
                         input=script, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}")
    return out.stdout


def pg_campaign_id(db):
    out = psql(db, "\\pset tuples_only on\n\\pset format unaligned\n"
                   "SELECT id FROM campaigns WHERE slug = 'software-developers';\n").strip()
    return int(out)


NODE_RE = re.compile(
    r"(Parallel Seq Scan|Seq Scan|Index Only Scan Backward|Index Only Scan|Index Scan Backward|"
    r"Index Scan|Bitmap Index Scan|Bitmap Heap Scan)(?: using (\S+))?(?: on (\S+))?.*?"
    r"actual time=[0-9.]+\.\.([0-9.]+) rows=(\d+) loops=(\d+)")
OTHER_NODES = ["Incremental Sort", "Sort", "Hash Semi Join", "Hash Join", "Merge Semi Join",
               "Merge Join", "Nested Loop Semi Join", "Nested Loop", "Gather Merge", "Gather",
               "HashAggregate", "Memoize", "BitmapOr", "BitmapAnd"]
ABBREV = {"Parallel Seq Scan": "ParSeq", "Seq Scan": "Seq", "Index Only Scan Backward": "IdxOnlyBwd",
          "Index Only Scan": "IdxOnly", "Index Scan Backward": "IdxBwd", "Index Scan": "Idx",
          "Bitmap Index Scan": "BmpIdx", "Bitmap Heap Scan": "BmpHeap"}


def short_index(name):
    return re.sub(r"^idx_candidates_|^idx_", "", name or "")


def pg_summary(plan):
    """A compact description of a plan's access paths: 'IdxBwd profession_code_created_at
    r=51 | Incremental Sort' (r = actual rows of that node, times loops)."""
    parts = []
    for line in plan.splitlines():
        if "(cost=" not in line and "(actual" not in line and "never executed" not in line:
            continue  # not a plan node (Sort Key:, Filter:, Buffers:, ...)
        m = NODE_RE.search(line)
        if m:
            kind, index, table, _t, rows, loops = m.groups()
            target = short_index(index) if index else ""
            if kind == "Bitmap Index Scan":
                target = short_index(table)
            elif not index:
                target = table or ""
            if kind == "Bitmap Heap Scan":
                target = table or ""
            n = int(rows) * int(loops)
            parts.append(f"{ABBREV[kind]} {target} r={n}")
            continue
        for node in OTHER_NODES:
            if re.search(r"(->\s+|^\s*)" + re.escape(node) + r"\b", line):
                if node == "Sort" and "Incremental Sort" in line:
                    continue
                parts.append(node)
                break
    return " | ".join(parts)


def pg_plans(db, outdir, stage, runs, variant="", keys=None, queries=("page", "count")):
    os.makedirs(outdir, exist_ok=True)
    campaign_id = pg_campaign_id(db)
    for key, qs, parts in FILTERS:
        if keys and key not in keys:
            continue
        for query, (sql, params, types) in build(parts, "postgres", campaign_id, variant).items():
            if query not in queries:
                continue
            args = ", ".join(pg_literal(p) for p in params)
            explain = f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE q({args});"
            # The app runs prepared statements (sqlx, extended protocol, one statement
            # cache per pooled connection): the first five executions get custom plans,
            # from the sixth on PostgreSQL may switch to a generic plan. So: the first
            # plan, four more executions, RUNS timed ones (steady state), the plan again.
            # RUNS=0: the first plan only.
            steady_part = [] if runs == 0 else [
                "\\o /dev/null",
                *([f"EXECUTE q({args});"] * 4),
                "\\timing on",
                *([f"EXECUTE q({args});"] * runs),
                "\\timing off", "\\o",
                "\\echo ===STEADY", explain]
            script = "\n".join([
                "\\pset pager off",
                f"PREPARE q({', '.join(types)}) AS {sql};",
                "\\echo ===FIRST", explain,
                *steady_part,
                "\\pset tuples_only on", "\\pset format unaligned",
                "\\echo ===RESULT", f"EXECUTE q({args});" if query == "count" else "SELECT 0;",
                "DEALLOCATE q;", ""])
            out = psql(db, script)
            first = out.split("===FIRST\n", 1)[1].split("===STEADY", 1)[0].split("===RESULT", 1)[0]
            first = re.split(r"^Time: ", first, maxsplit=1, flags=re.M)[0]
            times = [float(t) for t in re.findall(r"^Time: ([0-9.]+) ms", out, re.M)]
            steady = out.split("===STEADY\n", 1)[1].split("===RESULT", 1)[0] if runs else first
            result = out.split("===RESULT\n", 1)[1].strip().splitlines()[0]
            first_ms = float(re.search(r"Execution Time: ([0-9.]+) ms", first).group(1))
            exec_ms = float(re.search(r"Execution Time: ([0-9.]+) ms", steady).group(1))
            kind = "generic" if re.search(r"\$\d", steady) else "custom"
            changed = pg_summary(first) != pg_summary(steady)
            with open(os.path.join(outdir, f"{key}-{query}{'-' + variant if variant else ''}.txt"), "w") as f:
                f.write(f"-- PostgreSQL, stage {stage}, filter {key}: {qs} ({query} query"
                        f"{', rewrite ' + variant if variant else ''})\n")
                f.write(f"-- SQL (as the app sends it; prepared, parameters {types}):\n{sql}\n")
                f.write(f"-- parameters: {params}\n\n")
                f.write(f"-- 1st execution (custom plan):\n{first.rstrip()}\n")
                if runs:
                    f.write(f"\n-- executions 2-5 untimed; executions 6-{runs + 5} timed (psql round trip, ms): {times}\n\n")
                    f.write(f"-- {runs + 6}th execution ({kind} plan"
                            f"{', DIFFERENT from the 1st' if changed else ''}):\n{steady.rstrip()}\n")
            sql_ms = statistics.median(times) if times else exec_ms
            summary = pg_summary(steady) + (" [plan changed after 5 runs]" if changed else "")
            print("\t".join([stage, key, query, result if query == "count" else "-",
                             f"{exec_ms:.2f}", f"{sql_ms:.2f}", kind, summary,
                             f"{first_ms:.2f}", pg_summary(first)]), flush=True)


# --- SQLite -----------------------------------------------------------------------------
def sqlite_connect(path):
    try:
        import apsw  # the app's SQLite version, when bench/pool.sh could install it
        conn = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READWRITE)
        conn.setbusytimeout(30000)
        lib = f"apsw {apsw.apsw_version()} / SQLite {apsw.sqlite_lib_version()}"

        def run(sql, params=()):
            return list(conn.execute(sql, params))
    except ImportError:
        import sqlite3
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        lib = f"python sqlite3 / SQLite {sqlite3.sqlite_version}"

        def run(sql, params=()):
            return conn.execute(sql, params).fetchall()
    return run, lib


def sqlite_summary(eqp):
    """'SEARCH candidates USING INDEX idx_..._created_at (profession_code=?) | TEMP B-TREE ORDER BY'"""
    out = []
    for _id, _parent, detail in eqp:
        d = detail.replace("USING INDEX ", "idx ").replace("USING COVERING INDEX ", "covering idx ")
        d = re.sub(r"idx_candidates_|idx_", "", d)
        d = d.replace("USE TEMP B-TREE FOR", "TEMP B-TREE")
        out.append(d)
    return " | ".join(out)


def sqlite_plans(path, outdir, stage, runs, variant="", keys=None, queries=("page", "count")):
    os.makedirs(outdir, exist_ok=True)
    run, lib = sqlite_connect(path)
    campaign_id = run("SELECT id FROM campaigns WHERE slug = 'software-developers'")[0][0]
    for key, qs, parts in FILTERS:
        if keys and key not in keys:
            continue
        for query, (sql, params, _types) in build(parts, "sqlite", campaign_id, variant).items():
            if query not in queries:
                continue
            eqp = run("EXPLAIN QUERY PLAN " + sql, params)
            times, result = [], None
            for _ in range(runs):
                t0 = time.perf_counter()
                rows = run(sql, params)
                times.append((time.perf_counter() - t0) * 1000)
                result = rows[0][0] if query == "count" else len(rows)
            eqp = [(r[0], r[1], r[-1]) for r in eqp]
            tree = "\n".join(f"{i}|{p}|{d}" for i, p, d in eqp)
            with open(os.path.join(outdir, f"{key}-{query}{'-' + variant if variant else ''}.txt"), "w") as f:
                f.write(f"-- SQLite ({lib}), stage {stage}, filter {key}: {qs} ({query} query"
                        f"{', rewrite ' + variant if variant else ''})\n")
                f.write(f"-- SQL (as the app sends it):\n{sql}\n-- parameters: {params}\n\n")
                f.write(f"-- EXPLAIN QUERY PLAN (id|parent|detail):\n{tree}\n\n")
                f.write(f"-- {runs} timed executions (ms, incl. fetching the rows into Python): "
                        f"{[round(t, 2) for t in times]}\n-- result: {result}\n")
            steady = statistics.median(times[1:]) if len(times) > 1 else times[0]
            print("\t".join([stage, key, query, str(result) if query == "count" else "-",
                             f"{steady:.2f}", f"{steady:.2f}", "-", sqlite_summary(eqp),
                             f"{times[0]:.2f}", sqlite_summary(eqp)]), flush=True)


# --- proposed indexes and rewrites ----------------------------------------------------------
# Migration 000008 created the campaign, residence/experience and (PostgreSQL) trigram
# indexes; what is left to try:
PG_DDL = [
    ("CREATE INDEX idx_candidates_profession_code_eu_status_created_at ON candidates (profession_code, eu_status, created_at)",
     "b: both equalities and the order in one index"),
    ("ANALYZE candidates", "statistics of the new index"),
]
SQLITE_DDL = [
    ("CREATE INDEX idx_candidates_profession_code_eu_status_created_at ON candidates (profession_code, eu_status, created_at)",
     "b: both equalities and the order in one index"),
    ("CREATE VIRTUAL TABLE candidates_fts USING fts5(email, full_name, content='candidates', "
     "content_rowid='id', tokenize='trigram')", "e: substring search (needs triggers to stay in sync)"),
    ("INSERT INTO candidates_fts(candidates_fts) VALUES ('rebuild')", "e: fill the FTS5 index"),
    ("ANALYZE", "statistics of the new indexes"),
]
# (variant, filters, queries): the other forms timed after the indexes.
REWRITES = [
    ("in", "d", ("page", "count")),
    ("exact", "abcde", ("count",)),
]
SQLITE_REWRITES = REWRITES + [("fts", "e", ("page", "count")), ("fts+exact", "e", ("count",))]


def proposals(db, target, outdir, runs):
    """Applies the proposed indexes (timed), then re-runs the app's SQL ("indexed") and
    the rewrites. Prints "ddl<TAB>ms<TAB>sql<TAB>why" lines and plan TSV lines."""
    if db == "postgres":
        for sql, why in PG_DDL:
            t0 = time.perf_counter()
            psql(target, sql + ";\n")
            print(f"ddl\t{(time.perf_counter() - t0) * 1000:.0f}\t{sql}\t{why}", flush=True)
        pg_plans(target, outdir, "indexed", runs)
        for variant, keys, queries in REWRITES:
            pg_plans(target, outdir, variant, runs, variant, keys, queries)
    else:
        run, _lib = sqlite_connect(target)
        for sql, why in SQLITE_DDL:
            t0 = time.perf_counter()
            run(sql)
            print(f"ddl\t{(time.perf_counter() - t0) * 1000:.0f}\t{sql}\t{why}", flush=True)
        sqlite_plans(target, outdir, "indexed", runs)
        for variant, keys, queries in SQLITE_REWRITES:
            sqlite_plans(target, outdir, variant, runs, variant, keys, queries)


def sqlite_analyze(path):
    run, lib = sqlite_connect(path)
    t0 = time.perf_counter()
    run("ANALYZE")
    print(f"{time.perf_counter() - t0:.1f}")


def sqlite_info(path):
    run, lib = sqlite_connect(path)
    tables = {r[0] for r in run("SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_stat%'")}
    def stats(table):
        if "sqlite_stat1" not in tables:
            return 0
        return run("SELECT count(*) FROM sqlite_stat1 WHERE tbl = ?", (table,))[0][0]
    print(f"{lib}; sqlite_stat1 rows for candidates: {stats('candidates')}, signups: {stats('signups')}"
          f" ({','.join(sorted(tables)) or 'no stat tables'})")


# --- HTTP -----------------------------------------------------------------------------------
def cold(base_url, token):
    import http.client
    from urllib.parse import urlparse
    u = urlparse(base_url)
    for key, qs, _parts in FILTERS:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        conn.connect()
        t0 = time.perf_counter()
        conn.request("GET", f"/api/v1/candidates?{qs}&limit={LIMIT}",
                     headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        resp = conn.getresponse()
        body = resp.read()
        ms = (time.perf_counter() - t0) * 1000
        total, items = "-", "-"
        if resp.status == 200:
            doc = json.loads(body)
            total, items = doc.get("total"), len(doc.get("items", []))
            if doc.get("total_exact") is False:
                total = f"{total}+"
        else:
            print(f"cold {key}: HTTP {resp.status}: {body[:300]!r}", file=sys.stderr)
        print(f"{key}\t{ms:.1f}\t{resp.status}\t{total}\t{items}", flush=True)
        conn.close()


def check_sql(captured):
    """Every distinct statement sampled from pg_stat_activity that touches candidates
    must be one of the reconstructed ones, and every reconstructed one should be seen."""
    seen = {line.strip() for line in open(captured) if line.strip()}
    expected = {}
    for key, _qs, parts in FILTERS:
        for query, (sql, _p, _t) in build(parts, "postgres", 0).items():
            expected[sql] = f"{key}-{query}"
    ok = True
    for key, _qs, _parts in FILTERS:
        marks = []
        for query in ("page", "count"):
            sql = next(s for s, k in expected.items() if k == f"{key}-{query}")
            marks.append(f"{query} {'seen' if sql in seen else 'NOT SEEN'}")
        print(f"  {key}: " + ", ".join(marks))
    unknown = [s for s in seen if s not in expected and '"candidates"' in s and "FROM \"candidates\" WHERE" in s]
    for s in unknown:
        ok = False
        print(f"  app statement not reconstructed: {s[:300]}...")
    print("  every sampled candidates statement matches the reconstruction" if ok else
          "  MISMATCH: see above")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "filters":
        for key, qs, _ in FILTERS:
            print(f"{key}\t{qs}")
    elif cmd == "plans":
        db, target, outdir, stage = args[:4]
        runs = int(args[4]) if len(args) > 4 else 5
        (pg_plans if db == "postgres" else sqlite_plans)(target, outdir, stage, runs)
    elif cmd == "proposals":
        db, target, outdir = args[:3]
        proposals(db, target, outdir, int(args[3]) if len(args) > 3 else 3)
    elif cmd == "sqlite-analyze":
        sqlite_analyze(args[0])
    elif cmd == "sqlite-info":
        sqlite_info(args[0])
    elif cmd == "cold":
        cold(args[0], args[1])
    elif cmd == "check-sql":
        check_sql(args[0])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
