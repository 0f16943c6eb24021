//! The registrar (RFC 3261 §10.3) driven with real REGISTER messages: each test writes the
//! message as a phone would send it, parses it, and checks the response and the bindings.

use std::net::SocketAddr;
use std::time::Duration;

use hotline_sip::{
    parse_message, Binding, QValue, Registrar, RegistrarConfig, Request, Response,
    DEFAULT_MAX_CONTACTS_PER_AOR,
};

const T0: u64 = 1_700_000_000_000;
const SECOND: u64 = 1000;

fn source() -> SocketAddr {
    "198.51.100.7:40123".parse().unwrap()
}

fn registrar() -> Registrar {
    Registrar::new(RegistrarConfig::new(["alice", "bob"])).unwrap()
}

/// A REGISTER for `user` with these extra header lines (Contact, Expires, …).
fn register_as(user: &str, call_id: &str, cseq: u32, extra: &[&str]) -> Request {
    let mut text = format!(
        "REGISTER sip:hotline.example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-{call_id}-{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"Alice\" <sip:{user}@hotline.example.com>;tag=fromtag{cseq}\r\n\
         To: \"Alice\" <sip:{user}@hotline.example.com>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n"
    );
    for line in extra {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    let message = parse_message(text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    message.as_request().unwrap().clone()
}

fn register(call_id: &str, cseq: u32, extra: &[&str]) -> Request {
    register_as("alice", call_id, cseq, extra)
}

/// The contacts of a 200 OK as (URI, expires).
fn listed(response: &Response) -> Vec<(String, u64)> {
    response
        .headers
        .contacts()
        .unwrap_or_default()
        .into_iter()
        .map(|c| match c {
            hotline_sip::Contact::Address(a) => (
                a.uri.to_string(),
                a.params.get("expires").flatten().unwrap().parse().unwrap(),
            ),
            hotline_sip::Contact::Star => panic!("a 200 OK never lists *"),
        })
        .collect()
}

fn status(response: &Response) -> (u16, &str) {
    (response.status, response.reason.as_str())
}

fn contacts(bindings: &[Binding]) -> Vec<String> {
    bindings.iter().map(|b| b.contact.to_string()).collect()
}

fn ok(r: &mut Registrar, request: &Request, now: u64) -> Response {
    let response = r.handle_register(request, source(), now, "alice");
    assert_eq!(status(&response), (200, "OK"), "{response:?}");
    response
}

#[test]
fn first_register_binds_with_the_default_expiry() {
    let mut r = registrar();
    let req = register(
        "c1",
        1,
        &["Contact: <sip:alice@192.168.1.20:5060;transport=udp>"],
    );
    let response = ok(&mut r, &req, T0);
    assert_eq!(
        listed(&response),
        vec![("sip:alice@192.168.1.20:5060;transport=udp".into(), 3600)]
    );
    // §8.2.6.2: Via, From, To, Call-ID, CSeq copied; a To tag added.
    for name in ["Via", "From", "Call-ID", "CSeq"] {
        assert_eq!(response.headers.get(name), req.headers.get(name), "{name}");
    }
    let to = response.headers.to().unwrap();
    assert_eq!(to.uri, req.headers.to().unwrap().uri);
    assert!(to.tag().is_some_and(|t| t.len() == 16));
    let bindings = r.lookup("alice", T0);
    assert_eq!(bindings.len(), 1);
    let b = &bindings[0];
    assert_eq!(b.expires_at_ms, T0 + 3600 * SECOND);
    assert_eq!((b.call_id.as_str(), b.cseq), ("c1", 1));
    assert_eq!(b.source, source());
    assert_eq!(b.q, None);
    assert_eq!(r.next_expiry(), Some(T0 + 3600 * SECOND));
    assert!(r.lookup("bob", T0).is_empty());
}

#[test]
fn to_tag_is_derived_from_the_request_or_kept() {
    let mut r = registrar();
    let req = register("c1", 1, &["Contact: <sip:alice@192.168.1.20>"]);
    let a = ok(&mut r, &req, T0);
    let b = r.handle_register(&req, source(), T0, "alice");
    // The same request (a retransmission) gets the same tag; a retransmitted CSeq is
    // refused by step 7, and the tag still matches.
    assert_eq!(b.status, 500);
    assert_eq!(a.headers.to().unwrap().tag(), b.headers.to().unwrap().tag());
    let other = register("c1", 2, &["Contact: <sip:alice@192.168.1.20>"]);
    let c = ok(&mut r, &other, T0);
    assert_ne!(a.headers.to().unwrap().tag(), c.headers.to().unwrap().tag());
    let mut tagged = register("c1", 3, &["Contact: <sip:alice@192.168.1.20>"]);
    tagged.headers.remove("To");
    tagged
        .headers
        .push("To", "<sip:alice@hotline.example.com>;tag=mine");
    let d = ok(&mut r, &tagged, T0);
    assert_eq!(
        d.headers.get("To"),
        Some("<sip:alice@hotline.example.com>;tag=mine")
    );
}

#[test]
fn expires_param_beats_header_beats_default_and_max_clamps() {
    let mut r = registrar();
    let req = register(
        "c1",
        1,
        &[
            "Contact: <sip:alice@192.0.2.1>;expires=120, <sip:alice@192.0.2.2>",
            "Contact: <sip:alice@192.0.2.3>;expires=999999",
            "Expires: 300",
        ],
    );
    let response = ok(&mut r, &req, T0);
    let mut got = listed(&response);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("sip:alice@192.0.2.1".into(), 120),
            ("sip:alice@192.0.2.2".into(), 300),
            ("sip:alice@192.0.2.3".into(), 7200),
        ]
    );
    assert_eq!(r.next_expiry(), Some(T0 + 120 * SECOND));
}

