//! Property tests: any message built from valid parts prints to bytes that parse back to it;
//! any bytes at all give a message or an error, never a panic; a stream cut anywhere frames
//! the same messages.

use hotline_sip::{frame, parse_message, Headers, Message, Method, Request, Response, Uri};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9.!%*_+`'~-]{0,15}"
}

fn message() -> impl Strategy<Value = Message> {
    (
        any::<bool>(),
        prop::sample::select(vec![
            "INVITE", "BYE", "OPTIONS", "REGISTER", "INFO", "NEWTHING",
        ]),
        "[a-zA-Z0-9._-]{1,12}",
        "[a-z]{1,10}\\.(com|net|cn)",
        100u16..700,
        "[ -~]{0,20}",
        token(),
        proptest::option::of("[ -!#-\\[\\]-~]{1,12}"),
        1u32..100_000,
        prop::collection::vec(any::<u8>(), 0..64),
        1usize..4,
    )
        .prop_map(
            |(is_request, method, user, host, status, reason, tag, display, seq, body, vias)| {
                let mut headers = Headers::default();
                for i in 0..vias {
                    headers.push(
                        "Via",
                        format!("SIP/2.0/UDP 192.0.2.{}:5060;branch=z9hG4bK{tag}{i}", i + 1),
                    );
                }
                let from = match &display {
                    Some(d) => format!(
                        "\"{}\" <sip:{user}@{host}>;tag={tag}",
                        d.replace('\\', "\\\\").replace('"', "\\\"")
                    ),
                    None => format!("<sip:{user}@{host}>;tag={tag}"),
                };
                headers.push("From", from);
                headers.push("To", format!("<sip:bob@{host}>"));
                headers.push("Call-ID", format!("{tag}@{host}"));
                headers.push("CSeq", format!("{seq} {method}"));
                headers.push("Max-Forwards", "70");
                if is_request {
                    Message::Request(Request {
                        method: Method::from_token(method),
                        uri: Uri::parse(&format!("sip:{user}@{host}")).unwrap(),
                        headers,
                        body,
                    })
                } else {
                    Message::Response(Response {
                        status,
                        reason: reason.trim().to_string(),
                        headers,
                        body,
                    })
                }
            },
        )
}

proptest! {
    #[test]
    fn printed_messages_parse_back(m in message()) {
        let bytes = m.to_bytes();
        let parsed = parse_message(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut expected = m.clone();
        match &mut expected {
            Message::Request(r) => r.headers.push("Content-Length", r.body.len().to_string()),
            Message::Response(r) => r.headers.push("Content-Length", r.body.len().to_string()),
        }
        prop_assert_eq!(parsed, expected);
    }

    #[test]
    fn any_bytes_give_a_message_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_message(&bytes);
        let _ = frame(&bytes);
    }

    #[test]
    fn a_stream_cut_anywhere_frames_the_same_messages(
        messages in prop::collection::vec(message(), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut stream = Vec::new();
        for m in &messages {
            stream.extend_from_slice(b"\r\n"); // a keep-alive between messages
            stream.extend_from_slice(&m.to_bytes());
        }
        // Deliver the stream in two pieces, cut anywhere.
        let cut = cut.index(stream.len() + 1);
        let mut buffer: Vec<u8> = stream[..cut].to_vec();
        let mut pending = &stream[cut..];
        let mut got = Vec::new();
        loop {
            match frame(&buffer).map_err(|e| TestCaseError::fail(e.to_string()))? {
                Some((skip, len)) => {
                    let m = parse_message(&buffer[skip..skip + len]).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    got.push(m);
                    buffer.drain(..skip + len);
                }
                None if pending.is_empty() => break,
                None => {
                    buffer.extend_from_slice(pending);
                    pending = &[];
                }
            }
        }
        prop_assert_eq!(got.len(), messages.len());
    }
}
