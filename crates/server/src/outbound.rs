//! The outbound side's task: it owns the dialer ([`hotline_dialer::Dialer`], sans-IO) and
//! takes callback requests from the API one at a time, so that deciding (dedupe, windows,
//! the promise) and storing happen in one order: a request is answered only after its task is
//! in the records, under the dialer's id. At start it rebuilds the dialer from the records'
//! active tasks (a task that was dialling is taken to have ended that attempt unknown: the
//! same attempt is never dialled twice).
//!
//! Placing the calls (the dialer's due tasks through the switch's trunk) is not wired yet:
//! the dialer is fed and kept, not polled. See the README's "Not yet there".

use std::fmt;
use std::sync::Arc;

use hotline_calendar::Calendar;
use hotline_dialer::{
    AddError, CancelReason, CustomerKey, Dialer, DialerRules, NewTask, RequestedWindow, Restored,
    TaskId, TaskSnapshot, TaskState,
};
use hotline_phone::PhoneNumber;
use hotline_store::{
    CallbackState, CallbackTask, Customer, CustomerId, NewCallbackTask, Records, StoreError,
};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

/// Requests waiting for the outbound task; beyond it the API answers 503 (try again).
pub const MAX_OUTBOUND_QUEUE: usize = 1_024;
/// How often tickets' due follow-up visits (回访) are turned into callback tasks.
pub const FOLLOW_UP_POLL: std::time::Duration = std::time::Duration::from_secs(15);
/// Follow-ups turned into tasks per round.
pub const FOLLOW_UPS_PER_ROUND: u32 = 100;

/// A callback request as the API resolved it (customer looked up, number normalised).
#[derive(Debug)]
pub struct CallbackRequest {
    /// What will be stored; the window and the promise are filled in by the dialer.
    pub task: NewCallbackTask,
    /// The requested window; `None`: as soon as possible.
    pub window: Option<(i64, i64)>,
    /// The customer's contact hours, when the customer is known.
    pub contact_hours: Option<Calendar>,
    /// A VIP customer (first when capacity is short).
    pub vip: bool,
}

impl CallbackRequest {
    /// A request to call `customer` (a record) back: do-not-call refused, a follow-up only
    /// with consent, `number` or the customer's first number, its contact hours, VIP and value
    /// from the record. The error names the field at fault.
    pub fn for_customer(
        customer: &Customer,
        channel: &str,
        reason: &str,
        number: Option<PhoneNumber>,
        now_ms: i64,
    ) -> Result<CallbackRequest, (String, String)> {
        let fields = &customer.fields;
        if fields.do_not_call {
            return Err((
                "customer_id".into(),
                "the customer asked not to be called (do_not_call)".into(),
            ));
        }
        if channel == "follow_up" && !fields.consent {
            return Err((
                "customer_id".into(),
                "a follow-up call needs the customer's consent".into(),
            ));
        }
        let number = match number {
            Some(number) => number,
            None => fields
                .phones
                .first()
                .map(|p| p.number.clone())
                .ok_or_else(|| {
                    (
                        "number".to_string(),
                        "the customer has no number: give one".to_string(),
                    )
                })?,
        };
        let contact_hours = match &fields.preferences.contact_hours {
            Some(_) => Some(
                fields
                    .preferences
                    .contact_calendar()
                    .map_err(|e| (e.field, e.problem))?,
            ),
            None => None,
        };
        Ok(CallbackRequest {
            task: NewCallbackTask {
                customer: Some(customer.id),
                number,
                channel: channel.into(),
                reason: reason.into(),
                need_tags: fields.tags.clone(),
                payload: None,
                priority: "normal".into(),
                value_score: fields.value_score,
                window_start_ms: 0,
                window_end_ms: 0,
                promised_ms: 0,
                dedupe_key: dedupe_key(Some(customer.id), "", reason),
                ticket: None,
                created_ms: now_ms,
            },
            window: None,
            contact_hours,
            vip: fields.level == "vip",
        })
    }
}

/// The key of the one-active-task rule: the customer (or the number) and the reason.
pub fn dedupe_key(customer: Option<CustomerId>, e164: &str, reason: &str) -> String {
    let reason = reason.trim().to_lowercase();
    match customer {
        Some(customer) => format!("customer:{}:{reason}", customer.0),
        None => format!("number:{e164}:{reason}"),
    }
}