#[test]
fn too_brief_gets_423_with_min_expires_and_changes_nothing() {
    let mut r = registrar();
    ok(
        &mut r,
        &register("c1", 1, &["Contact: <sip:alice@192.0.2.1>"]),
        T0,
    );
    for extra in [
        &["Contact: <sip:alice@192.0.2.2>", "Expires: 30"][..],
        &["Contact: <sip:alice@192.0.2.2>;expires=59, <sip:alice@192.0.2.3>"][..],
    ] {
        let response = r.handle_register(&register("c1", 2, extra), source(), T0, "alice");
        assert_eq!(status(&response), (423, "Interval Too Brief"));
        assert_eq!(response.headers.get("Min-Expires"), Some("60"));
        assert!(response.headers.get("Contact").is_none());
    }
    assert_eq!(
        contacts(&r.lookup("alice", T0)),
        vec!["sip:alice@192.0.2.1"]
    );
    // Exactly the minimum is fine.
    let response = ok(
        &mut r,
        &register("c1", 3, &["Contact: <sip:alice@192.0.2.2>;expires=60"]),
        T0,
    );
    assert_eq!(listed(&response).len(), 2);
}

#[test]
fn expires_zero_removes_one_binding() {
    let mut r = registrar();
    ok(
        &mut r,
        &register(
            "c1",
            1,
            &["Contact: <sip:alice@192.0.2.1>, <sip:alice@192.0.2.2>"],
        ),
        T0,
    );
    let response = ok(
        &mut r,
        &register("c1", 2, &["Contact: <sip:alice@192.0.2.1>;expires=0"]),
        T0 + SECOND,
    );
    assert_eq!(
        listed(&response),
        vec![("sip:alice@192.0.2.2".into(), 3599)]
    );
    // The Expires header says 0 for every contact without its own.
    let response = ok(
        &mut r,
        &register("c1", 3, &["Contact: <sip:alice@192.0.2.2>", "Expires: 0"]),
        T0 + SECOND,
    );
    assert!(listed(&response).is_empty());
    assert!(r.lookup("alice", T0 + SECOND).is_empty());
    assert_eq!(r.next_expiry(), None);
    assert_eq!(r.aor_count(), 0);
    // Removing what is not there is fine.
    ok(
        &mut r,
        &register("c1", 4, &["Contact: <sip:alice@192.0.2.9>;expires=0"]),
        T0,
    );
}

