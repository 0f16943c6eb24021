//! [`Dialer`]: the tasks, the timer of those not yet due and the ready set of those due, and
//! the inputs and outputs that move them.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::mem::size_of;
use std::sync::Arc;

use hotline_calendar::Calendar;

use crate::schedule::{day_key, next_allowed, next_day_start, Allowed};
use crate::{
    Accepted, AddError, Blocked, CancelError, CancelReason, ClaimError, CustomerKey, DialOrder,
    DialerRules, E164Number, Event, FailReason, NewTask, Next, Outcome, OutcomeError,
    RequestedWindow, RestoreError, Restored, TaskId, TaskSnapshot, TaskState, ATTEMPTS_MAX,
    DIAL_ORDERS_PER_POLL_MAX, EVENTS_MAX, REASON_BYTES_MAX, SCHEDULE_HORIZON_MS,
};

/// How many times [`Dialer::schedule`] moves a retry to the next local date because the
/// day's attempts are used up: once suffices unless the clock goes back over midnight; a
/// search that still lands on the same date gives up.
const DAY_SKIPS_MAX: u32 = 3;

/// How many due tasks [`Dialer::promote`] moves from the timer to the ready set one at a time
/// before it moves the rest in bulk.
const PROMOTE_ONE_BY_ONE_MAX: usize = 64;

/// The scheduling core of outbound callbacks: it holds the active tasks (callback requests
/// not yet done, failed or cancelled) and decides when each may be dialled and which goes
/// next. See the crate documentation for the protocol.
#[derive(Debug)]
pub struct Dialer {
    rules: DialerRules,
    /// The active tasks, densely; `slots` maps an id to its index.
    tasks: Vec<Task>,
    slots: FastMap<TaskId, u32>,
    /// The waiting tasks not yet due, by (due instant, id).
    timer: BTreeSet<(u64, TaskId)>,
    /// The waiting tasks that are due, best first.
    ready: BTreeSet<ReadyKey>,
    /// The active task of each (customer, interned reason).
    active: FastMap<(CustomerKey, u32), TaskId>,
    reasons: Reasons,
    events: VecDeque<Event>,
    events_dropped: u64,
    next_id: u64,
}

/// One active task, kept small: a million of them are held at once.
#[derive(Debug)]
struct Task {
    id: TaskId,
    customer: CustomerKey,
    number: E164Number,
    window_start_ms: u64,
    window_end_ms: u64,
    promised_ms: u64,
    /// Waiting: when the task falls due. Dialling: when the attempt was handed out.
    at_ms: u64,
    /// Waiting: every instant from `at_ms` up to this one is allowed (the calendars stay
    /// open and the window lasts), so the re-check when it is handed out costs nothing.
    open_until_ms: u64,
    /// Shared with every task of the same preference; `None` for most.
    contact_hours: Option<Arc<Calendar>>,
    value_score: u32,
    /// The interned reason, see [`Reasons`].
    reason: u32,
    /// The local date of the latest attempt, `YYYYMMDD`; 0 before the first.
    attempts_day: u32,
    /// The index of the legal hours in the rules, from the number's prefix.
    region: u16,
    priority_class: u8,
    /// Attempts handed out, the one dialling included. At most [`ATTEMPTS_MAX`].
    attempts: u8,
    attempts_on_day: u8,
    place: Place,
}

/// Where a task is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Waiting, not yet due: in `timer`.
    Timer,
    /// Waiting and due: in `ready`.
    Ready,
    /// An attempt handed out: in neither.
    Dialling,
}

/// The order of the ready set: higher priority class, then higher value score, then earlier
/// due instant, then lower id (the derived order compares the fields in turn).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ReadyKey {
    priority_class: Reverse<u8>,
    value_score: Reverse<u32>,
    due_ms: u64,
    id: TaskId,
}

impl Task {
    fn ready_key(&self) -> ReadyKey {
        ReadyKey {
            priority_class: Reverse(self.priority_class),
            value_score: Reverse(self.value_score),
            due_ms: self.at_ms,
            id: self.id,
        }
    }
}

impl Dialer {
    /// An empty dialer whose first task gets id 1.
    pub fn new(rules: DialerRules) -> Dialer {
        Dialer::with_next_id(rules, TaskId(1))
    }

