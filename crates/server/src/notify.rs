//! Messages to customers when a callback goes wrong (the fallbacks of outbound callbacks):
//! a task that failed for good gets the online-chat link and a link to book another
//! callback; a first dial later than its promise by more than `[dialer] apology_after` gets
//! an apology with a benefit (a coupon code, a flag on the customer's record for the agents).
//!
//! Messages are written from templates in the customer's language (zh-CN by default, or
//! English) and go through a [`Provider`]. The built-in one, [`WebhookProvider`], appends each
//! message to the event log as a `notify.*` event; the webhooks ([`crate::webhooks`]) deliver
//! it, signed, to the company's SMS or WeChat gateway (a webhook subscribed to `notify.`),
//! retrying with backoff, with failed deliveries listed and retryable over the API. So a
//! gateway that is down loses nothing, and every fallback is an event twice over: the
//! dialler's (`callback.failed`, `callback.promise_missed`) and the message's.

use std::future::Future;
use std::pin::Pin;

use hotline_media::announce::Language;
use hotline_store::{EventWriter, NewEvent};

/// The longest link or coupon text a setting may hold.
pub const MAX_SETTING_BYTES: usize = 512;

/// What the fallbacks say and give (`[outbound]`: `chat_url`, `booking_url`,
/// `apology_coupon`, `apology_tag`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoticeSettings {
    /// The online-chat link sent when a callback failed for good.
    pub chat_url: Option<String>,
    /// The link to book another callback.
    pub booking_url: Option<String>,
    /// The coupon code an apology gives, if any.
    pub apology_coupon: Option<String>,
    /// The tag an apology puts on the customer's record (shown on the screen pop), if any.
    pub apology_tag: Option<String>,
}

/// Why a message is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    /// The callback failed for good: chat and booking links.
    CallbackFailed,
    /// The first dial came later than promised: an apology.
    CallbackLate,
}

impl NoticeKind {
    /// The event kind of the message.
    pub fn event_kind(self) -> &'static str {
        match self {
            NoticeKind::CallbackFailed => "notify.callback_failed",
            NoticeKind::CallbackLate => "notify.callback_late",
        }
    }
}

/// One message to one customer.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    /// Why.
    pub kind: NoticeKind,
    /// The callback task.
    pub task: i64,
    /// The customer in the records.
    pub customer: Option<i64>,
    /// The number to send to (E.164).
    pub to: String,
    /// The language written in.
    pub language: Language,
    /// The text.
    pub text: String,
    /// Links and codes, also given apart for gateways with templates of their own.
    pub chat_url: Option<String>,
    /// The booking link.
    pub booking_url: Option<String>,
    /// The coupon code.
    pub coupon: Option<String>,
    /// When.
    pub at_ms: i64,
}

impl Notice {
    /// The message for a callback that failed for good.
    pub fn failed(
        settings: &NoticeSettings,
        task: i64,
        customer: Option<i64>,
        to: &str,
        language: Language,
        at_ms: i64,
    ) -> Notice {
        let chat = settings.chat_url.as_deref();
        let booking = settings.booking_url.as_deref();
        let text = match language {
            Language::ZhCn => {
                let mut text = "您好，我们按您的要求回电，多次未能接通，非常抱歉。".to_string();
                if let Some(chat) = chat {
                    text.push_str(&format!("在线客服：{chat}。"));
                }
                if let Some(booking) = booking {
                    text.push_str(&format!("预约回电：{booking}。"));
                }
                text
            }
            Language::En => {
                let mut text =
                    "Hello, we tried to call you back as you asked but could not reach you. \
                     We are sorry."
                        .to_string();
                if let Some(chat) = chat {
                    text.push_str(&format!(" Chat with us online: {chat}."));
                }
                if let Some(booking) = booking {
                    text.push_str(&format!(" Book another callback: {booking}."));
                }
                text
            }
        };
        Notice {
            kind: NoticeKind::CallbackFailed,
            task,
            customer,
            to: to.to_string(),
            language,
            text,
            chat_url: settings.chat_url.clone(),
            booking_url: settings.booking_url.clone(),
            coupon: None,
            at_ms,
        }
    }

    /// The apology for a first dial `late_ms` after its promise.
    pub fn late(
        settings: &NoticeSettings,
        task: i64,
        customer: Option<i64>,
        to: &str,
        language: Language,
        late_ms: u64,
        at_ms: i64,
    ) -> Notice {
        let minutes = late_ms.div_ceil(60_000).max(1);
        let coupon = settings.apology_coupon.as_deref();
        let text = match language {
            Language::ZhCn => {
                let mut text = format!("抱歉，我们的回电比承诺的时间晚了约{minutes}分钟。");
                if let Some(coupon) = coupon {
                    text.push_str(&format!("送您一张优惠券，券码：{coupon}。"));
                }
                text
            }
            Language::En => {
                let minutes_word = if minutes == 1 { "minute" } else { "minutes" };
                let mut text = format!(
                    "We are sorry: our call back came about {minutes} {minutes_word} later \
                     than promised."
                );
                if let Some(coupon) = coupon {
                    text.push_str(&format!(" Please accept this coupon: {coupon}."));
                }
                text
            }
        };
        Notice {
            kind: NoticeKind::CallbackLate,
            task,
            customer,
            to: to.to_string(),
            language,
            text,
            chat_url: None,
            booking_url: None,
            coupon: settings.apology_coupon.clone(),
            at_ms,
        }
    }

