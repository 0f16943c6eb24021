//! The outbound side's task: it owns the dialer ([`hotline_dialer::Dialer`], sans-IO) and
//! takes callback requests from the API one at a time, so that deciding (dedupe, windows,
//! the promise) and storing happen in one order: a request is answered only after its task is
//! in the records, under the dialer's id. At start it rebuilds the dialer from the records'
//! active tasks (a task that was dialling is taken to have ended that attempt unknown: the
//! same attempt is never dialled twice).
//!
//! With [`Dialling`] it also places the calls: each due task's attempt is checked against the
//! records again (do-not-call, consent), claimed in the records (state `dialling` with the
//! dialer's snapshot) and only then handed to the switch ([`OutboundCall`]), agent first,
//! one per free agent of the outbound queue. The switch reports each attempt's end once
//! ([`OutboundReport`]); the dialer decides the retry and the records follow. The dialer's
//! events go to the event log as `callback.*`.

use std::fmt;
use std::sync::Arc;

use hotline_calendar::Calendar;
use std::collections::HashMap;

use hotline_dialer::{
    AddError, CancelReason, ClaimError, CustomerKey, DialOrder, Dialer, DialerRules,
    Event as DialerEvent, NewTask, Next, Outcome, RequestedWindow, Restored, TaskId, TaskSnapshot,
    TaskState,
};
use hotline_media::announce::Language;
use hotline_phone::PhoneNumber;
use hotline_routing::ContactId;
use hotline_store::{
    CallbackState, CallbackTask, Customer, CustomerId, NewCallbackTask, Records, StoreError,
};
use hotline_store::{EventWriter, NewEvent};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot, watch};

use crate::notify::{Notice, NoticeSettings, Provider};
use crate::switch::{
    CallerProfile, OutboundCall, OutboundCapacity, OutboundMode, OutboundResult,
    MAX_OUTBOUND_ATTEMPTS,
};

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

impl std::error::Error for SubmitError {}

enum Command {
    Submit(
        Box<CallbackRequest>,
        oneshot::Sender<Result<CallbackTask, SubmitError>>,
    ),
    Cancel(i64, String, oneshot::Sender<Result<bool, SubmitError>>),
    Preview(
        usize,
        oneshot::Sender<Result<Vec<CallbackTask>, SubmitError>>,
    ),
    Dial(
        i64,
        String,
        oneshot::Sender<Result<CallbackTask, DialError>>,
    ),
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

    /// Preview: the due tasks, best first (at most [`MAX_PREVIEW`]), none claimed.
    pub async fn preview(&self, limit: usize) -> Result<Vec<CallbackTask>, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .try_send(Command::Preview(limit, reply))
            .map_err(|_| SubmitError::Busy)?;
        answer.await.map_err(|_| SubmitError::Busy)?
    }

    /// Preview: `agent` pressed dial on task `id`: its attempt is placed now, to that agent.
    pub async fn dial(&self, id: i64, agent: &str) -> Result<CallbackTask, DialError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .try_send(Command::Dial(id, agent.to_string(), reply))
            .map_err(|_| DialError::Busy)?;
        answer.await.map_err(|_| DialError::Busy)?
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
    /// Attempts handed to the switch.
    pub attempts_placed: u64,
    /// Attempts whose end the dialler took.
    pub attempts_ended: u64,
    /// Tasks cancelled right before a dial (do-not-call, consent withdrawn).
    pub cancelled_before_dial: u64,
    /// Dialler events not logged (the event writer was full or gone).
    pub events_dropped: u64,
    /// Fallback messages the provider took.
    pub notices_sent: u64,
    /// Callbacks the customer moved to a later time on an automatic call.
    pub moved_later: u64,
    /// Tickets' follow-ups closed as not reached or not called (their callback failed for
    /// good or was cancelled).
    pub follow_ups_closed: u64,
    /// Fallback messages not sent (the provider refused them, or the task was unreadable).
    pub notices_failed: u64,
}

