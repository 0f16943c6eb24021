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

mod campaign;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use hotline_calendar::Calendar;

use hotline_dialer::{
    AddError, CancelReason, ClaimError, CustomerKey, DialOrder, Dialer, DialerRules,
    Event as DialerEvent, NewTask, Next, Outcome, RequestedWindow, Restored, TaskId, TaskSnapshot,
    TaskState,
};
use hotline_media::announce::Language;
use hotline_phone::PhoneNumber;
use hotline_routing::ContactId;
use hotline_store::{
    CallbackState, CallbackTask, Campaign, CampaignState as StoredCampaignState, Customer,
    CustomerId, NewCallbackTask, NewCampaign, Records, StoreError,
};
use hotline_store::{EventWriter, NewEvent};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot, watch};

pub use campaign::{CampaignLive, LaneCounters, AGENTS_ANSWER_WAIT, CAP_MIN_ANSWERED, PACING_TICK};

use crate::notify::{Notice, NoticeSettings, Provider};
use crate::switch::{
    CallerProfile, OutboundCall, OutboundCapacity, OutboundMode, OutboundResult, PacingStep,
    QueueAgents, MAX_OUTBOUND_ATTEMPTS,
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
                campaign: None,
                mode: None,
                requested_by: None,
            },
            window: None,
            contact_hours,
            vip: fields.level == "vip",
        })
    }
}

impl CallbackRequest {
    /// A request to call `number`, of no customer in the records.
    pub fn for_number(
        number: PhoneNumber,
        channel: &str,
        reason: &str,
        now_ms: i64,
    ) -> CallbackRequest {
        CallbackRequest {
            task: NewCallbackTask {
                customer: None,
                dedupe_key: dedupe_key(None, number.e164(), reason),
                number,
                channel: channel.into(),
                reason: reason.into(),
                need_tags: Vec::new(),
                payload: None,
                priority: "normal".into(),
                value_score: 0,
                window_start_ms: 0,
                window_end_ms: 0,
                promised_ms: 0,
                ticket: None,
                created_ms: now_ms,
                campaign: None,
                mode: None,
                requested_by: None,
            },
            window: None,
            contact_hours: None,
            vip: false,
        }
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
    CreateCampaign(
        NewCampaign,
        String,
        oneshot::Sender<Result<Campaign, SubmitError>>,
    ),
    CampaignState(
        i64,
        StoredCampaignState,
        String,
        oneshot::Sender<Result<Option<Campaign>, SubmitError>>,
    ),
    AddNumbers(
        i64,
        Vec<CallbackRequest>,
        String,
        oneshot::Sender<Result<AddedNumbers, SubmitError>>,
    ),
    Campaigns(oneshot::Sender<Vec<CampaignLive>>),
    /// The agents and queues of a reloaded routing configuration.
    Names(Vec<String>, Vec<String>),
}

/// What a list of numbers added to a campaign came to.
#[derive(Debug, Default)]
pub struct AddedNumbers {
    /// Tasks stored.
    pub accepted: u64,
    /// Numbers left out: their index in the list, and why.
    pub skipped: Vec<(usize, String)>,
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

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .try_send(command(reply))
            .map_err(|_| SubmitError::Busy)?;
        answer.await.map_err(|_| SubmitError::Busy)
    }

    /// Creates a campaign (running, with no numbers yet).
    pub async fn create_campaign(
        &self,
        campaign: NewCampaign,
        actor: &str,
    ) -> Result<Campaign, SubmitError> {
        let actor = actor.to_string();
        self.ask(|reply| Command::CreateCampaign(campaign, actor, reply))
            .await?
    }

    /// Runs, pauses or stops a campaign (stopping cancels its waiting numbers); `None` for an
    /// unknown one.
    pub async fn set_campaign_state(
        &self,
        id: i64,
        state: StoredCampaignState,
        actor: &str,
    ) -> Result<Option<Campaign>, SubmitError> {
        let actor = actor.to_string();
        self.ask(|reply| Command::CampaignState(id, state, actor, reply))
            .await?
    }

    /// Adds numbers (at most [`hotline_store::MAX_CAMPAIGN_BATCH`]) to a campaign, stored in
    /// one go before the answer.
    pub async fn add_numbers(
        &self,
        id: i64,
        requests: Vec<CallbackRequest>,
        actor: &str,
    ) -> Result<AddedNumbers, SubmitError> {
        let actor = actor.to_string();
        self.ask(|reply| Command::AddNumbers(id, requests, actor, reply))
            .await?
    }

    /// The campaigns' live figures (those not stopped).
    pub async fn campaigns(&self) -> Result<Vec<CampaignLive>, SubmitError> {
        self.ask(Command::Campaigns).await
    }

