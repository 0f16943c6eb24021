//! Calls and the customer records: who is calling, for routing and for the agent.
//!
//! The switch's run loop hands the link task the call facts it logs ([`LinkEvent`], made by
//! [`link_event`] from the switch's records). The task, the only one here that reads the
//! records for calls:
//!
//! - looks each caller's number up when the call arrives and hands the switch the caller's
//!   [`CallerProfile`] (level, value, preference, dedicated agent), which the switch waits
//!   for a bounded time before it queues the call;
//! - assembles the screen pop when a contact is offered to an agent and pushes it to that
//!   agent alone ([`PopHub`], read by `GET /api/v1/agents/{name}/pops` as server-sent
//!   events), with the contact id, so the desktop shows it while the phone rings; and says
//!   when the offer ends;
//! - writes an interaction for each call when it ends: inbound call or callback, agent,
//!   queue, contact id, outcome and talk time; for the customer with the caller's number, or
//!   without one until an agent says who called ([`LinkEvent::Identified`]).
//!
//! Facts are handled one at a time in the order the switch made them. Everything is bounded:
//! the queue into the task ([`MAX_LINK_QUEUE`]; a full queue drops facts, counted, and the
//! switch stops waiting for a profile after its own deadline), the contacts tracked
//! ([`MAX_TRACKED_CONTACTS`]), and the pops buffered per subscriber ([`MAX_POPS_BUFFERED`]).

use std::collections::HashMap;
use std::sync::Arc;

use hotline_phone::{normalize, NumberContext, PhoneNumber};
use hotline_routing::{ContactId, ContactKind, Event as RoutingEvent, RoutingConfig};
use hotline_store::{CustomerId, InteractionKind, NewInteraction, NewSurveyAnswer, Records};
use tokio::sync::{broadcast, mpsc, watch};

use crate::switch::{CallEvent, CallerProfile, Record};

/// The most call facts waiting for the link task.
pub const MAX_LINK_QUEUE: usize = 4_096;
/// The most contacts the task follows at once; beyond it new calls get no pop or
/// interaction (counted), rather than unbounded memory.
pub const MAX_TRACKED_CONTACTS: usize = 100_000;
/// The callers' numbers of ended calls remembered, so that an agent who names the caller
/// after the call (a short call, a long wrap-up) can still add the number to the customer.
pub const RECENT_NUMBERS: usize = 4_096;
/// The most pushes a subscriber may fall behind by before it misses some (it is told).
pub const MAX_POPS_BUFFERED: usize = 1_024;

/// A call fact the link task acts on, with agent and queue by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// A call came in from `from` (the From user, in whatever form the trunk sent).
    Arrived {
        /// The contact.
        contact: ContactId,
        /// The caller's number as sent.
        from: String,
        /// When.
        at_ms: u64,
    },
    /// The outbound dialler's attempt to call `number` back (callback task `task`) waits for
    /// an agent.
    OutboundQueued {
        /// The contact.
        contact: ContactId,
        /// The number dialled, E.164.
        number: String,
        /// The customer in the records.
        customer: Option<i64>,
        /// The callback task.
        task: u64,
        /// When.
        at_ms: u64,
    },
    /// The contact is offered to an agent (their phone rings, or a callback waits for them).
    Offered {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: String,
        /// The queue.
        queue: String,
        /// A callback rather than a call.
        callback: bool,
        /// When.
        at_ms: u64,
    },
    /// An offer ended without the agent taking it (declined, timed out, caller gone).
    OfferEnded {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: String,
        /// Why, as the event log names it.
        reason: String,
        /// When.
        at_ms: u64,
    },
    /// The agent and the caller (or called-back customer) are talking.
    Connected {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: String,
        /// When.
        at_ms: u64,
    },
    /// The caller chose a callback: the call ends, the contact lives on.
    CallbackAccepted {
        /// The contact.
        contact: ContactId,
    },
    /// An agent said who the caller is (an unknown number, or one several customers
    /// share): the call's interaction goes to this customer, now or once the call ends.
    Identified {
        /// The contact.
        contact: ContactId,
        /// The customer.
        customer: CustomerId,
        /// Also add the caller's number to the customer's phones (the agent sees it masked
        /// only), while the call is followed or among the [`RECENT_NUMBERS`] last ended.
        add_number: bool,
    },
    /// A call (or a callback's dial) ended.
    Ended {
        /// The contact.
        contact: ContactId,
        /// When.
        at_ms: u64,
    },
    /// An agent's routing state changed: their desktop is told at once (it reads the state
    /// again), instead of finding out at its next look.
    AgentState {
        /// The agent, by name.
        agent: String,
        /// The state as the wall names it (`ready`, `not_ready:<reason>`, `wrap_up` …).
        state: String,
        /// When.
        at_ms: u64,
    },
    /// The caller answered the post-call survey (after the call's `Ended`).
    SurveyAnswered {
        /// The contact.
        contact: ContactId,
        /// 1 to 5.
        score: u8,
        /// When.
        at_ms: u64,
    },
}

