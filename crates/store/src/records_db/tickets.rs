//! Tickets on SQLite: each create or change is one transaction that moves the status, the SLA
//! clock, the follow-up and the history together.

use base64::Engine as _;
use hotline_tickets::{status_changed, Priority, SlaState, TicketRules, TicketStatus};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::Row;

use super::{check_limit, flag, seal_opt, Records};
use crate::crypto::Keyring;
use crate::error::StoreError;
use crate::records::{CustomerId, FieldError};
use crate::ticket_records::{
    FollowUp, NewTicket, SlaChange, Ticket, TicketChange, TicketFilter, TicketHistoryEntry,
    TicketId, TicketLink, MAX_TICKETS_PAGE, MAX_TICKET_HISTORY, MAX_TICKET_LINKS,
    MAX_TICKET_LINK_LIFETIME_MS,
};

const DESCRIPTION_FIELD: &str = "ticket.description";
const NOTE_FIELD: &str = "ticket.note";
/// The blind-index field that signs tracking links.
const LINK_SIGNATURE: &str = "ticket_link";
/// Tickets one SLA check looks at in one transaction.
pub const SLA_CHECK_BATCH: u32 = 500;

const TICKET_COLUMNS: &str = "id, customer_id, interaction_id, title, description_sealed, \
    category, priority, status, department, assignee, created_ms, updated_ms, version, \
    sla_policy, sla_started_ms, sla_running_since_ms, sla_used_ms, sla_paused_since_ms, \
    sla_responded_ms, sla_resolved_ms, first_response_state, resolution_state, next_check_ms, \
    escalated, follow_up_due_ms, follow_up_state, follow_up_outcome";

impl Records {
    /// Creates a ticket held to the policy `rules` pick for its priority and category, in the
    /// department its category routes to (unless given), `assigned` if it has an assignee.
    pub async fn create_ticket(
        &self,
        new: &NewTicket,
        rules: &TicketRules,
        now_ms: i64,
        actor: &str,
    ) -> Result<Ticket, StoreError> {
        new.validate()?;
        let mut fields = new.clone();
        if fields.department.is_none() {
            fields.department = rules.department_for(&fields.category).map(str::to_owned);
        }
        let status = if fields.assignee.is_some() {
            TicketStatus::Assigned
        } else {
            TicketStatus::New
        };
        let clock = hotline_tickets::SlaClock::start(now_ms.max(0) as u64);
        let policy = rules
            .policy_for(fields.priority, &fields.category)
            .name
            .clone();
        let description = seal_opt(
            &self.keyring,
            DESCRIPTION_FIELD,
            fields.description.as_deref(),
        )?;
        let mut tx = self.begin().await?;
        let result = sqlx::query_scalar::<_, i64>(
            "INSERT INTO tickets (customer_id, interaction_id, title, description_sealed, \
             category, priority, status, department, assignee, created_ms, updated_ms, version, \
             sla_policy, sla_started_ms, sla_running_since_ms, sla_used_ms, \
             first_response_state, resolution_state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, $14, 0, 'running', 'running') RETURNING id",
        )
        .bind(fields.customer.map(|c| c.0))
        .bind(fields.interaction)
        .bind(&fields.title)
        .bind(description)
        .bind(&fields.category)
        .bind(fields.priority.as_str())
        .bind(status.as_str())
        .bind(fields.department.as_deref())
        .bind(fields.assignee.as_deref())
        .bind(now_ms)
        .bind(now_ms)
        .bind(&policy)
        .bind(clock.started_at_ms as i64)
        .bind(clock.running_since_ms as i64)
        .fetch_one(&mut *tx)
        .await
        .map_err(foreign_key_fields)?;
        let id = TicketId(result);
        history(
            &mut tx,
            &self.keyring,
            id,
            now_ms,
            actor,
            "created",
            None,
            Some(status.as_str()),
            None,
        )
        .await?;
        if let Some(assignee) = &fields.assignee {
            history(
                &mut tx,
                &self.keyring,
                id,
                now_ms,
                actor,
                "assignee",
                None,
                Some(assignee),
                None,
            )
            .await?;
        }
        let mut ticket = read_ticket(&mut tx, &self.keyring, id)
            .await?
            .ok_or_else(|| StoreError::Invariant("a created ticket is gone".into()))?;
        record_sla(&mut tx, &self.keyring, &mut ticket, rules, now_ms).await?;
        tx.commit().await?;
        Ok(ticket)
    }