/// Why a request was not taken.
#[derive(Debug)]
pub enum SubmitError {
    /// A field is wrong (the field, the problem).
    Invalid(String, String),
    /// The customer already has an active callback for this reason.
    Duplicate(String),
    /// The records failed.
    Store(StoreError),
    /// The outbound task is saturated or stopped.
    Busy,
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Invalid(field, message) => write!(f, "{field}: {message}"),
            SubmitError::Duplicate(message) => f.write_str(message),
            SubmitError::Store(error) => write!(f, "{error}"),
            SubmitError::Busy => f.write_str("the dialer is busy or stopped"),
        }
    }
}

enum Command {
    Submit(
        Box<CallbackRequest>,
        oneshot::Sender<Result<CallbackTask, SubmitError>>,
    ),
    Cancel(i64, String, oneshot::Sender<Result<bool, SubmitError>>),
}

/// The handle the API holds. Cloning is cheap.
#[derive(Clone, Debug)]
pub struct Outbound {
    commands: mpsc::Sender<Command>,
    /// The default legal hours: their time zone is the one promises are shown in.
    display: Arc<Calendar>,
}

impl Outbound {
    /// Hands a request to the dialer and waits for it to be stored.
    pub async fn submit(&self, request: CallbackRequest) -> Result<CallbackTask, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .try_send(Command::Submit(Box::new(request), reply))
            .map_err(|_| SubmitError::Busy)?;
        answer.await.map_err(|_| SubmitError::Busy)?
    }

    /// Cancels an active task; answers whether it was active.
    pub async fn cancel(&self, id: i64, actor: &str) -> Result<bool, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .try_send(Command::Cancel(id, actor.to_string(), reply))
            .map_err(|_| SubmitError::Busy)?;
        answer.await.map_err(|_| SubmitError::Busy)?
    }

    /// An instant as `YYYY-MM-DD HH:MM` in the dialer's time zone.
    pub fn local_time(&self, at_ms: i64) -> String {
        let t = self.display.local_time(at_ms.max(0) as u64);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year, t.month, t.day, t.hour, t.minute
        )
    }
}

/// What the outbound task counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboundStats {
    /// Tasks restored from the records at start.
    pub restored: u64,
    /// Active tasks at start that could not go on (failed for good).
    pub restore_failed: u64,
    /// Requests accepted and stored.
    pub accepted: u64,
    /// Records writes that failed (the request was refused, the dialer left unchanged).
    pub store_errors: u64,
    /// Tickets' follow-up visits turned into callback tasks.
    pub follow_ups_queued: u64,
    /// Follow-ups that could not be called (no customer, do-not-call, no consent, no time).
    pub follow_ups_not_called: u64,
}

/// Starts the outbound task over `records` with the dialer's `rules` (its default legal hours
/// shown as `display`): restores the active tasks first, then takes requests, and every
/// `follow_up_poll` the tickets' due follow-up visits, until every [`Outbound`] handle is
/// dropped.
pub async fn spawn(
    records: Records,
    rules: DialerRules,
    display: Calendar,
    follow_up_poll: std::time::Duration,
) -> Result<(Outbound, tokio::task::JoinHandle<OutboundStats>), StoreError> {
    let mut stats = OutboundStats::default();
    let next = records.max_callback_id().await? + 1;
    let mut dialer = Dialer::with_next_id(rules, TaskId(next.max(1) as u64));
    let now = crate::api::now_ms();
    for task in records.active_callback_tasks().await? {
        let contact_hours = contact_hours_of(&records, task.fields.customer).await;
        let snapshot = match task
            .snapshot
            .as_deref()
            .and_then(|s| serde_json::from_str::<TaskSnapshot>(s).ok())
        {
            Some(snapshot) => snapshot,
            None => first_snapshot(&task, contact_hours.is_some()),
        };
        match dialer.restore(now as u64, &snapshot, contact_hours) {
            Ok(Restored::DueAt(_)) => stats.restored += 1,
            Ok(Restored::Failed(reason)) => {
                stats.restore_failed += 1;
                let _ = records
                    .update_callback_task(
                        task.id,
                        CallbackState::Failed,
                        snapshot.attempts,
                        Some(&reason.to_string()),
                        None,
                        now,
                    )
                    .await;
            }
            Err(_) => stats.restore_failed += 1,
        }
    }
    // The dialer's own events (attempts, promises) matter once it dials; until then the
    // restore's are dropped here.
    while dialer.poll_event().is_some() {}
    let (commands, receiver) = mpsc::channel(MAX_OUTBOUND_QUEUE);
    let task = tokio::spawn(run(records, dialer, receiver, stats, follow_up_poll));
    Ok((
        Outbound {
            commands,
            display: Arc::new(display),
        },
        task,
    ))
}