#[test]
fn star_with_expires_zero_removes_all_and_otherwise_is_400() {
    let mut r = registrar();
    ok(
        &mut r,
        &register(
            "c1",
            1,
            &["Contact: <sip:alice@192.0.2.1>, <sip:alice@192.0.2.2>"],
        ),
        T0,
    );
    ok(
        &mut r,
        &register("c2", 1, &["Contact: <sip:alice@192.0.2.3>"]),
        T0,
    );
    for extra in [
        &["Contact: *"][..],
        &["Contact: *", "Expires: 3600"][..],
        &["Contact: *, <sip:alice@192.0.2.1>", "Expires: 0"][..],
    ] {
        let response = r.handle_register(&register("c1", 2, extra), source(), T0, "alice");
        assert_eq!(
            status(&response),
            (400, "Contact: * needs Expires: 0 and no other Contact"),
            "{extra:?}"
        );
    }
    assert_eq!(r.lookup("alice", T0).len(), 3);
    // A * whose CSeq is not higher than a binding's of the same Call-ID is out of order.
    let stale = r.handle_register(
        &register("c2", 1, &["Contact: *", "Expires: 0"]),
        source(),
        T0,
        "alice",
    );
    assert_eq!(stale.status, 500);
    assert_eq!(r.lookup("alice", T0).len(), 3);
    let response = ok(
        &mut r,
        &register("c1", 5, &["Contact: *", "Expires: 0"]),
        T0,
    );
    assert!(listed(&response).is_empty());
    assert!(r.lookup("alice", T0).is_empty());
    assert_eq!(r.next_expiry(), None);
}

#[test]
fn refresh_updates_the_binding_in_place() {
    let mut r = registrar();
    ok(
        &mut r,
        &register("c1", 1, &["Contact: <sip:alice@192.0.2.1>;q=0.5"]),
        T0,
    );
    let later = T0 + 1800 * SECOND;
    let response = ok(
        &mut r,
        &register(
            "c1",
            2,
            &["Contact: <sip:alice@192.0.2.1>;q=0.7", "Expires: 600"],
        ),
        later,
    );
    assert_eq!(listed(&response), vec![("sip:alice@192.0.2.1".into(), 600)]);
    let b = r.lookup("alice", later);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].expires_at_ms, later + 600 * SECOND);
    assert_eq!(b[0].cseq, 2);
    assert_eq!(b[0].q, QValue::parse("0.7"));
    assert_eq!(b[0].updated_at_ms, later);
    // The index followed: the old expiry is gone.
    assert_eq!(r.next_expiry(), Some(later + 600 * SECOND));
    assert!(r.expire(T0 + 3600 * SECOND).len() == 1);
}

#[test]
fn out_of_order_register_is_refused_per_step_7() {
    let mut r = registrar();
    ok(
        &mut r,
        &register("c1", 5, &["Contact: <sip:alice@192.0.2.1>"]),
        T0,
    );
    for cseq in [4, 5] {
        let response = r.handle_register(
            &register("c1", cseq, &["Contact: <sip:alice@192.0.2.1>;expires=0"]),
            source(),
            T0,
            "alice",
        );
        assert_eq!(response.status, 500, "CSeq {cseq}");
        assert!(
            response.reason.contains("out of order"),
            "{}",
            response.reason
        );
    }
    assert_eq!(r.lookup("alice", T0).len(), 1);
    // Another Call-ID (another phone, or a rebooted one) may take the binding over.
    ok(
        &mut r,
        &register("c2", 1, &["Contact: <sip:alice@192.0.2.1>"]),
        T0,
    );
    assert_eq!(r.lookup("alice", T0)[0].call_id, "c2");
    // The same contact twice in one request is not out of order.
    ok(
        &mut r,
        &register(
            "c2",
            2,
            &["Contact: <sip:alice@192.0.2.1>;expires=100, <sip:alice@192.0.2.1>;expires=200"],
        ),
        T0,
    );
    assert_eq!(r.lookup("alice", T0)[0].expires_at_ms, T0 + 200 * SECOND);
}

#[test]
fn the_authenticated_user_must_be_the_to_user() {
    let mut r = registrar();
    let req = register_as("bob", "c1", 1, &["Contact: <sip:bob@192.0.2.1>"]);
    let response = r.handle_register(&req, source(), T0, "alice");
    assert_eq!(
        status(&response),
        (403, "Forbidden (the To user is not the authenticated user)")
    );
    assert!(r.lookup("bob", T0).is_empty());
    assert_eq!(r.handle_register(&req, source(), T0, "bob").status, 200);
}

