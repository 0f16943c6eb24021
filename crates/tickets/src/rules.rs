//! [`TicketRules`]: the checked tickets section, and its answers about one ticket.

use std::fmt;

use hotline_calendar::Calendar;

use crate::duration::{parse_business_duration, parse_calendar_duration, show};
use crate::{
    Priority, SlaClock, SlaPolicy, SlaPolicySpec, SlaReport, SpecError, TicketsSpec,
    CATEGORY_BYTES_MAX, DEFAULT_WARN_AT_PERCENT, FOLLOW_UPS_MAX, FOLLOW_UP_AFTER_MAX_MS,
    NAME_BYTES_MAX, POLICIES_MAX, ROUTES_MAX, SLA_DURATION_MAX_MS,
};

/// The rules for tickets: the calendar, SLA policies, routes to departments and follow-ups.
/// Built by [`TicketRules::from_spec`]; [`TicketRules::default`] is the section left out
/// (always open, the default policy for every ticket, no routes, no follow-ups).
///
/// Each list is read in order and the first entry that matches applies, as in a firewall:
/// put the specific entries before the general ones. An entry that an earlier one hides
/// completely is refused when the rules are built.
#[derive(Clone, Debug)]
pub struct TicketRules {
    calendar: Calendar,
    policies: Vec<PolicyRule>,
    default_policy: SlaPolicy,
    routes: Vec<Route>,
    follow_ups: Vec<FollowUp>,
    escalate_to: Option<String>,
}

impl Default for TicketRules {
    fn default() -> TicketRules {
        TicketRules {
            calendar: Calendar::always_open(),
            policies: Vec::new(),
            default_policy: SlaPolicy::default(),
            routes: Vec::new(),
            follow_ups: Vec::new(),
            escalate_to: None,
        }
    }
}

#[derive(Clone, Debug)]
struct PolicyRule {
    priority: Option<Priority>,
    category: CategoryPattern,
    policy: SlaPolicy,
}

#[derive(Clone, Debug)]
struct Route {
    category: CategoryPattern,
    department: String,
}

#[derive(Clone, Debug)]
struct FollowUp {
    category: CategoryPattern,
    after_ms: u64,
}

impl TicketRules {
    /// Checks the section as written and builds the rules. `lookup_calendar` finds a calendar
    /// by name among those configured. The error names the first field at fault.
    pub fn from_spec(
        spec: &TicketsSpec,
        lookup_calendar: impl Fn(&str) -> Option<Calendar>,
    ) -> Result<TicketRules, SpecError> {
        let calendar = match &spec.calendar {
            None => Calendar::always_open(),
            Some(name) => lookup_calendar(name).ok_or_else(|| {
                SpecError::new(
                    "calendar",
                    format!("no calendar named {name:?}; leave calendar out for always open"),
                )
            })?,
        };

        check_count("policies", spec.policies.len(), POLICIES_MAX)?;
        let mut policies: Vec<PolicyRule> = Vec::with_capacity(spec.policies.len());
        for (index, policy_spec) in spec.policies.iter().enumerate() {
            let rule = policy_rule(policy_spec, &format!("policies[{index}]"))?;
            if let Some((earlier_index, earlier)) = policies
                .iter()
                .enumerate()
                .find(|(_, earlier)| earlier.policy.name == rule.policy.name)
            {
                return Err(SpecError::new(
                    format!("policies[{index}].name"),
                    format!(
                        "{:?} is also the name of policies[{earlier_index}]; names must differ",
                        earlier.policy.name
                    ),
                ));
            }
            if let Some((earlier_index, earlier)) =
                policies.iter().enumerate().find(|(_, earlier)| {
                    earlier.priority.is_none_or(|p| Some(p) == rule.priority)
                        && earlier.category.covers(&rule.category)
                })
            {
                return Err(SpecError::new(
                    format!("policies[{index}]"),
                    format!(
                        "policy {:?} is never used: policies[{earlier_index}] ({:?}) comes first \
                         and matches every ticket it would; put the more specific policy first",
                        rule.policy.name, earlier.policy.name
                    ),
                ));
            }
            policies.push(rule);
        }

        check_count("routes", spec.routes.len(), ROUTES_MAX)?;
        let mut routes: Vec<Route> = Vec::with_capacity(spec.routes.len());
        for (index, route_spec) in spec.routes.iter().enumerate() {
            let field = format!("routes[{index}]");
            let category = category_pattern(&route_spec.category, &format!("{field}.category"))?;
            check_name(&route_spec.department, &format!("{field}.department"))?;
            check_hidden(
                &field,
                routes.iter().map(|route| &route.category),
                &category,
                "route",
            )?;
            routes.push(Route {
                category,
                department: route_spec.department.clone(),
            });
        }

        check_count("follow_ups", spec.follow_ups.len(), FOLLOW_UPS_MAX)?;
        let mut follow_ups: Vec<FollowUp> = Vec::with_capacity(spec.follow_ups.len());
        for (index, follow_up_spec) in spec.follow_ups.iter().enumerate() {
            let field = format!("follow_ups[{index}]");
            let category =
                category_pattern(&follow_up_spec.category, &format!("{field}.category"))?;
            let after_ms = parse_calendar_duration(&follow_up_spec.after, FOLLOW_UP_AFTER_MAX_MS)
                .map_err(|message| SpecError::new(format!("{field}.after"), message))?;
            check_hidden(
                &field,
                follow_ups.iter().map(|follow_up| &follow_up.category),
                &category,
                "follow-up",
            )?;
            follow_ups.push(FollowUp { category, after_ms });
        }

        if let Some(group) = &spec.escalate_to {
            check_name(group, "escalate_to")?;
        }

        Ok(TicketRules {
            calendar,
            policies,
            default_policy: SlaPolicy::default(),
            routes,
            follow_ups,
            escalate_to: spec.escalate_to.clone(),
        })
    }

