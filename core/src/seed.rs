//! `talentpool seed --candidates N`: realistic fake candidates for demos and benchmarks,
//! inserted in bulk. Every run uses its own email prefix, so it is safe to run while
//! the app serves.

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use sea_orm::{DatabaseConnection, DbBackend, EntityTrait, QueryOrder, sqlx};

use crate::{
    Error, Result,
    config::Settings,
    consents::{self, CurrentTexts, Kind},
    domain::{Country, EuStatus, LanguageLevel},
    entities::campaign,
    professions::Catalog,
};

/// Candidates per transaction (and per statement on PostgreSQL).
const CHUNK: usize = 10_000;
/// Rows per multi-row INSERT on SQLite (below its 32,766 bind-parameter limit).
const SQLITE_ROWS: usize = 100;
const YEAR_SECONDS: u64 = 365 * 24 * 3600;

const COUNTRIES: &[&str] = &[
    // EU/EEA/EFTA
    "PL", "DE", "ES", "IT", "PT", "FR", "NL", "SE", "DK", "FI", "IE", "RO", "GR", "HU", "CZ", "LT",
    "LV", "EE", "HR", "SK", "SI", "BG", "AT", "BE", "CH", "IS", // elsewhere
    "IN", "BR", "US", "GB", "UA", "TR", "PK", "NG", "PH", "VN", "ID", "EG", "MX", "AR", "CO", "CL",
    "ZA", "KE", "GH", "MA", "TN", "IR", "BD", "LK", "NP", "CN", "JP", "KR", "AU", "NZ", "CA", "RS",
    "BA", "GE", "AM", "KZ", "BY", "MY", "TH", "ET",
];
const FIRST: &[&str] = &[
    "Ana", "Piotr", "Priya", "Lucas", "Sofia", "Mateo", "Olena", "Ahmed", "Yuki", "Chloé", "Lars",
    "Amara", "Diego", "Fatima", "Tomasz", "Ingrid", "Ravi", "Elena", "Kwame", "Mei",
];
const LAST: &[&str] = &[
    "Kowalski", "Silva", "Sharma", "García", "Rossi", "Nguyen", "Müller", "Okafor", "Tanaka",
    "Dubois", "Hansen", "Petrova", "Khan", "Santos", "Novak", "Haddad", "Jensen", "Costa",
];

/// One chunk of generated candidates, column by column, as the bulk inserts bind them.
#[derive(Default)]
struct Chunk {
    id: Vec<i64>,
    email: Vec<String>,
    full_name: Vec<String>,
    residence_country: Vec<&'static str>,
    profession_code: Vec<String>,
    years_experience: Vec<i16>,
    english_level: Vec<&'static str>,
    norwegian_level: Vec<&'static str>,
    education_level: Vec<&'static str>,
    work_permit_norway: Vec<bool>,
    has_partner: Vec<bool>,
    partner_profession: Vec<Option<&'static str>>,
    eu_status: Vec<&'static str>,
    consent_share: Vec<bool>,
    consent_newsletter: Vec<bool>,
    confirmed_at: Vec<DateTime<Utc>>,
    created_at: Vec<DateTime<Utc>>,
    citizenships: Vec<Vec<&'static str>>,
}

/// The rows that hang off a chunk's candidates once their ids are known.
#[derive(Default)]
struct Related {
    citizenship_candidate: Vec<i64>,
    citizenship_country: Vec<&'static str>,
    signup_candidate: Vec<i64>,
    signup_utm_source: Vec<&'static str>,
    signup_created_at: Vec<DateTime<Utc>>,
    consent_candidate: Vec<i64>,
    consent_kind: Vec<&'static str>,
    consent_text: Vec<i64>,
    consent_granted_at: Vec<DateTime<Utc>>,
}

/// The fixed values every seeded row refers to.
struct Context {
    campaign_id: i64,
    texts: CurrentTexts,
}

