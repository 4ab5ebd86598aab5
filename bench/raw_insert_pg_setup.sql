-- Scratch table for the raw-insert ceiling (same columns and unique email index as a
-- small `candidates` row). Created in the benchmark's own throw-away database.
CREATE TABLE IF NOT EXISTS bench_raw_candidates (
  id                 bigserial PRIMARY KEY,
  email              varchar NOT NULL UNIQUE,
  full_name          varchar(200) NOT NULL,
  residence_country  varchar(2) NOT NULL,
  profession_code    varchar(4) NOT NULL,
  years_experience   smallint NOT NULL,
  english_level      varchar(4) NOT NULL,
  norwegian_level    varchar(4) NOT NULL,
  eu_status          varchar(8) NOT NULL,
  consent_pool       boolean NOT NULL DEFAULT false,
  consent_share      boolean NOT NULL DEFAULT false,
  consent_newsletter boolean NOT NULL DEFAULT false,
  last_active_at     timestamptz NOT NULL,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL
);
