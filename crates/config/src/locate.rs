//! Where in the file each part of the domain types came from, so that an error that
//! `RoutingConfig::validate` or `Scenario::validate` reports by path (`queues[2].steps[0]`,
//! `agents[57].skills[1]`, `shifts[12]`) can be shown at a line and a field of the file.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::diagnostic::{Diagnostic, Source};

/// One recorded place: the span to point at and the field to name.
struct Place {
    span: Range<usize>,
    field: String,
    /// A value, not a table: the rest of a longer domain path (`.min_proficiency` inside
    /// `"accounts:7"`) is part of the value and not named in the field.
    leaf: bool,
}

/// A `[[routing.agents]]` entry and the agents it expanded to.
pub(crate) struct AgentEntry {
    /// Index of the entry in `routing.agents`.
    pub entry: usize,
    /// The entry's name: the agent's name, or the prefix of its agents' names.
    pub name: String,
    /// Index of its first agent in `RoutingConfig::agents`.
    pub first: usize,
    /// How many agents it expanded to.
    pub count: usize,
}

/// A map from domain paths to places in the file.
///
/// Agents and shifts are recorded once per file entry, not once per expanded agent: a domain
/// path `agents[57]...` is first rewritten to `agents[E]...` where `E` is the index of the
/// `[[routing.agents]]` entry agent 57 came from, and `shifts[N]` likewise.
#[derive(Default)]
pub(crate) struct Locations {
    places: HashMap<String, Place>,
    /// Paths (after rewriting) where a diagnostic was already given while reading the file;
    /// `validate()` complaints at or under them repeat it.
    suppressed: HashSet<String>,
    /// Agent entries in the order of their agents.
    pub agent_entries: Vec<AgentEntry>,
    /// For each expanded shift, the index of its `[[shifts]]` entry.
    pub shift_entries: Vec<usize>,
    /// Where to point when nothing closer is known.
    pub fallback: Range<usize>,
}

/// A domain path rewritten into entry space, with the agent it named if any.
struct Rewritten<'a> {
    key: String,
    agent: Option<(&'a AgentEntry, usize)>,
}

impl Locations {
    /// An empty map that points at `fallback` when nothing closer is known.
    pub fn new(fallback: Range<usize>) -> Locations {
        Locations {
            fallback,
            ..Locations::default()
        }
    }

    /// Records a table-like place: a longer path under it keeps its tail in the field.
    pub fn table(&mut self, path: impl Into<String>, span: Range<usize>, field: impl Into<String>) {
        self.insert(path.into(), span, field.into(), false);
    }

    /// Records a value: a longer path under it is shown as the value itself.
    pub fn value(&mut self, path: impl Into<String>, span: Range<usize>, field: impl Into<String>) {
        self.insert(path.into(), span, field.into(), true);
    }

    fn insert(&mut self, path: String, span: Range<usize>, field: String, leaf: bool) {
        self.places.insert(path, Place { span, field, leaf });
    }

    /// The span recorded for exactly `path`.
    pub fn span_of(&self, path: &str) -> Option<Range<usize>> {
        self.places.get(path).map(|p| p.span.clone())
    }

    /// Marks a path (in entry space) as already reported.
    pub fn suppress(&mut self, path: impl Into<String>) {
        self.suppressed.insert(path.into());
    }

    /// Turns `agents[57].x` into `agents[E].x` and `shifts[N].x` into `shifts[S].x`.
    fn rewrite<'a>(&'a self, path: &str) -> Rewritten<'a> {
        if let Some((index, rest)) = indexed(path, "agents") {
            let found = self
                .agent_entries
                .partition_point(|e| e.first + e.count <= index);
            if let Some(entry) = self.agent_entries.get(found).filter(|e| e.first <= index) {
                return Rewritten {
                    key: format!("agents[{}]{rest}", entry.entry),
                    agent: Some((entry, index - entry.first)),
                };
            }
        }
        if let Some((index, rest)) = indexed(path, "shifts") {
            if let Some(entry) = self.shift_entries.get(index) {
                return Rewritten {
                    key: format!("shifts[{entry}]{rest}"),
                    agent: None,
                };
            }
        }
        Rewritten {
            key: path.to_string(),
            agent: None,
        }
    }

    /// Whether a problem at `path` was already reported while reading the file.
    fn is_suppressed(&self, key: &str) -> bool {
        let mut prefix = key;
        loop {
            if self.suppressed.contains(prefix) {
                return true;
            }
            match parent(prefix) {
                Some(p) => prefix = p,
                None => return false,
            }
        }
    }

    /// The diagnostic for a problem `validate()` reported at a domain path, or `None` when
    /// reading the file already reported it. `fallback_prefix` names fields not recorded
    /// (`routing` for routing paths).
    pub fn diagnose(
        &self,
        src: &Source<'_>,
        path: &str,
        message: &str,
        fallback_prefix: &str,
    ) -> Option<Located> {
        let rewritten = self.rewrite(path);
        if self.is_suppressed(&rewritten.key) {
            return None;
        }
        let mut key = rewritten.key.as_str();
        let (span, field) = loop {
            if let Some(place) = self.places.get(key) {
                let tail = &rewritten.key[key.len()..];
                let field = if place.leaf {
                    place.field.clone()
                } else {
                    format!("{}{tail}", place.field)
                };
                break (place.span.clone(), field);
            }
            match parent(key) {
                Some(p) => key = p,
                None => {
                    let field = crate::diagnostic::join_path(fallback_prefix, &rewritten.key);
                    break (self.fallback.clone(), field);
                }
            }
        };
        let mut group = None;
        if let Some((entry, offset)) = rewritten.agent {
            let entry_field = format!("routing.agents[{}]", entry.entry);
            if entry.count > 1 && field.starts_with(&entry_field) {
                group = Some(AgentGroup {
                    entry_field: entry_field.clone(),
                    entry_name: entry.name.clone(),
                    count: entry.count,
                    offset,
                });
            }
        }
        Some(Located {
            diagnostic: src.at(span, field, message),
            group,
        })
    }
}