/// Inserts `count` confirmed candidates with consents, then refreshes the planner's
/// statistics; returns how many were inserted. Rows go in with few, large statements
/// (PostgreSQL: `INSERT … SELECT FROM UNNEST` of whole columns; SQLite: one prepared
/// multi-row `INSERT` reused in a large transaction), since the ORM's per-row
/// statement building dominated the time at a million rows.
pub async fn seed(
    db: &DatabaseConnection,
    settings: &Settings,
    catalog: &Catalog,
    count: u64,
    mut progress: impl FnMut(u64),
) -> Result<u64> {
    if !settings.is_development() {
        return Err(Error::Invalid(
            "seed refuses to run with APP_ENV=production".into(),
        ));
    }
    let campaign = campaign::Entity::find()
        .order_by_asc(campaign::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| Error::Invalid("seed needs a campaign; none exists".into()))?;
    let professions: Vec<String> = catalog
        .groups()
        .iter()
        .flat_map(|g| g.professions.iter().map(|p| p.code.clone()))
        .collect();
    if professions.is_empty() {
        return Err(Error::Invalid("seed needs the profession list".into()));
    }
    let context = Context {
        campaign_id: campaign.id,
        texts: consents::current_texts(db, "en").await?,
    };
    let run: String = format!("{:06x}", rand::rng().random_range(0..0xff_ffffu32));
    let mut rng = StdRng::from_os_rng();
    let now = Utc::now();
    let backend = db.get_database_backend();
    let mut inserted = 0u64;
    while inserted < count {
        let n = (count - inserted).min(CHUNK as u64) as usize;
        let mut chunk = generate(&mut rng, &professions, &run, (inserted, count), n, now);
        if backend == DbBackend::Postgres {
            // Two transactions at a time on two connections: PostgreSQL maintains the
            // indexes (the trigram ones most of all) in the backend that inserts, so
            // one connection would leave the second core idle.
            let m = (count - inserted - n as u64).min(CHUNK as u64) as usize;
            let mut next = generate(
                &mut rng,
                &professions,
                &run,
                (inserted + n as u64, count),
                m,
                now,
            );
            tokio::try_join!(
                insert_postgres(db, &context, &mut chunk),
                insert_postgres(db, &context, &mut next)
            )?;
            inserted += (n + m) as u64;
        } else {
            // SQLite has one writer at a time.
            insert_sqlite(db, &context, &mut chunk).await?;
            inserted += n as u64;
        }
        progress(inserted);
    }
    crate::db::analyze(db).await?;
    Ok(inserted)
}

fn generate(
    rng: &mut StdRng,
    professions: &[String],
    run: &str,
    (offset, count): (u64, u64),
    n: usize,
    now: DateTime<Utc>,
) -> Chunk {
    let level = |rng: &mut StdRng, weights: &[u32; 7]| {
        let total: u32 = weights.iter().sum();
        let mut pick = rng.random_range(0..total);
        for (level, w) in LanguageLevel::ALL.iter().zip(weights) {
            if pick < *w {
                return level.code();
            }
            pick -= w;
        }
        "none"
    };
    let mut c = Chunk::default();
    for i in 0..n {
        let serial = offset + i as u64;
        let first = *FIRST.choose(rng).unwrap_or(&"Alex");
        let last = *LAST.choose(rng).unwrap_or(&"Smith");
        let home = *COUNTRIES.choose(rng).unwrap_or(&"PL");
        let second = rng
            .random_bool(0.12)
            .then(|| *COUNTRIES.choose(rng).unwrap_or(&"PL"))
            .filter(|c| *c != home);
        let countries: Vec<&'static str> = std::iter::once(home)
            .chain(second)
            .filter(|code| Country::parse(code).is_some())
            .collect();
        let parsed: Vec<Country> = countries.iter().filter_map(|c| Country::parse(c)).collect();
        // Sign-ups spread over the past year in the order of their ids, as real ones
        // arrive (a minute of jitter): the indexes on dates then grow at their ends
        // instead of taking every row at a random place, which keeps the load fast.
        let age = YEAR_SECONDS * (count - serial) / count.max(1);
        let created_at = now - Duration::seconds((age + rng.random_range(0..60)) as i64);
        let has_partner = rng.random_bool(0.4);
        c.email.push(format!(
            "{}.{}.{run}{serial}@seed.example",
            ascii(first),
            ascii(last)
        ));
        c.full_name.push(format!("{first} {last}"));
        c.residence_country
            .push(if rng.random_bool(0.85) { home } else { "NO" });
        c.profession_code
            .push(professions.choose(rng).cloned().unwrap_or_default());
        c.years_experience.push(rng.random_range(0..=30));
        c.english_level.push(level(rng, &[2, 3, 5, 15, 30, 30, 15]));
        c.norwegian_level
            .push(level(rng, &[60, 15, 10, 7, 5, 2, 1]));
        c.education_level
            .push(["vocational", "bachelor", "master", "doctorate"][rng.random_range(0..4)]);
        c.work_permit_norway.push(rng.random_bool(0.05));
        c.has_partner.push(has_partner);
        c.partner_profession.push(has_partner.then_some("Teacher"));
        c.eu_status
            .push(EuStatus::from_citizenships(&parsed).as_str());
        c.consent_share.push(rng.random_bool(0.7));
        c.consent_newsletter.push(rng.random_bool(0.6));
        c.confirmed_at.push(created_at + Duration::minutes(20));
        c.created_at.push(created_at);
        c.citizenships.push(countries);
    }
    c
}

