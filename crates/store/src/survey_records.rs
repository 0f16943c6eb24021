//! Satisfaction survey answers (CSAT) as the store keeps them, and their aggregates.

use crate::records::{CustomerId, FieldError};

/// The channels an answer may come from.
pub const SURVEY_CHANNELS: [&str; 5] = ["ivr", "link", "sms", "wechat", "app"];
/// The longest comment, in characters.
pub const MAX_SURVEY_COMMENT_CHARS: usize = 2_000;
/// The most groups one CSAT report returns.
pub const MAX_CSAT_GROUPS: u32 = 1_000;

/// A survey answer to record. Agent, queue and customer are filled from the call's
/// interaction when the answer names its contact and leaves them out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewSurveyAnswer {
    /// When (Unix milliseconds).
    pub at_ms: i64,
    /// 1 (very unhappy) to 5 (very happy).
    pub score: u8,
    /// `ivr`, `link`, `sms`, `wechat` or `app`.
    pub channel: String,
    /// The customer, if known.
    pub customer: Option<CustomerId>,
    /// The interaction it rates.
    pub interaction: Option<i64>,
    /// The call it rates (one answer per contact).
    pub contact_id: Option<i64>,
    /// The agent rated.
    pub agent: Option<String>,
    /// The queue.
    pub queue: Option<String>,
    /// The customer's words (sealed at rest).
    pub comment: Option<String>,
}

impl NewSurveyAnswer {
    /// Checks the score, the channel and the comment, naming the field at fault.
    pub fn validate(&self) -> Result<(), FieldError> {
        if !(1..=5).contains(&self.score) {
            return Err(FieldError::new(
                "score",
                format!("{} is not 1 to 5", self.score),
            ));
        }
        if !SURVEY_CHANNELS.contains(&self.channel.as_str()) {
            return Err(FieldError::new(
                "channel",
                format!(
                    "{:?} is not one of {}",
                    self.channel,
                    SURVEY_CHANNELS.join(", ")
                ),
            ));
        }
        if let Some(comment) = &self.comment {
            if comment.chars().count() > MAX_SURVEY_COMMENT_CHARS {
                return Err(FieldError::new(
                    "comment",
                    format!("is longer than {MAX_SURVEY_COMMENT_CHARS} characters"),
                ));
            }
        }
        Ok(())
    }
}

/// A stored answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurveyAnswer {
    /// Its id.
    pub id: i64,
    /// What was recorded (agent, queue and customer as filled in).
    pub answer: NewSurveyAnswer,
}

/// What a CSAT report groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsatGroup {
    /// Per agent.
    Agent,
    /// Per queue.
    Queue,
    /// Per local day (`YYYY-MM-DD` at the given UTC offset).
    Day,
}

/// One group of a CSAT report.
#[derive(Clone, Debug, PartialEq)]
pub struct CsatRow {
    /// The agent, queue or day (empty: answers without one).
    pub key: String,
    /// Answers.
    pub answers: u64,
    /// The mean score.
    pub average: f64,
    /// The share of 4s and 5s, in percent (the usual CSAT figure).
    pub satisfied_percent: f64,
}
