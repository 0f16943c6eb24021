//! Predictive campaigns in the records: the campaigns themselves, their tasks counted by state
//! (the tasks are callback tasks, stored in batches by `create_callback_tasks`), and the
//! answered and abandoned calls per minute that a restart reads back to restore the rolling
//! abandonment windows.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{audit, Records};
use crate::campaign_records::{
    Campaign, CampaignCounts, CampaignState, NewCampaign, MAX_CAMPAIGNS,
};
use crate::error::StoreError;
use crate::records::FieldError;

const COLUMNS: &str = "id, name, queue, pacer, abandon_cap, state, created_ms, updated_ms";
/// The outcome of the tasks a stopped campaign cancels.
pub const CAMPAIGN_STOPPED: &str = "campaign_stopped";
/// A minute, in milliseconds.
const MINUTE_MS: i64 = 60_000;
/// The most minutes of answered and abandoned counts one read returns: 31 days.
pub const MAX_ABANDON_MINUTES_READ: u32 = 31 * 24 * 60;

impl Records {
    /// Stores a campaign, running (with no numbers yet), in one transaction with its audit
    /// row. A second campaign of the same name is a conflict, and
    /// so is one more than [`MAX_CAMPAIGNS`] live (not stopped) ones.
    pub async fn create_campaign(
        &self,
        campaign: &NewCampaign,
        now_ms: i64,
        actor: &str,
    ) -> Result<Campaign, StoreError> {
        campaign.validate()?;
        let name = campaign.name.trim();
        let mut tx = self.begin().await?;
        let live: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM campaigns WHERE state <> 'stopped'")
                .fetch_one(&mut *tx)
                .await?;
        if usize::try_from(live).unwrap_or(usize::MAX) >= MAX_CAMPAIGNS {
            return Err(StoreError::Conflict(format!(
                "there are already {MAX_CAMPAIGNS} campaigns that are not stopped"
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (name, queue, pacer, abandon_cap, state, created_ms, \
             updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(name)
        .bind(&campaign.queue)
        .bind(&campaign.pacer)
        .bind(campaign.abandon_cap)
        .bind(CampaignState::Running.as_str())
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("a campaign named {name:?} exists"))
            }
            _ => StoreError::from(e),
        })?;
        audit(
            &mut tx,
            now_ms,
            actor,
            "campaign.create",
            &format!("campaign:{id}"),
            name,
        )
        .await?;
        let stored = read_campaign(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Invariant("a created campaign is gone".into()))?;
        tx.commit().await?;
        Ok(stored)
    }

    /// A campaign by id.
    pub async fn campaign(&self, id: i64) -> Result<Option<Campaign>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM campaigns WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(decode_campaign).transpose()
    }

