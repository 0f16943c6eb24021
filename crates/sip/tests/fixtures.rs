//! The torture corpus (tests/fixtures): every valid message parses to what its `.expect`
//! says and prints back to bytes that parse to the same message; every invalid one is
//! refused with the kind its `.expect` names. A new case is a new pair of files. A valid
//! message with a Content-Length also arrives on a stream: the TCP framer cuts it where the
//! parser says it ends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hotline_sip::{frame, parse_message, Message};

type Case = (PathBuf, Vec<u8>, BTreeMap<String, String>);

fn cases(folder: &str) -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "sip") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let expect_path = path.with_extension("expect");
        let text = std::fs::read_to_string(&expect_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expect_path.display()));
        let expect = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (k, v) = l
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{}: {l:?}", expect_path.display()));
                (k.trim().to_string(), v.trim().to_string())
            })
            .collect();
        out.push((path, bytes, expect));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// What the parser found, under the `.expect` keys.
fn facts(m: &Message) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    let h = m.headers();
    let mut put = |k: &str, v: String| {
        f.insert(k.to_string(), v);
    };
    match m {
        Message::Request(r) => {
            put("kind", "request".into());
            put("method", r.method.to_string());
            put("uri", r.uri.to_string());
        }
        Message::Response(r) => {
            put("kind", "response".into());
            put("status", r.status.to_string());
            put("reason", r.reason.clone());
        }
    }
    put("call_id", h.call_id().unwrap_or("").to_string());
    if let Some(c) = h.cseq() {
        put("cseq", c.to_string());
    }
    let from = h.from().expect("From was checked");
    let to = h.to().expect("To was checked");
    put("from_tag", from.tag().unwrap_or("none").to_string());
    put("to_tag", to.tag().unwrap_or("none").to_string());
    put(
        "from_display",
        from.display.clone().unwrap_or_else(|| "none".into()),
    );
    put("from_uri", from.uri.to_string());
    let vias = h.vias().expect("Vias were checked");
    put("vias", vias.len().to_string());
    put(
        "top_via_branch",
        vias[0].branch().unwrap_or("none").to_string(),
    );
    put("top_via_host", vias[0].sent_by());
    if let Some(mf) = h.max_forwards() {
        put("max_forwards", mf.to_string());
    }
    if let Some(contacts) = h.contacts() {
        put("contacts", contacts.len().to_string());
    }
    put(
        "content_length",
        h.content_length().map_or("none".into(), |n| n.to_string()),
    );
    put("body_len", m.body().len().to_string());
    if let Some(t) = h.content_type() {
        put("content_type", t);
    }
    f
}

fn without_length(m: &Message) -> Message {
    let mut m = m.clone();
    match &mut m {
        Message::Request(r) => r.headers.remove("Content-Length"),
        Message::Response(r) => r.headers.remove("Content-Length"),
    }
    m
}

#[test]
fn valid_messages_parse_to_what_they_say_and_print_back() {
    let cases = cases("valid");
    assert!(
        cases.len() >= 20,
        "the corpus has {} valid messages",
        cases.len()
    );
    let mut failures = Vec::new();
    for (path, bytes, expect) in &cases {
        let name = path.file_name().unwrap().to_string_lossy();
        let message = match parse_message(bytes) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: refused: {e}"));
                continue;
            }
        };
        let found = facts(&message);
        for (key, want) in expect {
            let got = found.get(key).map(String::as_str);
            // URIs compare as printed (escapes normalised).
            let same = got == Some(want.as_str())
                || ((key == "uri" || key == "from_uri")
                    && got.is_some_and(|g| {
                        hotline_sip::Uri::parse(want).is_ok_and(|w| w.to_string() == g)
                    }));
            if !same {
                failures.push(format!("{name}: {key}: expected {want:?}, found {got:?}"));
            }
        }
        // On a stream (Content-Length required there), the framer cuts the same message.
        if expect.get("content_length").is_some_and(|l| l != "none") {
            match frame(bytes) {
                Ok(Some((skip, len))) => match parse_message(&bytes[skip..skip + len]) {
                    Ok(framed) if framed == message => {}
                    Ok(_) => failures.push(format!("{name}: framed, it differs")),
                    Err(e) => failures.push(format!("{name}: framed, refused: {e}")),
                },
                other => failures.push(format!("{name}: framer: {other:?}")),
            }
        }
        // Printing and parsing again gives the same message (Content-Length aside).
        match parse_message(&message.to_bytes()) {
            Ok(again) if without_length(&again) == without_length(&message) => {}
            Ok(_) => failures.push(format!("{name}: printed and parsed again, it differs")),
            Err(e) => failures.push(format!("{name}: printed form refused: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn invalid_messages_are_refused_with_their_kind() {
    let cases = cases("invalid");
    assert!(
        cases.len() >= 15,
        "the corpus has {} invalid messages",
        cases.len()
    );
    let mut failures = Vec::new();
    for (path, bytes, expect) in &cases {
        let name = path.file_name().unwrap().to_string_lossy();
        let want = &expect["error"];
        match parse_message(bytes) {
            Ok(_) => failures.push(format!("{name}: accepted; expected error {want}")),
            Err(e) if e.kind.as_str() != want => failures.push(format!(
                "{name}: error {} ({}); expected {want}",
                e.kind.as_str(),
                e.message
            )),
            Err(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
