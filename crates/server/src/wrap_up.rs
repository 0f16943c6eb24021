//! The outcomes an agent gives a contact at its end (the wrap-up's disposition, 处理结果):
//! the center's own list from `[wrap_up] dispositions`, or [`default_dispositions`]. A reload
//! changes the list at once ([`Dispositions::set`]); outcomes already written keep their code.
//!
//! ```toml
//! [wrap_up]
//! dispositions = [
//!   { code = "resolved", zh = "已解决", en = "Resolved" },
//!   { code = "refund", zh = "退款", en = "Refund" },
//!   "other",                     # a bare code is its own label
//! ]
//! ```

use std::sync::{Arc, RwLock};

use serde::Serialize;
use utoipa::ToSchema;

/// The most outcomes in the list.
pub const MAX_DISPOSITIONS: usize = 64;
/// The longest code: lower-case letters, digits and `_`.
pub const MAX_CODE_CHARS: usize = 32;
/// The longest label.
pub const MAX_LABEL_CHARS: usize = 40;

/// One outcome: its code (stored with the interaction) and its labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Disposition {
    /// What is stored: `resolved`, `refund` …
    pub code: String,
    /// The label in Simplified Chinese.
    pub zh: String,
    /// The label in English.
    pub en: String,
}

/// The list when the file gives none.
pub fn default_dispositions() -> Vec<Disposition> {
    [
        ("resolved", "已解决", "Resolved"),
        ("follow_up", "需跟进", "Needs follow-up"),
        ("ticket", "已建工单", "Ticket created"),
        ("callback", "需回拨", "Call back"),
        ("transferred", "已转接", "Transferred"),
        ("complaint", "投诉", "Complaint"),
        ("wrong_number", "打错电话", "Wrong number"),
        ("other", "其他", "Other"),
    ]
    .into_iter()
    .map(|(code, zh, en)| Disposition {
        code: code.into(),
        zh: zh.into(),
        en: en.into(),
    })
    .collect()
}

/// Checks a list as the file gives it: (field, why) for the first problem.
pub fn check(list: &[Disposition]) -> Result<(), (String, String)> {
    if list.is_empty() || list.len() > MAX_DISPOSITIONS {
        return Err((
            "wrap_up.dispositions".into(),
            format!("give 1 to {MAX_DISPOSITIONS} outcomes"),
        ));
    }
    for (i, d) in list.iter().enumerate() {
        let field = format!("wrap_up.dispositions[{i}]");
        let code_ok = !d.code.is_empty()
            && d.code.len() <= MAX_CODE_CHARS
            && d.code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !code_ok {
            return Err((
                format!("{field}.code"),
                format!(
                    "{:?}: 1 to {MAX_CODE_CHARS} lower-case letters, digits or '_'",
                    d.code
                ),
            ));
        }
        for (name, label) in [("zh", &d.zh), ("en", &d.en)] {
            let count = label.chars().count();
            if label.trim().is_empty() || count > MAX_LABEL_CHARS || label.contains('\n') {
                return Err((
                    format!("{field}.{name}"),
                    format!("1 to {MAX_LABEL_CHARS} characters on one line"),
                ));
            }
        }
        if list[..i].iter().any(|other| other.code == d.code) {
            return Err((
                format!("{field}.code"),
                format!("{:?} is listed twice", d.code),
            ));
        }
    }
    Ok(())
}

/// The list in force, shared by the API and the reloader.
#[derive(Clone, Debug)]
pub struct Dispositions(Arc<RwLock<Arc<[Disposition]>>>);

impl Default for Dispositions {
    fn default() -> Self {
        Dispositions::new(default_dispositions())
    }
}

impl Dispositions {
    /// A list already checked ([`check`]).
    pub fn new(list: Vec<Disposition>) -> Dispositions {
        Dispositions(Arc::new(RwLock::new(list.into())))
    }

    /// The list now.
    pub fn get(&self) -> Arc<[Disposition]> {
        self.0.read().expect("not poisoned").clone()
    }

    /// Replaces the list (a reload).
    pub fn set(&self, list: Vec<Disposition>) {
        *self.0.write().expect("not poisoned") = list.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_their_own_check_and_bad_lists_name_the_field() {
        assert_eq!(check(&default_dispositions()), Ok(()));
        let one = |code: &str, zh: &str| Disposition {
            code: code.into(),
            zh: zh.into(),
            en: "x".into(),
        };
        for (list, field) in [
            (vec![], "wrap_up.dispositions"),
            (vec![one("Refund", "退款")], "wrap_up.dispositions[0].code"),
            (vec![one("refund", "")], "wrap_up.dispositions[0].zh"),
            (
                vec![one("refund", "退款"), one("refund", "退货")],
                "wrap_up.dispositions[1].code",
            ),
        ] {
            assert_eq!(check(&list).unwrap_err().0, field, "{list:?}");
        }
        let shared = Dispositions::default();
        let copy = shared.clone();
        copy.set(vec![one("refund", "退款")]);
        assert_eq!(shared.get()[0].code, "refund", "one list for every holder");
    }
}
