//! Personal data at rest: sealing with AES-256-GCM under rotating keys, and blind indexes.
//!
//! The principal type is [`Keyring`]: the encryption keys (each with a short id, one of them
//! active), and the index key.
//!
//! - [`Keyring::seal`] encrypts a value with the active key and a fresh random nonce. The sealed
//!   bytes carry the id of the key that sealed them, so that values sealed under an older key
//!   still open after a rotation, and `hotline keys rotate` can find and re-seal them. The name
//!   of the field is bound in as associated data: a name's ciphertext copied into a phone
//!   column does not open.
//! - [`Keyring::blind_index`] is an HMAC-SHA-256 of a value under the index key, so that a
//!   caller's number can be looked up without storing it in the clear. It does not rotate
//!   with the encryption keys (every index would have to be recomputed at once).
//!
//! # The key file
//!
//! One `name = "value"` per line (a form TOML reads too), `#` starts a comment; each value is
//! 32 bytes in standard base64:
//!
//! ```text
//! # hotline personal-data keys
//! active = "k2"
//! index = "…"
//! k1 = "…"
//! k2 = "…"
//! ```
//!
//! The same pairs, separated by spaces, can come from the environment variable
//! [`KEYS_ENV`] instead of a file.
//!
//! # Sealed bytes
//!
//! `[SEAL_VERSION] [id length] [id] [12-byte nonce] [ciphertext and 16-byte tag]`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The environment variable that may hold the keys (the key file's pairs, space-separated).
pub const KEYS_ENV: &str = "HOTLINE_KEYS";

/// The first byte of every sealed value.
pub const SEAL_VERSION: u8 = 1;

/// The most keys one keyring holds (rotations before old keys are retired).
pub const MAX_KEYS: usize = 64;

/// The longest key id.
pub const MAX_KEY_ID_LEN: usize = 16;

/// The largest plaintext that may be sealed.
pub const MAX_SEALED_PLAINTEXT: usize = 64 * 1024;

/// The size of a blind index.
pub const BLIND_INDEX_LEN: usize = 16;

pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;

/// What can go wrong with keys and sealed values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The key file or variable could not be read or understood.
    #[error("keys: {0}")]
    Keys(String),
    /// A sealed value names a key the keyring does not hold.
    #[error("the value was sealed with key {0:?}, which is not in the keyring")]
    UnknownKey(String),
    /// A sealed value is malformed, was sealed for another field, or was tampered with.
    #[error("a sealed {field} does not open: {reason}")]
    Unsealable {
        /// The field it was read for.
        field: String,
        /// Why.
        reason: &'static str,
    },
    /// A value too large to seal.
    #[error("a {field} of {len} bytes is larger than the {max} that may be sealed")]
    TooLarge {
        /// The field.
        field: String,
        /// Its size.
        len: usize,
        /// [`MAX_SEALED_PLAINTEXT`].
        max: usize,
    },
    /// The system's random number source failed.
    #[error("no random numbers: {0}")]
    Random(String),
    /// The start of a stream is not the header of a sealed stream (wrong magic, unknown
    /// version, malformed key id, or cut off); see [`crate::crypto_stream`].
    #[error("not a sealed stream: {0}")]
    NotAStream(String),
    /// A sealed stream is cut inside a chunk, has a malformed or out-of-place chunk, was sealed
    /// for another field, or was tampered with.
    #[error("a sealed {field} stream does not open: {reason}")]
    BadStream {
        /// The field it was read for.
        field: String,
        /// Why, naming the chunk at fault.
        reason: String,
    },
    /// A stream that would need more chunks than
    /// [`MAX_STREAM_CHUNKS`](crate::crypto_stream::MAX_STREAM_CHUNKS).
    #[error("a {field} stream may have at most {max_chunks} chunks")]
    StreamTooLong {
        /// The field.
        field: String,
        /// The most chunks a stream may have.
        max_chunks: u32,
    },
    /// Reading or writing a stream failed.
    #[error("stream i/o: {0}")]
    Io(String),
}