#[test]
fn unknown_users_get_404() {
    let mut r = registrar();
    let req = register_as("carol", "c1", 1, &["Contact: <sip:carol@192.0.2.1>"]);
    let response = r.handle_register(&req, source(), T0, "carol");
    assert_eq!(status(&response), (404, "Not Found (no such user)"));
    assert_eq!(r.aor_count(), 0);
}

#[test]
fn unreadable_requests_get_400_that_says_what() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["Contact: <sip:alice@192.0.2.1"],
            "A Contact cannot be read",
        ),
        (&["Contact: <tel:>"], "A Contact cannot be read"),
        (
            &["Contact: <sip:alice@192.0.2.1>", "Expires: soon"],
            "Expires is not a number of seconds",
        ),
        (
            &["Contact: <sip:alice@192.0.2.1>;expires=-1"],
            "A contact's expires is not a number of seconds",
        ),
        (
            &["Contact: <sip:alice@192.0.2.1>;expires"],
            "A contact's expires is not a number of seconds",
        ),
        (
            &["Contact: <sip:alice@192.0.2.1>;q=1.5"],
            "A contact's q is not 0 to 1",
        ),
    ];
    let mut r = registrar();
    for (extra, reason) in cases {
        let response = r.handle_register(&register("c1", 1, extra), source(), T0, "alice");
        assert_eq!(status(&response), (400, reason), "{extra:?}");
    }
    // To without a user part, or not a SIP URI.
    for (to, reason) in [
        ("<sip:hotline.example.com>", "To has no user part"),
        ("<tel:+15551234>", "To is not a sip: or sips: URI"),
    ] {
        let mut req = register("c1", 1, &["Contact: <sip:alice@192.0.2.1>"]);
        req.headers.remove("To");
        req.headers.push("To", to);
        let response = r.handle_register(&req, source(), T0, "alice");
        assert_eq!(status(&response), (400, reason));
    }
    // A request that is not a REGISTER.
    let text = "OPTIONS sip:hotline.example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:alice@h>;tag=1\r\n\
        To: <sip:alice@h>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\n\r\n";
    let options = parse_message(text.as_bytes()).unwrap();
    let response = r.handle_register(options.as_request().unwrap(), source(), T0, "alice");
    assert_eq!(status(&response), (400, "Not a REGISTER but OPTIONS"));
    // Too many Contact values to even look at.
    let many: Vec<String> = (0..=32)
        .map(|i| format!("<sip:alice@192.0.2.{i}>"))
        .collect();
    let line = format!("Contact: {}", many.join(", "));
    let response = r.handle_register(&register("c1", 1, &[&line]), source(), T0, "alice");
    assert_eq!(status(&response), (400, "More than 32 Contact values"));
    assert_eq!(r.aor_count(), 0);
}

#[test]
fn required_extensions_get_420() {
    let mut r = registrar();
    let req = register(
        "c1",
        1,
        &["Contact: <sip:alice@192.0.2.1>", "Require: path, gruu"],
    );
    let response = r.handle_register(&req, source(), T0, "alice");
    assert_eq!(status(&response), (420, "Bad Extension"));
    assert_eq!(response.headers.get("Unsupported"), Some("path, gruu"));
    assert_eq!(r.aor_count(), 0);
}

#[test]
fn register_without_contact_is_a_query() {
    let mut r = registrar();
    ok(
        &mut r,
        &register("c1", 1, &["Contact: <sip:alice@192.0.2.1>;expires=600"]),
        T0,
    );
    let response = ok(&mut r, &register("c9", 1, &[]), T0 + 100 * SECOND);
    assert_eq!(listed(&response), vec![("sip:alice@192.0.2.1".into(), 500)]);
    // Remaining seconds round up: 499.5 s left shows as 500.
    let response = ok(&mut r, &register("c9", 2, &[]), T0 + 100_500);
    assert_eq!(listed(&response)[0].1, 500);
}

