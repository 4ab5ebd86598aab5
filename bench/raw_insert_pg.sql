-- pgbench script for bench/signups.sh: one single-row INSERT, shaped like a small
-- candidate row, per transaction (autocommit). Run with: pgbench -n -M prepared -f THIS
INSERT INTO bench_raw_candidates
  (email, full_name, residence_country, profession_code, years_experience, english_level,
   norwegian_level, eu_status, consent_pool, consent_share, consent_newsletter,
   last_active_at, created_at, updated_at)
VALUES
  (gen_random_uuid()::text || '@raw.test', 'Bench Candidate', 'PL', '2512', 5, 'B2',
   'none', 'eu', true, true, false, now(), now(), now());
