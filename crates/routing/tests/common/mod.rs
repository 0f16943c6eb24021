//! A small harness: build a center by name, drive the router with a virtual clock, and read
//! its events by name.
#![allow(dead_code)]

use std::time::Duration;

use hotline_routing::*;

pub struct Center {
    pub router: Router,
    pub now: Time,
    pub events: Vec<(Time, Event)>,
    /// Events not yet looked at by `take`.
    cursor: usize,
}

pub fn skill(config: &RoutingConfig, name: &str, level: u8) -> SkillRequirement {
    SkillRequirement {
        skill: config
            .skill_id(name)
            .unwrap_or_else(|| panic!("skill {name}")),
        min_proficiency: level,
    }
}

/// A configuration builder with readable names.
pub struct Builder {
    pub config: RoutingConfig,
}

impl Builder {
    pub fn new(skills: &[&str]) -> Builder {
        Builder {
            config: RoutingConfig {
                skills: skills.iter().map(|s| s.to_string()).collect(),
                ..RoutingConfig::default()
            },
        }
    }

    pub fn queue(mut self, name: &str, skills: &[(&str, u8)]) -> Builder {
        let skills = skills
            .iter()
            .map(|(s, l)| skill(&self.config, s, *l))
            .collect();
        self.config.queues.push(QueueConfig::new(name, skills));
        self
    }

    pub fn edit_queue(
        mut self,
        name: &str,
        f: impl FnOnce(&mut QueueConfig, &RoutingConfig),
    ) -> Builder {
        let id = self.config.queue_id(name).unwrap();
        let snapshot = self.config.clone();
        f(&mut self.config.queues[id.index()], &snapshot);
        self
    }

    /// `profile`: (queue, priority, delay seconds).
    pub fn agent(
        mut self,
        name: &str,
        skills: &[(&str, u8)],
        profile: &[(&str, u8, u64)],
    ) -> Builder {
        let skills = skills
            .iter()
            .map(|(s, l)| (self.config.skill_id(s).unwrap(), *l))
            .collect();
        let profile = profile
            .iter()
            .map(|(q, p, d)| ProfileEntry {
                queue: self.config.queue_id(q).unwrap(),
                priority: *p,
                delay: Duration::from_secs(*d),
            })
            .collect();
        self.config.agents.push(AgentConfig {
            name: name.into(),
            skills,
            profile,
            chat_capacity: 0,
        });
        self
    }

    pub fn build(self) -> Center {
        Center {
            router: Router::new(self.config).expect("valid config"),
            now: Time::ZERO,
            events: Vec::new(),
            cursor: 0,
        }
    }
}

impl Center {
    pub fn agent(&self, name: &str) -> AgentId {
        self.router
            .config()
            .agent_id(name)
            .unwrap_or_else(|| panic!("agent {name}"))
    }

    pub fn queue(&self, name: &str) -> QueueId {
        self.router.config().queue_id(name).unwrap()
    }

    pub fn skill(&self, name: &str, level: u8) -> SkillRequirement {
        skill(self.router.config(), name, level)
    }

    fn drain(&mut self) {
        while let Some(e) = self.router.poll_event() {
            self.events.push(e);
        }
        self.router.check_invariants().unwrap();
    }

    /// Moves the clock to `secs`, firing every timer on the way.
    pub fn at(&mut self, secs: f64) -> &mut Center {
        let target = Time::from_millis((secs * 1000.0) as u64);
        assert!(target >= self.now);
        self.router.handle_timeout(target);
        self.now = target;
        self.drain();
        self
    }

    pub fn input(&mut self, input: Input) -> Result<(), InputError> {
        let r = self.router.handle(self.now, input);
        self.drain();
        r
    }

    pub fn ok(&mut self, input: Input) -> &mut Center {
        self.input(input).expect("input accepted");
        self
    }

    pub fn ready(&mut self, name: &str) -> &mut Center {
        let agent = self.agent(name);
        self.ok(Input::Login { agent });
        self.ok(Input::Ready { agent })
    }

    pub fn arrive(&mut self, id: u64, queue: &str) -> &mut Center {
        let q = self.queue(queue);
        self.ok(Input::Arrive(ContactSpec::call(ContactId(id), q)))
    }

    pub fn arrive_with(
        &mut self,
        id: u64,
        queue: &str,
        f: impl FnOnce(&mut ContactSpec),
    ) -> &mut Center {
        let mut spec = ContactSpec::call(ContactId(id), self.queue(queue));
        f(&mut spec);
        self.ok(Input::Arrive(spec))
    }

    pub fn accept(&mut self, agent: &str, id: u64) -> &mut Center {
        let agent = self.agent(agent);
        self.ok(Input::Accept {
            agent,
            contact: ContactId(id),
        })
    }

    pub fn reject(&mut self, agent: &str, id: u64) -> &mut Center {
        let agent = self.agent(agent);
        self.ok(Input::Reject {
            agent,
            contact: ContactId(id),
        })
    }

    pub fn complete(&mut self, agent: &str, id: u64) -> &mut Center {
        let agent = self.agent(agent);
        self.ok(Input::Complete {
            agent,
            contact: ContactId(id),
        })
    }

    /// Events since the last call.
    pub fn take(&mut self) -> Vec<Event> {
        let out = self.events[self.cursor..]
            .iter()
            .map(|(_, e)| e.clone())
            .collect();
        self.cursor = self.events.len();
        out
    }

    /// The (contact, agent) pairs of offers since the last `take`.
    pub fn offers(&mut self) -> Vec<(u64, String)> {
        let names: Vec<String> = self
            .router
            .config()
            .agents
            .iter()
            .map(|a| a.name.clone())
            .collect();
        self.take()
            .into_iter()
            .filter_map(|e| match e {
                Event::OfferCreated { contact, agent, .. } => {
                    Some((contact.0, names[agent.index()].clone()))
                }
                _ => None,
            })
            .collect()
    }

    pub fn state(&self, agent: &str) -> AgentState {
        self.router.agent_state(self.agent(agent)).unwrap()
    }

    /// Every `ContactEnded` so far, as (contact, outcome).
    pub fn ended(&self) -> Vec<(u64, Outcome)> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::ContactEnded {
                    contact, outcome, ..
                } => Some((contact.0, *outcome)),
                _ => None,
            })
            .collect()
    }
}
