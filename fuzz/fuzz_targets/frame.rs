//! The TCP framer on any bytes, read as a stream the way a connection reader uses it: frame,
//! take the message, frame the rest, until it asks for more bytes or refuses. It never
//! panics; every frame lies inside the buffer, is not empty, and starts after exactly the CRLF
//! keep-alives before it; a frame depends only on its own bytes (the framed prefix alone
//! frames the same); and when the parser accepts a frame, it reads the body the framer
//! counted (the two agree on Content-Length, so the stream and the message never disagree
//! about where a message ends).
#![no_main]

use hotline_sip::{frame, parse_message};
use libfuzzer_sys::fuzz_target;

/// Where the body starts (after the first `\r\n\r\n` or `\n\n`), as the parser finds it.
fn body_start(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4));
    let lf = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a.1 } else { b.1 }),
        (a, b) => a.or(b).map(|x| x.1),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((skip, len))) = frame(rest) {
        let end = skip.checked_add(len).expect("skip + len overflows");
        assert!(
            end <= rest.len(),
            "frame ({skip}, {len}) outside {} bytes",
            rest.len()
        );
        assert!(len > 0, "an empty frame");
        assert!(
            rest[..skip].iter().all(|&b| b == b'\r' || b == b'\n'),
            "skipped more than keep-alives"
        );
        assert!(
            rest[skip] != b'\r' && rest[skip] != b'\n',
            "a frame starts with a keep-alive"
        );
        assert_eq!(
            frame(&rest[..end]),
            Ok(Some((skip, len))),
            "the framed prefix alone frames differently"
        );
        let message = &rest[skip..end];
        if let Ok(parsed) = parse_message(message) {
            let start = body_start(message).expect("a parsed message has a blank line");
            assert_eq!(
                parsed.body().len(),
                len - start,
                "the parser reads a different body than the framer cut"
            );
        }
        rest = &rest[end..];
    }
});
