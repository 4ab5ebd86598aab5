"""Raw single-row insert ceiling for SQLite, for bench/signups.sh.

    python3 raw_insert_sqlite.py FILE SECONDS

One writer (SQLite allows one at a time), WAL and synchronous=NORMAL as the app uses,
one INSERT per transaction (autocommit), a table shaped like a small candidate row with
a unique email index. Prints: RAW rows=N seconds=S rows_per_s=R
"""

import os
import sqlite3
import sys
import time
import uuid

path, seconds = sys.argv[1], float(sys.argv[2])
for suffix in ("", "-wal", "-shm"):
    if os.path.exists(path + suffix):
        os.remove(path + suffix)

db = sqlite3.connect(path, isolation_level=None)  # autocommit: each INSERT commits
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.execute("PRAGMA busy_timeout=10000")
db.execute(
    """CREATE TABLE bench_raw_candidates (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT NOT NULL UNIQUE,
        full_name TEXT NOT NULL, residence_country TEXT NOT NULL,
        profession_code TEXT NOT NULL, years_experience INTEGER NOT NULL,
        english_level TEXT NOT NULL, norwegian_level TEXT NOT NULL, eu_status TEXT NOT NULL,
        consent_pool INTEGER NOT NULL, consent_share INTEGER NOT NULL,
        consent_newsletter INTEGER NOT NULL,
        last_active_at TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"""
)
sql = (
    "INSERT INTO bench_raw_candidates (email, full_name, residence_country, profession_code,"
    " years_experience, english_level, norwegian_level, eu_status, consent_pool,"
    " consent_share, consent_newsletter, last_active_at, created_at, updated_at)"
    " VALUES (?, 'Bench Candidate', 'PL', '2512', 5, 'B2', 'none', 'eu', 1, 1, 0, ?, ?, ?)"
)
prefix = uuid.uuid4().hex[:8]
rows = 0
start = time.perf_counter()
deadline = start + seconds
while True:
    for _ in range(200):
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        db.execute(sql, (f"raw-{prefix}-{rows}@raw.test", now, now, now))
        rows += 1
    if time.perf_counter() >= deadline:
        break
elapsed = time.perf_counter() - start
(stored,) = db.execute("SELECT COUNT(*) FROM bench_raw_candidates").fetchone()
db.close()
assert stored == rows, (stored, rows)
print(f"RAW rows={rows} seconds={elapsed:.3f} rows_per_s={rows / elapsed:.1f}")
