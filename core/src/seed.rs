//! `talentpool seed --candidates N`: realistic fake candidates for demos and benchmarks,
//! inserted in bulk. Every run uses its own email prefix, so it is safe to run while
//! the app serves.

use chrono::{Duration, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    DatabaseConnection, EntityTrait, QueryOrder,
};

use crate::{
    Error, Result,
    config::Settings,
    consents::{self, Kind},
    domain::{Country, EuStatus, LanguageLevel},
    entities::{campaign, candidate, citizenship, consent, signup},
    professions::Catalog,
};

/// Rows per INSERT statement (well below both databases' bind-parameter limits).
const CHUNK: usize = 1000;

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

/// Inserts `count` confirmed candidates with consents; returns how many were inserted.
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
    let texts = consents::current_texts(db, "en").await?;
    let run: String = format!("{:06x}", rand::rng().random_range(0..0xff_ffffu32));
    let mut rng = StdRng::from_os_rng();
    let now = Utc::now();
    let mut inserted = 0u64;
    while inserted < count {
        let n = (count - inserted).min(CHUNK as u64) as usize;
        let mut rows = Vec::with_capacity(n);
        let mut extra = Vec::with_capacity(n);
        for i in 0..n {
            let serial = inserted + i as u64;
            let first = *FIRST.choose(&mut rng).unwrap_or(&"Alex");
            let last = *LAST.choose(&mut rng).unwrap_or(&"Smith");
            let home = *COUNTRIES.choose(&mut rng).unwrap_or(&"PL");
            let second = rng
                .random_bool(0.12)
                .then(|| *COUNTRIES.choose(&mut rng).unwrap_or(&"PL"))
                .filter(|c| *c != home);
            let countries: Vec<Country> = std::iter::once(home)
                .chain(second)
                .filter_map(Country::parse)
                .collect();
            let created_at = now - Duration::minutes(rng.random_range(0..525_600));
            let share = rng.random_bool(0.7);
            let newsletter = rng.random_bool(0.6);
            let has_partner = rng.random_bool(0.4);
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
            rows.push(candidate::ActiveModel {
                id: NotSet,
                email: Set(format!(
                    "{}.{}.{run}{serial}@seed.example",
                    ascii(first),
                    ascii(last)
                )),
                full_name: Set(format!("{first} {last}")),
                residence_country: Set(if rng.random_bool(0.85) { home } else { "NO" }.to_owned()),
                profession_code: Set(professions.choose(&mut rng).cloned().unwrap_or_default()),
                years_experience: Set(rng.random_range(0..=30)),
                english_level: Set(level(&mut rng, &[2, 3, 5, 15, 30, 30, 15]).to_owned()),
                norwegian_level: Set(level(&mut rng, &[60, 15, 10, 7, 5, 2, 1]).to_owned()),
                linkedin_url: Set(None),
                phone: Set(None),
                education_level: Set(Some(
                    ["vocational", "bachelor", "master", "doctorate"][rng.random_range(0..4)]
                        .to_owned(),
                )),
                work_permit_norway: Set(rng.random_bool(0.05)),
                has_partner: Set(has_partner),
                partner_profession: Set(has_partner.then(|| "Teacher".to_owned())),
                cv_key: Set(None),
                eu_status: Set(EuStatus::from_citizenships(&countries).as_str().to_owned()),
                consent_pool: Set(true),
                consent_share: Set(share),
                consent_newsletter: Set(newsletter),
                confirmed_at: Set(Some(created_at + Duration::minutes(20))),
                suppressed_at: Set(None),
                last_active_at: Set(created_at),
                created_at: Set(created_at),
                updated_at: Set(created_at),
            });
            extra.push((countries, created_at, share, newsletter));
        }
        let txn = crate::db::begin_write(db).await?;
        let ids = candidate::Entity::insert_many(rows)
            .exec_with_returning_keys(&txn)
            .await?;
        if ids.len() != n {
            return Err(Error::Invalid(
                "the database returned fewer ids than rows".into(),
            ));
        }
        let mut citizenships = Vec::with_capacity(n * 2);
        let mut signups = Vec::with_capacity(n);
        let mut grants = Vec::with_capacity(n * 3);
        for (id, (countries, created_at, share, newsletter)) in ids.iter().zip(extra) {
            for c in countries {
                citizenships.push(citizenship::ActiveModel {
                    candidate_id: Set(*id),
                    country: Set(c.code().to_owned()),
                });
            }
            signups.push(signup::ActiveModel {
                id: NotSet,
                campaign_id: Set(campaign.id),
                candidate_id: Set(*id),
                kind: Set("new".into()),
                pending_answers: Set(None),
                applied_at: Set(None),
                source: Set("seed".into()),
                utm_source: Set(Some(
                    ["linkedin", "facebook", "partner", "newsletter"][(*id % 4) as usize].into(),
                )),
                utm_medium: Set(None),
                utm_campaign: Set(None),
                utm_term: Set(None),
                utm_content: Set(None),
                referrer: Set(None),
                created_at: Set(created_at),
            });
            for (kind, given) in [
                (Kind::Pool, true),
                (Kind::Share, share),
                (Kind::Newsletter, newsletter),
            ] {
                if given {
                    grants.push(consent::ActiveModel {
                        id: NotSet,
                        candidate_id: Set(*id),
                        kind: Set(kind.as_str().to_owned()),
                        consent_text_id: Set(texts.get(kind).id),
                        granted_at: Set(created_at),
                        granted_source: Set("seed".into()),
                        withdrawn_at: Set(None),
                        withdrawn_source: Set(None),
                    });
                }
            }
        }
        citizenship::Entity::insert_many(citizenships)
            .exec_without_returning(&txn)
            .await?;
        signup::Entity::insert_many(signups)
            .exec_without_returning(&txn)
            .await?;
        consent::Entity::insert_many(grants)
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        inserted += n as u64;
        progress(inserted);
    }
    Ok(inserted)
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
