//! Survey answers on SQLite.

use sqlx::Row;

use super::{check_limit, seal_opt, SqliteRecords};
use crate::error::StoreError;
use crate::records::{CustomerId, FieldError};
use crate::survey_records::{CsatGroup, CsatRow, NewSurveyAnswer, SurveyAnswer, MAX_CSAT_GROUPS};

const COMMENT_FIELD: &str = "survey.comment";

impl SqliteRecords {
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
                "SELECT id, customer_id, agent, queue FROM interactions WHERE contact_id = ? \
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
        let result = sqlx::query(
            "INSERT INTO survey_answers (at_ms, score, channel, customer_id, interaction_id, \
             contact_id, agent, queue, comment_sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&mut *tx)
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
        let id = result.last_insert_rowid();
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
        let key = match group {
            CsatGroup::Agent => "COALESCE(agent, '')".to_owned(),
            CsatGroup::Queue => "COALESCE(queue, '')".to_owned(),
            CsatGroup::Day => format!(
                "date(at_ms / 1000 + {}, 'unixepoch')",
                i64::from(utc_offset_minutes) * 60
            ),
        };
        let rows = sqlx::query(&format!(
            "SELECT {key} AS key, COUNT(*) AS answers, AVG(score) AS average, \
             SUM(score >= 4) AS satisfied FROM survey_answers \
             WHERE at_ms >= ? AND at_ms < ? GROUP BY key ORDER BY key LIMIT ?"
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
                let average: f64 = row.try_get("average")?;
                Ok(CsatRow {
                    key: row.try_get("key")?,
                    answers: answers as u64,
                    average: (average * 100.0).round() / 100.0,
                    satisfied_percent: (satisfied as f64 * 1000.0 / answers.max(1) as f64).round()
                        / 10.0,
                })
            })
            .collect()
    }
}
