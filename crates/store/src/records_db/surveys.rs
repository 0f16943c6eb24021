//! Survey answers on SQLite.

use sqlx::Row;

use super::{check_limit, seal_opt, Records};
use crate::error::StoreError;
use crate::records::{CustomerId, FieldError};
use crate::survey_records::{CsatGroup, CsatRow, NewSurveyAnswer, SurveyAnswer, MAX_CSAT_GROUPS};

const COMMENT_FIELD: &str = "survey.comment";
/// What survey links are signed for (apart from tracking links).
const SURVEY_LINK_SIGNATURE: &str = "survey_link";
/// The longest survey token read.
const MAX_SURVEY_TOKEN_CHARS: usize = 200;

impl Records {
    /// A signed token for the survey of call `contact_id`, good until `expires_ms`: the
    /// permission of the customer's survey page (no login). One answer per call still holds.
    pub fn survey_token(&self, contact_id: i64, expires_ms: i64) -> String {
        let payload = format!("{contact_id}.{expires_ms}");
        let signature = super::tickets::sign_for(&self.keyring, SURVEY_LINK_SIGNATURE, &payload);
        format!("{payload}.{signature}")
    }

    /// Whether a call with this contact id left an interaction (a survey link names one).
    pub async fn contact_has_interaction(&self, contact_id: i64) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM interactions WHERE contact_id = $1 LIMIT 1")
                .bind(contact_id)
                .fetch_optional(&self.read)
                .await?;
        Ok(found.is_some())
    }

    /// The call a survey token is for, if the token is genuine and unexpired; otherwise
    /// `NotFound` whatever the reason.
    pub fn survey_contact(&self, token: &str, now_ms: i64) -> Result<i64, StoreError> {
        let refused = || StoreError::NotFound {
            what: "survey link",
            id: "(expired or not genuine)".into(),
        };
        if token.len() > MAX_SURVEY_TOKEN_CHARS {
            return Err(refused());
        }
        let (payload, signature) = token.rsplit_once('.').ok_or_else(refused)?;
        let expected = super::tickets::sign_for(&self.keyring, SURVEY_LINK_SIGNATURE, payload);
        if !super::tickets::constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
            return Err(refused());
        }
        let (contact, expires) = payload.split_once('.').ok_or_else(refused)?;
        let contact: i64 = contact.parse().map_err(|_| refused())?;
        let expires: i64 = expires.parse().map_err(|_| refused())?;
        if expires <= now_ms {
            return Err(refused());
        }
        Ok(contact)
    }

    /// Records a survey answer in one transaction. An answer naming its contact takes the
    /// agent, queue, customer and interaction of that call's interaction where it leaves
    /// them out; a second answer for one contact is a conflict.
    pub async fn add_survey_answer(
        &self,
        answer: &NewSurveyAnswer,
    ) -> Result<SurveyAnswer, StoreError> {
        answer.validate()?;
        let mut answer = answer.clone();
        let comment = seal_opt(&self.keyring, COMMENT_FIELD, answer.comment.as_deref())?;
        let mut tx = self.begin().await?;
        if let Some(contact) = answer.contact_id {
            let call = sqlx::query(
                "SELECT id, customer_id, agent, queue FROM interactions WHERE contact_id = $1 \
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(contact)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(call) = call {
                answer.interaction = answer.interaction.or(call.try_get("id")?);
                answer.customer = answer.customer.or(call
                    .try_get::<Option<i64>, _>("customer_id")?
                    .map(CustomerId));
                answer.agent = answer.agent.take().or(call.try_get("agent")?);
                answer.queue = answer.queue.take().or(call.try_get("queue")?);
            }
        }
        let result = sqlx::query_scalar::<_, i64>(
            "INSERT INTO survey_answers (at_ms, score, channel, customer_id, interaction_id, \
             contact_id, agent, queue, comment_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(answer.at_ms)
        .bind(i64::from(answer.score))
        .bind(&answer.channel)
        .bind(answer.customer.map(|c| c.0))
        .bind(answer.interaction)
        .bind(answer.contact_id)
        .bind(answer.agent.as_deref())
        .bind(answer.queue.as_deref())
        .bind(comment)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!(
                "contact {} already has a survey answer",
                answer.contact_id.unwrap_or_default()
            )),
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::Invalid(FieldError::new(
                    "customer_id",
                    "no such customer or interaction (interaction_id)",
                ))
            }
            _ => StoreError::from(e),
        })?;
        let id = result;
        tx.commit().await?;
        Ok(SurveyAnswer { id, answer })
    }

    /// CSAT between `from_ms` (inclusive) and `to_ms` (exclusive), grouped by agent, queue
    /// or local day (`utc_offset_minutes` east of UTC; 480 for China).
    pub async fn csat(
        &self,
        group: CsatGroup,
        from_ms: i64,
        to_ms: i64,
        utc_offset_minutes: i32,
        limit: u32,
    ) -> Result<Vec<CsatRow>, StoreError> {
        check_limit(limit, MAX_CSAT_GROUPS)?;
        // The day is a day number (days since 1970-01-01 in local time), the same integer
        // arithmetic on both databases, named as a date below.
        let key = match group {
            CsatGroup::Agent => "COALESCE(agent, '')".to_owned(),
            CsatGroup::Queue => "COALESCE(queue, '')".to_owned(),
            CsatGroup::Day => format!(
                "(at_ms / 1000 + {}) / 86400",
                i64::from(utc_offset_minutes) * 60
            ),
        };
        let rows = sqlx::query(&format!(
            "SELECT {key} AS key, COUNT(*) AS answers, CAST(SUM(score) AS BIGINT) AS total, \
             CAST(SUM(CASE WHEN score >= 4 THEN 1 ELSE 0 END) AS BIGINT) AS satisfied \
             FROM survey_answers WHERE at_ms >= $1 AND at_ms < $2 GROUP BY key ORDER BY key \
             LIMIT $3"
        ))
        .bind(from_ms)
        .bind(to_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let answers: i64 = row.try_get("answers")?;
                let satisfied: i64 = row.try_get("satisfied")?;
                let total: i64 = row.try_get("total")?;
                let key = match group {
                    CsatGroup::Day => day_name(row.try_get("key")?)?,
                    CsatGroup::Agent | CsatGroup::Queue => row.try_get("key")?,
                };
                let average = total as f64 / answers.max(1) as f64;
                Ok(CsatRow {
                    key,
                    answers: answers as u64,
                    average: (average * 100.0).round() / 100.0,
                    satisfied_percent: (satisfied as f64 * 1000.0 / answers.max(1) as f64).round()
                        / 10.0,
                })
            })
            .collect()
    }
}

/// A day number (days since 1970-01-01) as `YYYY-MM-DD`.
fn day_name(day: i64) -> Result<String, StoreError> {
    let start = jiff::Timestamp::from_second(day.saturating_mul(86_400))
        .map_err(|e| StoreError::Invariant(format!("day {day}: {e}")))?;
    Ok(start.to_zoned(jiff::tz::TimeZone::UTC).date().to_string())
}