/// A diagnostic from `validate()`, and the agent of a group it concerns.
pub(crate) struct Located {
    pub diagnostic: Diagnostic,
    pub group: Option<AgentGroup>,
}

/// Which agent of a `[[routing.agents]]` entry with `count > 1` a problem is about.
pub(crate) struct AgentGroup {
    entry_field: String,
    entry_name: String,
    count: usize,
    offset: usize,
}

/// Names the agents of a group in the fields of their diagnostics. The same problem with
/// every agent of an entry (they are copies) is given once for the entry, naming the range
/// (`routing.agents[3] (acct-001…acct-040)`); a problem with one agent names it
/// (`routing.agents[3] (acct-017)`).
pub(crate) fn merge_groups(located: Vec<Located>) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    // Per output diagnostic: the group it belongs to and the agents it covers.
    let mut covers: Vec<Option<(AgentGroup, Vec<usize>)>> = Vec::new();
    // (line, column, field, message) of a group's diagnostic → its index in `out`. The field
    // names the entry, so two groups never share a key.
    let mut index: HashMap<(usize, usize, String, String), usize> = HashMap::new();
    for Located { diagnostic, group } in located {
        let Some(group) = group else {
            out.push(diagnostic);
            covers.push(None);
            continue;
        };
        let key = (
            diagnostic.line,
            diagnostic.column,
            diagnostic.field.clone(),
            diagnostic.message.clone(),
        );
        if let Some(&i) = index.get(&key) {
            if let Some((_, agents)) = &mut covers[i] {
                agents.push(group.offset);
            }
            continue;
        }
        index.insert(key, out.len());
        let offset = group.offset;
        out.push(diagnostic);
        covers.push(Some((group, vec![offset])));
    }
    for (d, cover) in out.iter_mut().zip(covers) {
        let Some((group, agents)) = cover else {
            continue;
        };
        let width = crate::routing::agent_number_width(group.count);
        let name = |offset: usize| crate::routing::agent_name(&group.entry_name, offset, width);
        let which = if agents.len() == 1 {
            name(agents[0])
        } else if agents.len() == group.count {
            format!("{}…{}", name(0), name(group.count - 1))
        } else {
            format!("{} and {} more", name(agents[0]), agents.len() - 1)
        };
        d.field = d.field.replacen(
            &group.entry_field,
            &format!("{} ({which})", group.entry_field),
            1,
        );
    }
    out
}

/// `("agents", 57, ".skills[0]")` from `agents[57].skills[0]`.
fn indexed<'a>(path: &'a str, name: &str) -> Option<(usize, &'a str)> {
    let rest = path.strip_prefix(name)?.strip_prefix('[')?;
    let close = rest.find(']')?;
    let index = rest[..close].parse().ok()?;
    Some((index, &rest[close + 1..]))
}

/// The path one segment up: `a.b[2]` → `a.b` → `a`; `None` at the top.
fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind(['.', '['])?;
    Some(&path[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_and_indices() {
        assert_eq!(
            parent("queues[2].steps[0].widen_to[1]"),
            Some("queues[2].steps[0].widen_to")
        );
        assert_eq!(parent("queues[2]"), Some("queues"));
        assert_eq!(parent("queues"), None);
        assert_eq!(
            indexed("agents[57].skills[0]", "agents"),
            Some((57, ".skills[0]"))
        );
        assert_eq!(indexed("agents", "agents"), None);
    }

    #[test]
    fn agent_paths_map_to_their_entry() {
        let text = "0123456789\nabcdefghij\n";
        let src = &Source::new("f", text);
        let mut loc = Locations::default();
        loc.agent_entries.push(AgentEntry {
            entry: 0,
            name: "solo".into(),
            first: 0,
            count: 1,
        });
        loc.agent_entries.push(AgentEntry {
            entry: 1,
            name: "acct".into(),
            first: 1,
            count: 40,
        });
        loc.table("agents[1]", 11..12, "routing.agents[1]");
        loc.value("agents[1].skills[0]", 13..14, "routing.agents[1].skills[0]");
        let one = loc
            .diagnose(src, "agents[17].skills[0].level", "bad", "routing")
            .unwrap();
        assert_eq!((one.diagnostic.line, one.diagnostic.column), (2, 3));
        let merged = merge_groups(vec![one]);
        assert_eq!(merged[0].field, "routing.agents[1] (acct-017).skills[0]");
        let all: Vec<Located> = (1..41)
            .map(|a| {
                loc.diagnose(
                    src,
                    &format!("agents[{a}].chat_capacity"),
                    "at most 16",
                    "routing",
                )
                .unwrap()
            })
            .collect();
        let merged = merge_groups(all);
        assert_eq!(merged.len(), 1);
        assert_eq!(
            merged[0].field,
            "routing.agents[1] (acct-001…acct-040).chat_capacity"
        );
    }
}