    /// A ticket.
    pub async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        let mut connection = self.read.acquire().await?;
        read_ticket(&mut connection, &self.keyring, id).await
    }

    /// Tickets matching `filter`, newest first.
    pub async fn tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>, StoreError> {
        check_limit(filter.limit, MAX_TICKETS_PAGE)?;
        let mut query = super::builder::Sql::new(
            self.backend,
            &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE 1 = 1"),
        );
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(assignee) = &filter.assignee {
            query.push(" AND assignee = ").push_bind(assignee.clone());
        }
        if let Some(department) = &filter.department {
            query
                .push(" AND department = ")
                .push_bind(department.clone());
        }
        if let Some(customer) = filter.customer {
            query.push(" AND customer_id = ").push_bind(customer.0);
        }
        if filter.breached {
            query.push(" AND (first_response_state = 'breached' OR resolution_state = 'breached')");
        }
        if let Some(before) = filter.before_id {
            query.push(" AND id < ").push_bind(before);
        }
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(filter.limit));
        let rows = query.build()?.fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| ticket_from_row(row, &self.keyring))
            .collect()
    }

    /// A ticket's history, oldest first.
    pub async fn ticket_history(
        &self,
        id: TicketId,
        limit: u32,
    ) -> Result<Vec<TicketHistoryEntry>, StoreError> {
        check_limit(limit, MAX_TICKET_HISTORY)?;
        let rows = sqlx::query(
            "SELECT at_ms, actor, action, from_value, to_value, note_sealed FROM ticket_history \
             WHERE ticket_id = $1 ORDER BY id LIMIT $2",
        )
        .bind(id.0)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let note: Option<Vec<u8>> = row.try_get("note_sealed")?;
                Ok(TicketHistoryEntry {
                    at_ms: row.try_get("at_ms")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    from: row.try_get("from_value")?,
                    to: row.try_get("to_value")?,
                    note: note
                        .map(|sealed| self.keyring.open_string(NOTE_FIELD, &sealed))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// Changes a ticket: status (checked against the workflow, the SLA clock moved with it),
    /// assignee, priority, a note. With `if_version`, a ticket changed since is a conflict.
    /// Resolving schedules the category's follow-up; reopening cancels it.
    pub async fn change_ticket(
        &self,
        id: TicketId,
        change: &TicketChange,
        if_version: Option<i64>,
        rules: &TicketRules,
        now_ms: i64,
        actor: &str,
    ) -> Result<Ticket, StoreError> {
        change.validate()?;
        let now = now_ms.max(0) as u64;
        let mut tx = self.begin().await?;
        let mut ticket = read_ticket(&mut tx, &self.keyring, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        if let Some(expected) = if_version {
            if expected != ticket.version {
                return Err(StoreError::Conflict(format!(
                    "ticket {} is at version {}, not {expected}",
                    id.0, ticket.version
                )));
            }
        }
        let keyring = &self.keyring;
        if let Some(assignee) = &change.assignee {
            if *assignee != ticket.fields.assignee {
                history(
                    &mut tx,
                    keyring,
                    id,
                    now_ms,
                    actor,
                    "assignee",
                    ticket.fields.assignee.as_deref(),
                    assignee.as_deref(),
                    None,
                )
                .await?;
                ticket.fields.assignee = assignee.clone();
                // Giving a new ticket to someone assigns it.
                if assignee.is_some()
                    && ticket.status == TicketStatus::New
                    && change.status.is_none()
                {
                    move_status(
                        &mut tx,
                        keyring,
                        &mut ticket,
                        TicketStatus::Assigned,
                        rules,
                        now_ms,
                        actor,
                    )
                    .await?;
                }
            }
        }
        if let Some(priority) = change.priority {
            if priority != ticket.fields.priority {
                history(
                    &mut tx,
                    keyring,
                    id,
                    now_ms,
                    actor,
                    "priority",
                    Some(ticket.fields.priority.as_str()),
                    Some(priority.as_str()),
                    None,
                )
                .await?;
                ticket.fields.priority = priority;
                ticket.sla_policy = rules
                    .policy_for(priority, &ticket.fields.category)
                    .name
                    .clone();
            }
        }
        if let Some(to) = change.status {
            move_status(&mut tx, keyring, &mut ticket, to, rules, now_ms, actor).await?;
        }
        if let Some(note) = &change.note {
            history(
                &mut tx,
                keyring,
                id,
                now_ms,
                actor,
                "note",
                None,
                None,
                Some(note),
            )
            .await?;
        }
        if change.answered_customer {
            ticket.clock.respond(now);
            history(
                &mut tx, keyring, id, now_ms, actor, "answered", None, None, None,
            )
            .await?;
        }
        ticket.updated_ms = now_ms;
        ticket.version += 1;
        write_ticket(&mut tx, &ticket).await?;
        record_sla(&mut tx, keyring, &mut ticket, rules, now_ms).await?;
        tx.commit().await?;
        Ok(ticket)
    }

    /// Looks at the tickets whose SLA check is due at `now_ms` (at most
    /// [`SLA_CHECK_BATCH`]): records each warning and breach once in the history, escalates a
    /// breached ticket, and sets each ticket's next check. What it found, for events.
    pub async fn check_ticket_slas(
        &self,
        rules: &TicketRules,
        now_ms: i64,
    ) -> Result<Vec<SlaChange>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE next_check_ms <= $1 \
             ORDER BY next_check_ms LIMIT $2"
        ))
        .bind(now_ms)
        .bind(i64::from(SLA_CHECK_BATCH))
        .fetch_all(&mut *tx)
        .await?;
        let mut changes = Vec::new();
        for row in &rows {
            let mut ticket = ticket_from_row(row, &self.keyring)?;
            changes.extend(record_sla(&mut tx, &self.keyring, &mut ticket, rules, now_ms).await?);
        }
        tx.commit().await?;
        Ok(changes)
    }

    /// The earliest SLA check due, if any (the timer to arm).
    pub async fn next_ticket_check(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT MIN(next_check_ms) AS next FROM tickets")
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get("next")?)
    }

    /// Resolved tickets whose follow-up call is due before `before_ms`, earliest first: the
    /// outbound engine's work list.
    pub async fn follow_ups_due(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<Vec<Ticket>, StoreError> {
        check_limit(limit, MAX_TICKETS_PAGE)?;
        let rows = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE follow_up_state = 'scheduled' \
             AND follow_up_due_ms <= $1 ORDER BY follow_up_due_ms LIMIT $2"
        ))
        .bind(before_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| ticket_from_row(row, &self.keyring))
            .collect()
    }

    /// Marks a ticket's due follow-up as handed to the dialer (callback task `callback`), so it
    /// is handed over once; answers whether it was still scheduled.
    pub async fn queue_follow_up(
        &self,
        id: TicketId,
        callback: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let Some(mut ticket) = read_ticket(&mut tx, &self.keyring, id).await? else {
            return Ok(false);
        };
        match &mut ticket.follow_up {
            Some(follow_up) if follow_up.state == "scheduled" => follow_up.state = "queued".into(),
            _ => return Ok(false),
        }
        history(
            &mut tx,
            &self.keyring,
            id,
            now_ms,
            "dialer",
            "follow_up_queued",
            None,
            Some(&callback.to_string()),
            None,
        )
        .await?;
        ticket.updated_ms = now_ms;
        ticket.version += 1;
        write_ticket(&mut tx, &ticket).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records how a ticket's follow-up call went (`satisfied`, `unsatisfied`,
    /// `unreachable` …). A ticket without a scheduled follow-up is a conflict.
    pub async fn record_follow_up(
        &self,
        id: TicketId,
        outcome: &str,
        note: Option<&str>,
        now_ms: i64,
        actor: &str,
    ) -> Result<Ticket, StoreError> {
        if outcome.trim().is_empty() || outcome.chars().count() > 64 {
            return Err(FieldError::new("outcome", "must be 1 to 64 characters").into());
        }
        let mut tx = self.begin().await?;
        let mut ticket = read_ticket(&mut tx, &self.keyring, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        match &mut ticket.follow_up {
            Some(follow_up) if follow_up.state == "scheduled" || follow_up.state == "queued" => {
                follow_up.state = "done".into();
                follow_up.outcome = Some(outcome.to_owned());
            }
            _ => {
                return Err(StoreError::Conflict(format!(
                    "ticket {} has no follow-up waiting",
                    id.0
                )))
            }
        }
        history(
            &mut tx,
            &self.keyring,
            id,
            now_ms,
            actor,
            "follow_up_done",
            None,
            Some(outcome),
            note,
        )
        .await?;
        ticket.updated_ms = now_ms;
        ticket.version += 1;
        write_ticket(&mut tx, &ticket).await?;
        tx.commit().await?;
        Ok(ticket)
    }

    /// Makes a tracking link for the customer, valid for `lifetime_ms` (at most
    /// [`MAX_TICKET_LINK_LIFETIME_MS`]). The token is signed with the keyring's index key, so
    /// a forged or altered one is refused before any lookup.
    pub async fn create_ticket_link(
        &self,
        id: TicketId,
        lifetime_ms: i64,
        now_ms: i64,
        actor: &str,
    ) -> Result<TicketLink, StoreError> {
        if !(1..=MAX_TICKET_LINK_LIFETIME_MS).contains(&lifetime_ms) {
            return Err(FieldError::new(
                "lifetime",
                format!(
                    "must be between 1 ms and {} days",
                    MAX_TICKET_LINK_LIFETIME_MS / 86_400_000
                ),
            )
            .into());
        }
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).map_err(|e| StoreError::Invariant(format!("random: {e}")))?;
        let link_id: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let expires_ms = now_ms + lifetime_ms;
        let mut tx = self.begin().await?;
        if read_ticket(&mut tx, &self.keyring, id).await?.is_none() {
            return Err(not_found(id));
        }
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ticket_links WHERE ticket_id = $1 AND revoked_ms IS NULL \
             AND expires_ms > $2",
        )
        .bind(id.0)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        if live >= MAX_TICKET_LINKS {
            return Err(StoreError::Conflict(format!(
                "ticket {} already has {MAX_TICKET_LINKS} live links; revoke one first",
                id.0
            )));
        }
        sqlx::query(
            "INSERT INTO ticket_links (id, ticket_id, created_ms, expires_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(&link_id)
        .bind(id.0)
        .bind(now_ms)
        .bind(expires_ms)
        .execute(&mut *tx)
        .await?;
        history(
            &mut tx,
            &self.keyring,
            id,
            now_ms,
            actor,
            "link_created",
            None,
            Some(&link_id),
            None,
        )
        .await?;
        tx.commit().await?;
        let payload = format!("{}.{expires_ms}.{link_id}", id.0);
        let token = format!("{payload}.{}", sign(&self.keyring, &payload));
        Ok(TicketLink {
            id: link_id,
            ticket: id,
            token,
            expires_ms,
        })
    }

    /// Revokes a tracking link before it expires.
    pub async fn revoke_ticket_link(
        &self,
        id: TicketId,
        link_id: &str,
        now_ms: i64,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let changed = sqlx::query(
            "UPDATE ticket_links SET revoked_ms = $1 WHERE id = $2 AND ticket_id = $3 \
             AND revoked_ms IS NULL",
        )
        .bind(now_ms)
        .bind(link_id)
        .bind(id.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "live tracking link",
                id: link_id.to_owned(),
            });
        }
        history(
            &mut tx,
            &self.keyring,
            id,
            now_ms,
            actor,
            "link_revoked",
            None,
            Some(link_id),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The ticket a tracking token shows, if the token is genuine, unexpired and not revoked;
    /// otherwise `NotFound` whatever the reason (a guesser learns nothing).
    pub async fn ticket_by_token(&self, token: &str, now_ms: i64) -> Result<Ticket, StoreError> {
        let refused = || StoreError::NotFound {
            what: "tracking link",
            id: "(expired, revoked or not genuine)".into(),
        };
        let (payload, signature) = token.rsplit_once('.').ok_or_else(refused)?;
        if token.len() > 200
            || !constant_time_eq(
                sign(&self.keyring, payload).as_bytes(),
                signature.as_bytes(),
            )
        {
            return Err(refused());
        }
        let mut parts = payload.split('.');
        let (Some(ticket), Some(expires), Some(link_id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(refused());
        };
        let ticket: i64 = ticket.parse().map_err(|_| refused())?;
        let expires: i64 = expires.parse().map_err(|_| refused())?;
        if expires <= now_ms {
            return Err(refused());
        }
        let live: Option<i64> = sqlx::query_scalar(
            "SELECT ticket_id FROM ticket_links WHERE id = $1 AND revoked_ms IS NULL \
             AND expires_ms > $2",
        )
        .bind(link_id)
        .bind(now_ms)
        .fetch_optional(&self.read)
        .await?;
        if live != Some(ticket) {
            return Err(refused());
        }
        self.ticket(TicketId(ticket)).await?.ok_or_else(refused)
    }
}

/// Moves a ticket's status and clock, with the history entries and the follow-up.
async fn move_status(
    tx: &mut AnyConnection,
    keyring: &Keyring,
    ticket: &mut Ticket,
    to: TicketStatus,
    rules: &TicketRules,
    now_ms: i64,
    actor: &str,
) -> Result<(), StoreError> {
    let from = ticket.status;
    let now = now_ms.max(0) as u64;
    status_changed(&mut ticket.clock, rules.calendar(), from, to, now)
        .map_err(|e| FieldError::new("status", e.to_string()))?;
    ticket.status = to;
    history(
        tx,
        keyring,
        ticket.id,
        now_ms,
        actor,
        "status",
        Some(from.as_str()),
        Some(to.as_str()),
        None,
    )
    .await?;
    match to {
        TicketStatus::Resolved => {
            if let Some(due) = rules.follow_up_due(&ticket.fields.category, now) {
                let due = due as i64;
                ticket.follow_up = Some(FollowUp {
                    due_ms: due,
                    state: "scheduled".into(),
                    outcome: None,
                });
                history(
                    tx,
                    keyring,
                    ticket.id,
                    now_ms,
                    "system",
                    "follow_up_scheduled",
                    None,
                    Some(&due.to_string()),
                    None,
                )
                .await?;
            }
        }
        TicketStatus::InProgress if from == TicketStatus::Resolved => {
            if let Some(follow_up) = &mut ticket.follow_up {
                // A queued follow-up's callback task stays (the agent who calls sees why).
                if follow_up.state == "scheduled" || follow_up.state == "queued" {
                    follow_up.state = "cancelled".into();
                    history(
                        tx,
                        keyring,
                        ticket.id,
                        now_ms,
                        "system",
                        "follow_up_cancelled",
                        None,
                        None,
                        None,
                    )
                    .await?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Evaluates a ticket's SLA at `now_ms`; records in the history each target that has newly
/// reached warning or breach, escalates on a first breach, and stores the states and the
/// next check.
async fn record_sla(
    tx: &mut AnyConnection,
    keyring: &Keyring,
    ticket: &mut Ticket,
    rules: &TicketRules,
    now_ms: i64,
) -> Result<Vec<SlaChange>, StoreError> {
    let report = rules.evaluate(
        &ticket.clock,
        ticket.fields.priority,
        &ticket.fields.category,
        now_ms.max(0) as u64,
    );
    let mut changes = Vec::new();
    let targets = [
        (
            "first_response",
            &ticket.sla_states.0,
            report.first_response.state,
        ),
        ("resolution", &ticket.sla_states.1, report.resolution.state),
    ];
    for (target, before, now) in targets {
        let newly = |state: SlaState| now == state && before.as_str() != state.as_str();
        for state in [SlaState::Warning, SlaState::Breached] {
            // A target that jumped straight to breach (nobody looked at the warning time) is
            // recorded as a breach only.
            if newly(state) {
                changes.push(SlaChange {
                    ticket: ticket.id,
                    target,
                    state: state.as_str().to_owned(),
                    escalated_to: None,
                });
            }
        }
    }
    for change in &mut changes {
        let action = format!("sla_{}", change.state);
        history(
            tx,
            keyring,
            ticket.id,
            now_ms,
            "system",
            &action,
            None,
            Some(change.target),
            None,
        )
        .await?;
        if change.state == SlaState::Breached.as_str() && !ticket.escalated {
            let group = rules.escalate_to().unwrap_or("supervisors").to_owned();
            ticket.escalated = true;
            history(
                tx,
                keyring,
                ticket.id,
                now_ms,
                "system",
                "escalated",
                None,
                Some(&group),
                None,
            )
            .await?;
            change.escalated_to = Some(group);
        }
    }
    ticket.sla_states = (
        report.first_response.state.as_str().to_owned(),
        report.resolution.state.as_str().to_owned(),
    );
    ticket.next_check_ms = report.next_check_at_ms.map(|at| at as i64);
    sqlx::query(
        "UPDATE tickets SET first_response_state = $1, resolution_state = $2, next_check_ms = $3, \
         escalated = $4 WHERE id = $5",
    )
    .bind(&ticket.sla_states.0)
    .bind(&ticket.sla_states.1)
    .bind(ticket.next_check_ms)
    .bind(i64::from(ticket.escalated))
    .bind(ticket.id.0)
    .execute(&mut *tx)
    .await?;
    Ok(changes)
}

async fn write_ticket(tx: &mut AnyConnection, ticket: &Ticket) -> Result<(), StoreError> {
    let clock = &ticket.clock;
    let follow_up = ticket.follow_up.as_ref();
    sqlx::query(
        "UPDATE tickets SET priority = $1, status = $2, assignee = $3, updated_ms = $4, version = $5, \
         sla_policy = $6, sla_running_since_ms = $7, sla_used_ms = $8, sla_paused_since_ms = $9, \
         sla_responded_ms = $10, sla_resolved_ms = $11, follow_up_due_ms = $12, follow_up_state = $13, \
         follow_up_outcome = $14 WHERE id = $15",
    )
    .bind(ticket.fields.priority.as_str())
    .bind(ticket.status.as_str())
    .bind(ticket.fields.assignee.as_deref())
    .bind(ticket.updated_ms)
    .bind(ticket.version)
    .bind(&ticket.sla_policy)
    .bind(clock.running_since_ms as i64)
    .bind(clock.business_ms_used_before_pause as i64)
    .bind(clock.paused_since_ms.map(|v| v as i64))
    .bind(clock.responded_at_ms.map(|v| v as i64))
    .bind(clock.resolved_at_ms.map(|v| v as i64))
    .bind(follow_up.map(|f| f.due_ms))
    .bind(follow_up.map(|f| f.state.as_str()))
    .bind(follow_up.and_then(|f| f.outcome.as_deref()))
    .bind(ticket.id.0)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn history(
    tx: &mut AnyConnection,
    keyring: &Keyring,
    id: TicketId,
    at_ms: i64,
    actor: &str,
    action: &str,
    from: Option<&str>,
    to: Option<&str>,
    note: Option<&str>,
) -> Result<(), StoreError> {
    let note = seal_opt(keyring, NOTE_FIELD, note)?;
    sqlx::query(
        "INSERT INTO ticket_history (ticket_id, at_ms, actor, action, from_value, to_value, \
         note_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.0)
    .bind(at_ms)
    .bind(actor)
    .bind(action)
    .bind(from)
    .bind(to)
    .bind(note)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn read_ticket(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    id: TicketId,
) -> Result<Option<Ticket>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *connection)
    .await?;
    row.map(|row| ticket_from_row(&row, keyring)).transpose()
}

fn ticket_from_row(row: &AnyRow, keyring: &Keyring) -> Result<Ticket, StoreError> {
    let corrupt = |what: &str, text: &str| {
        StoreError::Invariant(format!("a stored ticket has {what} {text:?}"))
    };
    let description: Option<Vec<u8>> = row.try_get("description_sealed")?;
    let priority: String = row.try_get("priority")?;
    let status: String = row.try_get("status")?;
    let as_u64 = |column: &str| -> Result<u64, StoreError> {
        Ok(row.try_get::<i64, _>(column)?.max(0) as u64)
    };
    let opt_u64 = |column: &str| -> Result<Option<u64>, StoreError> {
        Ok(row
            .try_get::<Option<i64>, _>(column)?
            .map(|v| v.max(0) as u64))
    };
    let follow_up_state: Option<String> = row.try_get("follow_up_state")?;
    let follow_up = match (
        row.try_get::<Option<i64>, _>("follow_up_due_ms")?,
        follow_up_state,
    ) {
        (Some(due_ms), Some(state)) => Some(FollowUp {
            due_ms,
            state,
            outcome: row.try_get("follow_up_outcome")?,
        }),
        _ => None,
    };
    Ok(Ticket {
        id: TicketId(row.try_get("id")?),
        fields: NewTicket {
            title: row.try_get("title")?,
            description: description
                .map(|sealed| keyring.open_string(DESCRIPTION_FIELD, &sealed))
                .transpose()?,
            category: row.try_get("category")?,
            priority: priority
                .parse::<Priority>()
                .map_err(|_| corrupt("priority", &priority))?,
            customer: row
                .try_get::<Option<i64>, _>("customer_id")?
                .map(CustomerId),
            interaction: row.try_get("interaction_id")?,
            assignee: row.try_get("assignee")?,
            department: row.try_get("department")?,
        },
        status: status
            .parse::<TicketStatus>()
            .map_err(|_| corrupt("status", &status))?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
        version: row.try_get("version")?,
        sla_policy: row.try_get("sla_policy")?,
        clock: hotline_tickets::SlaClock {
            started_at_ms: as_u64("sla_started_ms")?,
            running_since_ms: as_u64("sla_running_since_ms")?,
            business_ms_used_before_pause: as_u64("sla_used_ms")?,
            paused_since_ms: opt_u64("sla_paused_since_ms")?,
            responded_at_ms: opt_u64("sla_responded_ms")?,
            resolved_at_ms: opt_u64("sla_resolved_ms")?,
        },
        sla_states: (
            row.try_get("first_response_state")?,
            row.try_get("resolution_state")?,
        ),
        next_check_ms: row.try_get("next_check_ms")?,
        escalated: flag(row, "escalated")?,
        follow_up,
    })
}

fn not_found(id: TicketId) -> StoreError {
    StoreError::NotFound {
        what: "ticket",
        id: id.0.to_string(),
    }
}

/// A customer or interaction that does not exist, named as the field at fault.
fn foreign_key_fields(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::Invalid(FieldError::new(
                "customer_id",
                "no such customer or interaction (interaction_id)",
            ))
        }
        _ => StoreError::from(error),
    }
}

/// The signature of a link's `payload` for `purpose` (tracking links, survey links): a keyed
/// hash under the keyring's index key, base64url.
pub(super) fn sign_for(keyring: &Keyring, purpose: &str, payload: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(keyring.blind_index(purpose, payload))
}

fn sign(keyring: &Keyring, payload: &str) -> String {
    sign_for(keyring, LINK_SIGNATURE, payload)
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