    /// The routing's agents and queues after a reload ([`crate::reload`]): preview dialling
    /// and campaigns know the ones added. `false` when the task is gone.
    pub async fn set_names(&self, agents: Vec<String>, queues: Vec<String>) -> bool {
        self.commands
            .send(Command::Names(agents, queues))
            .await
            .is_ok()
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
    /// Predictive campaign calls handed to the switch.
    pub campaign_calls_placed: u64,
    /// Pacing rounds skipped: the switch did not say in time how the agents are.
    pub pacing_rounds_skipped: u64,
    /// Fallback messages not sent (the provider refused them, or the task was unreadable).
    pub notices_failed: u64,
}

/// Starts the outbound task over `records` with the dialer's `rules` (its default legal hours
/// shown as `display`): restores the campaigns and the active tasks first, then takes
/// requests, and every `follow_up_poll` the tickets' due follow-up visits, until every
/// [`Outbound`] handle is dropped. With `dialling`, it places the due tasks through the
/// switch (agent first paced by the outbound queue's free agents, automatic ones at once,
/// campaigns by their pacers); without, it only keeps them.
pub async fn spawn(
    records: Records,
    rules: DialerRules,
    display: Calendar,
    follow_up_poll: std::time::Duration,
    dialling: Option<Dialling>,
) -> Result<(Outbound, tokio::task::JoinHandle<OutboundStats>), StoreError> {
    let mut stats = OutboundStats::default();
    let next = records.max_callback_id().await? + 1;
    let default_mode = dialling
        .as_ref()
        .map_or(OutboundMode::AgentFirst, |d| d.mode);
    let mut lanes = Lanes::new(rules, default_mode, next.max(1) as u64);
    let now = crate::api::now_ms();
    for campaign in records.campaigns().await? {
        if campaign.state != StoredCampaignState::Stopped {
            let lane =
                campaign::Lane::open(&records, campaign, lanes.rules.clone(), now as u64).await?;
            lanes.campaigns.insert(lane.campaign.id, lane);
        }
    }
    for task in records.active_callback_tasks().await? {
        restore_task(&records, &mut lanes, task, now, &mut stats).await;
    }
    let (commands, receiver) = mpsc::channel(MAX_OUTBOUND_QUEUE);
    let task = tokio::spawn(run(
        records,
        lanes,
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

/// Puts an active task of the records back in its lane. A task that was dialling is taken
/// to have ended that attempt unknown, and the records say so, so that the next restart
/// does not count it again; one whose campaign was stopped is cancelled.
async fn restore_task(
    records: &Records,
    lanes: &mut Lanes,
    task: CallbackTask,
    now: i64,
    stats: &mut OutboundStats,
) {
    let contact_hours = contact_hours_of(records, task.fields.customer).await;
    let snapshot = match task
        .snapshot
        .as_deref()
        .and_then(|s| serde_json::from_str::<TaskSnapshot>(s).ok())
    {
        Some(snapshot) => snapshot,
        None => first_snapshot(&task, contact_hours.is_some()),
    };
    let Some(dialer) = lanes.dialer_for(task.fields.mode.as_deref(), task.fields.campaign) else {
        stats.restore_failed += 1;
        let _ = records
            .cancel_callback_task(task.id, "campaign_stopped", now, "dialer")
            .await;
        return;
    };
    match dialer.restore(now as u64, &snapshot, contact_hours) {
        Ok(Restored::DueAt(_)) => {
            stats.restored += 1;
            if matches!(snapshot.state, TaskState::Dialling { .. }) {
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
    lanes.next_id = lanes.next_id.max(snapshot.id.0.saturating_add(1));
}

/// The dialers the outbound task owns: one per way a callback is placed (agent first,
/// automatic, preview: a request names one or gets the center's), and one per campaign not
/// stopped. They share one id space, the records' ids ([`Dialer::raise_next_id`]).
struct Lanes {
    modes: [Dialer; 3],
    default_mode: OutboundMode,
    campaigns: BTreeMap<i64, campaign::Lane>,
    rules: DialerRules,
    next_id: u64,
}

impl Lanes {
    fn new(rules: DialerRules, default_mode: OutboundMode, next_id: u64) -> Lanes {
        Lanes {
            modes: [
                Dialer::new(rules.clone()),
                Dialer::new(rules.clone()),
                Dialer::new(rules.clone()),
            ],
            default_mode,
            campaigns: BTreeMap::new(),
            rules,
            next_id,
        }
    }

    /// The slot of a callback mode's dialer.
    fn slot(mode: OutboundMode) -> usize {
        match mode {
            OutboundMode::AgentFirst | OutboundMode::Predictive => 0,
            OutboundMode::Automatic => 1,
            OutboundMode::Preview => 2,
        }
    }

    /// The mode a task is placed in: its own, else the center's.
    fn mode_of(&self, mode: Option<&str>) -> OutboundMode {
        mode.and_then(OutboundMode::parse)
            .filter(|m| *m != OutboundMode::Predictive)
            .unwrap_or(self.default_mode)
    }

    /// The dialer of a task with this mode or campaign; `None` for a campaign not held.
    fn dialer_for(&mut self, mode: Option<&str>, campaign: Option<i64>) -> Option<&mut Dialer> {
        match campaign {
            Some(id) => self.campaigns.get_mut(&id).map(|lane| &mut lane.dialer),
            None => {
                let slot = Lanes::slot(self.mode_of(mode));
                Some(&mut self.modes[slot])
            }
        }
    }

    /// The dialer that holds an active task, with its campaign.
    fn find(&mut self, task: TaskId) -> Option<(Option<i64>, &mut Dialer)> {
        if let Some(slot) = (0..3).find(|&i| self.modes[i].state(task).is_some()) {
            return Some((None, &mut self.modes[slot]));
        }
        let (&id, lane) = self
            .campaigns
            .iter_mut()
            .find(|(_, lane)| lane.dialer.state(task).is_some())?;
        Some((Some(id), &mut lane.dialer))
    }

    /// Adds a task to its lane under the next shared id; answers its acceptance and first
    /// snapshot.
    fn add(
        &mut self,
        now_ms: u64,
        mode: Option<&str>,
        campaign: Option<i64>,
        task: NewTask,
    ) -> Result<(hotline_dialer::Accepted, Option<TaskSnapshot>), SubmitError> {
        let next = TaskId(self.next_id);
        let dialer = self.dialer_for(mode, campaign).ok_or_else(|| {
            SubmitError::Invalid(
                "campaign".into(),
                "no such campaign, or it is stopped".into(),
            )
        })?;
        dialer.raise_next_id(next);
        let accepted = dialer.add(now_ms, task).map_err(add_error)?;
        let snapshot = dialer.snapshot(accepted.id);
        self.next_id = self.next_id.max(accepted.id.0.saturating_add(1));
        Ok((accepted, snapshot))
    }

    /// Every dialer, with its campaign.
    fn each(&mut self) -> impl Iterator<Item = (Option<i64>, &mut Dialer)> {
        self.modes.iter_mut().map(|d| (None, d)).chain(
            self.campaigns
                .iter_mut()
                .map(|(id, lane)| (Some(*id), &mut lane.dialer)),
        )
    }

    /// When the next callback placed by itself (agent first, automatic) falls due.
    fn next_wakeup(&self) -> Option<u64> {
        [&self.modes[0], &self.modes[1]]
            .into_iter()
            .filter_map(|d| d.next_wakeup())
            .min()
    }
}

fn add_error(error: AddError) -> SubmitError {
    match error {
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
    }
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
    agents: mpsc::Sender<AgentsQuery>,
}

/// A predictive pacer's question to the switch: the agents of a queue, now.
#[derive(Debug)]
pub struct AgentsQuery {
    /// The queue, by name.
    pub queue: String,
    /// The answer; `None` for a queue the routing configuration does not know.
    pub reply: oneshot::Sender<Option<QueueAgents>>,
}

/// Questions about agents waiting for the switch's run loop; one per running campaign and
/// pacing round, so a few at most.
pub const MAX_AGENT_QUERIES: usize = 64;

/// The switch's ends ([`link`]), for [`crate::runtime::LinkSetup::outbound`].
pub struct SwitchSide {
    /// Attempts to place.
    pub calls: mpsc::Receiver<OutboundCall>,
    /// How each attempt ended.
    pub reports: mpsc::Sender<OutboundReport>,
    /// The free agents, published after each turn.
    pub capacity: watch::Sender<OutboundCapacity>,
    /// The pacers' questions about a queue's agents.
    pub agents: mpsc::Receiver<AgentsQuery>,
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
    let (agents_tx, agents) = mpsc::channel(MAX_AGENT_QUERIES);
    (
        SwitchSide {
            calls,
            reports,
            capacity,
            agents,
        },
        DiallerSide {
            calls: calls_tx,
            reports: reports_rx,
            capacity: capacity_rx,
            agents: agents_tx,
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
    /// The routing configuration's queues, which a campaign may name.
    pub queues: Vec<String>,
}

/// The dialling half of the task's state.
struct Placing {
    calls: mpsc::Sender<OutboundCall>,
    reports: mpsc::Receiver<OutboundReport>,
    capacity: watch::Receiver<OutboundCapacity>,
    agents: mpsc::Sender<AgentsQuery>,
    max_in_flight: usize,
    /// Attempts sent to the switch so far.
    sent: u64,
    /// Attempts under way: task → attempt.
    in_flight: HashMap<u64, u32>,
    /// Campaign calls under way or in conversation (until the agent's wrap-up ends, for
    /// the pacer): task → campaign. At most [`MAX_OUTBOUND_ATTEMPTS`] plus
    /// [`crate::switch::MAX_PACED_CONVERSATIONS`].
    campaign_calls: HashMap<u64, i64>,
}

/// How an attempt is placed.
struct PlaceAs {
    mode: OutboundMode,
    /// Only this agent takes it (preview).
    agent: Option<String>,
    /// The campaign's queue.
    queue: Option<String>,
}

async fn run(
    records: Records,
    mut lanes: Lanes,
    mut commands: mpsc::Receiver<Command>,
    mut stats: OutboundStats,
    follow_up_poll: std::time::Duration,
    dialling: Option<Dialling>,
) -> OutboundStats {
    let mut follow_ups = tokio::time::interval(follow_up_poll);
    follow_ups.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let events = dialling.as_ref().and_then(|d| d.events.clone());
    let notices = dialling.as_ref().and_then(|d| d.notices.clone());
    let mut agents = dialling
        .as_ref()
        .map(|d| d.agents.clone())
        .unwrap_or_default();
    let mut queues = dialling
        .as_ref()
        .map(|d| d.queues.clone())
        .unwrap_or_default();
    let mut placing = dialling.map(|d| Placing {
        calls: d.side.calls,
        reports: d.side.reports,
        capacity: d.side.capacity,
        agents: d.side.agents,
        max_in_flight: (d.max_in_flight as usize).clamp(1, MAX_OUTBOUND_ATTEMPTS),
        sent: 0,
        in_flight: HashMap::new(),
        campaign_calls: HashMap::new(),
    });
    let mut pacing = tokio::time::interval(PACING_TICK);
    pacing.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = std::time::Instant::now();
    let started_ms = crate::api::now_ms();
    // The restore's events (attempts that ended unknown, tasks that could not go on).
    drain_events(&records, &mut lanes, &events, &notices, &mut stats).await;
    loop {
        // Sleep until the next task falls due; tasks already due wait for capacity, which
        // wakes the loop when it changes.
        let now = crate::api::now_ms() as u64;
        let wake = match (&placing, lanes.next_wakeup()) {
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
                        accept(&records, &mut lanes, *request, &events, &mut stats).await;
                    let _ = reply.send(answer);
                }
                Some(Command::Cancel(id, actor, reply)) => {
                    let now = crate::api::now_ms();
                    let answer = records
                        .cancel_callback_task(id, "cancelled", now, &actor)
                        .await
                        .map_err(SubmitError::Store);
                    if matches!(answer, Ok(true)) {
                        if let Some((_, dialer)) = lanes.find(TaskId(id as u64)) {
                            let _ = dialer.cancel(now as u64, TaskId(id as u64), CancelReason::ByStaff);
                        }
                        if let Some(placing) = &mut placing {
                            placing.in_flight.remove(&(id as u64));
                        }
                    }
                    let _ = reply.send(answer);
                }
                Some(Command::Names(new_agents, new_queues)) => {
                    agents = new_agents;
                    queues = new_queues;
                }
                Some(Command::Preview(limit, reply)) => {
                    let _ = reply.send(preview(&records, &mut lanes, limit).await);
                }
                Some(Command::Dial(id, agent, reply)) => {
                    let answer = dial_now(
                        &records, &mut lanes, &mut placing, &agents, id, agent, &mut stats,
                    )
                    .await;
                    let _ = reply.send(answer);
                }
                Some(Command::CreateCampaign(campaign, actor, reply)) => {
                    let answer =
                        create_campaign(&records, &mut lanes, &queues, campaign, &actor).await;
                    let _ = reply.send(answer);
                }
                Some(Command::CampaignState(id, state, actor, reply)) => {
                    let answer =
                        set_campaign_state(&records, &mut lanes, id, state, &actor).await;
                    let _ = reply.send(answer);
                }
                Some(Command::AddNumbers(id, requests, actor, reply)) => {
                    let answer = add_numbers(
                        &records, &mut lanes, id, requests, &actor, &events, &mut stats,
                    )
                    .await;
                    let _ = reply.send(answer);
                }
                Some(Command::Campaigns(reply)) => {
                    let now = crate::api::now_ms() as u64;
                    let live = lanes
                        .campaigns
                        .values()
                        .filter(|l| !l.stopped())
                        .map(|l| l.live(now))
                        .collect();
                    let _ = reply.send(live);
                }
            },
            _ = follow_ups.tick() => {
                feed_follow_ups(&records, &mut lanes, &events, &mut stats).await;
            }
            _ = pacing.tick(), if placing.is_some() => {
                if let Some(placing) = &mut placing {
                    pace_campaigns(&records, &mut lanes, placing, &mut stats).await;
                }
            }
            report = from_switch(&mut placing) => {
                if let Some(report) = report {
                    ended(&records, &mut lanes, &mut placing, report, &events, &mut stats)
                        .await;
                }
            }
            _ = sleep_until(wake) => {}
        }
        if let Some(placing) = &mut placing {
            place_due(&records, &mut lanes, placing, &mut stats).await;
        }
        drain_events(&records, &mut lanes, &events, &notices, &mut stats).await;
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

/// Hands due callbacks to the switch: agent-first ones one per free agent (less the
/// attempts sent that the switch has not counted yet), automatic ones at once, all within
/// `max_in_flight`. Each is checked against the records first (do-not-call, consent) and
/// its claim stored before it is sent. Preview tasks wait for an agent's dial; campaigns
/// for their pacers ([`pace_campaigns`]).
async fn place_due(
    records: &Records,
    lanes: &mut Lanes,
    placing: &mut Placing,
    stats: &mut OutboundStats,
) {
    let capacity = *placing.capacity.borrow_and_update();
    let unseen = placing.sent.saturating_sub(capacity.calls_taken);
    let free = u64::from(capacity.free_agents).saturating_sub(unseen);
    for (mode, limit) in [
        (OutboundMode::AgentFirst, free),
        // Dialled at once: only `max_in_flight` bounds them.
        (OutboundMode::Automatic, u64::MAX),
    ] {
        let room = placing
            .max_in_flight
            .saturating_sub(placing.in_flight.len());
        let wanted = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .min(room)
            .min(hotline_dialer::DIAL_ORDERS_PER_POLL_MAX);
        if wanted == 0 {
            continue;
        }
        let now = crate::api::now_ms();
        let dialer = &mut lanes.modes[Lanes::slot(mode)];
        for order in dialer.poll_due(now as u64, wanted) {
            let how = PlaceAs {
                mode,
                agent: None,
                queue: None,
            };
            let _ = place_order(records, dialer, placing, order, how, now, stats).await;
        }
    }
}

/// One pacing round: for each running campaign with numbers, the switch says how the
/// queue's agents are, the pacer says how many calls to place, and that many due numbers
/// are dialled (within `max_in_flight`).
async fn pace_campaigns(
    records: &Records,
    lanes: &mut Lanes,
    placing: &mut Placing,
    stats: &mut OutboundStats,
) {
    for lane in lanes.campaigns.values_mut() {
        if !lane.running() || lane.dialer.is_empty() {
            continue;
        }
        let (reply, answer) = oneshot::channel();
        let query = AgentsQuery {
            queue: lane.queue().to_string(),
            reply,
        };
        if placing.agents.try_send(query).is_err() {
            stats.pacing_rounds_skipped += 1;
            continue;
        }
        let agents = match tokio::time::timeout(AGENTS_ANSWER_WAIT, answer).await {
            Ok(Ok(Some(agents))) => agents,
            // An unknown queue: the API refuses one, but the routing configuration may have
            // changed since.
            _ => {
                stats.pacing_rounds_skipped += 1;
                continue;
            }
        };
        let room = placing
            .max_in_flight
            .saturating_sub(placing.in_flight.len());
        let wanted = (lane.calls_to_place(&agents) as usize).min(room);
        if wanted == 0 {
            continue;
        }
        let now = crate::api::now_ms();
        let queue = lane.queue().to_string();
        for order in lane.dialer.poll_due(now as u64, wanted) {
            let how = PlaceAs {
                mode: OutboundMode::Predictive,
                agent: None,
                queue: Some(queue.clone()),
            };
            let task = order.task.0;
            if place_order(records, &mut lane.dialer, placing, order, how, now, stats)
                .await
                .is_ok()
            {
                stats.campaign_calls_placed += 1;
                lane.placed(task, now as u64);
                placing.campaign_calls.insert(task, lane.campaign.id);
            }
        }
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
    how: PlaceAs,
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
        mode: how.mode,
        agent: how.agent,
        queue: how.queue,
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
    lanes: &mut Lanes,
    limit: usize,
) -> Result<Vec<CallbackTask>, SubmitError> {
    let now = crate::api::now_ms() as u64;
    let mut tasks = Vec::new();
    let limit = limit.min(MAX_PREVIEW);
    // The preview lane's, then agent-first callbacks waiting for a free agent: an agent may
    // take one by pressing dial.
    let mut due = lanes.modes[Lanes::slot(OutboundMode::Preview)].peek_due(now, limit);
    let more = limit.saturating_sub(due.len());
    if more > 0 {
        due.extend(lanes.modes[Lanes::slot(OutboundMode::AgentFirst)].peek_due(now, more));
    }
    for id in due {
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
    lanes: &mut Lanes,
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
    let task = TaskId(id.max(0) as u64);
    let dialer = match lanes.find(task) {
        // A campaign's numbers are paced, not dialled by hand.
        Some((None, dialer)) => dialer,
        _ => return Err(DialError::Claim(ClaimError::UnknownTask { task })),
    };
    let order = dialer
        .claim_task(now as u64, task)
        .map_err(DialError::Claim)?;
    let how = PlaceAs {
        mode: OutboundMode::Preview,
        agent: Some(agent),
        queue: None,
    };
    match place_order(records, dialer, placing, order, how, now, stats).await {
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
        OutboundResult::Later(_) | OutboundResult::Pacing(_) => Outcome::Connected,
        // The customer answered and heard the apology: called again after the no-answer
        // delay (the campaign's message said so).
        OutboundResult::Abandoned => Outcome::NoAnswer,
        // The customer answered and hung up at once: as declined.
        OutboundResult::HungUp => Outcome::Rejected,
    }
}

/// An attempt ended: the dialler decides what is next and the records say so.
async fn ended(
    records: &Records,
    lanes: &mut Lanes,
    placing: &mut Option<Placing>,
    report: OutboundReport,
    events: &Option<EventWriter>,
    stats: &mut OutboundStats,
) {
    let pacing_only = matches!(report.result, OutboundResult::Pacing(_));
    if let Some(placing) = placing {
        if !pacing_only && placing.in_flight.get(&report.task) == Some(&report.attempt) {
            placing.in_flight.remove(&report.task);
        }
        if let Some(&campaign) = placing.campaign_calls.get(&report.task) {
            let done = match report.result {
                // Followed until the agent's wrap-up ends.
                OutboundResult::Connected | OutboundResult::Pacing(PacingStep::Answered) => false,
                OutboundResult::Pacing(PacingStep::TalkEnded(_)) => false,
                _ => true,
            };
            if done {
                placing.campaign_calls.remove(&report.task);
            }
            campaign_report(records, lanes, campaign, &report, stats).await;
        }
    }
    if pacing_only {
        return;
    }
    let now = crate::api::now_ms();
    if let OutboundResult::Later(after_ms) = report.result {
        later(records, lanes, report.task, after_ms, events, stats).await;
        return;
    }
    let outcome = outcome_of(report.result);
    let Some((_, dialer)) = lanes.find(TaskId(report.task)) else {
        // A late report (the task was cancelled meanwhile).
        return;
    };
    let Ok(next) = dialer.outcome(now as u64, TaskId(report.task), report.attempt, outcome) else {
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

/// A campaign call's report: its lane's pacer and windows learn from it, and an answer or
/// an abandon is added to the records' minute (so a restart keeps the rolling windows).
async fn campaign_report(
    records: &Records,
    lanes: &mut Lanes,
    campaign: i64,
    report: &OutboundReport,
    stats: &mut OutboundStats,
) {
    let Some(lane) = lanes.campaigns.get_mut(&campaign) else {
        // Stopped meanwhile.
        return;
    };
    if let Some((answered, abandoned)) = lane.report(report.task, report.result, report.at_ms) {
        let minute = (report.at_ms - report.at_ms % 60_000) as i64;
        if records
            .add_campaign_abandons(campaign, minute, answered, abandoned)
            .await
            .is_err()
        {
            stats.store_errors += 1;
        }
    }
}

/// How long a callback the customer moved to later stays valid from its new start.
pub const LATER_WINDOW_MS: i64 = 24 * 3_600_000;

/// The customer of an automatic call (reached, its task done) chose to be called again
/// `after_ms` from now: a new task of the same request from then, under the same rules.
async fn later(
    records: &Records,
    lanes: &mut Lanes,
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
    match accept(records, lanes, request, events, stats).await {
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
    lanes: &mut Lanes,
    events: &Option<EventWriter>,
    notices: &Option<(Arc<dyn Provider>, NoticeSettings)>,
    stats: &mut OutboundStats,
) {
    for (campaign, dialer) in lanes.each() {
        while let Some(event) = dialer.poll_event() {
            if let Some(events) = events {
                if events
                    .try_append(callback_event(&event, campaign))
                    .await
                    .is_err()
                {
                    stats.events_dropped += 1;
                }
            }
            // A campaign's numbers asked for no call: no fallback message, no ticket.
            if campaign.is_some() {
                continue;
            }
            if let Some((provider, settings)) = notices {
                fallback(records, provider.as_ref(), settings, &event, stats).await;
            }
            close_follow_up(records, events, &event, stats).await;
        }
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
    requested_event_of(task.id, &task.fields)
}

/// The `callback.requested` row of task `id`.
fn requested_event_of(id: i64, task: &NewCallbackTask) -> NewEvent {
    let mut data = serde_json::json!({
        "task": id,
        "channel": task.channel,
        "priority": task.priority,
        "customer_id": task.customer.map(|c| c.0),
        "window_start_ms": task.window_start_ms,
        "window_end_ms": task.window_end_ms,
        "promised_ms": task.promised_ms,
        "ticket_id": task.ticket.map(|t| t.0),
    });
    if let Some(campaign) = task.campaign {
        data["campaign"] = campaign.into();
    }
    if let Some(mode) = &task.mode {
        data["mode"] = mode.as_str().into();
    }
    NewEvent {
        at_ms: task.created_ms,
        kind: "callback.requested".to_string(),
        contact_id: None,
        agent: None,
        queue: None,
        data,
    }
}

/// A dialler event as an event-log row; a campaign's tasks' name their campaign.
pub fn callback_event(event: &DialerEvent, campaign: Option<i64>) -> NewEvent {
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
    let mut data = data;
    if let Some(campaign) = campaign {
        data["campaign"] = campaign.into();
    }
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
    lanes: &mut Lanes,
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
                accept(records, lanes, request, events, stats).await
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

/// The dialer's task of a request.
fn new_task_of(request: &CallbackRequest) -> NewTask {
    let task = &request.task;
    NewTask {
        customer: customer_key(task.customer, task.number.e164()),
        reason: reason_key(&task.reason),
        number: task.number.e164().to_string(),
        priority_class: priority_class(&task.priority, request.vip),
        value_score: task.value_score,
        window: match request.window {
            None => RequestedWindow::Asap,
            Some((start, end)) => RequestedWindow::Between {
                start_ms: start.max(0) as u64,
                end_ms: end.max(0) as u64,
            },
        },
        contact_hours: request.contact_hours.clone().map(Arc::new),
    }
}

/// Takes one request: its lane's dialer decides (dedupe, window, promise), the records
/// store it under the dialer's id, and only then is it accepted. A request the records do
/// not take is forgotten by the dialer.
async fn accept(
    records: &Records,
    lanes: &mut Lanes,
    request: CallbackRequest,
    events: &Option<EventWriter>,
    stats: &mut OutboundStats,
) -> Result<CallbackTask, SubmitError> {
    let now = crate::api::now_ms();
    let (accepted, snapshot) = lanes.add(
        now as u64,
        request.task.mode.as_deref(),
        request.task.campaign,
        new_task_of(&request),
    )?;
    let mut task = request.task;
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
            if let Some((_, dialer)) = lanes.find(accepted.id) {
                let _ = dialer.cancel(now as u64, accepted.id, CancelReason::ByStaff);
            }
            Err(match error {
                StoreError::Conflict(message) => SubmitError::Duplicate(message),
                StoreError::Invalid(e) => SubmitError::Invalid(e.field, e.problem),
                other => SubmitError::Store(other),
            })
        }
    }
}

/// The most `callback.requested` rows appended in one batch for a campaign's numbers.
const REQUESTED_EVENTS_PER_BATCH: usize = 500;

/// Adds numbers to a campaign: each goes to the campaign's dialer (a duplicate or a window
/// that never opens is left out and said why), then all that were taken are stored in one
/// transaction; if that fails, none is kept.
async fn add_numbers(
    records: &Records,
    lanes: &mut Lanes,
    campaign: i64,
    requests: Vec<CallbackRequest>,
    actor: &str,
    events: &Option<EventWriter>,
    stats: &mut OutboundStats,
) -> Result<AddedNumbers, SubmitError> {
    if lanes.campaigns.get(&campaign).is_none_or(|l| l.stopped()) {
        return Err(SubmitError::Invalid(
            "campaign".into(),
            format!("no campaign {campaign}, or it is stopped"),
        ));
    }
    let now = crate::api::now_ms();
    let mut added = AddedNumbers::default();
    let mut batch = Vec::with_capacity(requests.len());
    for (index, mut request) in requests.into_iter().enumerate() {
        request.task.campaign = Some(campaign);
        request.task.mode = Some(OutboundMode::Predictive.as_str().into());
        match lanes.add(now as u64, None, Some(campaign), new_task_of(&request)) {
            Ok((accepted, snapshot)) => {
                let mut task = request.task;
                if let Some(snapshot) = &snapshot {
                    task.window_start_ms = snapshot.window_start_ms as i64;
                    task.window_end_ms = snapshot.window_end_ms as i64;
                }
                task.promised_ms = accepted.promised_ms as i64;
                batch.push((accepted.id.0 as i64, task));
            }
            Err(SubmitError::Invalid(_, why) | SubmitError::Duplicate(why)) => {
                added.skipped.push((index, why))
            }
            Err(other) => {
                forget(lanes, campaign, &batch, now);
                return Err(other);
            }
        }
    }
    if batch.is_empty() {
        return Ok(added);
    }
    if let Err(error) = records.create_callback_tasks(&batch, actor).await {
        stats.store_errors += 1;
        forget(lanes, campaign, &batch, now);
        return Err(match error {
            StoreError::Conflict(message) => SubmitError::Duplicate(message),
            StoreError::Invalid(e) => SubmitError::Invalid(e.field, e.problem),
            other => SubmitError::Store(other),
        });
    }
    added.accepted = batch.len() as u64;
    stats.accepted += added.accepted;
    if let Some(events) = events {
        for chunk in batch.chunks(REQUESTED_EVENTS_PER_BATCH) {
            let rows = chunk
                .iter()
                .map(|(id, task)| requested_event_of(*id, task))
                .collect();
            if events.append_batch(rows).await.is_err() {
                stats.events_dropped += chunk.len() as u64;
            }
        }
    }
    Ok(added)
}

/// The campaign's dialer forgets tasks that were not stored.
fn forget(lanes: &mut Lanes, campaign: i64, batch: &[(i64, NewCallbackTask)], now: i64) {
    if let Some(lane) = lanes.campaigns.get_mut(&campaign) {
        for (id, _) in batch {
            let _ = lane
                .dialer
                .cancel(now as u64, TaskId(*id as u64), CancelReason::ByStaff);
        }
        // Their cancellations were never requests: not for the log.
        while lane.dialer.poll_event().is_some() {}
    }
}

/// Creates a campaign and its lane.
async fn create_campaign(
    records: &Records,
    lanes: &mut Lanes,
    queues: &[String],
    campaign: NewCampaign,
    actor: &str,
) -> Result<Campaign, SubmitError> {
    let now = crate::api::now_ms();
    if !queues.is_empty() && !queues.contains(&campaign.queue) {
        return Err(SubmitError::Invalid(
            "queue".into(),
            format!(
                "no queue {:?} (the queues: {})",
                campaign.queue,
                queues.join(", ")
            ),
        ));
    }
    if let Some(other) = lanes
        .campaigns
        .values()
        .find(|l| !l.stopped() && l.queue() == campaign.queue)
    {
        // Two pacers over one queue's agents would each count them as theirs.
        return Err(SubmitError::Duplicate(format!(
            "campaign {:?} already dials for queue {:?}: stop it first",
            other.campaign.fields.name, campaign.queue
        )));
    }
    let live = lanes.campaigns.values().filter(|l| !l.stopped()).count();
    if live >= hotline_store::MAX_CAMPAIGNS {
        return Err(SubmitError::Invalid(
            "name".into(),
            format!("{live} campaigns are not stopped; stop one first"),
        ));
    }
    let stored = records
        .create_campaign(&campaign, now, actor)
        .await
        .map_err(|error| match error {
            StoreError::Conflict(message) => SubmitError::Duplicate(message),
            StoreError::Invalid(e) => SubmitError::Invalid(e.field, e.problem),
            other => SubmitError::Store(other),
        })?;
    let lane = campaign::Lane::open(records, stored.clone(), lanes.rules.clone(), now as u64)
        .await
        .map_err(SubmitError::Store)?;
    lanes.campaigns.insert(stored.id, lane);
    Ok(stored)
}

/// Runs, pauses or stops a campaign. Stopping cancels its waiting numbers (calls under way
/// finish) and drops its lane.
async fn set_campaign_state(
    records: &Records,
    lanes: &mut Lanes,
    id: i64,
    state: StoredCampaignState,
    actor: &str,
) -> Result<Option<Campaign>, SubmitError> {
    let now = crate::api::now_ms();
    if lanes.campaigns.get(&id).is_none_or(|l| l.stopped()) {
        // Unknown, or stopped for good.
        return match records.campaign(id).await.map_err(SubmitError::Store)? {
            None => Ok(None),
            Some(campaign) if campaign.state == state => Ok(Some(campaign)),
            Some(_) => Err(SubmitError::Duplicate(format!(
                "campaign {id} is stopped; a stopped campaign does not run again"
            ))),
        };
    }
    let Some(campaign) = records
        .set_campaign_state(id, state, now, actor)
        .await
        .map_err(SubmitError::Store)?
    else {
        return Ok(None);
    };
    if let Some(lane) = lanes.campaigns.get_mut(&id) {
        // A stopped lane places nothing more; its calls under way still report (and their
        // tasks end in the records). It is not restored at the next start.
        lane.campaign = campaign.clone();
    }
    if state == StoredCampaignState::Stopped {
        records
            .cancel_campaign_tasks(id, now, actor)
            .await
            .map_err(SubmitError::Store)?;
    }
    Ok(Some(campaign))
}