    /// The calendar business time is counted on.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The policy of a ticket: the first configured policy whose priority and category both
    /// match, else the built-in [`SlaPolicy::default`] (first response in 8 business hours,
    /// resolution in 40).
    pub fn policy_for(&self, priority: Priority, category: &str) -> &SlaPolicy {
        self.policies
            .iter()
            .find(|rule| {
                rule.priority.is_none_or(|p| p == priority) && rule.category.matches(category)
            })
            .map_or(&self.default_policy, |rule| &rule.policy)
    }

    /// The department tickets of `category` go to: that of the first route matching it;
    /// `None` when none does (the caller keeps the ticket where it was created).
    pub fn department_for(&self, category: &str) -> Option<&str> {
        self.routes
            .iter()
            .find(|route| route.category.matches(category))
            .map(|route| route.department.as_str())
    }

    /// When to call the customer back about a ticket of `category` resolved at
    /// `resolved_at_ms`: the first matching follow-up's `after` later, moved to the
    /// calendar's next opening if the center is closed then. `None` when no follow-up matches.
    ///
    /// If the calendar does not open again within its search horizon, the instant is kept
    /// unmoved rather than dropped: a follow-up promised is not lost to a calendar mistake.
    pub fn follow_up_due(&self, category: &str, resolved_at_ms: u64) -> Option<u64> {
        let follow_up = self
            .follow_ups
            .iter()
            .find(|follow_up| follow_up.category.matches(category))?;
        let due_ms = resolved_at_ms.saturating_add(follow_up.after_ms);
        Some(self.calendar.next_open(due_ms).unwrap_or(due_ms))
    }

    /// The supervisor group told of a breach, if one is configured.
    pub fn escalate_to(&self) -> Option<&str> {
        self.escalate_to.as_deref()
    }

    /// Evaluates a ticket's clock against its policy ([`TicketRules::policy_for`]) on the
    /// rules' calendar: [`SlaClock::evaluate`] with the arguments looked up.
    pub fn evaluate(
        &self,
        clock: &SlaClock,
        priority: Priority,
        category: &str,
        now_ms: u64,
    ) -> SlaReport {
        clock.evaluate(self.policy_for(priority, category), &self.calendar, now_ms)
    }
}