/// The link task's fact for a switch record, if it needs one.
pub fn link_event(routing: &RoutingConfig, record: &Record) -> Option<LinkEvent> {
    let agent_name = |agent: hotline_routing::AgentId| {
        routing
            .agents
            .get(agent.index())
            .map_or_else(|| format!("#{}", agent.index()), |a| a.name.clone())
    };
    match record {
        Record::Call(at, event) => match event {
            CallEvent::Arrived { contact, from, .. } => Some(LinkEvent::Arrived {
                contact: *contact,
                from: from.clone(),
                at_ms: *at,
            }),
            CallEvent::OutboundQueued {
                contact,
                number,
                customer,
                task,
                ..
            } => Some(LinkEvent::OutboundQueued {
                contact: *contact,
                number: number.clone(),
                customer: *customer,
                task: *task,
                at_ms: *at,
            }),
            CallEvent::Connected { contact, agent } => Some(LinkEvent::Connected {
                contact: *contact,
                agent: agent_name(*agent),
                at_ms: *at,
            }),
            CallEvent::CallbackAccepted { contact } => {
                Some(LinkEvent::CallbackAccepted { contact: *contact })
            }
            CallEvent::Ended { contact, .. } => Some(LinkEvent::Ended {
                contact: *contact,
                at_ms: *at,
            }),
            CallEvent::SurveyAnswered { contact, score } => Some(LinkEvent::SurveyAnswered {
                contact: *contact,
                score: *score,
                at_ms: *at,
            }),
            _ => None,
        },
        Record::Routing(at, event) => match event {
            RoutingEvent::OfferCreated {
                contact,
                agent,
                queue,
                kind,
            } => Some(LinkEvent::Offered {
                contact: *contact,
                agent: agent_name(*agent),
                queue: routing
                    .queues
                    .get(queue.index())
                    .map_or_else(String::new, |q| q.name.clone()),
                callback: *kind == ContactKind::Callback,
                at_ms: at.as_millis(),
            }),
            RoutingEvent::OfferEnded {
                contact,
                agent,
                reason,
            } => Some(LinkEvent::OfferEnded {
                contact: *contact,
                agent: agent_name(*agent),
                reason: format!("{reason:?}"),
                at_ms: at.as_millis(),
            }),
            RoutingEvent::AgentStateChanged { agent, state } => Some(LinkEvent::AgentState {
                agent: agent_name(*agent),
                state: crate::wall::state_name(routing, *state),
                at_ms: at.as_millis(),
            }),
            _ => None,
        },
    }
}

/// One push to one agent's desktop.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentPush {
    /// The agent it is for.
    pub agent: String,
    /// The server-sent event's name: `offer`, `offer_ended` or `state`.
    pub event: &'static str,
    /// Its JSON data.
    pub data: serde_json::Value,
}

/// Pushes for agents' desktops. Every subscriber receives every push and keeps only its
/// agent's ([`PopHub::subscribe`] does the filtering), so nothing of one agent's callers
/// reaches another agent's connection.
///
/// [`PopHub::close`] ends every subscription, so that open desktop streams do not hold a
/// graceful shutdown up.
#[derive(Clone, Debug)]
pub struct PopHub {
    sender: broadcast::Sender<Arc<AgentPush>>,
    closed: Arc<watch::Sender<bool>>,
}

impl Default for PopHub {
    fn default() -> Self {
        PopHub::new()
    }
}

impl PopHub {
    /// A hub buffering [`MAX_POPS_BUFFERED`] pushes.
    pub fn new() -> PopHub {
        PopHub {
            sender: broadcast::channel(MAX_POPS_BUFFERED).0,
            closed: Arc::new(watch::channel(false).0),
        }
    }

