//! Dialogs (RFC 3261 §12): the state two user agents share after an INVITE is answered, and
//! the requests built inside one (ACK for the 2xx, BYE, re-INVITE, INFO).
//!
//! A [`Dialog`] is plain data: who we are (our URI and tag), who they are, where to send
//! (remote target and route set), and the sequence numbers. It is created on either side of an
//! INVITE ([`Dialog::as_uas`] after we answer, [`Dialog::as_uac`] when our INVITE is answered)
//! and then builds requests ([`Dialog::request`], [`Dialog::ack`]) and checks those that arrive
//! ([`Dialog::check_remote`]). Route sets are followed with loose routing only (`;lr`); strict
//! routers (RFC 2543) are not supported.

use std::fmt;

use crate::message::{Headers, Request, Response};
use crate::values::{CSeq, Method, NameAddr, Uri};

/// What identifies a dialog from our side: Call-ID, our tag, their tag.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag (From on requests we send).
    pub local_tag: String,
    /// Their tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog an in-dialog request we received belongs to: its To tag is ours, its From
    /// tag theirs. `None` for a request outside a dialog (no To tag).
    pub fn of_received(request: &Request) -> Option<DialogId> {
        let headers = &request.headers;
        Some(DialogId {
            call_id: headers.call_id()?.to_string(),
            local_tag: headers.to()?.tag()?.to_string(),
            remote_tag: headers.from()?.tag().unwrap_or("").to_string(),
        })
    }
}

/// Why a dialog could not be made or a request in it is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialogError {
    /// A header the dialog needs is missing or unreadable (named).
    Missing(&'static str),
    /// The request's CSeq is lower than one already seen: a stale or replayed request,
    /// answered 500 (§12.2.2).
    OutOfOrder {
        /// The CSeq seen last.
        last: u32,
        /// The CSeq received.
        got: u32,
    },
}

impl fmt::Display for DialogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialogError::Missing(what) => write!(f, "no usable {what}"),
            DialogError::OutOfOrder { last, got } => {
                write!(f, "CSeq {got} is lower than {last}")
            }
        }
    }
}

impl std::error::Error for DialogError {}

/// One dialog. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialog {
    /// Its identity.
    pub id: DialogId,
    /// Our From on requests we send (name-addr with our tag).
    pub local: String,
    /// Their address, our To on requests we send (name-addr with their tag).
    pub remote: String,
    /// Where requests go: their Contact.
    pub remote_target: Uri,
    /// The Route headers of requests we send, in order.
    pub route_set: Vec<String>,
    /// The last CSeq we used.
    pub local_seq: u32,
    /// The last CSeq they used, once they have sent a request.
    pub remote_seq: Option<u32>,
    /// The CSeq of the INVITE that made the dialog (its ACK carries it).
    pub invite_seq: u32,
}

/// The remote target from a Contact header value.
fn contact_uri(headers: &Headers) -> Option<Uri> {
    let contact = headers.get_all("Contact").into_iter().next()?;
    NameAddr::parse(contact).map(|n| n.uri)
}

impl Dialog {
    /// The dialog we share with the caller after answering its INVITE with `response` (a 2xx
    /// or a provisional with a To tag, which must be the tag we put there).
    pub fn as_uas(invite: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let h = &invite.headers;
        let call_id = h.call_id().ok_or(DialogError::Missing("Call-ID"))?;
        let from = h.get("From").ok_or(DialogError::Missing("From"))?;
        let remote_tag = h
            .from()
            .and_then(|f| f.tag().map(str::to_string))
            .unwrap_or_default();
        let local = response
            .headers
            .get("To")
            .ok_or(DialogError::Missing("To"))?;
        let local_tag = response
            .headers
            .to()
            .and_then(|t| t.tag().map(str::to_string))
            .ok_or(DialogError::Missing("To tag"))?;
        let cseq = h.cseq().ok_or(DialogError::Missing("CSeq"))?;
        Ok(Dialog {
            id: DialogId {
                call_id: call_id.to_string(),
                local_tag,
                remote_tag,
            },
            local: local.to_string(),
            remote: from.to_string(),
            remote_target: contact_uri(h).ok_or(DialogError::Missing("Contact"))?,
            route_set: h
                .get_all("Record-Route")
                .into_iter()
                .map(str::to_string)
                .collect(),
            local_seq: 0,
            remote_seq: Some(cseq.seq),
            invite_seq: cseq.seq,
        })
    }