#[test]
fn contacts_per_user_are_bounded_with_403() {
    let mut r = registrar();
    for i in 0..DEFAULT_MAX_CONTACTS_PER_AOR {
        let contact = format!("Contact: <sip:alice@192.0.2.{i}>");
        ok(&mut r, &register(&format!("c{i}"), 1, &[&contact]), T0);
    }
    let response = r.handle_register(
        &register("cx", 1, &["Contact: <sip:alice@192.0.2.200>"]),
        source(),
        T0,
        "alice",
    );
    assert_eq!(
        status(&response),
        (403, "Forbidden (at most 10 contacts per user)")
    );
    assert_eq!(r.lookup("alice", T0).len(), DEFAULT_MAX_CONTACTS_PER_AOR);
    // Removing one and adding one in the same request fits.
    ok(
        &mut r,
        &register(
            "cx",
            2,
            &["Contact: <sip:alice@192.0.2.0>;expires=0, <sip:alice@192.0.2.200>"],
        ),
        T0,
    );
    // Lapsed bindings do not count against the limit even before `expire`.
    let mut short = registrar();
    for i in 0..DEFAULT_MAX_CONTACTS_PER_AOR {
        let contact = format!("Contact: <sip:alice@192.0.2.{i}>;expires=60");
        ok(&mut short, &register(&format!("c{i}"), 1, &[&contact]), T0);
    }
    ok(
        &mut short,
        &register("cy", 1, &["Contact: <sip:alice@192.0.2.200>"]),
        T0 + 60 * SECOND,
    );
    assert_eq!(short.lookup("alice", T0 + 60 * SECOND).len(), 1);
    assert_eq!(
        short.expire(T0 + 60 * SECOND).len(),
        DEFAULT_MAX_CONTACTS_PER_AOR
    );
    assert_eq!(short.lookup("alice", T0 + 60 * SECOND).len(), 1);
}

#[test]
fn users_with_bindings_are_bounded_with_503() {
    let mut config = RegistrarConfig::new(["alice", "bob"]);
    config.max_aors = 1;
    let mut r = Registrar::new(config).unwrap();
    ok(
        &mut r,
        &register("c1", 1, &["Contact: <sip:alice@192.0.2.1>"]),
        T0,
    );
    let req = register_as("bob", "c2", 1, &["Contact: <sip:bob@192.0.2.2>"]);
    let response = r.handle_register(&req, source(), T0, "bob");
    assert_eq!(
        status(&response),
        (503, "Service Unavailable (registrar full)")
    );
    assert_eq!(response.headers.get("Retry-After"), Some("60"));
    // A query from bob still works (it adds nothing); alice may still refresh.
    let query = register_as("bob", "c2", 2, &[]);
    assert_eq!(r.handle_register(&query, source(), T0, "bob").status, 200);
    ok(
        &mut r,
        &register("c1", 2, &["Contact: <sip:alice@192.0.2.1>"]),
        T0,
    );
    // Once alice is gone, bob fits.
    ok(
        &mut r,
        &register("c1", 3, &["Contact: *", "Expires: 0"]),
        T0,
    );
    let req = register_as("bob", "c2", 3, &["Contact: <sip:bob@192.0.2.2>"]);
    assert_eq!(r.handle_register(&req, source(), T0, "bob").status, 200);
}

#[test]
fn the_same_instance_replaces_its_old_contact() {
    let mut r = registrar();
    let instance = "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"";
    ok(
        &mut r,
        &register(
            "c1",
            1,
            &[&format!("Contact: <sip:alice@192.0.2.1:5060>;{instance}")],
        ),
        T0,
    );
    ok(
        &mut r,
        &register("c9", 1, &["Contact: <sip:alice@192.0.2.50>"]),
        T0,
    );
    // The phone came back through another NAT mapping, with a new Call-ID.
    let other: SocketAddr = "198.51.100.7:40999".parse().unwrap();
    let req = register(
        "c2",
        1,
        &[&format!("Contact: <sip:alice@192.0.2.1:6060>;{instance}")],
    );
    let response = r.handle_register(&req, other, T0 + SECOND, "alice");
    assert_eq!(response.status, 200);
    let mut now = contacts(&r.lookup("alice", T0 + SECOND));
    now.sort();
    assert_eq!(
        now,
        vec!["sip:alice@192.0.2.1:6060", "sip:alice@192.0.2.50"]
    );
    let b = r
        .lookup("alice", T0 + SECOND)
        .into_iter()
        .find(|b| b.instance.is_some())
        .unwrap();
    assert_eq!(
        b.instance.as_deref(),
        Some("<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>")
    );
    assert_eq!(b.source, other);
    // The 200 OK echoes the instance.
    assert!(response
        .headers
        .get_all("Contact")
        .iter()
        .any(|c| c.contains("+sip.instance=\"<urn:uuid:")));
    // Each binding is in the expiry index once: two expire, no more.
    assert_eq!(r.expire(u64::MAX).len(), 2);
}