/// Starts the outbound task over `records` with the dialer's `rules` (its default legal hours
/// shown as `display`): restores the active tasks first, then takes requests, and every
/// `follow_up_poll` the tickets' due follow-up visits, until every [`Outbound`] handle is
/// dropped. With `dialling`, it places the due tasks through the switch, paced by the
/// outbound queue's free agents; without, it only keeps them.
pub async fn spawn(
    records: Records,
    rules: DialerRules,
    display: Calendar,
    follow_up_poll: std::time::Duration,
    dialling: Option<Dialling>,
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
            Ok(Restored::DueAt(_)) => {
                stats.restored += 1;
                if matches!(snapshot.state, TaskState::Dialling { .. }) {
                    // That attempt ended unknown: say so, so that the next restart does not
                    // count it again.
                    let restored = dialer
                        .snapshot(snapshot.id)
                        .and_then(|s| serde_json::to_string(&s).ok());
                    let _ = records
                        .update_callback_task(
                            task.id,
                            CallbackState::Pending,
                            snapshot.attempts,
                            Some("unknown"),
                            restored.as_deref(),
                            now,
                        )
                        .await;
                }
            }
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
    let (commands, receiver) = mpsc::channel(MAX_OUTBOUND_QUEUE);
    let task = tokio::spawn(run(
        records,
        dialer,
        receiver,
        stats,
        follow_up_poll,
        dialling,
    ));
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

/// The dialler's ends of the channels to the switch's run loop ([`link`]).
pub struct DiallerSide {
    calls: mpsc::Sender<OutboundCall>,
    reports: mpsc::Receiver<OutboundReport>,
    capacity: watch::Receiver<OutboundCapacity>,
}

/// The switch's ends ([`link`]), for [`crate::runtime::LinkSetup::outbound`].
pub struct SwitchSide {
    /// Attempts to place.
    pub calls: mpsc::Receiver<OutboundCall>,
    /// How each attempt ended.
    pub reports: mpsc::Sender<OutboundReport>,
    /// The free agents, published after each turn.
    pub capacity: watch::Sender<OutboundCapacity>,
}

/// How an attempt the switch placed ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboundReport {
    /// The task.
    pub task: u64,
    /// The attempt.
    pub attempt: u32,
    /// The contact it was.
    pub contact: ContactId,
    /// How it ended.
    pub result: OutboundResult,
    /// When.
    pub at_ms: u64,
}

/// The channels between the dialler and the switch: attempts one way, their ends and the
/// free capacity the other. Both are bounded by [`MAX_OUTBOUND_ATTEMPTS`], which the dialler
/// never exceeds in flight, so a report is never dropped.
pub fn link() -> (SwitchSide, DiallerSide) {
    let (calls_tx, calls) = mpsc::channel(MAX_OUTBOUND_ATTEMPTS);
    let (reports, reports_rx) = mpsc::channel(MAX_OUTBOUND_ATTEMPTS);
    let (capacity, capacity_rx) = watch::channel(OutboundCapacity::default());
    (
        SwitchSide {
            calls,
            reports,
            capacity,
        },
        DiallerSide {
            calls: calls_tx,
            reports: reports_rx,
            capacity: capacity_rx,
        },
    )
}

/// Placing the dialler's due tasks through the switch.
pub struct Dialling {
    /// The channels to the switch.
    pub side: DiallerSide,
    /// Where the dialler's events go (`callback.*`), for the metrics and the webhooks.
    pub events: Option<EventWriter>,
    /// The most attempts under way at once.
    pub max_in_flight: u32,
    /// Where the fallbacks' messages go (failed for good, later than promised), and what
    /// they say; `None` sends none (the `callback.*` events are still written).
    pub notices: Option<(Arc<dyn Provider>, NoticeSettings)>,
    /// Agent first (one attempt per free agent), automatic (dialled at once, up to
    /// `max_in_flight`; the customer chooses an agent or a later time), or preview (agents
    /// choose a due task and press dial: [`Outbound::dial`]).
    pub mode: OutboundMode,
    /// The routing configuration's agents, whom a preview dial may name.
    pub agents: Vec<String>,
}