/// The encryption keys and the index key. Debug output never shows key material.
#[derive(Clone)]
pub struct Keyring {
    active: String,
    keys: BTreeMap<String, Aes256Gcm>,
    raw: BTreeMap<String, [u8; KEY_LEN]>,
    index: Hmac<Sha256>,
    raw_index: [u8; KEY_LEN],
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active)
            .field("keys", &self.raw.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn random_key() -> Result<[u8; KEY_LEN], CryptoError> {
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(key)
}

fn valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_KEY_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && id != "active"
        && id != "index"
}

impl Keyring {
    /// A new keyring with one random encryption key (`k1`, active) and a random index key.
    pub fn generate() -> Result<Keyring, CryptoError> {
        let mut raw = BTreeMap::new();
        raw.insert("k1".to_string(), random_key()?);
        Keyring::from_parts("k1".into(), raw, random_key()?)
    }

    fn from_parts(
        active: String,
        raw: BTreeMap<String, [u8; KEY_LEN]>,
        raw_index: [u8; KEY_LEN],
    ) -> Result<Keyring, CryptoError> {
        if !raw.contains_key(&active) {
            return Err(CryptoError::Keys(format!(
                "the active key {active:?} is not among the keys"
            )));
        }
        if raw.len() > MAX_KEYS {
            return Err(CryptoError::Keys(format!(
                "{} keys, more than the {MAX_KEYS} a keyring holds",
                raw.len()
            )));
        }
        let keys = raw
            .iter()
            .map(|(id, key)| (id.clone(), Aes256Gcm::new(key.into())))
            .collect();
        let index = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&raw_index)
            .map_err(|_| CryptoError::Keys("the index key has the wrong length".into()))?;
        Ok(Keyring {
            active,
            keys,
            raw,
            index,
            raw_index,
        })
    }

    /// Reads the pairs of the key file format (newlines or spaces between them).
    pub fn parse(text: &str) -> Result<Keyring, CryptoError> {
        let mut active = None;
        let mut index = None;
        let mut raw = BTreeMap::new();
        let pairs = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or(""))
            .flat_map(|line| line.split_whitespace().collect::<Vec<_>>())
            .collect::<Vec<_>>()
            .join(" ");
        // `a = "b"` and `a="b"` both become `a="b"` tokens.
        let normalised = pairs
            .replace(" = ", "=")
            .replace("= ", "=")
            .replace(" =", "=");
        for token in normalised.split_whitespace() {
            let Some((name, value)) = token.split_once('=') else {
                return Err(CryptoError::Keys(format!(
                    "{token:?} is not a name = \"value\" pair"
                )));
            };
            let value = value.trim_matches('"');
            match name {
                "active" => active = Some(value.to_string()),
                "index" => index = Some(decode_key(name, value)?),
                id if valid_key_id(id) => {
                    if raw.insert(id.to_string(), decode_key(id, value)?).is_some() {
                        return Err(CryptoError::Keys(format!("key {id:?} is given twice")));
                    }
                }
                other => {
                    return Err(CryptoError::Keys(format!(
                        "{other:?} is not a key id (1 to {MAX_KEY_ID_LEN} letters, digits, - \
                         or _)"
                    )))
                }
            }
        }
        let active = active.ok_or_else(|| CryptoError::Keys("no active = \"ID\" line".into()))?;
        let index = index.ok_or_else(|| CryptoError::Keys("no index = \"KEY\" line".into()))?;
        Keyring::from_parts(active, raw, index)
    }

    /// The key file's text for this keyring.
    pub fn to_text(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut text = String::from(
            "# hotline personal-data keys (AES-256-GCM and the blind-index key).\n\
             # Keep this file secret and backed up: without it the personal data cannot be read.\n",
        );
        text.push_str(&format!("active = \"{}\"\n", self.active));
        text.push_str(&format!("index = \"{}\"\n", b64.encode(self.raw_index)));
        for (id, key) in &self.raw {
            text.push_str(&format!("{id} = \"{}\"\n", b64.encode(key)));
        }
        text
    }

    /// Loads the keys from the [`KEYS_ENV`] variable if it is set, otherwise from `path`,
    /// creating that file with new keys (readable by its owner only) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Keyring, CryptoError> {
        if let Ok(text) = std::env::var(KEYS_ENV) {
            return Keyring::parse(&text)
                .map_err(|e| CryptoError::Keys(format!("from ${KEYS_ENV}: {e}")));
        }
        match std::fs::read_to_string(path) {
            Ok(text) => Keyring::parse(&text)
                .map_err(|e| CryptoError::Keys(format!("{}: {e}", path.display()))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let keyring = Keyring::generate()?;
                keyring.save(path)?;
                Ok(keyring)
            }
            Err(error) => Err(CryptoError::Keys(format!("{}: {error}", path.display()))),
        }
    }

    /// Writes the key file (mode 0600 on Unix), replacing it atomically.
    pub fn save(&self, path: &Path) -> Result<(), CryptoError> {
        let fail = |e: std::io::Error| CryptoError::Keys(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let temporary = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&temporary).map_err(fail)?;
            file.write_all(self.to_text().as_bytes()).map_err(fail)?;
            file.sync_all().map_err(fail)?;
        }
        std::fs::rename(&temporary, path).map_err(fail)
    }

    /// Adds a new random key and makes it the active one; returns its id. Values sealed
    /// before still open; re-seal them to retire the old key.
    pub fn rotate(&mut self) -> Result<String, CryptoError> {
        let next = (1..=MAX_KEYS + 1)
            .map(|n| format!("k{}", self.raw.len() + n))
            .find(|id| !self.raw.contains_key(id))
            .ok_or_else(|| CryptoError::Keys("no free key id".into()))?;
        let mut raw = self.raw.clone();
        raw.insert(next.clone(), random_key()?);
        *self = Keyring::from_parts(next.clone(), raw, self.raw_index)?;
        Ok(next)
    }

    /// The id of the key new values are sealed with.
    pub fn active_key(&self) -> &str {
        &self.active
    }

    /// The cipher of one sealed stream ([`crate::crypto_stream`]): a key of its own, derived
    /// from the keyring key `id` and the stream's random `salt`; `None` for an unknown key.
    pub(crate) fn stream_cipher(&self, id: &str, salt: &[u8]) -> Option<Aes256Gcm> {
        let raw = self.raw.get(id)?;
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(raw).ok()?;
        mac.update(b"hotline.stream");
        mac.update(&[0]);
        mac.update(salt);
        let key = mac.finalize().into_bytes();
        Some(Aes256Gcm::new(&key))
    }

    /// Encrypts `plaintext` for `field` with the active key.
    pub fn seal(&self, field: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if plaintext.len() > MAX_SEALED_PLAINTEXT {
            return Err(CryptoError::TooLarge {
                field: field.into(),
                len: plaintext.len(),
                max: MAX_SEALED_PLAINTEXT,
            });
        }
        let cipher = &self.keys[&self.active];
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| CryptoError::Random(e.to_string()))?;
        let ciphertext = cipher
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: plaintext,
                    aad: field.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Unsealable {
                field: field.into(),
                reason: "encryption failed",
            })?;
        let mut sealed = Vec::with_capacity(2 + self.active.len() + NONCE_LEN + ciphertext.len());
        sealed.push(SEAL_VERSION);
        sealed.push(self.active.len() as u8);
        sealed.extend_from_slice(self.active.as_bytes());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Seals a string.
    pub fn seal_str(&self, field: &str, plaintext: &str) -> Result<Vec<u8>, CryptoError> {
        self.seal(field, plaintext.as_bytes())
    }

    /// The id of the key that sealed `sealed`, without opening it.
    pub fn sealed_key_id(sealed: &[u8]) -> Option<&str> {
        let (&version, rest) = sealed.split_first()?;
        let (&len, rest) = rest.split_first()?;
        if version != SEAL_VERSION || rest.len() < len as usize {
            return None;
        }
        std::str::from_utf8(&rest[..len as usize]).ok()
    }

    /// Decrypts a value sealed for `field` under any key of the keyring.
    pub fn open(&self, field: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let unsealable = |reason| CryptoError::Unsealable {
            field: field.into(),
            reason,
        };
        let id = Keyring::sealed_key_id(sealed).ok_or_else(|| unsealable("malformed"))?;
        let cipher = self
            .keys
            .get(id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_string()))?;
        let rest = &sealed[2 + id.len()..];
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(unsealable("too short"));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: &[u8; NONCE_LEN] = nonce.try_into().map_err(|_| unsealable("malformed"))?;
        cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad: field.as_bytes(),
                },
            )
            .map_err(|_| unsealable("wrong key, wrong field, or altered"))
    }

    /// Opens a sealed string.
    pub fn open_string(&self, field: &str, sealed: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.open(field, sealed)?).map_err(|_| CryptoError::Unsealable {
            field: field.into(),
            reason: "not UTF-8",
        })
    }

    /// The keyed hash under which `value` of `field` is looked up.
    pub fn blind_index(&self, field: &str, value: &str) -> [u8; BLIND_INDEX_LEN] {
        let mut mac = self.index.clone();
        mac.update(field.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut index = [0u8; BLIND_INDEX_LEN];
        index.copy_from_slice(&full[..BLIND_INDEX_LEN]);
        index
    }
}

