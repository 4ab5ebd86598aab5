#!/usr/bin/env python3
"""Report of bench/pool.sh: reads the files it left in its temp dir and prints the
tables. Usage: pool_report.py WORK CANDIDATES TARGET_SEED_S TARGET_PG_MS TARGET_SQLITE_MS
MACHINE PG_VERSION SQLITE_VERSION LOAD ERRORS"""

import os
import re
import sys

work, candidates, target_seed, t_pg, t_sq, machine, pg_ver, sq_ver, load, errors = sys.argv[1:11]
target_seed = float(target_seed)
targets = {"postgres": float(t_pg), "sqlite": float(t_sq)}
errors = int(errors)
FILTERS = {}
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pool_sql import FILTERS as F  # noqa: E402

for key, qs, _ in F:
    FILTERS[key] = qs


def read(name):
    path = os.path.join(work, name)
    return open(path).read().splitlines() if os.path.exists(path) else []


def kv(line):
    return dict(m.groups() for m in re.finditer(r"(\w+)=(\S+)", line))


seeds = [l.split() for l in read("seed.tsv") if l.strip()]
http = {}
for l in read("http.tsv"):
    db, key, rest = l.split(" ", 2)
    http[(db, key)] = kv(rest)
cold = {}
for db in ("postgres", "sqlite"):
    for l in read(f"cold-{db}.tsv"):
        key, ms, status, total, items = l.split("\t")
        cold[(db, key)] = (ms, status, total, items)
plans = {}
for l in read("plans.tsv"):
    f = l.split("\t")
    db, stage, key, query, result, exec_ms, sql_ms, kind, summary, first_ms, first_summary = f
    plans[(db, stage, key, query)] = dict(result=result, exec_ms=float(exec_ms), sql_ms=float(sql_ms),
                                          kind=kind, summary=summary, first_ms=float(first_ms),
                                          first_summary=first_summary)
dbs = [db for db in ("postgres", "sqlite") if any(k[0] == db for k in http) or any(s[0] == db for s in seeds)]


def compact(summary, db):
    """The access paths of a plan summary, without row counts: which indexes it uses."""
    if db == "sqlite":
        parts = []
        for p in summary.split(" | "):
            p = re.sub(r"^(SEARCH|SCAN) (\w+) ", r"\1 ", p)
            p = p.replace("USING INTEGER PRIMARY KEY (rowid=?)", "rowid")
            if p.startswith(("SEARCH", "SCAN", "TEMP B-TREE")):
                parts.append(p)
        return " + ".join(parts)
    parts = []
    for p in summary.split(" | "):
        p = re.sub(r" r=\d+", "", p)
        if p.startswith(("Idx", "BmpIdx", "Seq", "ParSeq", "IdxOnly")) or p in ("Sort", "HashAggregate"):
            parts.append(p)
    parts = [re.sub(r" \[plan changed after 5 runs\]", "", p) for p in parts]
    tail = " [generic after 5]" if "plan changed" in summary else ""
    return " + ".join(parts) + tail


out = []
w = out.append
w("")
w(f"=== Talent Pool pool-query benchmark: {int(candidates):,} candidates ===")
w(f"machine: {machine}")
if pg_ver:
    w(f"postgres: {pg_ver}")
if sq_ver:
    w(f"sqlite: {sq_ver}")
w(f"load: {load}")
w("")
w(f"Seeding (talentpool seed --candidates {candidates}; target < {target_seed:.0f} s)")
w(f"  {'DB':<9} {'rows':>9} {'seed_s':>7} {'rows/s':>7} {'wall_s':>7}  {'target':<8} CPU % of one core during the seed: seed process / PostgreSQL / others")
for db, n, secs, rate, wall, c_seed, c_pg, c_oth in seeds:
    met = "MET" if float(secs) < target_seed else "not met"
    w(f"  {db:<9} {int(n):>9} {float(secs):>7.1f} {rate:>7} {float(wall):>7.1f}  {met:<8} {c_seed} / {c_pg if db == 'postgres' else '-'} / {c_oth}")
w("  (seed_s: as the command reports it; wall_s: the whole command incl. connecting and migrations)")
w("")
w("HTTP: GET /api/v1/candidates?<filter>&limit=50 (first page + total, counted up to 10,000; 1,000 with q); cold = first request of the")
w("filter on a freshly started app; p50/p95/p99 under load; target p95 < 50 ms (PostgreSQL), < 150 ms (SQLite)")
hdr = (f"  {'DB':<9} {'filter':<66} {'total':>7} {'cold':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'req/s':>7} {'target':<8} "
       f"{'cpu app/pg/oth':<15}")
w(hdr)
w("  " + "-" * (len(hdr) - 2))
other_busy = False
for db in dbs:
    for key, qs in FILTERS.items():
        h = http.get((db, key))
        if not h:
            continue
        c = cold.get((db, key), ("-", "-", "-", "-"))
        p95 = float(h["p95_ms"])
        ok = int(h["non200"]) == 0 and sum(int(h[k]) for k in ("connect_err", "read_err", "write_err", "timeouts")) == 0
        met = ("MET" if p95 < targets[db] else "not met") if ok else "ERRORS"
        cpu = f"{h['cpu_app']}/{h['cpu_pg'] if db == 'postgres' else '-'}/{h['cpu_other']}"
        if int(h["cpu_other"]) > 25:
            other_busy = True
        w(f"  {db:<9} {key + ') ' + qs:<66} {c[2]:>7} {float(c[0]) if c[0] != '-' else 0:>7.1f} {float(h['p50_ms']):>7.1f} "
          f"{p95:>7.1f} {float(h['p99_ms']):>7.1f} {float(h['rps']):>7.1f} {met:<8} {cpu:<15}")