/// The dialling half of the task's state.
struct Placing {
    calls: mpsc::Sender<OutboundCall>,
    reports: mpsc::Receiver<OutboundReport>,
    capacity: watch::Receiver<OutboundCapacity>,
    max_in_flight: usize,
    mode: OutboundMode,
    /// Attempts sent to the switch so far.
    sent: u64,
    /// Attempts under way: task → attempt.
    in_flight: HashMap<u64, u32>,
}

async fn run(
    records: Records,
    mut dialer: Dialer,
    mut commands: mpsc::Receiver<Command>,
    mut stats: OutboundStats,
    follow_up_poll: std::time::Duration,
    dialling: Option<Dialling>,
) -> OutboundStats {
    let mut follow_ups = tokio::time::interval(follow_up_poll);
    follow_ups.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let events = dialling.as_ref().and_then(|d| d.events.clone());
    let notices = dialling.as_ref().and_then(|d| d.notices.clone());
    let agents = dialling
        .as_ref()
        .map(|d| d.agents.clone())
        .unwrap_or_default();
    let mut placing = dialling.map(|d| Placing {
        calls: d.side.calls,
        reports: d.side.reports,
        capacity: d.side.capacity,
        max_in_flight: (d.max_in_flight as usize).clamp(1, MAX_OUTBOUND_ATTEMPTS),
        mode: d.mode,
        sent: 0,
        in_flight: HashMap::new(),
    });
    let started = std::time::Instant::now();
    let started_ms = crate::api::now_ms();
    // The restore's events (attempts that ended unknown, tasks that could not go on).
    drain_events(&records, &mut dialer, &events, &notices, &mut stats).await;
    loop {
        // Sleep until the next task falls due; tasks already due wait for capacity, which
        // wakes the loop when it changes.
        let now = crate::api::now_ms() as u64;
        let wake = match (&placing, dialer.next_wakeup()) {
            (Some(_), Some(at)) if at > now => Some(
                tokio::time::Instant::from_std(started)
                    + std::time::Duration::from_millis(at - started_ms as u64),
            ),
            _ => None,
        };
        tokio::select! {
            command = commands.recv() => match command {
                None => break,
                Some(Command::Submit(request, reply)) => {
                    let answer =
                        accept(&records, &mut dialer, *request, &events, &mut stats).await;
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
                        if let Some(placing) = &mut placing {
                            placing.in_flight.remove(&(id as u64));
                        }
                    }
                    let _ = reply.send(answer);
                }
                Some(Command::Preview(limit, reply)) => {
                    let _ = reply.send(preview(&records, &mut dialer, limit).await);
                }
                Some(Command::Dial(id, agent, reply)) => {
                    let answer = dial_now(
                        &records, &mut dialer, &mut placing, &agents, id, agent, &mut stats,
                    )
                    .await;
                    let _ = reply.send(answer);
                }
            },
            _ = follow_ups.tick() => {
                feed_follow_ups(&records, &mut dialer, &events, &mut stats).await;
            }
            report = from_switch(&mut placing) => {
                if let Some(report) = report {
                    ended(&records, &mut dialer, &mut placing, report, &events, &mut stats)
                        .await;
                }
            }
            _ = sleep_until(wake) => {}
        }
        if let Some(placing) = &mut placing {
            place_due(&records, &mut dialer, placing, &mut stats).await;
        }
        drain_events(&records, &mut dialer, &events, &notices, &mut stats).await;
    }
    stats
}