#[test]
fn lookup_orders_by_q_then_recency_and_hides_lapsed() {
    let mut r = registrar();
    ok(
        &mut r,
        &register("c1", 1, &["Contact: <sip:alice@192.0.2.1>;q=0.5"]),
        T0,
    );
    ok(
        &mut r,
        &register(
            "c2",
            1,
            &["Contact: <sip:alice@192.0.2.2>;q=0.9;expires=100"],
        ),
        T0 + SECOND,
    );
    ok(
        &mut r,
        &register("c3", 1, &["Contact: <sip:alice@192.0.2.3>"]),
        T0 + 2 * SECOND,
    );
    ok(
        &mut r,
        &register("c4", 1, &["Contact: <sip:alice@192.0.2.4>;q=0.5"]),
        T0 + 3 * SECOND,
    );
    assert_eq!(
        contacts(&r.lookup("alice", T0 + 3 * SECOND)),
        vec![
            "sip:alice@192.0.2.3",
            "sip:alice@192.0.2.2",
            "sip:alice@192.0.2.4",
            "sip:alice@192.0.2.1",
        ]
    );
    // At its expiry instant the q=0.9 binding is gone from lookups, before `expire` runs.
    let lapsed = T0 + SECOND + 100 * SECOND;
    assert_eq!(r.lookup("alice", lapsed).len(), 3);
    assert_eq!(r.lookup("alice", lapsed - 1).len(), 4);
    // And from a 200 OK's list.
    let response = ok(&mut r, &register("c9", 1, &[]), lapsed);
    assert_eq!(listed(&response).len(), 3);
}

#[test]
fn expire_reports_lapsed_bindings_in_order_and_next_expiry_follows() {
    let mut r = registrar();
    ok(
        &mut r,
        &register(
            "c1",
            1,
            &["Contact: <sip:alice@192.0.2.1>;expires=200, <sip:alice@192.0.2.2>;expires=100"],
        ),
        T0,
    );
    let req = register_as(
        "bob",
        "c2",
        1,
        &["Contact: <sip:bob@192.0.2.3>;expires=150"],
    );
    assert_eq!(r.handle_register(&req, source(), T0, "bob").status, 200);
    assert_eq!(r.next_expiry(), Some(T0 + 100 * SECOND));
    assert!(r.expire(T0 + 100 * SECOND - 1).is_empty());
    let gone = r.expire(T0 + 150 * SECOND);
    let gone: Vec<(&str, String)> = gone
        .iter()
        .map(|e| (e.user.as_str(), e.binding.contact.to_string()))
        .collect();
    assert_eq!(
        gone,
        vec![
            ("alice", "sip:alice@192.0.2.2".to_string()),
            ("bob", "sip:bob@192.0.2.3".to_string()),
        ]
    );
    assert_eq!(r.aor_count(), 1);
    assert_eq!(r.next_expiry(), Some(T0 + 200 * SECOND));
    assert_eq!(r.expire(T0 + 1000 * SECOND).len(), 1);
    assert_eq!(r.next_expiry(), None);
    assert_eq!(r.aor_count(), 0);
    assert!(r.expire(u64::MAX).is_empty());
}

#[test]
fn a_lapsed_binding_registered_again_is_replaced_not_duplicated() {
    let mut r = registrar();
    ok(
        &mut r,
        &register("c1", 1, &["Contact: <sip:alice@192.0.2.1>;expires=60"]),
        T0,
    );
    // Same Call-ID and a lower CSeq would be out of order on a live binding; on a lapsed one
    // it is a new registration.
    ok(
        &mut r,
        &register("c1", 1, &["Contact: <sip:alice@192.0.2.1>;expires=60"]),
        T0 + 61 * SECOND,
    );
    assert_eq!(r.next_expiry(), Some(T0 + 121 * SECOND));
    assert!(r.expire(T0 + 120 * SECOND).is_empty());
    assert_eq!(r.expire(T0 + 121 * SECOND).len(), 1);
}