/// The snapshot of a task that never reached the dialer's snapshot (stored, not yet dialled).
fn first_snapshot(task: &CallbackTask, has_contact_hours: bool) -> TaskSnapshot {
    TaskSnapshot {
        id: TaskId(task.id as u64),
        customer: customer_key(task.fields.customer, task.fields.number.e164()),
        reason: reason_key(&task.fields.reason),
        number: task.fields.number.e164().to_string(),
        priority_class: priority_class(&task.fields.priority, false),
        value_score: task.fields.value_score,
        window_start_ms: task.fields.window_start_ms.max(0) as u64,
        window_end_ms: task.fields.window_end_ms.max(0) as u64,
        contact_hours: has_contact_hours.then(|| "contact_hours".to_string()),
        promised_ms: task.fields.promised_ms.max(0) as u64,
        attempts: task.attempts,
        attempts_day: 0,
        attempts_on_day: 0,
        state: TaskState::Waiting {
            due_ms: task.fields.window_start_ms.max(0) as u64,
        },
    }
}

async fn contact_hours_of(
    records: &Records,
    customer: Option<CustomerId>,
) -> Option<Arc<Calendar>> {
    let customer = records.customer(customer?).await.ok()??;
    customer.fields.preferences.contact_hours.as_ref()?;
    customer
        .fields
        .preferences
        .contact_calendar()
        .ok()
        .map(Arc::new)
}

/// The dialer's key of a customer: the records' id, or (no record) a key derived from the
/// number, with the top bit set so that the two never meet.
fn customer_key(customer: Option<CustomerId>, e164: &str) -> CustomerKey {
    match customer {
        Some(id) => CustomerKey(id.0 as u64 & !(1 << 63)),
        None => {
            let digest = Sha256::digest(e164.as_bytes());
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&digest[..8]);
            CustomerKey(u64::from_le_bytes(bytes) | (1 << 63))
        }
    }
}

/// The dialer's reason: the request's reason, trimmed and lower-cased, as a short digest (the
/// request's words may be long or hold spaces; the dialer dedupes on equal keys only).
fn reason_key(reason: &str) -> String {
    let digest = Sha256::digest(reason.trim().to_lowercase().as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("r:{hex}")
}

/// Normal 0, high 1, urgent 2; a VIP customer is at least high.
fn priority_class(priority: &str, vip: bool) -> u8 {
    let class = match priority {
        "urgent" => 2,
        "high" => 1,
        _ => 0,
    };
    if vip {
        class.max(1)
    } else {
        class
    }
}

async fn run(
    records: Records,
    mut dialer: Dialer,
    mut commands: mpsc::Receiver<Command>,
    mut stats: OutboundStats,
    follow_up_poll: std::time::Duration,
) -> OutboundStats {
    let mut follow_ups = tokio::time::interval(follow_up_poll);
    follow_ups.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => break,
                Some(Command::Submit(request, reply)) => {
                    let answer = accept(&records, &mut dialer, *request, &mut stats).await;
                    let _ = reply.send(answer);
                }
                Some(Command::Cancel(id, actor, reply)) => {
                    let now = crate::api::now_ms();
                    let answer = records
                        .cancel_callback_task(id, "cancelled", now, &actor)
                        .await
                        .map_err(SubmitError::Store);
                    if matches!(answer, Ok(true)) {
                        let _ = dialer.cancel(now as u64, TaskId(id as u64), CancelReason::ByStaff);
                    }
                    let _ = reply.send(answer);
                }
            },
            _ = follow_ups.tick() => feed_follow_ups(&records, &mut dialer, &mut stats).await,
        }
        while dialer.poll_event().is_some() {}
    }
    stats
}

