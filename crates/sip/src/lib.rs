//! hotline's SIP core (RFC 3261), sans-IO. The message layer: the model ([`Message`],
//! [`Request`], [`Response`], [`Headers`]), the parser ([`parse_message`], strict where safety
//! needs it and tolerant where real devices deviate), the printer ([`Message::to_bytes`]) and
//! the stream framer for TCP ([`frame`]); fuzzed by the targets in `fuzz/`. On top of it: the
//! transaction layer ([`Transactions`], timers A–M), dialogs ([`Dialog`]), the registrar
//! ([`Registrar`], RFC 3261 §10) and server-side digest authentication ([`Authenticator`],
//! RFC 3261 §22 with RFC 7616 and RFC 8760's SHA-256).
//!
//! Transports are the driver's (the server's runtime: UDP and TCP). Nothing in this crate
//! reads a clock or touches a socket.
//!
//! ```
//! let bytes = b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
//! Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n\
//! From: <sip:alice@example.com>;tag=1928301774\r\n\
//! To: <sip:bob@example.com>\r\n\
//! Call-ID: a84b4c76e66710\r\n\
//! CSeq: 63104 OPTIONS\r\n\
//! Content-Length: 0\r\n\r\n";
//! let message = hotline_sip::parse_message(bytes).unwrap();
//! let request = message.as_request().unwrap();
//! assert_eq!(request.method.as_str(), "OPTIONS");
//! assert_eq!(message.headers().call_id(), Some("a84b4c76e66710"));
//! assert_eq!(message.headers().vias().unwrap()[0].branch(), Some("z9hG4bK776asdhds"));
//! ```

#![warn(missing_docs)]

mod auth;
mod dialog;
mod message;
pub mod netsim;
mod parse;
mod registrar;
mod transaction;
mod values;

pub use auth::*;
pub use dialog::*;
pub use message::*;
pub use parse::*;
pub use registrar::*;
pub use transaction::*;
pub use values::*;
