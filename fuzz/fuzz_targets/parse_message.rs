//! Any bytes: `parse_message` gives a message or an error, never a panic. A message it accepts
//! prints (`Message::to_bytes`) to bytes that parse again to the same message, Content-Length
//! aside (the printer always writes one that matches the body, in last place), which is the
//! round trip `tests/fixtures.rs` checks on every valid fixture.
//!
//! One exception, which is not a bug: the printed form can be larger than the input (compact
//! names written in full, `: ` after each name, CRLF for bare LF, a Content-Length added), so
//! a message near the limits ([`MAX_MESSAGE_BYTES`], [`MAX_HEADER_LINES`]) can print to one
//! past them, which the parser then refuses as too large. Only that refusal is accepted.
#![no_main]

use hotline_sip::{parse_message, ErrorKind, Message, MAX_HEADER_LINES, MAX_MESSAGE_BYTES};
use libfuzzer_sys::fuzz_target;

fn without_length(m: &Message) -> Message {
    let mut m = m.clone();
    match &mut m {
        Message::Request(r) => r.headers.remove("Content-Length"),
        Message::Response(r) => r.headers.remove("Content-Length"),
    }
    m
}

fuzz_target!(|data: &[u8]| {
    let Ok(message) = parse_message(data) else {
        return;
    };
    let printed = message.to_bytes();
    let again = match parse_message(&printed) {
        Ok(again) => again,
        Err(e)
            if e.kind == ErrorKind::TooLarge
                && (printed.len() > MAX_MESSAGE_BYTES
                    || without_length(&message).headers().0.len() + 1 > MAX_HEADER_LINES) =>
        {
            return
        }
        Err(e) => panic!(
            "the printed form is refused: {e}\nmessage: {message:?}\nprinted: {:?}",
            String::from_utf8_lossy(&printed)
        ),
    };
    assert_eq!(
        without_length(&again),
        without_length(&message),
        "printed and parsed again, it differs\nprinted: {:?}",
        String::from_utf8_lossy(&printed)
    );
    assert_eq!(
        again.headers().content_length(),
        Some(again.body().len()),
        "the printed Content-Length"
    );
    // The printer is a fixed point once the message has been through it.
    assert_eq!(again.to_bytes(), printed, "printing twice");
});
