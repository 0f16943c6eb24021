//! [`TicketsSpec`], the tickets section as written in a TOML file. Its fields hold the text as
//! written; [`TicketRules::from_spec`](crate::TicketRules::from_spec) checks it and names the
//! field at fault.

use serde::Deserialize;

/// The tickets section of the configuration.
///
/// ```toml
/// calendar = "service"          # business time runs on this calendar; always open if left out
/// escalate_to = "supervisors"   # who hears of a breach
///
/// [[policies]]                  # the first that matches a ticket applies
/// name = "urgent"
/// priority = "urgent"
/// first_response = "30m"
/// resolution = "4h"
///
/// [[policies]]
/// name = "complaints"
/// category = "complaint/*"
/// first_response = "2h"
/// resolution = "16h"
/// warn_at_percent = 75
///
/// [[routes]]                    # the first that matches a ticket's category applies
/// category = "billing/*"
/// department = "finance"
///
/// [[follow_ups]]                # 回访: call back this long after resolution
/// category = "repair/*"
/// after = "3d"
/// ```
///
/// A category pattern is a category written exactly (`"billing/refund"`), a category and all
/// below it (`"billing/*"`: `"billing"`, `"billing/refund"`, `"billing/refund/partial"`), or
/// `"*"` for every category.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TicketsSpec {
    /// The name of the calendar business time is counted on; `None` means always open.
    #[serde(default)]
    pub calendar: Option<String>,
    /// SLA policies, the first matching a ticket applies.
    #[serde(default)]
    pub policies: Vec<SlaPolicySpec>,
    /// Which department a category goes to, the first matching applies.
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    /// Follow-up calls after resolution, the first matching applies.
    #[serde(default)]
    pub follow_ups: Vec<FollowUpSpec>,
    /// The supervisor group told of a breach, if any.
    #[serde(default)]
    pub escalate_to: Option<String>,
}

/// One SLA policy as written. It matches a ticket when both its `priority` and its `category`
/// do; one left out matches anything.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicySpec {
    /// The policy's name, unique within the section.
    pub name: String,
    /// `"urgent"`, `"high"`, `"normal"` or `"low"`; `None` matches every priority.
    #[serde(default)]
    pub priority: Option<String>,
    /// A category pattern; `None` matches every category.
    #[serde(default)]
    pub category: Option<String>,
    /// Business time to the first response: hours and minutes, `"4h"`, `"90m"`, `"1h30m"`.
    pub first_response: String,
    /// Business time to resolution, in the same form; at least `first_response`.
    pub resolution: String,
    /// When to warn, in percent of each target, 1 to 100; 80 if left out.
    #[serde(default)]
    pub warn_at_percent: Option<i64>,
}

/// Where tickets of a category go.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// A category pattern.
    pub category: String,
    /// The department (a group of agents) that handles them.
    pub department: String,
}

/// A follow-up call (回访) after tickets of a category are resolved.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FollowUpSpec {
    /// A category pattern.
    pub category: String,
    /// How long after the resolution, in calendar time (not business time): days of 24
    /// hours, hours and minutes, `"3d"`, `"72h"`, `"1d12h"`. The call falls due then, or when
    /// the calendar next opens.
    pub after: String,
}