fn decode_key(name: &str, value: &str) -> Result<[u8; KEY_LEN], CryptoError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|_| CryptoError::Keys(format!("{name}: not base64")))?;
    bytes.try_into().map_err(|bytes: Vec<u8>| {
        CryptoError::Keys(format!(
            "{name}: {} bytes; a key is {KEY_LEN} bytes",
            bytes.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_for_its_field_and_with_its_key() {
        let keyring = Keyring::generate().unwrap();
        let sealed = keyring.seal_str("customer.name", "张三").unwrap();
        assert!(!sealed.windows(6).any(|w| w == "张三".as_bytes()));
        assert_eq!(
            keyring.open_string("customer.name", &sealed).unwrap(),
            "张三"
        );
        assert!(matches!(
            keyring.open("customer.phone", &sealed),
            Err(CryptoError::Unsealable { .. })
        ));
        let other = Keyring::generate().unwrap();
        assert!(other.open("customer.name", &sealed).is_err());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(keyring.open("customer.name", &altered).is_err());
    }

    #[test]
    fn two_seals_of_one_value_differ_but_its_blind_index_does_not() {
        let keyring = Keyring::generate().unwrap();
        let a = keyring.seal_str("f", "+8613800138000").unwrap();
        let b = keyring.seal_str("f", "+8613800138000").unwrap();
        assert_ne!(a, b);
        assert_eq!(
            keyring.blind_index("phone", "+8613800138000"),
            keyring.blind_index("phone", "+8613800138000")
        );
        assert_ne!(
            keyring.blind_index("phone", "+8613800138000"),
            keyring.blind_index("phone", "+8613800138001")
        );
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_seals_new_ones_with_the_new_key() {
        let mut keyring = Keyring::generate().unwrap();
        let old = keyring.seal_str("f", "old").unwrap();
        let index_before = keyring.blind_index("phone", "x");
        let id = keyring.rotate().unwrap();
        assert_eq!(id, "k2");
        assert_eq!(keyring.active_key(), "k2");
        let new = keyring.seal_str("f", "new").unwrap();
        assert_eq!(Keyring::sealed_key_id(&old), Some("k1"));
        assert_eq!(Keyring::sealed_key_id(&new), Some("k2"));
        assert_eq!(keyring.open_string("f", &old).unwrap(), "old");
        assert_eq!(keyring.blind_index("phone", "x"), index_before);
    }

    #[test]
    fn the_key_file_round_trips_and_bad_files_say_what_is_wrong() {
        let mut keyring = Keyring::generate().unwrap();
        keyring.rotate().unwrap();
        let text = keyring.to_text();
        let back = Keyring::parse(&text).unwrap();
        let sealed = keyring.seal_str("f", "v").unwrap();
        assert_eq!(back.open_string("f", &sealed).unwrap(), "v");
        assert_eq!(back.active_key(), "k2");
        // The environment form: pairs on one line.
        let one_line = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(Keyring::parse(&one_line).is_ok());
        let missing_active = text.replace("active = \"k2\"", "");
        assert!(Keyring::parse(&missing_active)
            .unwrap_err()
            .to_string()
            .contains("no active"));
        let short = "active = \"k1\"\nindex = \"AAAA\"\nk1 = \"AAAA\"";
        assert!(Keyring::parse(short)
            .unwrap_err()
            .to_string()
            .contains("3 bytes"));
        assert!(!format!("{keyring:?}").contains(&text[60..80]));
    }
}