/// Checks and builds one policy; `field` is `policies[i]`.
fn policy_rule(spec: &SlaPolicySpec, field: &str) -> Result<PolicyRule, SpecError> {
    check_name(&spec.name, &format!("{field}.name"))?;
    let priority = spec
        .priority
        .as_deref()
        .map(|text| {
            text.parse::<Priority>()
                .map_err(|e| SpecError::new(format!("{field}.priority"), e.to_string()))
        })
        .transpose()?;
    let category = match &spec.category {
        None => CategoryPattern::Any,
        Some(text) => category_pattern(text, &format!("{field}.category"))?,
    };
    let first_response_ms = parse_business_duration(&spec.first_response, SLA_DURATION_MAX_MS)
        .map_err(|message| SpecError::new(format!("{field}.first_response"), message))?;
    let resolution_ms = parse_business_duration(&spec.resolution, SLA_DURATION_MAX_MS)
        .map_err(|message| SpecError::new(format!("{field}.resolution"), message))?;
    if first_response_ms > resolution_ms {
        return Err(SpecError::new(
            format!("{field}.first_response"),
            format!(
                "{} is longer than the resolution target {}; a ticket is answered before it \
                 is resolved",
                show(first_response_ms),
                show(resolution_ms)
            ),
        ));
    }
    let warn_at_percent = match spec.warn_at_percent {
        None => DEFAULT_WARN_AT_PERCENT,
        Some(percent) => u8::try_from(percent)
            .ok()
            .filter(|percent| (1..=100).contains(percent))
            .ok_or_else(|| {
                SpecError::new(
                    format!("{field}.warn_at_percent"),
                    format!(
                        "{percent} is out of range; expected 1 to 100 (100: no warning before \
                         the breach)"
                    ),
                )
            })?,
    };
    Ok(PolicyRule {
        priority,
        category,
        policy: SlaPolicy {
            name: spec.name.clone(),
            first_response_ms,
            resolution_ms,
            warn_at_percent,
        },
    })
}

fn check_count(field: &str, count: usize, max: usize) -> Result<(), SpecError> {
    if count > max {
        return Err(SpecError::new(
            field,
            format!("{count} entries; at most {max}"),
        ));
    }
    Ok(())
}

/// A name of a policy, a department or a group: not blank, at most [`NAME_BYTES_MAX`] bytes.
fn check_name(name: &str, field: &str) -> Result<(), SpecError> {
    if name.trim().is_empty() {
        return Err(SpecError::new(field, "the name is empty"));
    }
    if name.trim() != name {
        return Err(SpecError::new(
            field,
            format!("{name:?} begins or ends with spaces"),
        ));
    }
    if name.len() > NAME_BYTES_MAX {
        return Err(SpecError::new(
            field,
            format!(
                "the name is {} bytes long; at most {NAME_BYTES_MAX}",
                name.len()
            ),
        ));
    }
    Ok(())
}

/// Refuses an entry of `field` (such as `routes[3]`) whose category pattern an earlier
/// entry's covers: first match wins, so it could never apply.
fn check_hidden<'a>(
    field: &str,
    earlier: impl Iterator<Item = &'a CategoryPattern>,
    pattern: &CategoryPattern,
    what: &str,
) -> Result<(), SpecError> {
    let list = field.split('[').next().unwrap_or(field);
    for (index, earlier) in earlier.enumerate() {
        if earlier.covers(pattern) {
            return Err(SpecError::new(
                format!("{field}.category"),
                format!(
                    "this {what} is never used: {list}[{index}] (\"{earlier}\") comes first and \
                     matches every category \"{pattern}\" does; put the more specific entry first"
                ),
            ));
        }
    }
    Ok(())
}

/// What a category pattern looks like, for error messages.
const CATEGORY_EXPECTED: &str = r#"expected a category such as "billing/refund", a category and all below it such as "billing/*", or "*" for all"#;

/// Which categories an entry applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CategoryPattern {
    /// `"*"`: every category.
    Any,
    /// `"billing/refund"`: that category alone.
    Exact(String),
    /// `"billing/*"`, held as `"billing"`: that category and all below it.
    Under(String),
}