    /// The campaigns, oldest first: every live (running or paused) one, and the newest
    /// stopped ones up to [`MAX_CAMPAIGNS`] in all.
    pub async fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM campaigns \
             ORDER BY CASE WHEN state = 'stopped' THEN 1 ELSE 0 END, id DESC LIMIT $1"
        ))
        .bind(i64::try_from(MAX_CAMPAIGNS).unwrap_or(i64::MAX))
        .fetch_all(&self.read)
        .await?;
        let mut campaigns = rows
            .iter()
            .map(decode_campaign)
            .collect::<Result<Vec<_>, _>>()?;
        campaigns.sort_by_key(|c| c.id);
        Ok(campaigns)
    }

    /// Sets a campaign's state, with its audit row; `None` for no such campaign.
    pub async fn set_campaign_state(
        &self,
        id: i64,
        state: CampaignState,
        now_ms: i64,
        actor: &str,
    ) -> Result<Option<Campaign>, StoreError> {
        let mut tx = self.begin().await?;
        let changed = sqlx::query("UPDATE campaigns SET state = $1, updated_ms = $2 WHERE id = $3")
            .bind(state.as_str())
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if !changed {
            return Ok(None);
        }
        audit(
            &mut tx,
            now_ms,
            actor,
            "campaign.state",
            &format!("campaign:{id}"),
            state.as_str(),
        )
        .await?;
        let stored = read_campaign(&mut tx, id).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Cancels a campaign's waiting (pending) tasks, with one audit row; calls under way
    /// finish. Answers how many were cancelled.
    pub async fn cancel_campaign_tasks(
        &self,
        id: i64,
        now_ms: i64,
        actor: &str,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let cancelled = sqlx::query(
            "UPDATE callback_tasks SET state = 'cancelled', outcome = $1, updated_ms = $2 \
             WHERE campaign_id = $3 AND state = 'pending'",
        )
        .bind(CAMPAIGN_STOPPED)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if cancelled > 0 {
            audit(
                &mut tx,
                now_ms,
                actor,
                "campaign.cancel_tasks",
                &format!("campaign:{id}"),
                &format!("{cancelled} tasks"),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(cancelled)
    }

    /// A campaign's tasks counted by state (all zero for none, or no such campaign).
    pub async fn campaign_task_counts(&self, id: i64) -> Result<CampaignCounts, StoreError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS tasks FROM callback_tasks WHERE campaign_id = $1 \
             GROUP BY state",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        let mut counts = CampaignCounts::default();
        for row in &rows {
            let state: String = row.try_get("state")?;
            let tasks = u64::try_from(row.try_get::<i64, _>("tasks")?).unwrap_or(0);
            let count = match state.as_str() {
                "pending" => &mut counts.pending,
                "dialling" => &mut counts.dialling,
                "done" => &mut counts.done,
                "failed" => &mut counts.failed,
                "cancelled" => &mut counts.cancelled,
                _ => return Err(StoreError::Invariant(format!("callback state {state:?}"))),
            };
            *count = tasks;
        }
        Ok(counts)
    }

    /// Adds answered and abandoned calls to a campaign's counts for the UTC minute starting at
    /// `minute_ms` (Unix milliseconds, a multiple of a minute).
    pub async fn add_campaign_abandons(
        &self,
        campaign: i64,
        minute_ms: i64,
        answered: u64,
        abandoned: u64,
    ) -> Result<(), StoreError> {
        if minute_ms.rem_euclid(MINUTE_MS) != 0 {
            return Err(FieldError::new("minute_ms", "must be the start of a minute").into());
        }
        let answered = i64::try_from(answered)
            .map_err(|_| FieldError::new("answered", "too large a count"))?;
        let abandoned = i64::try_from(abandoned)
            .map_err(|_| FieldError::new("abandoned", "too large a count"))?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO campaign_abandons (campaign_id, minute_ms, answered, abandoned) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (campaign_id, minute_ms) DO UPDATE SET \
             answered = campaign_abandons.answered + excluded.answered, \
             abandoned = campaign_abandons.abandoned + excluded.abandoned",
        )
        .bind(campaign)
        .bind(minute_ms)
        .bind(answered)
        .bind(abandoned)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::Invalid(FieldError::new("campaign", "no such campaign"))
            }
            _ => StoreError::from(e),
        })?;
        tx.commit().await?;
        Ok(())
    }

    /// A campaign's counts per minute from `since_ms` on, oldest first, as
    /// `(minute_ms, answered, abandoned)`: at most the newest [`MAX_ABANDON_MINUTES_READ`]
    /// minutes.
    pub async fn campaign_abandons_since(
        &self,
        campaign: i64,
        since_ms: i64,
    ) -> Result<Vec<(i64, u64, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT minute_ms, answered, abandoned FROM campaign_abandons \
             WHERE campaign_id = $1 AND minute_ms >= $2 ORDER BY minute_ms DESC LIMIT $3",
        )
        .bind(campaign)
        .bind(since_ms)
        .bind(i64::from(MAX_ABANDON_MINUTES_READ))
        .fetch_all(&self.read)
        .await?;
        let mut minutes = rows
            .iter()
            .map(|row| {
                Ok((
                    row.try_get::<i64, _>("minute_ms")?,
                    u64::try_from(row.try_get::<i64, _>("answered")?).unwrap_or(0),
                    u64::try_from(row.try_get::<i64, _>("abandoned")?).unwrap_or(0),
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        minutes.reverse();
        Ok(minutes)
    }

    /// Deletes every campaign's counts of the minutes before `before_ms`; answers how many
    /// rows went.
    pub async fn prune_campaign_abandons(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM campaign_abandons WHERE minute_ms < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }
}

async fn read_campaign(
    connection: &mut AnyConnection,
    id: i64,
) -> Result<Option<Campaign>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM campaigns WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *connection)
        .await?;
    row.as_ref().map(decode_campaign).transpose()
}

fn decode_campaign(row: &AnyRow) -> Result<Campaign, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(Campaign {
        id: row.try_get("id")?,
        fields: NewCampaign {
            name: row.try_get("name")?,
            queue: row.try_get("queue")?,
            pacer: row.try_get("pacer")?,
            abandon_cap: row.try_get("abandon_cap")?,
        },
        state: CampaignState::parse(&state)
            .ok_or_else(|| StoreError::Invariant(format!("campaign state {state:?}")))?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
    })
}