    /// The dialog our INVITE `invite` made when answered by `response` (2xx, or a 1xx with
    /// a To tag for an early dialog).
    pub fn as_uac(invite: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let h = &invite.headers;
        let call_id = h.call_id().ok_or(DialogError::Missing("Call-ID"))?;
        let local = h.get("From").ok_or(DialogError::Missing("From"))?;
        let local_tag = h
            .from()
            .and_then(|f| f.tag().map(str::to_string))
            .ok_or(DialogError::Missing("From tag"))?;
        let remote = response
            .headers
            .get("To")
            .ok_or(DialogError::Missing("To"))?;
        let remote_tag = response
            .headers
            .to()
            .and_then(|t| t.tag().map(str::to_string))
            .ok_or(DialogError::Missing("To tag"))?;
        let cseq = h.cseq().ok_or(DialogError::Missing("CSeq"))?;
        let mut route_set: Vec<String> = response
            .headers
            .get_all("Record-Route")
            .into_iter()
            .map(str::to_string)
            .collect();
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id: call_id.to_string(),
                local_tag,
                remote_tag,
            },
            local: local.to_string(),
            remote: remote.to_string(),
            remote_target: contact_uri(&response.headers).ok_or(DialogError::Missing("Contact"))?,
            route_set,
            local_seq: cseq.seq,
            remote_seq: None,
            invite_seq: cseq.seq,
        })
    }

    /// A new request in the dialog (BYE, re-INVITE, INFO, …; not ACK or CANCEL) with the next
    /// CSeq. `via` is our Via value with a fresh branch; `contact` our Contact value.
    pub fn request(&mut self, method: Method, via: &str, contact: &str) -> Request {
        self.local_seq += 1;
        let seq = self.local_seq;
        self.build(method, seq, via, contact)
    }

    /// The ACK for the 2xx to the INVITE that made the dialog (§13.2.2.4): its CSeq number,
    /// a new branch in `via`.
    pub fn ack(&self, via: &str) -> Request {
        self.build(Method::Ack, self.invite_seq, via, "")
    }

    fn build(&self, method: Method, seq: u32, via: &str, contact: &str) -> Request {
        let mut headers = Headers::default();
        headers.push("Via", via);
        headers.push("Max-Forwards", "70");
        headers.push("From", self.local.clone());
        headers.push("To", self.remote.clone());
        headers.push("Call-ID", self.id.call_id.clone());
        headers.push(
            "CSeq",
            CSeq {
                seq,
                method: method.clone(),
            }
            .to_string(),
        );
        for route in &self.route_set {
            headers.push("Route", route.clone());
        }
        if !contact.is_empty() {
            headers.push("Contact", contact);
        }
        Request {
            method,
            uri: self.remote_target.clone(),
            headers,
            body: Vec::new(),
        }
    }

    /// Checks a request received in the dialog and remembers its CSeq (§12.2.2): a lower
    /// CSeq than the last is refused (answer 500). ACK and CANCEL reuse their INVITE's CSeq
    /// and are not checked. A target refresh (re-INVITE) with a Contact updates the remote
    /// target.
    pub fn check_remote(&mut self, request: &Request) -> Result<(), DialogError> {
        if matches!(request.method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        let cseq = request.headers.cseq().ok_or(DialogError::Missing("CSeq"))?;
        if let Some(last) = self.remote_seq {
            if cseq.seq < last {
                return Err(DialogError::OutOfOrder {
                    last,
                    got: cseq.seq,
                });
            }
        }
        self.remote_seq = Some(cseq.seq);
        if matches!(request.method, Method::Invite | Method::Update) {
            if let Some(target) = contact_uri(&request.headers) {
                self.remote_target = target;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_message;

    fn request(text: &str) -> Request {
        parse_message(text.replace('\n', "\r\n").as_bytes())
            .unwrap()
            .as_request()
            .unwrap()
            .clone()
    }

    fn invite() -> Request {
        request(
            "INVITE sip:bob@hotline SIP/2.0\n\
             Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\n\
             Record-Route: <sip:p1.example;lr>\n\
             Record-Route: <sip:p2.example;lr>\n\
             From: \"Alice\" <sip:alice@example>;tag=a1\n\
             To: <sip:bob@hotline>\n\
             Call-ID: call-1\n\
             CSeq: 10 INVITE\n\
             Contact: <sip:alice@10.0.0.1:5060>\n\
             Content-Length: 0\n\n",
        )
    }

    fn answered(invite: &Request) -> Response {
        let mut response = invite.response(200, "OK");
        let to = response
            .headers
            .0
            .iter_mut()
            .find(|h| h.name == "To")
            .unwrap();
        to.value.push_str(";tag=b2");
        response.headers.push("Contact", "<sip:bob@10.0.0.2:5070>");
        response
    }

    #[test]
    fn uas_dialog_sends_bye_to_the_callers_contact_through_its_route_set() {
        let invite = invite();
        let mut dialog = Dialog::as_uas(&invite, &answered(&invite)).unwrap();
        assert_eq!(dialog.id.local_tag, "b2");
        assert_eq!(dialog.id.remote_tag, "a1");
        let bye = dialog.request(Method::Bye, "SIP/2.0/UDP me;branch=z9hG4bKx", "");
        assert_eq!(bye.uri.to_string(), "sip:alice@10.0.0.1:5060");
        assert_eq!(
            bye.headers.get_all("Route"),
            vec!["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
        );
        assert_eq!(bye.headers.from().unwrap().tag(), Some("b2"));
        assert_eq!(bye.headers.to().unwrap().tag(), Some("a1"));
        assert_eq!(bye.headers.cseq().unwrap().seq, 1);
    }

    #[test]
    fn uac_dialog_reverses_the_route_set_and_acks_with_the_invite_cseq() {
        let invite = invite();
        let mut response = answered(&invite);
        for value in ["<sip:p1.example;lr>", "<sip:p2.example;lr>"] {
            response.headers.push("Record-Route", value);
        }
        let mut dialog = Dialog::as_uac(&invite, &response).unwrap();
        assert_eq!(dialog.route_set[0], "<sip:p2.example;lr>");
        let ack = dialog.ack("SIP/2.0/UDP me;branch=z9hG4bKack");
        assert_eq!(ack.headers.cseq().unwrap().to_string(), "10 ACK");
        assert_eq!(ack.uri.to_string(), "sip:bob@10.0.0.2:5070");
        let bye = dialog.request(Method::Bye, "SIP/2.0/UDP me;branch=z9hG4bKy", "");
        assert_eq!(bye.headers.cseq().unwrap().seq, 11);
    }

    #[test]
    fn a_lower_cseq_from_the_other_side_is_refused() {
        let invite = invite();
        let mut dialog = Dialog::as_uas(&invite, &answered(&invite)).unwrap();
        let mut bye = invite.clone();
        bye.method = Method::Bye;
        bye.headers.remove("CSeq");
        bye.headers.push("CSeq", "9 BYE");
        assert_eq!(
            dialog.check_remote(&bye),
            Err(DialogError::OutOfOrder { last: 10, got: 9 })
        );
        bye.headers.remove("CSeq");
        bye.headers.push("CSeq", "11 BYE");
        assert_eq!(dialog.check_remote(&bye), Ok(()));
        assert_eq!(dialog.remote_seq, Some(11));
    }

    #[test]
    fn a_dialog_needs_a_contact_and_tags() {
        let mut invite = invite();
        invite.headers.remove("Contact");
        let response = answered(&invite);
        assert_eq!(
            Dialog::as_uas(&invite, &response),
            Err(DialogError::Missing("Contact"))
        );
        let invite = self::invite();
        let untagged = invite.response(200, "OK");
        assert_eq!(
            Dialog::as_uas(&invite, &untagged),
            Err(DialogError::Missing("To tag"))
        );
    }
}
