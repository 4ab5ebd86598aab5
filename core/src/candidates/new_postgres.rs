//! New candidates on PostgreSQL, in bulk: one statement writes every table, each with
//! an `INSERT … SELECT FROM UNNEST` of whole columns. Its text does not depend on how
//! many sign-ups there are, so it is parsed once per connection and then only bound
//! and executed (multi-row `VALUES` lists are parsed anew for every batch size), and a
//! batch costs one round trip and one commit instead of a round trip per table.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, sqlx};

use super::{NewSignup, given_consents};
use crate::{
    Result,
    db::sqlx_error,
    queue::{self, CANDIDATE_EMAIL_QUEUE, CandidateEmail},
};

/// Inserts a candidate, with citizenships, consents, sign-up and confirmation job, for
/// each sign-up whose address is not known yet, atomically; returns the ids of
/// the candidates inserted, by address. `signups` holds one sign-up per address.
pub(super) async fn insert(
    db: &DatabaseConnection,
    signups: &[&NewSignup],
    now: DateTime<Utc>,
) -> Result<HashMap<String, i64>> {
    if signups.is_empty() {
        return Ok(HashMap::new());
    }
    let pool = db.get_postgres_connection_pool();
    let text = |f: &dyn Fn(&NewSignup) -> Option<String>| -> Vec<Option<String>> {
        signups.iter().map(|s| f(s)).collect()
    };
    let flag =
        |f: &dyn Fn(&NewSignup) -> bool| -> Vec<bool> { signups.iter().map(|s| f(s)).collect() };
    let email = |s: &NewSignup| s.valid.email.to_string();

    let (mut cit_email, mut cit_country) = (Vec::new(), Vec::new());
    let (mut con_email, mut con_kind, mut con_language, mut con_source) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for signup in signups {
        for country in &signup.valid.citizenships {
            cit_email.push(email(signup));
            cit_country.push(country.code());
        }
        for (kind, _) in given_consents(&signup.valid).filter(|(_, given)| *given) {
            con_email.push(email(signup));
            con_kind.push(kind.as_str());
            con_language.push(super::CONSENT_LANGUAGE);
            con_source.push(signup.channel);
        }
    }
    let sources: Vec<_> = signups
        .iter()
        .map(|s| s.source.clone().normalised())
        .collect();
    let utm = |f: &dyn Fn(&super::SignupSource) -> Option<String>| -> Vec<Option<String>> {
        sources.iter().map(f).collect()
    };
    // The confirmation job's payload holds the candidate's id, known only in the
    // statement: its JSON is written around the id there.
    let (payload_head, payload_tail) =
        queue::payload_around_id(|candidate_id| CandidateEmail::ConfirmSignup { candidate_id })?;
    let job_ids: Vec<String> = signups.iter().map(|_| queue::new_job_id()).collect();
    // One statement, so one round trip and one commit: the candidates whose address is
    // new, and for exactly those (matched by address) their citizenships, consents
    // (under the texts current at that moment: a missing text leaves the id NULL,
    // which the column refuses), sign-up and confirmation job. Foreign keys are checked at the end of the
    // statement, when the candidates are there.
    //
    // apalis's trigger sends a notification per job whose `run_at` is not after the
    // transaction's start: one per sign-up, each waking every worker to look for jobs,
    // and all of them serialised at commit. The jobs are due from `clock_timestamp()`
    // instead (a moment after the start, so the trigger stays quiet), and the batch
    // sends one notification of apalis's shape for all of them.
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "WITH c AS ( \
           INSERT INTO candidates (email, full_name, residence_country, profession_code, \
             years_experience, english_level, norwegian_level, linkedin_url, phone, \
             education_level, work_permit_norway, has_partner, partner_profession, cv_key, \
             eu_status, consent_pool, consent_share, consent_newsletter, last_active_at, \
             created_at, updated_at) \
           SELECT t.*, $19, $19, $19 FROM UNNEST($1::text[], $2::text[], $3::text[], \
             $4::text[], $5::int2[], $6::text[], $7::text[], $8::text[], $9::text[], \
             $10::text[], $11::bool[], $12::bool[], $13::text[], $14::text[], $15::text[], \
             $16::bool[], $17::bool[], $18::bool[]) AS t \
           ON CONFLICT (email) DO NOTHING RETURNING id, email \
         ), citizenships AS ( \
           INSERT INTO candidate_citizenships (candidate_id, country) \
           SELECT c.id, t.country FROM UNNEST($20::text[], $21::text[]) AS t(email, country) \
           JOIN c ON c.email = t.email \
         ), consents AS ( \
           INSERT INTO consents (candidate_id, kind, consent_text_id, granted_at, granted_source) \
           SELECT c.id, t.kind, (SELECT ct.id FROM consent_texts ct WHERE ct.kind = t.kind \
             AND ct.language = t.language ORDER BY ct.version DESC LIMIT 1), $19, t.source \
           FROM UNNEST($22::text[], $23::text[], $24::text[], $25::text[]) \
             AS t(email, kind, language, source) JOIN c ON c.email = t.email \
         ), signups AS ( \
           INSERT INTO signups (campaign_id, candidate_id, kind, source, utm_source, \
             utm_medium, utm_campaign, utm_term, utm_content, referrer, created_at) \
           SELECT t.campaign_id, c.id, 'new', t.source, t.utm_source, t.utm_medium, \
             t.utm_campaign, t.utm_term, t.utm_content, t.referrer, $19 \
           FROM UNNEST($1::text[], $26::int8[], $27::text[], $28::text[], $29::text[], \
             $30::text[], $31::text[], $32::text[], $33::text[]) AS t(email, campaign_id, \
             source, utm_source, utm_medium, utm_campaign, utm_term, utm_content, referrer) \
           JOIN c ON c.email = t.email \
         ), jobs AS ( \
           INSERT INTO apalis.jobs (id, job_type, job, status, attempts, max_attempts, \
             run_at, priority, metadata, idempotency_key) \
           SELECT t.id, $34, convert_to($36 || c.id || $37, 'UTF8'), 'Pending', 0, $35, \
             clock_timestamp(), 0, ''::hstore, NULL \
           FROM UNNEST($1::text[], $38::text[]) AS t(email, id) JOIN c ON c.email = t.email \
           RETURNING id \
         ) \
         SELECT id, email, (SELECT COUNT(pg_notify('apalis::job::insert', \
             json_build_object('job_type', $34, 'id', j.id, 'run_at', now())::text)) \
           FROM (SELECT id FROM jobs LIMIT 1) AS j) AS notified \
         FROM c",
    )
    .bind(text(&|s| Some(s.valid.email.to_string())))
    .bind(text(&|s| Some(s.valid.full_name.clone())))
    .bind(text(&|s| Some(s.valid.residence_country.code().to_owned())))
    .bind(text(&|s| Some(s.valid.profession.clone())))
    .bind(
        signups
            .iter()
            .map(|s| s.valid.years_experience)
            .collect::<Vec<i16>>(),
    )
    .bind(text(&|s| Some(s.valid.english_level.code().to_owned())))
    .bind(text(&|s| Some(s.valid.norwegian_level.code().to_owned())))
    .bind(text(&|s| s.valid.linkedin_url.clone()))
    .bind(text(&|s| {
        s.valid.phone.as_ref().map(|p| p.as_str().to_owned())
    }))
    .bind(text(&|s| {
        s.valid.education_level.map(|e| e.code().to_owned())
    }))
    .bind(flag(&|s| s.valid.work_permit_norway))
    .bind(flag(&|s| s.valid.has_partner))
    .bind(text(&|s| s.valid.partner_profession.clone()))
    .bind(text(&|s| s.cv_key.clone()))
    .bind(text(&|s| Some(s.valid.eu_status().as_str().to_owned())))
    .bind(flag(&|s| s.valid.consent_pool))
    .bind(flag(&|s| s.valid.consent_share))
    .bind(flag(&|s| s.valid.consent_newsletter))
    .bind(now)
    .bind(&cit_email)
    .bind(&cit_country)
    .bind(&con_email)
    .bind(&con_kind)
    .bind(&con_language)
    .bind(&con_source)
    .bind(signups.iter().map(|s| s.campaign_id).collect::<Vec<i64>>())
    .bind(signups.iter().map(|s| s.channel).collect::<Vec<&str>>())
    .bind(utm(&|s| s.utm_source.clone()))
    .bind(utm(&|s| s.utm_medium.clone()))
    .bind(utm(&|s| s.utm_campaign.clone()))
    .bind(utm(&|s| s.utm_term.clone()))
    .bind(utm(&|s| s.utm_content.clone()))
    .bind(utm(&|s| s.referrer.clone()))
    .bind(CANDIDATE_EMAIL_QUEUE)
    .bind(queue::MAX_ATTEMPTS)
    .bind(&payload_head)
    .bind(&payload_tail)
    .bind(&job_ids)
    .fetch_all(pool)
    .await
    .map_err(sqlx_error)?;
    Ok(rows.into_iter().map(|(id, email, _)| (email, id)).collect())
}