w("  (ms; cpu = % of one core used by the app / PostgreSQL / every other process during the measured load)")
if other_busy:
    w("  WARNING: other processes used more than 25 % of a core during some filters: those figures are depressed")
w("")
w("Where the time goes: the SQL of each request, run directly (after ANALYZE), and its plan")
w("  PostgreSQL: ms = EXPLAIN (ANALYZE) execution time of the plan the app's prepared statement settles on")
w("  (after 5 executions PostgreSQL may switch to a generic plan); SQLite: median wall time of the query")
w("  through apsw incl. fetching the rows. Full plans: plans/<db>/<filter>-<page|count>.txt (KEEP=1).")
for db in dbs:
    w(f"  {db:<9} {'':<2} {'page ms':>8}  {'page plan (index used)':<62} {'count ms':>8}  count plan (index used)")
    for key in FILTERS:
        pg = plans.get((db, "after", key, "page"))
        ct = plans.get((db, "after", key, "count"))
        if not pg or not ct:
            continue
        w(f"  {db:<9} {key + ')':<2} {pg['exec_ms']:>8.1f}  {compact(pg['summary'], db):<62} {ct['exec_ms']:>8.1f}  {compact(ct['summary'], db)}")
    w("")
w("Plans in detail (r = actual rows out of that node; after ANALYZE; steady-state plan)")
for db in dbs:
    for key in FILTERS:
        for q in ("page", "count"):
            p = plans.get((db, "after", key, q))
            if p:
                extra = f", {p['kind']} plan" if db == "postgres" else ""
                w(f"  {db:<9} {key}) {q:<5} {p['exec_ms']:>8.1f} ms{extra}: {p['summary']}")
w("")
w("Does ANALYZE matter? The same SQL right after seeding (no statistics), on SQLite also after the")
w("app's first start (apalis runs PRAGMA optimize, which analyzes with a row limit), and after ANALYZE")
w("  (PostgreSQL: the 1st execution, a custom plan, each time; SQLite: median of the runs)")
w(f"  {'DB':<9} {'q':<9} {'seeded':>8} {'1st start':>9} {'ANALYZE':>8}  plan as seeded -> (after the app's start ->) after ANALYZE")
for db in dbs:
    for key in FILTERS:
        for q in ("page", "count"):
            stages = [plans.get((db, st, key, q)) for st in ("before", "appstart", "after")]
            if not stages[0] or not stages[2]:
                continue
            ms = [("-" if p is None else f"{(p['first_ms'] if db == 'postgres' else p['exec_ms']):.1f}") for p in stages]
            names = [compact(p["first_summary"], db) for p in stages if p]
            uniq = [n for i, n in enumerate(names) if i == 0 or n != names[i - 1]]
            w(f"  {db:<9} {key + ') ' + q:<9} {ms[0]:>8} {ms[1]:>9} {ms[2]:>8}  "
              + ("  ->  ".join(uniq) if len(uniq) > 1 else uniq[0] + "  (same plan)"))
w("")
ddl = [l.split("\t") for l in read("ddl.tsv") if l.strip()]
if ddl:
    w("Proposed indexes and rewrites, tried on the benchmark's copy after the load (the app does not have them)")
    w("  Build time on this data:")
    for db, _tag, ms, sql, why in ddl:
        w(f"  {db:<9} {float(ms) / 1000:>6.1f} s  {sql}   -- {why}")
    w("  Effect on the direct SQL (ms as above; 'app SQL' = unchanged statements, now with the indexes;")
    w("  in = campaign as IN (subquery) instead of EXISTS; exact = the count without its cap;")
    w("  fts = free text via an FTS5 trigram table):")
    variants = ["indexed", "in", "exact", "fts", "fts+exact"]
    for db in dbs:
        for key in FILTERS:
            for q in ("page", "count"):
                now = plans.get((db, "after", key, q))
                if not now:
                    continue
                cells = []
                for v in variants:
                    p = plans.get((db, v, key, q))
                    if p:
                        label = "app SQL" if v == "indexed" else v
                        res = f" total={p['result']}" if q == "count" and v != "indexed" else ""
                        cells.append(f"{label} {p['exec_ms']:.1f}{res} [{compact(p['summary'], db)}]")
                if cells:
                    w(f"  {db:<9} {key}) {q:<5} now {now['exec_ms']:.1f}  ->  " + ";  ".join(cells))
    w("")
mism = []
for db in dbs:
    for key in FILTERS:
        c = cold.get((db, key))
        p = plans.get((db, "after", key, "count"))
        direct = p and p["result"]
        if c and direct and direct.isdigit() and c[2].endswith("+") and int(direct) > int(c[2][:-1]):
            direct = c[2]  # the app's count stops at its cap + 1 and says "more than cap"
        if c and p and c[2] != direct:
            mism.append(f"{db} {key}: API total {c[2]} vs direct COUNT {p['result']}")
if mism:
    w("Totals: the API's total differs from the direct count of the reconstructed SQL: " + "; ".join(mism))
    errors += 1
else:
    w("Totals: the API's total equals the direct COUNT of the reconstructed SQL for every filter.")
w("")
w("Notes:")
for l in read("notes.txt"):
    w("  " + l)
w("")
w("RESULT: " + ("every request answered 200, no socket errors, totals consistent" if errors == 0
                else f"{errors} problem(s): see the lines above (logs in the temp dir with KEEP=1)"))
print("\n".join(out))