    /// The message as an event-log row (`notify.*`).
    pub fn event(&self) -> NewEvent {
        NewEvent {
            at_ms: self.at_ms,
            kind: self.kind.event_kind().to_string(),
            contact_id: None,
            agent: None,
            queue: None,
            data: serde_json::json!({
                "task": self.task,
                "customer_id": self.customer,
                "to": self.to,
                "language": match self.language {
                    Language::ZhCn => "zh-CN",
                    Language::En => "en",
                },
                "text": self.text,
                "chat_url": self.chat_url,
                "booking_url": self.booking_url,
                "coupon": self.coupon,
            }),
        }
    }
}

/// Why a provider did not take a message.
#[derive(Debug)]
pub struct NotifyError(pub String);

impl std::fmt::Display for NotifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The future a [`Provider`] answers with.
pub type Submitted<'a> = Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>>;

/// Where messages go. `submit` answers once the message is durable with the provider (it
/// retries delivery on its own); an error means it was not taken and is counted.
pub trait Provider: Send + Sync {
    /// Takes a message for delivery.
    fn submit<'a>(&'a self, notice: &'a Notice) -> Submitted<'a>;
}

/// The built-in provider: the message becomes a `notify.*` event, which the webhooks deliver
/// signed to the gateway subscribed to `notify.` (see the module).
#[derive(Clone, Debug)]
pub struct WebhookProvider {
    /// The event log.
    pub events: EventWriter,
}

impl Provider for WebhookProvider {
    fn submit<'a>(&'a self, notice: &'a Notice) -> Submitted<'a> {
        Box::pin(async move {
            self.events
                .append(notice.event())
                .await
                .map(|_| ())
                .map_err(|e| NotifyError(e.to_string()))
        })
    }
}

/// The language of a customer's preference (`zh`, `zh-CN`, `en`, …); `None` when unknown.
pub fn language_of(preference: &str) -> Option<Language> {
    let lower = preference.trim().to_ascii_lowercase();
    if lower.starts_with("zh") {
        Some(Language::ZhCn)
    } else if lower.starts_with("en") {
        Some(Language::En)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> NoticeSettings {
        NoticeSettings {
            chat_url: Some("https://kf.example.cn/chat".into()),
            booking_url: Some("https://kf.example.cn/book".into()),
            apology_coupon: Some("SORRY10".into()),
            apology_tag: Some("apology".into()),
        }
    }

    #[test]
    fn a_failed_callback_gets_both_links_in_the_customers_language() {
        let zh = Notice::failed(&settings(), 7, Some(3), "+8613800138000", Language::ZhCn, 1);
        assert!(
            zh.text.contains("在线客服：https://kf.example.cn/chat"),
            "{}",
            zh.text
        );
        assert!(
            zh.text.contains("预约回电：https://kf.example.cn/book"),
            "{}",
            zh.text
        );
        let en = Notice::failed(&settings(), 7, Some(3), "+8613800138000", Language::En, 1);
        assert!(en
            .text
            .contains("Chat with us online: https://kf.example.cn/chat"));
        assert!(en
            .text
            .contains("Book another callback: https://kf.example.cn/book"));
        let event = en.event();
        assert_eq!(event.kind, "notify.callback_failed");
        assert_eq!(event.data["to"], "+8613800138000");
        assert_eq!(event.data["language"], "en");
        // Without links configured the message still says what happened.
        let bare = Notice::failed(
            &NoticeSettings::default(),
            7,
            None,
            "+8613800138000",
            Language::ZhCn,
            1,
        );
        assert!(!bare.text.contains("http"));
        assert!(bare.text.contains("未能接通"));
    }

    #[test]
    fn an_apology_names_the_delay_in_whole_minutes_and_the_coupon() {
        let zh = Notice::late(&settings(), 7, None, "+86", Language::ZhCn, 361_000, 1);
        assert!(zh.text.contains("约7分钟"), "{}", zh.text);
        assert!(zh.text.contains("券码：SORRY10"), "{}", zh.text);
        let en = Notice::late(&settings(), 7, None, "+86", Language::En, 30_000, 1);
        assert!(en.text.contains("about 1 minute later"), "{}", en.text);
        assert_eq!(en.event().kind, "notify.callback_late");
        assert_eq!(en.event().data["coupon"], "SORRY10");
    }

    #[test]
    fn languages_are_read_from_the_preference() {
        assert_eq!(language_of("zh-CN"), Some(Language::ZhCn));
        assert_eq!(language_of(" EN "), Some(Language::En));
        assert_eq!(language_of("fr"), None);
    }
}