#[test]
fn compact_contact_and_large_expires_are_understood() {
    let mut r = registrar();
    let response = ok(
        &mut r,
        &register(
            "c1",
            1,
            &["m: <sip:alice@192.0.2.1>", "Expires: 99999999999999999999"],
        ),
        T0,
    );
    assert_eq!(
        listed(&response),
        vec![("sip:alice@192.0.2.1".into(), 7200)]
    );
}

#[test]
fn configured_expiry_bounds_apply() {
    let mut config = RegistrarConfig::new(["alice"]);
    config.min_expires = Duration::from_secs(300);
    config.default_expires = Duration::from_secs(600);
    config.max_expires = Duration::from_secs(900);
    let mut r = Registrar::new(config).unwrap();
    let response = r.handle_register(
        &register("c1", 1, &["Contact: <sip:alice@192.0.2.1>;expires=299"]),
        source(),
        T0,
        "alice",
    );
    assert_eq!(response.headers.get("Min-Expires"), Some("300"));
    let response = ok(
        &mut r,
        &register(
            "c1",
            2,
            &["Contact: <sip:alice@192.0.2.1>, <sip:alice@192.0.2.2>;expires=1000"],
        ),
        T0,
    );
    let mut got = listed(&response);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("sip:alice@192.0.2.1".into(), 600),
            ("sip:alice@192.0.2.2".into(), 900)
        ]
    );
}

#[test]
fn request_response_copies_what_section_8_2_6_2_says() {
    let text = "REGISTER sip:hotline.example.com SIP/2.0\r\n\
        v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
        Via: SIP/2.0/TCP 192.0.2.2;branch=z9hG4bK2, SIP/2.0/UDP 192.0.2.3;branch=z9hG4bK3\r\n\
        f: <sip:alice@h>;tag=1\r\nt: <sip:alice@h>\r\ni: r1\r\nCSeq: 7 REGISTER\r\n\
        Contact: <sip:alice@192.0.2.1>\r\nUser-Agent: phone\r\nContent-Length: 0\r\n\r\n";
    let request = parse_message(text.as_bytes()).unwrap();
    let response = request.as_request().unwrap().response(486, "Busy Here");
    assert_eq!(status(&response), (486, "Busy Here"));
    let names: Vec<&str> = response.headers.0.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["Via", "Via", "From", "To", "Call-ID", "CSeq"]);
    assert_eq!(response.headers.vias().unwrap().len(), 3);
    assert_eq!(response.headers.get("To"), Some("<sip:alice@h>"));
    assert!(response.body.is_empty());
}

#[test]
fn a_user_no_longer_known_loses_their_bindings_at_once_and_a_new_one_may_register() {
    let mut r = registrar();
    ok(
        &mut r,
        &register("c1", 1, &["Contact: <sip:alice@192.168.1.20:5060>"]),
        T0,
    );
    let bob = register_as("bob", "c2", 1, &["Contact: <sip:bob@192.168.1.21:5060>"]);
    assert_eq!(r.handle_register(&bob, source(), T0, "bob").status, 200);
    let carol = register_as(
        "carol",
        "c3",
        1,
        &["Contact: <sip:carol@192.168.1.22:5060>"],
    );
    assert_eq!(r.handle_register(&carol, source(), T0, "carol").status, 404);

    // Alice's account is removed, Carol's added.
    let gone = r.set_known_users(["bob", "carol"]);
    assert_eq!(gone, ["alice"]);
    assert!(r.lookup("alice", T0 + SECOND).is_empty());
    assert_eq!(
        r.lookup("bob", T0 + SECOND).len(),
        1,
        "bob keeps his binding"
    );
    assert_eq!(r.aor_count(), 1);
    // Nothing of hers is left to expire later.
    assert!(r
        .expire(T0 + 7_200 * SECOND)
        .iter()
        .all(|e| e.user == "bob"));
    let again = register("c1", 2, &["Contact: <sip:alice@192.168.1.20:5060>"]);
    assert_eq!(
        r.handle_register(&again, source(), T0 + 2 * SECOND, "alice")
            .status,
        404
    );
    assert_eq!(
        r.handle_register(&carol, source(), T0 + 2 * SECOND, "carol")
            .status,
        200
    );
}