/// Turns the tickets' due follow-up visits into callback tasks (channel `follow_up`), each
/// once: the ticket's follow-up becomes `queued`. One that cannot be called is recorded as
/// `not_called` with the reason; one whose records write failed is tried next round.
async fn feed_follow_ups(records: &Records, dialer: &mut Dialer, stats: &mut OutboundStats) {
    let now = crate::api::now_ms();
    let Ok(due) = records.follow_ups_due(now, FOLLOW_UPS_PER_ROUND).await else {
        return;
    };
    for ticket in due {
        let reason = format!("回访 follow-up: ticket {}", ticket.id.0);
        let customer = match ticket.fields.customer {
            Some(id) => records.customer(id).await.ok().flatten(),
            None => None,
        };
        let request = match &customer {
            Some(customer) => {
                CallbackRequest::for_customer(customer, "follow_up", &reason, None, now)
            }
            None => Err(("customer_id".into(), "the ticket has no customer".into())),
        };
        let accepted = match request {
            Ok(mut request) => {
                request.task.ticket = Some(ticket.id);
                accept(records, dialer, request, stats).await
            }
            Err((field, message)) => Err(SubmitError::Invalid(field, message)),
        };
        match accepted {
            Ok(task) => {
                if records
                    .queue_follow_up(ticket.id, task.id, now)
                    .await
                    .unwrap_or(false)
                {
                    stats.follow_ups_queued += 1;
                }
            }
            Err(SubmitError::Invalid(_, message)) | Err(SubmitError::Duplicate(message)) => {
                stats.follow_ups_not_called += 1;
                let _ = records
                    .record_follow_up(ticket.id, "not_called", Some(&message), now, "dialer")
                    .await;
            }
            Err(SubmitError::Store(_)) | Err(SubmitError::Busy) => {}
        }
    }
}

async fn accept(
    records: &Records,
    dialer: &mut Dialer,
    request: CallbackRequest,
    stats: &mut OutboundStats,
) -> Result<CallbackTask, SubmitError> {
    let now = crate::api::now_ms();
    let mut task = request.task;
    let window = match request.window {
        None => RequestedWindow::Asap,
        Some((start, end)) => RequestedWindow::Between {
            start_ms: start.max(0) as u64,
            end_ms: end.max(0) as u64,
        },
    };
    let accepted = dialer
        .add(
            now as u64,
            NewTask {
                customer: customer_key(task.customer, task.number.e164()),
                reason: reason_key(&task.reason),
                number: task.number.e164().to_string(),
                priority_class: priority_class(&task.priority, request.vip),
                value_score: task.value_score,
                window,
                contact_hours: request.contact_hours.map(Arc::new),
            },
        )
        .map_err(|e| match e {
            AddError::Duplicate { existing } => SubmitError::Duplicate(format!(
                "callback {} is already waiting for this customer and reason",
                existing.0
            )),
            AddError::Full { max } => {
                SubmitError::Invalid("task".into(), format!("the dialer holds {max} tasks"))
            }
            other => SubmitError::Invalid(
                other.field().unwrap_or("task").to_string(),
                match other {
                    AddError::WindowNeverOpens { blocked } => blocked.to_string(),
                    other => other.to_string(),
                },
            ),
        })?;
    let snapshot = dialer.snapshot(accepted.id);
    if let Some(snapshot) = &snapshot {
        task.window_start_ms = snapshot.window_start_ms as i64;
        task.window_end_ms = snapshot.window_end_ms as i64;
    }
    task.promised_ms = accepted.promised_ms as i64;
    let stored = records
        .create_callback_task(Some(accepted.id.0 as i64), &task, "callbacks")
        .await;
    match stored {
        Ok(stored) => {
            stats.accepted += 1;
            if let Some(snapshot) = snapshot.and_then(|s| serde_json::to_string(&s).ok()) {
                // The first snapshot; a failure here is repaired by the restore, which builds
                // it from the row.
                let _ = records
                    .update_callback_task(
                        stored.id,
                        CallbackState::Pending,
                        0,
                        None,
                        Some(&snapshot),
                        now,
                    )
                    .await;
            }
            Ok(stored)
        }
        Err(error) => {
            stats.store_errors += 1;
            // Not stored, so not accepted: the dialer forgets it.
            let _ = dialer.cancel(now as u64, accepted.id, CancelReason::ByStaff);
            Err(match error {
                StoreError::Conflict(message) => SubmitError::Duplicate(message),
                StoreError::Invalid(e) => SubmitError::Invalid(e.field, e.problem),
                other => SubmitError::Store(other),
            })
        }
    }
}