impl Chunk {
    fn related(&self, context: &Context) -> Related {
        let mut r = Related::default();
        for (i, &id) in self.id.iter().enumerate() {
            for country in &self.citizenships[i] {
                r.citizenship_candidate.push(id);
                r.citizenship_country.push(country);
            }
            r.signup_candidate.push(id);
            r.signup_utm_source
                .push(["linkedin", "facebook", "partner", "newsletter"][(id % 4) as usize]);
            r.signup_created_at.push(self.created_at[i]);
            for (kind, given) in [
                (Kind::Pool, true),
                (Kind::Share, self.consent_share[i]),
                (Kind::Newsletter, self.consent_newsletter[i]),
            ] {
                if given {
                    r.consent_candidate.push(id);
                    r.consent_kind.push(kind.as_str());
                    r.consent_text.push(context.texts.get(kind).id);
                    r.consent_granted_at.push(self.created_at[i]);
                }
            }
        }
        r
    }
}

async fn insert_postgres(
    db: &DatabaseConnection,
    context: &Context,
    chunk: &mut Chunk,
) -> Result<()> {
    if chunk.email.is_empty() {
        return Ok(());
    }
    let pool = db.get_postgres_connection_pool();
    let mut tx = pool.begin().await.map_err(crate::db::sqlx_error)?;
    // Ids from the table's own sequence, so concurrent sign-ups never collide.
    chunk.id = sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('candidates', 'id')) FROM generate_series(1, $1)",
    )
    .bind(chunk.email.len() as i64)
    .fetch_all(&mut *tx)
    .await
    .map_err(crate::db::sqlx_error)?;
    sqlx::query(
        "INSERT INTO candidates (id, email, full_name, residence_country, profession_code, \
         years_experience, english_level, norwegian_level, education_level, \
         work_permit_norway, has_partner, partner_profession, eu_status, consent_pool, \
         consent_share, consent_newsletter, confirmed_at, last_active_at, created_at, \
         updated_at) \
         SELECT id, email, full_name, residence_country, profession_code, \
         years_experience, english_level, norwegian_level, education_level, \
         work_permit_norway, has_partner, partner_profession, eu_status, TRUE, \
         consent_share, consent_newsletter, confirmed_at, created_at, created_at, created_at \
         FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::int2[], $7::text[], $8::text[], $9::text[], $10::bool[], $11::bool[], \
         $12::text[], $13::text[], $14::bool[], $15::bool[], $16::timestamptz[], \
         $17::timestamptz[]) AS t(id, email, full_name, residence_country, \
         profession_code, years_experience, english_level, norwegian_level, \
         education_level, work_permit_norway, has_partner, partner_profession, eu_status, \
         consent_share, consent_newsletter, confirmed_at, created_at)",
    )
    .bind(&chunk.id)
    .bind(&chunk.email)
    .bind(&chunk.full_name)
    .bind(&chunk.residence_country)
    .bind(&chunk.profession_code)
    .bind(&chunk.years_experience)
    .bind(&chunk.english_level)
    .bind(&chunk.norwegian_level)
    .bind(&chunk.education_level)
    .bind(&chunk.work_permit_norway)
    .bind(&chunk.has_partner)
    .bind(&chunk.partner_profession)
    .bind(&chunk.eu_status)
    .bind(&chunk.consent_share)
    .bind(&chunk.consent_newsletter)
    .bind(&chunk.confirmed_at)
    .bind(&chunk.created_at)
    .execute(&mut *tx)
    .await
    .map_err(crate::db::sqlx_error)?;
    let r = chunk.related(context);
    sqlx::query(
        "INSERT INTO candidate_citizenships (candidate_id, country) \
         SELECT * FROM UNNEST($1::int8[], $2::text[])",
    )
    .bind(&r.citizenship_candidate)
    .bind(&r.citizenship_country)
    .execute(&mut *tx)
    .await
    .map_err(crate::db::sqlx_error)?;
    sqlx::query(
        "INSERT INTO signups (campaign_id, candidate_id, kind, source, utm_source, created_at) \
         SELECT $1, c, 'new', 'seed', u, t \
         FROM UNNEST($2::int8[], $3::text[], $4::timestamptz[]) AS x(c, u, t)",
    )
    .bind(context.campaign_id)
    .bind(&r.signup_candidate)
    .bind(&r.signup_utm_source)
    .bind(&r.signup_created_at)
    .execute(&mut *tx)
    .await
    .map_err(crate::db::sqlx_error)?;
    sqlx::query(
        "INSERT INTO consents (candidate_id, kind, consent_text_id, granted_at, granted_source) \
         SELECT c, k, t, g, 'seed' \
         FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::timestamptz[]) AS x(c, k, t, g)",
    )
    .bind(&r.consent_candidate)
    .bind(&r.consent_kind)
    .bind(&r.consent_text)
    .bind(&r.consent_granted_at)
    .execute(&mut *tx)
    .await
    .map_err(crate::db::sqlx_error)?;
    tx.commit().await.map_err(crate::db::sqlx_error)
}