/// The next word from the switch: an attempt's end, or `None` when its capacity changed.
/// Never, without dialling or once the switch has stopped.
async fn from_switch(placing: &mut Option<Placing>) -> Option<OutboundReport> {
    let Some(placing) = placing else {
        return std::future::pending().await;
    };
    tokio::select! {
        report = placing.reports.recv() => match report {
            Some(report) => Some(report),
            None => std::future::pending().await,
        },
        changed = placing.capacity.changed() => match changed {
            Ok(()) => None,
            Err(_) => std::future::pending().await,
        },
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Hands due tasks to the switch, one per free agent (less the attempts sent that the switch
/// has not counted yet), within `max_in_flight`. Each is checked against the records first
/// (do-not-call, consent) and its claim stored before it is sent.
async fn place_due(
    records: &Records,
    dialer: &mut Dialer,
    placing: &mut Placing,
    stats: &mut OutboundStats,
) {
    let capacity = *placing.capacity.borrow_and_update();
    let unseen = placing.sent.saturating_sub(capacity.calls_taken);
    let free = match placing.mode {
        OutboundMode::AgentFirst => u64::from(capacity.free_agents).saturating_sub(unseen),
        // Dialled at once: only `max_in_flight` bounds them.
        OutboundMode::Automatic => u64::MAX,
        // Agents choose and press dial.
        OutboundMode::Preview => 0,
    };
    let room = placing
        .max_in_flight
        .saturating_sub(placing.in_flight.len());
    let wanted = (free as usize)
        .min(room)
        .min(hotline_dialer::DIAL_ORDERS_PER_POLL_MAX);
    if wanted == 0 {
        return;
    }
    let now = crate::api::now_ms();
    for order in dialer.poll_due(now as u64, wanted) {
        let _ = place_order(records, dialer, placing, order, None, now, stats).await;
    }
}

/// Why an attempt handed out was not sent to the switch.
#[derive(Debug)]
enum NotSent {
    /// The task was cancelled (do-not-call, consent) or is gone from the records.
    Cancelled(&'static str),
    /// The records or the channel to the switch failed; the attempt counts as unknown.
    Failed,
}

/// Checks an attempt handed out against the records (do-not-call, consent), stores its
/// claim, and sends it to the switch (to `agent` only, when named).
async fn place_order(
    records: &Records,
    dialer: &mut Dialer,
    placing: &mut Placing,
    order: DialOrder,
    agent: Option<String>,
    now: i64,
    stats: &mut OutboundStats,
) -> Result<(), NotSent> {
    let id = order.task.0 as i64;
    let task = match records.callback_task(id).await {
        Ok(Some(task)) => task,
        Ok(None) => {
            // Not in the records (cannot happen: stored before accepted): forget it.
            let _ = dialer.cancel(now as u64, order.task, CancelReason::ByStaff);
            return Err(NotSent::Cancelled("the task is not in the records"));
        }
        Err(_) => {
            stats.store_errors += 1;
            let _ = dialer.outcome(now as u64, order.task, order.attempt, Outcome::Unknown);
            return Err(NotSent::Failed);
        }
    };
    let customer = match task.fields.customer {
        Some(customer) => records.customer(customer).await.ok().flatten(),
        None => None,
    };
    // Re-checked right before the dial, not only when the request came.
    let refusal = customer.as_ref().and_then(|c| {
        if c.fields.do_not_call {
            Some(CancelReason::DoNotCall)
        } else if task.fields.channel == "follow_up" && !c.fields.consent {
            Some(CancelReason::NoConsent)
        } else {
            None
        }
    });
    if let Some(reason) = refusal {
        stats.cancelled_before_dial += 1;
        let _ = dialer.cancel(now as u64, order.task, reason);
        let _ = records
            .cancel_callback_task(id, cancel_reason(reason), now, "dialer")
            .await;
        return Err(NotSent::Cancelled(cancel_reason(reason)));
    }
    let snapshot = dialer
        .snapshot(order.task)
        .and_then(|s| serde_json::to_string(&s).ok());
    // The claim: stored before the dial, so that a restart never dials this attempt again.
    let claimed = records
        .update_callback_task(
            id,
            CallbackState::Dialling,
            order.attempt,
            task.outcome.as_deref(),
            snapshot.as_deref(),
            now,
        )
        .await;
    if !matches!(claimed, Ok(true)) {
        stats.store_errors += 1;
        let _ = dialer.outcome(now as u64, order.task, order.attempt, Outcome::Unknown);
        return Err(NotSent::Failed);
    }
    let call = OutboundCall {
        task: order.task.0,
        attempt: order.attempt,
        number: order.number.as_str().to_string(),
        customer: task.fields.customer.map(|c| c.0),
        language: customer
            .as_ref()
            .and_then(|c| c.fields.preferences.language.as_deref())
            .and_then(crate::notify::language_of),
        profile: customer.as_ref().map(|c| CallerProfile {
            level: Some(c.fields.level.clone()),
            value_score: c.fields.value_score,
            prefer_human: c.fields.preferences.prefer_human,
            dedicated_agent: c.fields.preferences.dedicated_agent.clone(),
        }),
        mode: placing.mode,
        agent,
    };
    if placing.calls.try_send(call).is_err() {
        let _ = dialer.outcome(now as u64, order.task, order.attempt, Outcome::Unknown);
        return Err(NotSent::Failed);
    }
    stats.attempts_placed += 1;
    placing.sent += 1;
    placing.in_flight.insert(order.task.0, order.attempt);
    Ok(())
}

/// Preview: the due tasks, best first, as the records hold them.
async fn preview(
    records: &Records,
    dialer: &mut Dialer,
    limit: usize,
) -> Result<Vec<CallbackTask>, SubmitError> {
    let now = crate::api::now_ms() as u64;
    let mut tasks = Vec::new();
    for id in dialer.peek_due(now, limit.min(MAX_PREVIEW)) {
        if let Some(task) = records
            .callback_task(id.0 as i64)
            .await
            .map_err(SubmitError::Store)?
        {
            tasks.push(task);
        }
    }
    Ok(tasks)
}

/// Preview: an agent pressed dial on a card.
async fn dial_now(
    records: &Records,
    dialer: &mut Dialer,
    placing: &mut Option<Placing>,
    agents: &[String],
    id: i64,
    agent: String,
    stats: &mut OutboundStats,
) -> Result<CallbackTask, DialError> {
    let Some(placing) = placing else {
        return Err(DialError::NotDialling);
    };
    if !agents.contains(&agent) {
        return Err(DialError::UnknownAgent(agent));
    }
    if placing.in_flight.len() >= placing.max_in_flight {
        return Err(DialError::Busy);
    }
    let now = crate::api::now_ms();
    let order = dialer
        .claim_task(now as u64, TaskId(id.max(0) as u64))
        .map_err(DialError::Claim)?;
    match place_order(records, dialer, placing, order, Some(agent), now, stats).await {
        Ok(()) => records
            .callback_task(id)
            .await
            .ok()
            .flatten()
            .ok_or(DialError::Busy),
        Err(NotSent::Cancelled(why)) => Err(DialError::Cancelled(why)),
        Err(NotSent::Failed) => Err(DialError::Busy),
    }
}

/// Why an agent's dial (preview) was refused.
#[derive(Debug)]
pub enum DialError {
    /// This center does not place calls.
    NotDialling,
    /// No such agent in the routing configuration.
    UnknownAgent(String),
    /// The task cannot be dialled now.
    Claim(ClaimError),
    /// The task was cancelled when checked (do-not-call, consent).
    Cancelled(&'static str),
    /// Too many attempts under way, or the records failed: try again.
    Busy,
}

impl fmt::Display for DialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialError::NotDialling => f.write_str("this center does not place calls"),
            DialError::UnknownAgent(agent) => write!(f, "no agent {agent:?}"),
            DialError::Claim(e) => write!(f, "{e}"),
            DialError::Cancelled(why) => write!(f, "the callback was cancelled: {why}"),
            DialError::Busy => f.write_str("the dialer is busy: try again"),
        }
    }
}

/// The most cards a preview shows.
pub const MAX_PREVIEW: usize = 100;

fn cancel_reason(reason: CancelReason) -> &'static str {
    match reason {
        CancelReason::DoNotCall => "do_not_call",
        CancelReason::NoConsent => "no_consent",
        CancelReason::ByCustomer => "withdrawn",
        CancelReason::ByStaff => "cancelled",
    }
}

/// The dialler's outcome of an attempt's end.
fn outcome_of(result: OutboundResult) -> Outcome {
    match result {
        OutboundResult::Connected => Outcome::Connected,
        OutboundResult::Busy => Outcome::Busy,
        OutboundResult::NoAnswer => Outcome::NoAnswer,
        OutboundResult::Rejected => Outcome::Rejected,
        OutboundResult::InvalidNumber => Outcome::InvalidNumber,
        OutboundResult::Failed(_) | OutboundResult::NotPlaced => Outcome::NetworkFailure,
        // Reported after `Connected`; never given to the dialer.
        OutboundResult::Later(_) => Outcome::Connected,
    }
}

/// An attempt ended: the dialler decides what is next and the records say so.
async fn ended(
    records: &Records,
    dialer: &mut Dialer,
    placing: &mut Option<Placing>,
    report: OutboundReport,
    events: &Option<EventWriter>,
    stats: &mut OutboundStats,
) {
    if let Some(placing) = placing {
        if placing.in_flight.get(&report.task) == Some(&report.attempt) {
            placing.in_flight.remove(&report.task);
        }
    }
    let now = crate::api::now_ms();
    if let OutboundResult::Later(after_ms) = report.result {
        later(records, dialer, report.task, after_ms, events, stats).await;
        return;
    }
    let outcome = outcome_of(report.result);
    let Ok(next) = dialer.outcome(now as u64, TaskId(report.task), report.attempt, outcome) else {
        // A late report (the task was cancelled meanwhile).
        return;
    };
    stats.attempts_ended += 1;
    let id = report.task as i64;
    let written = match next {
        Next::Done => {
            records
                .update_callback_task(
                    id,
                    CallbackState::Done,
                    report.attempt,
                    Some(report.result.as_str()),
                    None,
                    now,
                )
                .await
        }
        Next::RetryAt(_) => {
            let snapshot = dialer
                .snapshot(TaskId(report.task))
                .and_then(|s| serde_json::to_string(&s).ok());
            records
                .update_callback_task(
                    id,
                    CallbackState::Pending,
                    report.attempt,
                    Some(report.result.as_str()),
                    snapshot.as_deref(),
                    now,
                )
                .await
        }
        Next::Failed(reason) => {
            let text = fail_text(reason, report.result);
            records
                .update_callback_task(
                    id,
                    CallbackState::Failed,
                    report.attempt,
                    Some(&text),
                    None,
                    now,
                )
                .await
        }
    };
    if written.is_err() {
        // The restore takes the stored claim as an attempt of unknown outcome.
        stats.store_errors += 1;
    }
}

/// How long a callback the customer moved to later stays valid from its new start.
pub const LATER_WINDOW_MS: i64 = 24 * 3_600_000;

/// The customer of an automatic call (reached, its task done) chose to be called again
/// `after_ms` from now: a new task of the same request from then, under the same rules.
async fn later(
    records: &Records,
    dialer: &mut Dialer,
    task: u64,
    after_ms: u64,
    events: &Option<EventWriter>,
    stats: &mut OutboundStats,
) {
    let Ok(Some(old)) = records.callback_task(task as i64).await else {
        stats.store_errors += 1;
        return;
    };
    let now = crate::api::now_ms();
    let customer = match old.fields.customer {
        Some(id) => records.customer(id).await.ok().flatten(),
        None => None,
    };
    let start = now + after_ms as i64;
    let mut fields = old.fields.clone();
    fields.created_ms = now;
    let request = CallbackRequest {
        task: fields,
        window: Some((start, start + LATER_WINDOW_MS)),
        contact_hours: contact_hours_of(records, old.fields.customer)
            .await
            .map(|c| (*c).clone()),
        vip: customer.is_some_and(|c| c.fields.level == "vip"),
    };
    match accept(records, dialer, request, events, stats).await {
        Ok(_) => stats.moved_later += 1,
        // A window that never opens, a duplicate: the customer was reached; nothing more.
        Err(_) => stats.store_errors += 1,
    }
}

fn fail_text(reason: hotline_dialer::FailReason, last: OutboundResult) -> String {
    format!("{reason} (last: {})", last.as_str())
}

/// Writes the dialler's events to the event log (`callback.*`): the metrics and the
/// webhooks read them there.
async fn drain_events(
    records: &Records,
    dialer: &mut Dialer,
    events: &Option<EventWriter>,
    notices: &Option<(Arc<dyn Provider>, NoticeSettings)>,
    stats: &mut OutboundStats,
) {
    while let Some(event) = dialer.poll_event() {
        if let Some(events) = events {
            if events.try_append(callback_event(&event)).await.is_err() {
                stats.events_dropped += 1;
            }
        }
        if let Some((provider, settings)) = notices {
            fallback(records, provider.as_ref(), settings, &event, stats).await;
        }
        close_follow_up(records, events, &event, stats).await;
    }
}

/// A ticket's follow-up visit whose callback failed for good or was cancelled is done, as
/// not reached (the ticket's history says why), so it does not wait forever. One that
/// connects stays queued: the agent on the call records how it went.
async fn close_follow_up(
    records: &Records,
    events: &Option<EventWriter>,
    event: &DialerEvent,
    stats: &mut OutboundStats,
) {
    let (task, outcome, note, at_ms) = match *event {
        DialerEvent::TaskFailed {
            task,
            reason,
            at_ms,
        } => (task, "not_reached", reason.to_string(), at_ms),
        DialerEvent::TaskCancelled {
            task,
            reason,
            at_ms,
        } => (task, "not_called", cancel_reason(reason).to_string(), at_ms),
        _ => return,
    };
    let Ok(Some(row)) = records.callback_task(task.0 as i64).await else {
        return;
    };
    let Some(ticket) = row.fields.ticket else {
        return;
    };
    match records
        .record_follow_up(ticket, outcome, Some(&note), at_ms as i64, "dialer")
        .await
    {
        Ok(ticket) => {
            stats.follow_ups_closed += 1;
            if let Some(events) = events {
                let event = crate::api::tickets::ticket_event("ticket.follow_up_done", &ticket);
                if events.try_append(event).await.is_err() {
                    stats.events_dropped += 1;
                }
            }
        }
        // Already recorded by an agent (a conflict), or the records failed.
        Err(StoreError::Conflict(_)) => {}
        Err(_) => stats.store_errors += 1,
    }
}

/// The message a fallback sends: the links when a task failed for good, the apology (and
/// its benefit) when the first dial was late. A provider that does not take it is counted.
async fn fallback(
    records: &Records,
    provider: &dyn Provider,
    settings: &NoticeSettings,
    event: &DialerEvent,
    stats: &mut OutboundStats,
) {
    let (task, late_ms, at_ms) = match *event {
        DialerEvent::TaskFailed { task, at_ms, .. } => (task, None, at_ms),
        DialerEvent::PromiseMissed {
            task,
            promised_ms,
            late_ms,
        } => (task, Some(late_ms), promised_ms + late_ms),
        _ => return,
    };
    let Ok(Some(row)) = records.callback_task(task.0 as i64).await else {
        stats.notices_failed += 1;
        return;
    };
    let customer = match row.fields.customer {
        Some(id) => records.customer(id).await.ok().flatten(),
        None => None,
    };
    let language = customer
        .as_ref()
        .and_then(|c| c.fields.preferences.language.as_deref())
        .and_then(crate::notify::language_of)
        .unwrap_or(Language::ZhCn);
    let to = row.fields.number.e164();
    let customer_id = row.fields.customer.map(|c| c.0);
    let notice = match late_ms {
        None => Notice::failed(settings, row.id, customer_id, to, language, at_ms as i64),
        Some(late_ms) => {
            if let (Some(tag), Some(customer)) = (&settings.apology_tag, &customer) {
                // The benefit agents see on the pop: a flag on the customer's record.
                if !customer.fields.tags.contains(tag) {
                    let mut fields = customer.fields.clone();
                    fields.tags.push(tag.clone());
                    let now = crate::api::now_ms();
                    if records
                        .update_customer(customer.id, &fields, None, now, "dialer")
                        .await
                        .is_err()
                    {
                        stats.store_errors += 1;
                    }
                }
            }
            Notice::late(
                settings,
                row.id,
                customer_id,
                to,
                language,
                late_ms,
                at_ms as i64,
            )
        }
    };
    match provider.submit(&notice).await {
        Ok(()) => stats.notices_sent += 1,
        Err(_) => stats.notices_failed += 1,
    }
}

/// The `callback.requested` row of a stored request.
pub fn requested_event(task: &CallbackTask) -> NewEvent {
    NewEvent {
        at_ms: task.fields.created_ms,
        kind: "callback.requested".to_string(),
        contact_id: None,
        agent: None,
        queue: None,
        data: serde_json::json!({
            "task": task.id,
            "channel": task.fields.channel,
            "priority": task.fields.priority,
            "customer_id": task.fields.customer.map(|c| c.0),
            "window_start_ms": task.fields.window_start_ms,
            "window_end_ms": task.fields.window_end_ms,
            "promised_ms": task.fields.promised_ms,
            "ticket_id": task.fields.ticket.map(|t| t.0),
        }),
    }
}

/// A dialler event as an event-log row.
pub fn callback_event(event: &DialerEvent) -> NewEvent {
    let (kind, at_ms, data) = match *event {
        DialerEvent::AttemptStarted {
            task,
            attempt,
            at_ms,
        } => (
            "callback.attempt_started",
            at_ms,
            serde_json::json!({ "task": task.0, "attempt": attempt }),
        ),
        DialerEvent::AttemptEnded {
            task,
            attempt,
            outcome,
            at_ms,
        } => (
            "callback.attempt_ended",
            at_ms,
            serde_json::json!({
                "task": task.0, "attempt": attempt, "outcome": outcome_name(outcome),
            }),
        ),
        DialerEvent::TaskDone { task, at_ms } => (
            "callback.done",
            at_ms,
            serde_json::json!({ "task": task.0 }),
        ),
        DialerEvent::TaskFailed {
            task,
            reason,
            at_ms,
        } => (
            "callback.failed",
            at_ms,
            serde_json::json!({ "task": task.0, "reason": reason.to_string() }),
        ),
        DialerEvent::TaskCancelled {
            task,
            reason,
            at_ms,
        } => (
            "callback.cancelled",
            at_ms,
            serde_json::json!({ "task": task.0, "reason": cancel_reason(reason) }),
        ),
        DialerEvent::PromiseMissed {
            task,
            promised_ms,
            late_ms,
        } => (
            "callback.promise_missed",
            promised_ms + late_ms,
            serde_json::json!({
                "task": task.0, "promised_ms": promised_ms, "late_ms": late_ms,
            }),
        ),
    };
    NewEvent {
        at_ms: at_ms as i64,
        kind: kind.to_string(),
        contact_id: None,
        agent: None,
        queue: None,
        data,
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Connected => "connected",
        Outcome::Busy => "busy",
        Outcome::NoAnswer => "no_answer",
        Outcome::Rejected => "rejected",
        Outcome::NetworkFailure => "network_failure",
        Outcome::InvalidNumber => "invalid_number",
        Outcome::Unknown => "unknown",
    }
}

/// Turns the tickets' due follow-up visits into callback tasks (channel `follow_up`), each
/// once: the ticket's follow-up becomes `queued`. One that cannot be called is recorded as
/// `not_called` with the reason; one whose records write failed is tried next round.
async fn feed_follow_ups(
    records: &Records,
    dialer: &mut Dialer,
    events: &Option<EventWriter>,
    stats: &mut OutboundStats,
) {
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
                accept(records, dialer, request, events, stats).await
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
    events: &Option<EventWriter>,
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
            if let Some(events) = events {
                // The trigger of the outbound metrics (trigger → first dial, per channel).
                if events.try_append(requested_event(&stored)).await.is_err() {
                    stats.events_dropped += 1;
                }
            }
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