impl CategoryPattern {
    fn matches(&self, category: &str) -> bool {
        match self {
            CategoryPattern::Any => true,
            CategoryPattern::Exact(exact) => exact == category,
            CategoryPattern::Under(prefix) => is_at_or_below(category, prefix),
        }
    }

    /// Whether every category `other` matches, this one matches too.
    fn covers(&self, other: &CategoryPattern) -> bool {
        match (self, other) {
            (CategoryPattern::Any, _) => true,
            (_, CategoryPattern::Any) => false,
            (CategoryPattern::Exact(a), CategoryPattern::Exact(b)) => a == b,
            (CategoryPattern::Exact(_), CategoryPattern::Under(_)) => false,
            (CategoryPattern::Under(prefix), CategoryPattern::Exact(category))
            | (CategoryPattern::Under(prefix), CategoryPattern::Under(category)) => {
                is_at_or_below(category, prefix)
            }
        }
    }
}

impl fmt::Display for CategoryPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CategoryPattern::Any => f.write_str("*"),
            CategoryPattern::Exact(category) => f.write_str(category),
            CategoryPattern::Under(prefix) => write!(f, "{prefix}/*"),
        }
    }
}

/// Whether `category` is `prefix` or below it (`"billing/refund"` below `"billing"`, but not
/// `"billings"`).
fn is_at_or_below(category: &str, prefix: &str) -> bool {
    category
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Parses a category pattern; `field` names it in the error.
fn category_pattern(text: &str, field: &str) -> Result<CategoryPattern, SpecError> {
    let refuse = |message: String| Err(SpecError::new(field, message));
    if text.len() > CATEGORY_BYTES_MAX {
        return refuse(format!(
            "the category is {} bytes long; at most {CATEGORY_BYTES_MAX}",
            text.len()
        ));
    }
    if text == "*" {
        return Ok(CategoryPattern::Any);
    }
    let (category, under) = match text.strip_suffix("/*") {
        Some(prefix) => (prefix, true),
        None => (text, false),
    };
    let well_formed = !category.is_empty()
        && category.trim() == category
        && !category.contains('*')
        && category
            .split('/')
            .all(|segment| !segment.trim().is_empty());
    if !well_formed {
        return refuse(format!("invalid category {text:?}; {CATEGORY_EXPECTED}"));
    }
    Ok(if under {
        CategoryPattern::Under(category.to_owned())
    } else {
        CategoryPattern::Exact(category.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> CategoryPattern {
        category_pattern(text, "test").unwrap()
    }

    #[test]
    fn category_patterns_match() {
        let billing = pattern("billing/*");
        assert!(billing.matches("billing"));
        assert!(billing.matches("billing/refund"));
        assert!(billing.matches("billing/refund/partial"));
        assert!(!billing.matches("billings"));
        assert!(!billing.matches("repair/billing"));
        assert!(pattern("*").matches(""));
        assert!(pattern("投诉/服务态度").matches("投诉/服务态度"));
        assert!(!pattern("投诉/服务态度").matches("投诉"));
    }

    #[test]
    fn covering() {
        assert!(pattern("*").covers(&pattern("a/*")));
        assert!(pattern("a/*").covers(&pattern("a")));
        assert!(pattern("a/*").covers(&pattern("a/b/*")));
        assert!(!pattern("a/b/*").covers(&pattern("a/*")));
        assert!(!pattern("a").covers(&pattern("a/*")));
        assert!(!pattern("a/*").covers(&pattern("*")));
        assert!(!pattern("a/*").covers(&pattern("ab")));
    }

    #[test]
    fn flawed_category_patterns() {
        for text in [
            "", "/", "a//b", "/a", "a/", "*/a", "a*", "a/*/*", " a", "a/ /b", "**",
        ] {
            let error = category_pattern(text, "routes[0].category").unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("routes[0].category: invalid category {text:?}; {CATEGORY_EXPECTED}"),
                "{text:?}"
            );
        }
        let long = "a".repeat(CATEGORY_BYTES_MAX + 1);
        assert!(category_pattern(&long, "x").is_err());
        assert!(category_pattern(&long[1..], "x").is_ok());
    }
}