/// `INSERT INTO table (columns) VALUES (?, …), …` for `rows` rows.
fn values_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let row = format!("({})", vec!["?"; columns.len()].join(", "));
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        vec![row.as_str(); rows].join(", ")
    )
}

/// Inserts the rows `0..total`, each bound by the closure-like `|q, i|` expression, in
/// statements of at most `SQLITE_ROWS` rows; sqlx's per-connection statement cache
/// prepares the full-size statement once and reuses it.
macro_rules! sqlite_rows {
    ($tx:expr, $table:expr, $columns:expr, $total:expr, |$q:ident, $i:ident| $bind:expr) => {{
        let total: usize = $total;
        let mut start = 0;
        while start < total {
            let rows = (total - start).min(SQLITE_ROWS);
            let sql = values_sql($table, $columns, rows);
            let mut $q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for $i in start..start + rows {
                $q = $bind;
            }
            $q.execute(&mut *$tx).await.map_err(crate::db::sqlx_error)?;
            start += rows;
        }
    }};
}

async fn insert_sqlite(
    db: &DatabaseConnection,
    context: &Context,
    chunk: &mut Chunk,
) -> Result<()> {
    let pool = db.get_sqlite_connection_pool();
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(crate::db::sqlx_error)?;
    // A large page cache on the connection the seed writes through: the indexes of a
    // million rows are updated in random order.
    sqlx::query("PRAGMA cache_size = -262144")
        .execute(&mut *tx)
        .await
        .map_err(crate::db::sqlx_error)?;
    // Ids after the highest ever given (the table is AUTOINCREMENT); the write lock is
    // held, so no sign-up can take them meanwhile.
    let last: i64 = sqlx::query_scalar(
        "SELECT MAX(COALESCE((SELECT MAX(id) FROM candidates), 0), \
         COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'candidates'), 0))",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(crate::db::sqlx_error)?;
    chunk.id = (last + 1..=last + chunk.email.len() as i64).collect();
    let c = &*chunk;
    sqlite_rows!(
        tx,
        "candidates",
        &[
            "id",
            "email",
            "full_name",
            "residence_country",
            "profession_code",
            "years_experience",
            "english_level",
            "norwegian_level",
            "education_level",
            "work_permit_norway",
            "has_partner",
            "partner_profession",
            "eu_status",
            "consent_pool",
            "consent_share",
            "consent_newsletter",
            "confirmed_at",
            "last_active_at",
            "created_at",
            "updated_at",
        ],
        c.id.len(),
        |q, i| q
            .bind(c.id[i])
            .bind(c.email[i].as_str())
            .bind(c.full_name[i].as_str())
            .bind(c.residence_country[i])
            .bind(c.profession_code[i].as_str())
            .bind(c.years_experience[i])
            .bind(c.english_level[i])
            .bind(c.norwegian_level[i])
            .bind(c.education_level[i])
            .bind(c.work_permit_norway[i])
            .bind(c.has_partner[i])
            .bind(c.partner_profession[i])
            .bind(c.eu_status[i])
            .bind(true)
            .bind(c.consent_share[i])
            .bind(c.consent_newsletter[i])
            .bind(c.confirmed_at[i])
            .bind(c.created_at[i])
            .bind(c.created_at[i])
            .bind(c.created_at[i])
    );
    let r = c.related(context);
    sqlite_rows!(
        tx,
        "candidate_citizenships",
        &["candidate_id", "country"],
        r.citizenship_candidate.len(),
        |q, i| q
            .bind(r.citizenship_candidate[i])
            .bind(r.citizenship_country[i])
    );
    sqlite_rows!(
        tx,
        "signups",
        &[
            "campaign_id",
            "candidate_id",
            "kind",
            "source",
            "utm_source",
            "created_at"
        ],
        r.signup_candidate.len(),
        |q, i| q
            .bind(context.campaign_id)
            .bind(r.signup_candidate[i])
            .bind("new")
            .bind("seed")
            .bind(r.signup_utm_source[i])
            .bind(r.signup_created_at[i])
    );
    sqlite_rows!(
        tx,
        "consents",
        &[
            "candidate_id",
            "kind",
            "consent_text_id",
            "granted_at",
            "granted_source"
        ],
        r.consent_candidate.len(),
        |q, i| q
            .bind(r.consent_candidate[i])
            .bind(r.consent_kind[i])
            .bind(r.consent_text[i])
            .bind(r.consent_granted_at[i])
            .bind("seed")
    );
    tx.commit().await.map_err(crate::db::sqlx_error)
}

fn ascii(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'é' => 'e',
            'ü' => 'u',
            'í' => 'i',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => 'x',
        })
        .collect()
}