    /// An empty dialer whose next task gets `next_id`: after a restart, one more than the
    /// highest id ever given (the driver keeps [`Dialer::next_task_id`]), so that ids of tasks
    /// that ended are not given again. [`Dialer::restore`] also moves it past each id restored.
    pub fn with_next_id(rules: DialerRules, next_id: TaskId) -> Dialer {
        Dialer {
            rules,
            tasks: Vec::new(),
            slots: FastMap::default(),
            timer: BTreeSet::new(),
            ready: BTreeSet::new(),
            active: FastMap::default(),
            reasons: Reasons::default(),
            events: VecDeque::new(),
            events_dropped: 0,
            next_id: next_id.0,
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &DialerRules {
        &self.rules
    }

    /// The id the next task added will get.
    pub fn next_task_id(&self) -> TaskId {
        TaskId(self.next_id)
    }

    /// Moves the id the next task gets on to `next` if it is below: several dialers that
    /// share one id space (a driver's lanes) raise each other's before each
    /// [`Dialer::add`]. Never moves it back.
    pub fn raise_next_id(&mut self, next: TaskId) {
        self.next_id = self.next_id.max(next.0);
    }

    /// How many tasks are active.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no task is active.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Accepts a callback request at `now_ms`, or refuses it (changing nothing). The task is
    /// due at the first instant, at or after `now_ms` and the window's start, at which the
    /// legal hours of its number's region and the customer's contact hours are all open; the
    /// promise is that instant plus [`DialerRules::asap_promise_ms`].
    pub fn add(&mut self, now_ms: u64, task: NewTask) -> Result<Accepted, AddError> {
        check_reason(&task.reason).map_err(|message| AddError::InvalidReason { message })?;
        let number = E164Number::parse(&task.number)
            .map_err(|message| AddError::InvalidNumber { message })?;
        let (window_start_ms, window_end_ms) = match task.window {
            RequestedWindow::Asap => (now_ms, now_ms.saturating_add(self.rules.asap_horizon_ms())),
            RequestedWindow::Between { start_ms, end_ms } => {
                if end_ms <= start_ms {
                    return Err(AddError::InvalidWindow {
                        message: format!(
                            "the window ends ({end_ms}) at or before it starts ({start_ms})"
                        ),
                    });
                }
                (start_ms, end_ms)
            }
        };
        if let Some(reason) = self.reasons.find(&task.reason) {
            if let Some(&existing) = self.active.get(&(task.customer, reason)) {
                return Err(AddError::Duplicate { existing });
            }
        }
        if self.tasks.len() >= self.rules.max_tasks() {
            return Err(AddError::Full {
                max: self.rules.max_tasks(),
            });
        }
        let region = self.rules.region_of(&number);
        let calendars = [
            Some(self.rules.legal_hours(region)),
            task.contact_hours.as_deref(),
        ];
        let from_ms = now_ms.max(window_start_ms);
        let horizon_end_ms = now_ms.saturating_add(SCHEDULE_HORIZON_MS);
        let allowed = next_allowed(&calendars, from_ms, window_end_ms, horizon_end_ms).map_err(
            |blocked| {
                // Say why the window passes unused: if the hours never meet at all, that is
                // what the customer needs to hear, not that the window was too short.
                let blocked = match blocked {
                    Blocked::WindowEnded => {
                        next_allowed(&calendars, from_ms, u64::MAX, horizon_end_ms)
                            .err()
                            .unwrap_or(Blocked::WindowEnded)
                    }
                    Blocked::NoOpening => Blocked::NoOpening,
                };
                AddError::WindowNeverOpens { blocked }
            },
        )?;

        let id = TaskId(self.next_id);
        self.next_id = self.next_id.saturating_add(1);
        let promised_ms = allowed.at_ms.saturating_add(self.rules.asap_promise_ms());
        let reason = self.reasons.acquire(&task.reason);
        let slot = self.insert(Task {
            id,
            customer: task.customer,
            number,
            window_start_ms,
            window_end_ms,
            promised_ms,
            at_ms: allowed.at_ms,
            open_until_ms: allowed.until_ms,
            contact_hours: task.contact_hours,
            value_score: task.value_score,
            reason,
            attempts_day: 0,
            region,
            priority_class: task.priority_class,
            attempts: 0,
            attempts_on_day: 0,
            place: Place::Dialling,
        });
        self.place(slot, allowed, now_ms);
        Ok(Accepted {
            id,
            due_ms: allowed.at_ms,
            promised_ms,
        })
    }

    /// Hands out up to `max` (at most [`DIAL_ORDERS_PER_POLL_MAX`]) due tasks, best first:
    /// higher priority class, then higher value score, then earlier due instant, then lower
    /// id. Each is claimed: its state becomes [`TaskState::Dialling`] with the attempt's
    /// number, and that number is never handed out again.
    ///
    /// A due task is checked again first: if a calendar closed or its window ended since it
    /// fell due, or its attempts for the day are used up, it is not handed out but moved to
    /// its next allowed instant, or failed for good if there is none.
    pub fn poll_due(&mut self, now_ms: u64, max: usize) -> Vec<DialOrder> {
        let max = max.min(DIAL_ORDERS_PER_POLL_MAX);
        let mut orders = Vec::new();
        if max == 0 {
            return orders;
        }
        self.promote(now_ms);
        while orders.len() < max {
            let Some(key) = self.ready.pop_first() else {
                break;
            };
            let Some(slot) = self.slot_of(key.id) else {
                debug_assert!(false, "{} is ready but not active", key.id);
                continue;
            };
            debug_assert_eq!(self.tasks[slot].place, Place::Ready);
            if let Ok(today) = self.recheck(slot, now_ms) {
                orders.push(self.claim(slot, now_ms, today));
            }
        }
        orders
    }

    /// The due tasks, best first (the order of [`Dialer::poll_due`]), at most `max`, without
    /// handing them out: for preview, where agents see the cards and choose.
    pub fn peek_due(&mut self, now_ms: u64, max: usize) -> Vec<TaskId> {
        self.promote(now_ms);
        self.ready.iter().take(max).map(|key| key.id).collect()
    }

    /// Hands out one given task now (preview: an agent pressed dial), checked as
    /// [`Dialer::poll_due`] checks each task, and claimed the same way.
    pub fn claim_task(&mut self, now_ms: u64, task: TaskId) -> Result<DialOrder, ClaimError> {
        self.promote(now_ms);
        let slot = self.slot_of(task).ok_or(ClaimError::UnknownTask { task })?;
        match self.tasks[slot].place {
            Place::Dialling => return Err(ClaimError::Dialling { task }),
            Place::Timer => {
                return Err(ClaimError::NotDue {
                    task,
                    due_ms: self.tasks[slot].at_ms,
                })
            }
            Place::Ready => {}
        }
        self.unplace(slot);
        match self.recheck(slot, now_ms) {
            Ok(today) => Ok(self.claim(slot, now_ms, today)),
            Err(Some(due_ms)) => Err(ClaimError::NotDue { task, due_ms }),
            Err(None) => Err(ClaimError::Failed { task }),
        }
    }

    /// Checks a due task taken out of `ready` before it is handed out: if a calendar closed
    /// or its window ended since it fell due, or its attempts for the day are used up, it is
    /// moved to its next allowed instant (`Err(Some(at))`) or failed for good (`Err(None)`).
    /// `Ok` gives today's local date for the claim.
    fn recheck(&mut self, slot: usize, now_ms: u64) -> Result<u32, Option<u64>> {
        let task = &self.tasks[slot];
        let legal = self.rules.legal_hours(task.region);
        let today = day_key(legal, now_ms);
        let day_used_up = task.attempts_day == today
            && u32::from(task.attempts_on_day) >= self.rules.max_attempts_per_day();
        if now_ms >= task.open_until_ms || day_used_up {
            match self.schedule(slot, now_ms, now_ms) {
                Err(blocked) => {
                    self.fail(slot, FailReason::NoTimeLeft(blocked), now_ms);
                    return Err(None);
                }
                Ok(allowed) if allowed.at_ms > now_ms => {
                    // It came out of `ready` and goes to `timer`.
                    self.place(slot, allowed, now_ms);
                    return Err(Some(allowed.at_ms));
                }
                Ok(allowed) => self.tasks[slot].open_until_ms = allowed.until_ms,
            }
        }
        Ok(today)
    }

    /// Reports how attempt `attempt` of `task` ended, at `now_ms`, and says what happens next:
    /// connected, the task is done; an invalid number fails it at once; any other outcome
    /// retries after its delay ([`DialerRules::retry`]), at the next allowed instant, unless
    /// the attempts are used up or no allowed instant is left (then it fails for good).
    ///
    /// An outcome for a task that is not active, or for an attempt it is not dialling, is
    /// refused and changes nothing.
    pub fn outcome(
        &mut self,
        now_ms: u64,
        task: TaskId,
        attempt: u32,
        outcome: Outcome,
    ) -> Result<Next, OutcomeError> {
        let slot = self
            .slot_of(task)
            .ok_or(OutcomeError::UnknownTask { task })?;
        let current = &self.tasks[slot];
        let dialling = (current.place == Place::Dialling).then_some(u32::from(current.attempts));
        if dialling != Some(attempt) {
            return Err(OutcomeError::StaleAttempt {
                task,
                attempt,
                dialling,
            });
        }
        self.emit(Event::AttemptEnded {
            task,
            attempt,
            outcome,
            at_ms: now_ms,
        });
        let Some(delay_ms) = self.rules.retry().after(outcome) else {
            if outcome == Outcome::Connected {
                self.remove(slot);
                self.emit(Event::TaskDone {
                    task,
                    at_ms: now_ms,
                });
                return Ok(Next::Done);
            }
            self.fail(slot, FailReason::InvalidNumber, now_ms);
            return Ok(Next::Failed(FailReason::InvalidNumber));
        };
        Ok(match self.retry(slot, now_ms, delay_ms) {
            Ok(due_ms) => Next::RetryAt(due_ms),
            Err(reason) => Next::Failed(reason),
        })
    }

    /// Cancels an active task, waiting or dialling (the driver found the number on the
    /// do-not-call list, consent missing, or the customer withdrew). A dialling attempt
    /// cancelled before the dial does not count; its outcome, if one still comes, is refused.
    pub fn cancel(
        &mut self,
        now_ms: u64,
        task: TaskId,
        reason: CancelReason,
    ) -> Result<(), CancelError> {
        let slot = self
            .slot_of(task)
            .ok_or(CancelError::UnknownTask { task })?;
        self.remove(slot);
        self.emit(Event::TaskCancelled {
            task,
            reason,
            at_ms: now_ms,
        });
        Ok(())
    }

    /// The whole state of an active task, to persist; `None` if it is not active.
    pub fn snapshot(&self, task: TaskId) -> Option<TaskSnapshot> {
        let task = &self.tasks[self.slot_of(task)?];
        Some(TaskSnapshot {
            id: task.id,
            customer: task.customer,
            reason: self.reasons.text(task.reason).to_owned(),
            number: task.number.as_str().to_owned(),
            priority_class: task.priority_class,
            value_score: task.value_score,
            window_start_ms: task.window_start_ms,
            window_end_ms: task.window_end_ms,
            contact_hours: task
                .contact_hours
                .as_ref()
                .map(|calendar| calendar.name().to_owned()),
            promised_ms: task.promised_ms,
            attempts: u32::from(task.attempts),
            attempts_day: task.attempts_day,
            attempts_on_day: u32::from(task.attempts_on_day),
            state: state_of(task),
        })
    }

    /// Where an active task stands; `None` if it is not active.
    pub fn state(&self, task: TaskId) -> Option<TaskState> {
        Some(state_of(&self.tasks[self.slot_of(task)?]))
    }

    /// Rebuilds a task from its snapshot after a restart, at `now_ms`, with the customer's
    /// contact hours given again (the calendar named by `snapshot.contact_hours`; `None` for
    /// any time). The legal hours are chosen again from the number under the rules in force.
    ///
    /// A task that was dialling is taken to have ended that attempt with an unknown result
    /// ([`Outcome::Unknown`]: it counts, and is retried after the network-failure delay), so
    /// the same attempt number is never handed out twice. A waiting task falls due at its
    /// due instant or now, whichever is later, moved on to the next allowed instant.
    pub fn restore(
        &mut self,
        now_ms: u64,
        snapshot: &TaskSnapshot,
        contact_hours: Option<Arc<Calendar>>,
    ) -> Result<Restored, RestoreError> {
        let invalid =
            |field: &'static str, message: String| RestoreError::Invalid { field, message };
        check_reason(&snapshot.reason).map_err(|message| invalid("reason", message))?;
        let number =
            E164Number::parse(&snapshot.number).map_err(|message| invalid("number", message))?;
        if snapshot.window_end_ms <= snapshot.window_start_ms {
            return Err(invalid(
                "window_end_ms",
                format!(
                    "the window ends ({}) at or before it starts ({})",
                    snapshot.window_end_ms, snapshot.window_start_ms
                ),
            ));
        }
        let attempts = u8::try_from(snapshot.attempts)
            .ok()
            .filter(|&attempts| u32::from(attempts) <= ATTEMPTS_MAX)
            .ok_or_else(|| {
                invalid(
                    "attempts",
                    format!("{} is more than {ATTEMPTS_MAX}", snapshot.attempts),
                )
            })?;
        let attempts_on_day = u8::try_from(snapshot.attempts_on_day)
            .ok()
            .filter(|&on_day| on_day <= attempts)
            .ok_or_else(|| {
                invalid(
                    "attempts_on_day",
                    format!(
                        "{} is more than attempts ({})",
                        snapshot.attempts_on_day, snapshot.attempts
                    ),
                )
            })?;
        if let TaskState::Dialling { attempt, .. } = snapshot.state {
            if attempt == 0 || attempt != snapshot.attempts {
                return Err(invalid(
                    "state.attempt",
                    format!(
                        "attempt {attempt} is dialling but {} attempts were handed out; the \
                         attempt dialling is the last one handed out",
                        snapshot.attempts
                    ),
                ));
            }
        }
        if self.slots.contains_key(&snapshot.id) {
            return Err(RestoreError::AlreadyPresent { task: snapshot.id });
        }
        if let Some(reason) = self.reasons.find(&snapshot.reason) {
            if let Some(&existing) = self.active.get(&(snapshot.customer, reason)) {
                return Err(RestoreError::Duplicate { existing });
            }
        }
        if self.tasks.len() >= self.rules.max_tasks() {
            return Err(RestoreError::Full {
                max: self.rules.max_tasks(),
            });
        }

        self.next_id = self.next_id.max(snapshot.id.0.saturating_add(1));
        let reason = self.reasons.acquire(&snapshot.reason);
        let at_ms = match snapshot.state {
            TaskState::Waiting { due_ms } => due_ms,
            TaskState::Dialling { started_ms, .. } => started_ms,
        };
        // Marked dialling, that is placed in neither the timer nor the ready set, until
        // `retry` schedules it below.
        let slot = self.insert(Task {
            id: snapshot.id,
            customer: snapshot.customer,
            number,
            window_start_ms: snapshot.window_start_ms,
            window_end_ms: snapshot.window_end_ms,
            promised_ms: snapshot.promised_ms,
            at_ms,
            open_until_ms: 0,
            contact_hours,
            value_score: snapshot.value_score,
            reason,
            attempts_day: snapshot.attempts_day,
            region: self.rules.region_of(&number),
            priority_class: snapshot.priority_class,
            attempts,
            attempts_on_day,
            place: Place::Dialling,
        });
        let result = match snapshot.state {
            TaskState::Dialling { attempt, .. } => {
                self.emit(Event::AttemptEnded {
                    task: snapshot.id,
                    attempt,
                    outcome: Outcome::Unknown,
                    at_ms: now_ms,
                });
                let delay_ms = self.rules.retry().network_failure_ms;
                self.retry(slot, now_ms, delay_ms)
            }
            TaskState::Waiting { due_ms } => {
                self.retry(slot, now_ms, due_ms.saturating_sub(now_ms))
            }
        };
        Ok(match result {
            Ok(due_ms) => Restored::DueAt(due_ms),
            Err(reason) => Restored::Failed(reason),
        })
    }

    /// The earliest instant at which a task is due: sleep until then, or until new input. An
    /// instant at or before the latest [`Dialer::poll_due`] means tasks are due now and wait
    /// only for capacity. `None` when no task waits.
    pub fn next_wakeup(&self) -> Option<u64> {
        let ready = self.ready.first().map(|key| key.due_ms);
        let timer = self.timer.first().map(|&(due_ms, _)| due_ms);
        match (ready, timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next event, oldest first. Drain them after every input.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Events dropped because [`EVENTS_MAX`] were waiting to be polled.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// An estimate of the memory the dialer holds, in bytes, from the sizes of its structures
    /// and their capacities (hash tables at their bucket counts, B-tree entries with half
    /// again for nodes not full). Contact-hours calendars are shared and not counted; the
    /// configuration is not counted.
    pub fn estimated_bytes(&self) -> usize {
        fn table<K, V>(capacity: usize) -> usize {
            // hashbrown: buckets a power of two at most 7/8 full, one control byte each.
            let buckets = (capacity.saturating_mul(8) / 7).max(1).next_power_of_two();
            buckets * (size_of::<(K, V)>() + 1)
        }
        fn tree<K>(len: usize) -> usize {
            len * size_of::<K>() * 3 / 2
        }
        self.tasks.capacity() * size_of::<Task>()
            + table::<TaskId, u32>(self.slots.capacity())
            + table::<(CustomerKey, u32), TaskId>(self.active.capacity())
            + tree::<(u64, TaskId)>(self.timer.len())
            + tree::<ReadyKey>(self.ready.len())
            + self.reasons.estimated_bytes()
            + self.events.capacity() * size_of::<Event>()
    }

    /// Checks the indexes against the tasks, for tests: every task in exactly the structure
    /// its place says, under the key its fields give; the dedupe index and the reasons'
    /// counts agreeing with the tasks. The error says what is wrong.
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.slots.len() != self.tasks.len() || self.active.len() != self.tasks.len() {
            return Err(format!(
                "{} tasks, {} ids, {} dedupe keys",
                self.tasks.len(),
                self.slots.len(),
                self.active.len()
            ));
        }
        let (mut in_timer, mut in_ready) = (0, 0);
        let mut reason_counts: HashMap<u32, u32> = HashMap::new();
        for (slot, task) in self.tasks.iter().enumerate() {
            if self.slot_of(task.id) != Some(slot) {
                return Err(format!("{} is not indexed at its slot", task.id));
            }
            if self.active.get(&(task.customer, task.reason)) != Some(&task.id) {
                return Err(format!("{} is not the active task of its key", task.id));
            }
            *reason_counts.entry(task.reason).or_default() += 1;
            if task.id.0 >= self.next_id {
                return Err(format!("{} is not below the next id", task.id));
            }
            if u32::from(task.attempts) > self.rules.max_attempts().max(ATTEMPTS_MAX) {
                return Err(format!("{} has {} attempts", task.id, task.attempts));
            }
            let found = match task.place {
                Place::Timer => {
                    in_timer += 1;
                    self.timer.contains(&(task.at_ms, task.id))
                }
                Place::Ready => {
                    in_ready += 1;
                    self.ready.contains(&task.ready_key())
                }
                Place::Dialling => task.attempts > 0,
            };
            if !found {
                return Err(format!(
                    "{} is not where its place {:?} says",
                    task.id, task.place
                ));
            }
        }
        if in_timer != self.timer.len() || in_ready != self.ready.len() {
            return Err(format!(
                "{in_timer} tasks in the timer, {} entries; {in_ready} ready, {} entries",
                self.timer.len(),
                self.ready.len()
            ));
        }
        for (reason, count) in reason_counts {
            if self.reasons.count(reason) != count {
                return Err(format!("reason {reason} is used by {count} tasks"));
            }
        }
        Ok(())
    }

    /// The slot of an active task.
    fn slot_of(&self, task: TaskId) -> Option<usize> {
        self.slots.get(&task).map(|&slot| slot as usize)
    }

    /// Adds a task to the tasks and the indexes of ids and keys; the caller places it.
    fn insert(&mut self, task: Task) -> usize {
        let slot = self.tasks.len();
        // At most `MAX_TASKS` tasks, so the slot fits.
        self.slots.insert(task.id, slot as u32);
        self.active.insert((task.customer, task.reason), task.id);
        self.tasks.push(task);
        slot
    }

    /// Takes a task out of whichever structure holds it.
    fn unplace(&mut self, slot: usize) {
        let task = &self.tasks[slot];
        match task.place {
            Place::Timer => {
                self.timer.remove(&(task.at_ms, task.id));
            }
            Place::Ready => {
                self.ready.remove(&task.ready_key());
            }
            Place::Dialling => {}
        }
    }

    /// Puts a waiting task, taken out of its structure, at its next allowed instant: in
    /// `ready` if that is not after `now_ms`, else in `timer`.
    fn place(&mut self, slot: usize, allowed: Allowed, now_ms: u64) {
        let task = &mut self.tasks[slot];
        task.at_ms = allowed.at_ms;
        task.open_until_ms = allowed.until_ms;
        if allowed.at_ms <= now_ms {
            task.place = Place::Ready;
            self.ready.insert(task.ready_key());
        } else {
            task.place = Place::Timer;
            self.timer.insert((task.at_ms, task.id));
        }
    }

    /// Moves every task of `timer` due by `now_ms` to `ready`. A few are moved one by one; many
    /// (the morning opening, when the night's requests all fall due) are split off the timer
    /// and merged into the ready set in bulk, which costs a fraction of as many single moves.
    fn promote(&mut self, now_ms: u64) {
        let mut single_moves = 0;
        while let Some(&(due_ms, id)) = self.timer.first() {
            if due_ms > now_ms {
                return;
            }
            if single_moves == PROMOTE_ONE_BY_ONE_MAX {
                break;
            }
            single_moves += 1;
            self.timer.pop_first();
            if let Some(key) = self.mark_ready(id) {
                self.ready.insert(key);
            }
        }
        let later = self.timer.split_off(&(now_ms.saturating_add(1), TaskId(0)));
        let due = std::mem::replace(&mut self.timer, later);
        let mut keys: Vec<ReadyKey> = Vec::with_capacity(due.len());
        for (_, id) in due {
            if let Some(key) = self.mark_ready(id) {
                keys.push(key);
            }
        }
        let mut keys: BTreeSet<ReadyKey> = keys.into_iter().collect();
        self.ready.append(&mut keys);
    }

    /// Marks a task taken out of `timer` as ready and gives its key in `ready`.
    fn mark_ready(&mut self, id: TaskId) -> Option<ReadyKey> {
        let Some(slot) = self.slot_of(id) else {
            debug_assert!(false, "{id} is in the timer but not active");
            return None;
        };
        let task = &mut self.tasks[slot];
        task.place = Place::Ready;
        Some(task.ready_key())
    }

    /// The next allowed instant of a task at or after `from_ms`, asked at `now_ms` (the
    /// horizon counts from it). If the day's attempts are used up, the search moves on to the
    /// next local date.
    fn schedule(&self, slot: usize, from_ms: u64, now_ms: u64) -> Result<Allowed, Blocked> {
        let task = &self.tasks[slot];
        let legal = self.rules.legal_hours(task.region);
        let calendars = [Some(legal), task.contact_hours.as_deref()];
        let horizon_end_ms = now_ms.saturating_add(SCHEDULE_HORIZON_MS);
        let mut allowed = next_allowed(&calendars, from_ms, task.window_end_ms, horizon_end_ms)?;
        if u32::from(task.attempts_on_day) < self.rules.max_attempts_per_day() {
            return Ok(allowed);
        }
        for _ in 0..DAY_SKIPS_MAX {
            if day_key(legal, allowed.at_ms) != task.attempts_day {
                return Ok(allowed);
            }
            let tomorrow_ms = next_day_start(legal, allowed.at_ms);
            allowed = next_allowed(&calendars, tomorrow_ms, task.window_end_ms, horizon_end_ms)?;
        }
        if day_key(legal, allowed.at_ms) != task.attempts_day {
            Ok(allowed)
        } else {
            Err(Blocked::NoOpening)
        }
    }

    /// After an attempt (or on restore), schedules the next one no earlier than `delay_ms`
    /// after `now_ms`, or fails the task if its attempts are used up or no instant is left.
    fn retry(&mut self, slot: usize, now_ms: u64, delay_ms: u64) -> Result<u64, FailReason> {
        let attempts = u32::from(self.tasks[slot].attempts);
        if attempts >= self.rules.max_attempts() {
            let reason = FailReason::AttemptsExhausted { attempts };
            self.fail(slot, reason, now_ms);
            return Err(reason);
        }
        match self.schedule(slot, now_ms.saturating_add(delay_ms), now_ms) {
            Ok(allowed) => {
                self.unplace(slot);
                self.place(slot, allowed, now_ms);
                Ok(allowed.at_ms)
            }
            Err(blocked) => {
                let reason = FailReason::NoTimeLeft(blocked);
                self.fail(slot, reason, now_ms);
                Err(reason)
            }
        }
    }

    /// Hands out the task's next attempt at `now_ms`, `today` being the local date then.
    fn claim(&mut self, slot: usize, now_ms: u64, today: u32) -> DialOrder {
        let apology_after_ms = self.rules.apology_after_ms();
        let task = &mut self.tasks[slot];
        if task.attempts_day != today {
            task.attempts_day = today;
            task.attempts_on_day = 0;
        }
        task.attempts_on_day = task.attempts_on_day.saturating_add(1);
        task.attempts = task.attempts.saturating_add(1);
        task.place = Place::Dialling;
        task.at_ms = now_ms;
        let order = DialOrder {
            task: task.id,
            attempt: u32::from(task.attempts),
            number: task.number,
            customer: task.customer,
        };
        let late_ms = now_ms.saturating_sub(task.promised_ms);
        let promise_missed =
            (order.attempt == 1 && late_ms > apology_after_ms).then_some(Event::PromiseMissed {
                task: task.id,
                promised_ms: task.promised_ms,
                late_ms,
            });
        self.emit(Event::AttemptStarted {
            task: order.task,
            attempt: order.attempt,
            at_ms: now_ms,
        });
        if let Some(event) = promise_missed {
            self.emit(event);
        }
        order
    }

    /// Ends a task for good with `reason`.
    fn fail(&mut self, slot: usize, reason: FailReason, now_ms: u64) {
        let task = self.tasks[slot].id;
        self.remove(slot);
        self.emit(Event::TaskFailed {
            task,
            reason,
            at_ms: now_ms,
        });
    }

    /// Removes a task from the tasks and every index.
    fn remove(&mut self, slot: usize) {
        self.unplace(slot);
        let task = self.tasks.swap_remove(slot);
        self.slots.remove(&task.id);
        self.active.remove(&(task.customer, task.reason));
        self.reasons.release(task.reason);
        if let Some(moved) = self.tasks.get(slot) {
            self.slots.insert(moved.id, slot as u32);
        }
    }

    fn emit(&mut self, event: Event) {
        if self.events.len() >= EVENTS_MAX {
            self.events_dropped += 1;
        } else {
            self.events.push_back(event);
        }
    }
}

fn state_of(task: &Task) -> TaskState {
    match task.place {
        Place::Dialling => TaskState::Dialling {
            attempt: u32::from(task.attempts),
            started_ms: task.at_ms,
        },
        Place::Timer | Place::Ready => TaskState::Waiting { due_ms: task.at_ms },
    }
}

/// A reason: 1 to [`REASON_BYTES_MAX`] bytes, no spaces around it, no control characters.
fn check_reason(reason: &str) -> Result<(), String> {
    if reason.trim().is_empty() {
        return Err("the reason is empty".to_owned());
    }
    if reason.trim() != reason {
        return Err(format!("{reason:?} begins or ends with spaces"));
    }
    if reason.len() > REASON_BYTES_MAX {
        return Err(format!(
            "the reason is {} bytes long; at most {REASON_BYTES_MAX}",
            reason.len()
        ));
    }
    if reason.chars().any(char::is_control) {
        return Err(format!("{reason:?} has control characters"));
    }
    Ok(())
}

/// The reasons of the active tasks, each held once and counted by the tasks using it, so a
/// task keeps a 4-byte number instead of a string; a reason no task uses any more is
/// forgotten. There are never more than tasks.
#[derive(Debug, Default)]
struct Reasons {
    ids: FastMap<Arc<str>, u32>,
    /// By number; a slot with no tasks is free and listed in `free`.
    slots: Vec<ReasonSlot>,
    free: Vec<u32>,
}

#[derive(Debug)]
struct ReasonSlot {
    text: Arc<str>,
    tasks: u32,
}

impl Reasons {
    fn find(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// The number of `text`, counting one more task using it.
    fn acquire(&mut self, text: &str) -> u32 {
        if let Some(id) = self.find(text) {
            if let Some(slot) = self.slots.get_mut(id as usize) {
                slot.tasks += 1;
            }
            return id;
        }
        let text: Arc<str> = Arc::from(text);
        let slot = ReasonSlot {
            text: Arc::clone(&text),
            tasks: 1,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                // Never more reasons than tasks, so the number fits.
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.ids.insert(text, id);
        id
    }

    /// Counts one task fewer using reason `id`, forgetting it when none is left.
    fn release(&mut self, id: u32) {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        slot.tasks = slot.tasks.saturating_sub(1);
        if slot.tasks == 0 {
            let text = std::mem::replace(&mut slot.text, Arc::from(""));
            self.ids.remove(&text);
            self.free.push(id);
        }
    }

    fn text(&self, id: u32) -> &str {
        self.slots.get(id as usize).map_or("", |slot| &slot.text)
    }

    fn count(&self, id: u32) -> u32 {
        self.slots.get(id as usize).map_or(0, |slot| slot.tasks)
    }

    fn estimated_bytes(&self) -> usize {
        let text_bytes: usize = self
            .slots
            .iter()
            .map(|slot| slot.text.len() + 2 * size_of::<usize>())
            .sum();
        self.slots.capacity() * size_of::<ReasonSlot>()
            + self.ids.capacity() * (size_of::<(Arc<str>, u32)>() + 1) * 8 / 7
            + text_bytes
    }
}

/// A hash map with a fast hash for keys the driver does not choose freely (task ids we give,
/// customer ids from the records): the multiply-and-rotate hash of rustc's FxHash. SipHash
/// costs more than the rest of a look-up here.
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FoldHasher>>;

/// The hasher of [`FastMap`].
#[derive(Default)]
struct FoldHasher(u64);

impl FoldHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FoldHasher::SEED);
    }
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