    /// Ends every subscription, now and later (at shutdown).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Sends a push to its agent's subscribers (none listening is fine).
    pub fn push(&self, push: AgentPush) {
        let _ = self.sender.send(Arc::new(push));
    }

    /// The pushes from now on for `agent`.
    pub fn subscribe(&self, agent: &str) -> AgentPushes {
        AgentPushes {
            agent: agent.to_owned(),
            receiver: self.sender.subscribe(),
            closed: self.closed.subscribe(),
        }
    }
}

/// One agent's pushes ([`PopHub::subscribe`]).
pub struct AgentPushes {
    agent: String,
    receiver: broadcast::Receiver<Arc<AgentPush>>,
    closed: watch::Receiver<bool>,
}

/// What [`AgentPushes::next`] gives.
#[derive(Clone, Debug, PartialEq)]
pub enum Pushed {
    /// A push for this agent.
    Push(Arc<AgentPush>),
    /// The subscriber fell this many pushes (for all agents) behind and missed some: the
    /// desktop should fetch the current pop itself.
    Missed(u64),
    /// The hub closed (shutdown).
    Closed,
}

impl AgentPushes {
    /// The next push for this agent.
    pub async fn next(&mut self) -> Pushed {
        loop {
            if *self.closed.borrow() {
                return Pushed::Closed;
            }
            let received = tokio::select! {
                received = self.receiver.recv() => received,
                _ = self.closed.changed() => return Pushed::Closed,
            };
            match received {
                Ok(push) if push.agent == self.agent => return Pushed::Push(push),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => return Pushed::Missed(n),
                Err(broadcast::error::RecvError::Closed) => return Pushed::Closed,
            }
        }
    }
}

/// What the link task counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Callers looked up.
    pub lookups: u64,
    /// Screen pops pushed.
    pub pops: u64,
    /// Interactions written for ended calls.
    pub interactions: u64,
    /// Record reads or writes that failed (the call goes on without them).
    pub store_errors: u64,
    /// Calls not followed because [`MAX_TRACKED_CONTACTS`] were.
    pub untracked: u64,
    /// IVR survey answers stored.
    pub surveys: u64,
    /// `survey.answered` events not logged because the event writer was full or gone.
    pub events_dropped: u64,
}

/// What the link task needs.
pub struct LinkParts {
    /// The records.
    pub records: Records,
    /// How callers' numbers are read.
    pub number_context: NumberContext,
    /// Where pops go.
    pub hub: PopHub,
    /// Suggests articles for the callers' need tags.
    pub knowledge: Arc<crate::knowledge::Knowledge>,
    /// Where callers' profiles go (the switch's run loop), when the switch waits for them.
    pub profiles: Option<mpsc::Sender<(ContactId, Option<CallerProfile>)>>,
    /// The event log, for the `survey.answered` events of IVR surveys.
    pub events: Option<hotline_store::EventWriter>,
}

/// What the task remembers of a contact until its last call ends.
#[derive(Debug, Default)]
struct Tracked {
    number: Option<PhoneNumber>,
    /// The customers with the number, first few (looked up once).
    customers: Vec<CustomerId>,
    arrived_ms: u64,
    agent: Option<String>,
    queue: Option<String>,
    connected_ms: Option<u64>,
    /// The caller chose a callback: the contact outlives its call.
    callback_waiting: bool,
    /// The current leg is the callback's dial to the customer.
    callback_leg: bool,
    /// The outbound dialler's callback task this contact is an attempt of.
    callback_task: Option<u64>,
}

/// Starts the link task; it ends when the sender is dropped, with its counters.
pub fn spawn(parts: LinkParts) -> (mpsc::Sender<LinkEvent>, tokio::task::JoinHandle<LinkStats>) {
    let (sender, receiver) = mpsc::channel(MAX_LINK_QUEUE);
    (sender, tokio::spawn(run(parts, receiver)))
}

async fn run(parts: LinkParts, mut events: mpsc::Receiver<LinkEvent>) -> LinkStats {
    let mut link = Link {
        parts,
        tracked: HashMap::new(),
        recent: std::collections::VecDeque::new(),
        stats: LinkStats::default(),
    };
    while let Some(event) = events.recv().await {
        link.handle(event).await;
    }
    link.stats
}

struct Link {
    parts: LinkParts,
    tracked: HashMap<ContactId, Tracked>,
    /// Ended calls' numbers, oldest first, at most [`RECENT_NUMBERS`].
    recent: std::collections::VecDeque<(ContactId, PhoneNumber)>,
    stats: LinkStats,
}

/// How many customers with the caller's number the task remembers (the interaction goes to
/// the customer only when exactly one has it).
const CUSTOMERS_PER_NUMBER: u32 = 2;

impl Link {
    async fn handle(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Arrived {
                contact,
                from,
                at_ms,
            } => self.arrived(contact, &from, at_ms).await,
            LinkEvent::OutboundQueued {
                contact,
                number,
                customer,
                task,
                at_ms,
            } => {
                self.arrived(contact, &number, at_ms).await;
                if let Some(tracked) = self.tracked.get_mut(&contact) {
                    tracked.callback_task = Some(task);
                    if let Some(customer) = customer {
                        tracked.customers = vec![CustomerId(customer)];
                    }
                }
            }
            LinkEvent::Offered {
                contact,
                agent,
                queue,
                callback,
                at_ms,
            } => self.offered(contact, agent, queue, callback, at_ms).await,
            LinkEvent::OfferEnded {
                contact,
                agent,
                reason,
                at_ms,
            } => self.parts.hub.push(AgentPush {
                agent,
                event: "offer_ended",
                data: serde_json::json!({
                    "contact_id": contact.0,
                    "reason": reason,
                    "at_ms": at_ms,
                }),
            }),
            LinkEvent::Connected {
                contact,
                agent,
                at_ms,
            } => {
                if let Some(tracked) = self.tracked.get_mut(&contact) {
                    tracked.agent = Some(agent);
                    tracked.connected_ms = Some(at_ms);
                }
            }
            LinkEvent::AgentState {
                agent,
                state,
                at_ms,
            } => self.parts.hub.push(AgentPush {
                agent,
                event: "state",
                data: serde_json::json!({ "state": state, "at_ms": at_ms }),
            }),
            LinkEvent::CallbackAccepted { contact } => {
                if let Some(tracked) = self.tracked.get_mut(&contact) {
                    tracked.callback_waiting = true;
                }
            }
            LinkEvent::Ended { contact, at_ms } => self.ended(contact, at_ms).await,
            LinkEvent::SurveyAnswered {
                contact,
                score,
                at_ms,
            } => self.survey_answered(contact, score, at_ms).await,
            LinkEvent::Identified {
                contact,
                customer,
                add_number,
            } => {
                if add_number {
                    self.add_number(contact, customer).await;
                }
                if let Some(tracked) = self.tracked.get_mut(&contact) {
                    tracked.customers = vec![customer];
                } else {
                    // The call has ended: its interaction was written without a customer.
                    match self
                        .parts
                        .records
                        .assign_contact_customer(
                            contact.0 as i64,
                            customer,
                            crate::api::now_ms(),
                            "agent",
                        )
                        .await
                    {
                        Ok(_) => {}
                        Err(_) => self.stats.store_errors += 1,
                    }
                }
            }
        }
    }

    /// Adds the caller's number of `contact` to `customer`'s phones, unless it is there or
    /// the number is unknown (not followed, forgotten, or not a number).
    async fn add_number(&mut self, contact: ContactId, customer: CustomerId) {
        let number = match self.tracked.get(&contact) {
            Some(tracked) => tracked.number.clone(),
            None => self
                .recent
                .iter()
                .rev()
                .find(|(c, _)| *c == contact)
                .map(|(_, n)| n.clone()),
        };
        let Some(number) = number else { return };
        // Another writer may change the customer in between: try again on a version clash.
        for _ in 0..3 {
            let current = match self.parts.records.customer(customer).await {
                Ok(Some(current)) => current,
                Ok(None) => return,
                Err(_) => {
                    self.stats.store_errors += 1;
                    return;
                }
            };
            if current.fields.phones.iter().any(|p| p.number == number) {
                return;
            }
            let mut fields = current.fields.clone();
            fields.phones.push(hotline_store::Phone {
                number: number.clone(),
                label: None,
            });
            match self
                .parts
                .records
                .update_customer(
                    customer,
                    &fields,
                    Some(current.version),
                    crate::api::now_ms(),
                    "agent",
                )
                .await
            {
                Ok(_) => return,
                Err(hotline_store::StoreError::Conflict(_)) => continue,
                Err(_) => {
                    self.stats.store_errors += 1;
                    return;
                }
            }
        }
    }

    async fn arrived(&mut self, contact: ContactId, from: &str, at_ms: u64) {
        let number = normalize(from, &self.parts.number_context).ok();
        let mut customers = Vec::new();
        let mut profile = None;
        if let Some(number) = &number {
            self.stats.lookups += 1;
            match self
                .parts
                .records
                .customers_with_number(number, CUSTOMERS_PER_NUMBER)
                .await
            {
                Ok(ids) => customers = ids,
                Err(_) => self.stats.store_errors += 1,
            }
            if let Some(&first) = customers.first() {
                match self.parts.records.customer(first).await {
                    Ok(Some(customer)) => {
                        let fields = customer.fields;
                        profile = Some(CallerProfile {
                            level: Some(fields.level),
                            value_score: fields.value_score,
                            prefer_human: fields.preferences.prefer_human,
                            dedicated_agent: fields.preferences.dedicated_agent,
                        });
                    }
                    Ok(None) => {}
                    Err(_) => self.stats.store_errors += 1,
                }
            }
        }
        if let Some(profiles) = &self.parts.profiles {
            // A full queue: the switch stops waiting at its deadline.
            let _ = profiles.try_send((contact, profile));
        }
        if self.tracked.len() >= MAX_TRACKED_CONTACTS {
            self.stats.untracked += 1;
            return;
        }
        self.tracked.insert(
            contact,
            Tracked {
                number,
                customers,
                arrived_ms: at_ms,
                ..Tracked::default()
            },
        );
    }

    async fn offered(
        &mut self,
        contact: ContactId,
        agent: String,
        queue: String,
        callback: bool,
        at_ms: u64,
    ) {
        let (number, task) = match self.tracked.get_mut(&contact) {
            Some(tracked) => {
                tracked.queue = Some(queue.clone());
                if callback {
                    // The callback's interaction starts when an agent takes it.
                    tracked.callback_leg = true;
                    tracked.arrived_ms = at_ms;
                }
                (tracked.number.clone(), tracked.callback_task)
            }
            None => (None, None),
        };
        // The request behind an outbound callback: why, from where, and the CRM payload.
        let request = match task {
            Some(task) => match self.parts.records.callback_task(task as i64).await {
                Ok(Some(task)) => Some(serde_json::json!({
                    "id": task.id,
                    "channel": task.fields.channel,
                    "reason": task.fields.reason,
                    "need_tags": task.fields.need_tags,
                    "payload": task.fields.payload,
                    "priority": task.fields.priority,
                    "attempt": task.attempts,
                    "ticket_id": task.fields.ticket.map(|t| t.0),
                })),
                Ok(None) => None,
                Err(_) => {
                    self.stats.store_errors += 1;
                    None
                }
            },
            None => None,
        };
        let pop = match &number {
            Some(number) => match self.parts.records.screen_pop(number).await {
                Ok(pop) => Some(crate::api::customers::pop_view(
                    &pop,
                    false,
                    &self.parts.knowledge,
                )),
                Err(_) => {
                    self.stats.store_errors += 1;
                    None
                }
            },
            None => None,
        };
        self.stats.pops += 1;
        self.parts.hub.push(AgentPush {
            agent,
            event: "offer",
            data: serde_json::json!({
                "contact_id": contact.0,
                "queue": queue,
                "callback": callback,
                "callback_request": request,
                "at_ms": at_ms,
                // No pop: a withheld or unreadable number, or a contact not followed.
                "pop": pop,
            }),
        });
    }

    /// Stores an IVR survey answer; the store takes the agent, queue and customer from the
    /// call's interaction (written at `Ended`, before this).
    async fn survey_answered(&mut self, contact: ContactId, score: u8, at_ms: u64) {
        let answer = NewSurveyAnswer {
            at_ms: at_ms as i64,
            score,
            channel: "ivr".into(),
            customer: None,
            interaction: None,
            contact_id: Some(contact.0 as i64),
            agent: None,
            queue: None,
            comment: None,
        };
        match self.parts.records.add_survey_answer(&answer).await {
            Ok(stored) => {
                self.stats.surveys += 1;
                if let Some(events) = &self.parts.events {
                    let event = crate::api::surveys::answered_event(at_ms as i64, &stored);
                    if events.try_append(event).await.is_err() {
                        self.stats.events_dropped += 1;
                    }
                }
            }
            Err(_) => self.stats.store_errors += 1,
        }
    }

    async fn ended(&mut self, contact: ContactId, at_ms: u64) {
        let Some(tracked) = self.tracked.get_mut(&contact) else {
            return;
        };
        // The caller's own call ends when it chose a callback; the contact lives on until
        // the callback's dial ends.
        let keep = tracked.callback_waiting && !tracked.callback_leg;
        let disposition = if tracked.connected_ms.is_some() {
            "answered"
        } else if keep {
            "callback_requested"
        } else if tracked.callback_leg {
            "not_reached"
        } else {
            "abandoned"
        };
        // Written for every call followed; without a customer when the number matched none
        // or several (an agent may say who it was: `LinkEvent::Identified`).
        let interaction = Some(NewInteraction {
            customer: (tracked.customers.len() == 1).then(|| tracked.customers[0]),
            at_ms: tracked.arrived_ms as i64,
            kind: if tracked.callback_leg {
                InteractionKind::Callback
            } else {
                InteractionKind::InboundCall
            },
            channel: Some("phone".into()),
            agent: tracked.agent.clone(),
            queue: tracked.queue.clone(),
            contact_id: Some(contact.0 as i64),
            event_seq: None,
            disposition: Some(disposition.into()),
            duration_ms: tracked
                .connected_ms
                .map(|connected| at_ms.saturating_sub(connected) as i64),
            summary: None,
        });
        if keep {
            tracked.callback_waiting = false;
            tracked.agent = None;
            tracked.connected_ms = None;
            tracked.arrived_ms = at_ms;
        } else if let Some(Tracked {
            number: Some(number),
            ..
        }) = self.tracked.remove(&contact)
        {
            if self.recent.len() >= RECENT_NUMBERS {
                self.recent.pop_front();
            }
            self.recent.push_back((contact, number));
        }
        if let Some(interaction) = interaction {
            match self.parts.records.add_interaction(&interaction).await {
                Ok(_) => self.stats.interactions += 1,
                Err(_) => self.stats.store_errors += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(agent: &str, contact: u64) -> AgentPush {
        AgentPush {
            agent: agent.into(),
            event: "offer",
            data: serde_json::json!({ "contact_id": contact }),
        }
    }

    #[test]
    fn an_agents_state_change_becomes_a_push_to_their_desktop() {
        let routing = hotline_config::parse_routing(
            "link.toml",
            "[routing]\nreasons = [\"break\"]\n[[routing.queues]]\nname = \"general\"\n\
             [[routing.agents]]\nname = \"ann\"\nqueues = [\"general\"]\n",
        )
        .unwrap();
        let record = Record::Routing(
            hotline_routing::Time::from_millis(5_000),
            RoutingEvent::AgentStateChanged {
                agent: hotline_routing::AgentId(0),
                // The first reason after the built-in ones: "break".
                state: hotline_routing::AgentState::NotReady(hotline_routing::ReasonCode(
                    hotline_routing::ReasonCode::BUILT_IN.len() as u16,
                )),
            },
        );
        assert_eq!(
            link_event(&routing, &record),
            Some(LinkEvent::AgentState {
                agent: "ann".into(),
                state: "not_ready:break".into(),
                at_ms: 5_000,
            })
        );
    }

    #[tokio::test]
    async fn an_agent_receives_only_its_own_pushes_and_closing_ends_the_stream() {
        let hub = PopHub::new();
        let mut ann = hub.subscribe("ann");
        hub.push(push("bob", 1));
        hub.push(push("ann", 2));
        match ann.next().await {
            Pushed::Push(push) => assert_eq!(push.data["contact_id"], 2),
            other => panic!("{other:?}"),
        }
        hub.close();
        assert_eq!(ann.next().await, Pushed::Closed);
        assert_eq!(hub.subscribe("ann").next().await, Pushed::Closed);
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_how_much_it_missed() {
        let hub = PopHub::new();
        let mut ann = hub.subscribe("ann");
        for contact in 0..MAX_POPS_BUFFERED as u64 + 5 {
            hub.push(push("ann", contact));
        }
        assert_eq!(ann.next().await, Pushed::Missed(5));
        match ann.next().await {
            Pushed::Push(push) => assert_eq!(push.data["contact_id"], 5),
            other => panic!("{other:?}"),
        }
    }
}
