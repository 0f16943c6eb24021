//! Large files at rest (call recordings): streaming encryption with the [`Keyring`], one chunk
//! in memory at a time.
//!
//! - [`Keyring::seal_stream`] wraps a writer in a [`SealedWriter`]: plaintext written to it is
//!   sealed in chunks of [`STREAM_CHUNK_BYTES`] with the active key; [`SealedWriter::finish`]
//!   seals the final chunk. A writer dropped without `finish` (a crash in the middle of a call)
//!   leaves a stream that opens, as far as it goes, as incomplete.
//! - [`Keyring::open_stream`] decrypts a sealed stream chunk by chunk into a writer, with any key
//!   of the keyring (the header names the key), and answers a [`StreamReport`].
//! - [`stream_key_id`] reads only the header, to learn which key sealed a file (rotation).
//!
//! # The construction
//!
//! STREAM (Hoang, Reyhanitabar, Rogaway and Vizár, *Online Authenticated-Encryption and its
//! Nonce-Reuse Misuse-Resistance*, 2015) over AES-256-GCM: every chunk is sealed on its own,
//! with a nonce made of the chunk's position and a flag that marks the final chunk, under a key
//! of the stream's own: HMAC-SHA-256 of the keyring key, keyed by a random 16-byte salt in the
//! header (as Tink's streaming AEAD derives its segment keys). A chunk moved, dropped, repeated or taken from another stream does not
//! authenticate, and a stream cut at a chunk boundary is told apart from a whole one because
//! its last chunk lacks the final flag: [`StreamReport::complete`] is `false`. Whoever opens a
//! stream must look at `complete` before trusting that it has all of it.
//!
//! Nonces never repeat under one stream key (positions are counted), and two streams share a
//! key only if their salts collide: about n² / 2¹²⁹ for n streams, nothing at a call center's
//! scale. (A random 56-bit nonce prefix under the keyring key itself would collide with about
//! 2⁻¹⁷ probability after a million recordings, which GCM cannot afford.)
//!
//! # The format
//!
//! ```text
//! header: "HLSTREAM" (8 bytes) | STREAM_VERSION (1) | key id length (1) | key id | salt (16)
//! stream key: HMAC-SHA-256(keyring key, "hotline.stream" | 0 | salt)
//! chunk:  ciphertext length, u32 big-endian (4) | AES-256-GCM ciphertext and 16-byte tag
//! nonce of chunk i:  zeros (7) | i, u32 big-endian (4) | 1 if final, else 0 (1)
//! associated data of every chunk: "HLSTREAM" | version | key id length | key id | field name
//! ```
//!
//! Every chunk but the final one holds exactly [`STREAM_CHUNK_BYTES`] of plaintext; the final
//! one holds from 0 to [`STREAM_CHUNK_BYTES`] (an empty stream is one empty final chunk). A
//! stream has at most [`MAX_STREAM_CHUNKS`] chunks, and nothing follows its final chunk.

use std::fmt;
use std::io::{self, Read, Write};

use aes_gcm::aead::AeadInOut;
use aes_gcm::Aes256Gcm;

use crate::crypto::{CryptoError, Keyring, MAX_KEY_ID_LEN, NONCE_LEN, TAG_LEN};

/// The first bytes of every sealed stream.
pub const STREAM_MAGIC: &[u8; 8] = b"HLSTREAM";

/// The format version, the byte after [`STREAM_MAGIC`].
pub const STREAM_VERSION: u8 = 1;

/// The plaintext in every chunk but the final one.
pub const STREAM_CHUNK_BYTES: usize = 64 * 1024;

/// The most chunks a stream may have (about 256 TiB of plaintext): chunk numbers are `u32`
/// and one nonce must never serve two chunks.
pub const MAX_STREAM_CHUNKS: u32 = u32::MAX;

/// The zero bytes that start every chunk's nonce (the stream key is the stream's own).
pub const STREAM_NONCE_PREFIX_LEN: usize = 7;

/// The random salt in a stream's header, from which its key is derived.
pub const STREAM_SALT_LEN: usize = 16;

const ZERO_PREFIX: [u8; STREAM_NONCE_PREFIX_LEN] = [0; STREAM_NONCE_PREFIX_LEN];

/// The largest ciphertext one chunk may declare: a full chunk and its tag.
pub const MAX_STREAM_CHUNK_CIPHERTEXT: usize = STREAM_CHUNK_BYTES + TAG_LEN;

/// The bytes that frame each chunk: its length.
const LENGTH_PREFIX_LEN: usize = 4;

/// What [`Keyring::open_stream`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamReport {
    /// The plaintext written out.
    pub plaintext_bytes: u64,
    /// The chunks opened.
    pub chunks: u32,
    /// Whether the stream ended with its final chunk. `false` means it was cut off at a chunk
    /// boundary (the writer never finished, or the file was truncated): what was written out
    /// is authentic but may not be all there was.
    pub complete: bool,
}

/// A [`Write`] that seals what is written to it into a stream (see the [module](self) docs),
/// made by [`Keyring::seal_stream`]. Call [`SealedWriter::finish`] at the end: a writer dropped
/// without it leaves a stream that opens as incomplete.
#[must_use = "without finish() the stream lacks its final chunk and opens as incomplete"]
pub struct SealedWriter<W: Write> {
    inner: W,
    field: String,
    key_id: String,
    cipher: Aes256Gcm,
    associated_data: Vec<u8>,
    /// The length prefix's room, then the plaintext of the chunk being filled; sealed in place.
    buffer: Vec<u8>,
    next_chunk: u32,
    /// [`MAX_STREAM_CHUNKS`], lower in tests.
    max_chunks: u32,
    plaintext_bytes: u64,
    /// Set when a chunk was sealed in place but not wholly written out: the stream is broken.
    poisoned: bool,
}

impl<W: Write> fmt::Debug for SealedWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedWriter")
            .field("field", &self.field)
            .field("key_id", &self.key_id)
            .field("chunks_written", &self.next_chunk)
            .field("plaintext_bytes", &self.plaintext_bytes)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// Starts sealing a stream for `field` with the active key: writes the header to `writer`
    /// and returns the [`SealedWriter`] that takes the plaintext.
    pub fn seal_stream<W: Write>(
        &self,
        field: &str,
        mut writer: W,
    ) -> Result<SealedWriter<W>, CryptoError> {
        let key_id = self.active_key();
        let mut salt = [0u8; STREAM_SALT_LEN];
        getrandom::fill(&mut salt).map_err(|e| CryptoError::Random(e.to_string()))?;
        let cipher = self
            .stream_cipher(key_id, &salt)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.into()))?;
        let key_id_len = key_id_len(key_id)?;
        let mut header = Vec::with_capacity(header_len(key_id));
        header.extend_from_slice(STREAM_MAGIC);
        header.push(STREAM_VERSION);
        header.push(key_id_len);
        header.extend_from_slice(key_id.as_bytes());
        header.extend_from_slice(&salt);
        writer
            .write_all(&header)
            .map_err(|e| CryptoError::Io(format!("writing the header of a {field} stream: {e}")))?;
        let mut buffer = Vec::with_capacity(LENGTH_PREFIX_LEN + MAX_STREAM_CHUNK_CIPHERTEXT);
        buffer.extend_from_slice(&[0; LENGTH_PREFIX_LEN]);
        Ok(SealedWriter {
            inner: writer,
            field: field.into(),
            key_id: key_id.into(),
            cipher,
            associated_data: associated_data(field, key_id),
            buffer,
            next_chunk: 0,
            max_chunks: MAX_STREAM_CHUNKS,
            plaintext_bytes: 0,
            poisoned: false,
        })
    }

    /// Decrypts a stream sealed for `field` from `reader` into `writer`, one chunk at a time,
    /// with whichever key of the keyring its header names.
    ///
    /// A stream that ends cleanly after a chunk that is not the final one is not an error: its
    /// chunks are written out and the report says `complete: false`. Anything else wrong is an
    /// error; plaintext already written out by then came from chunks that authenticated, but
    /// the stream as a whole is bad and what was written should be discarded.
    pub fn open_stream<R: Read, W: Write>(
        &self,
        field: &str,
        reader: R,
        writer: W,
    ) -> Result<StreamReport, CryptoError> {
        self.open_stream_limited(field, reader, writer, MAX_STREAM_CHUNKS)
    }

    fn open_stream_limited<R: Read, W: Write>(
        &self,
        field: &str,
        mut reader: R,
        mut writer: W,
        max_chunks: u32,
    ) -> Result<StreamReport, CryptoError> {
        let bad = |reason: String| CryptoError::BadStream {
            field: field.into(),
            reason,
        };
        let read_failed = |e: io::Error| CryptoError::Io(format!("reading a {field} stream: {e}"));
        let write_failed =
            |e: io::Error| CryptoError::Io(format!("writing an opened {field} stream: {e}"));
        let header = read_header(&mut reader)?;
        let cipher = self
            .stream_cipher(&header.key_id, &header.salt)
            .ok_or_else(|| CryptoError::UnknownKey(header.key_id.clone()))?;
        let associated_data = associated_data(field, &header.key_id);
        let mut buffer = vec![0u8; MAX_STREAM_CHUNK_CIPHERTEXT];
        let mut report = StreamReport::default();
        loop {
            let index = report.chunks;
            let mut length = [0u8; LENGTH_PREFIX_LEN];
            match read_full(&mut reader, &mut length).map_err(read_failed)? {
                0 => {
                    writer.flush().map_err(write_failed)?;
                    return Ok(report);
                }
                LENGTH_PREFIX_LEN => {}
                got => {
                    return Err(bad(format!(
                        "cut off inside the length of chunk {index} ({got} of \
                         {LENGTH_PREFIX_LEN} bytes)"
                    )))
                }
            }
            if index >= max_chunks {
                return Err(bad(format!(
                    "more than the {max_chunks} chunks a stream may have"
                )));
            }
            let length = u32::from_be_bytes(length) as usize;
            if length > MAX_STREAM_CHUNK_CIPHERTEXT {
                return Err(bad(format!(
                    "chunk {index} declares {length} bytes, more than the \
                     {MAX_STREAM_CHUNK_CIPHERTEXT} a chunk may have"
                )));
            }
            if length < TAG_LEN {
                return Err(bad(format!(
                    "chunk {index} declares {length} bytes, less than its {TAG_LEN}-byte tag"
                )));
            }
            let chunk = &mut buffer[..length];
            let got = read_full(&mut reader, chunk).map_err(read_failed)?;
            if got < length {
                return Err(bad(format!(
                    "cut off inside chunk {index} ({got} of {length} bytes)"
                )));
            }
            let (message, tag) = chunk.split_at_mut(length - TAG_LEN);
            let tag = aes_gcm::Tag::try_from(&*tag)
                .map_err(|_| bad(format!("chunk {index} has a malformed tag")))?;
            // The final flag is not stored: a chunk opens under exactly one of the two nonces.
            // A failed attempt leaves `message` as it was (the tag is checked before anything
            // is decrypted).
            let mut last = None;
            for flag in [false, true] {
                let nonce = chunk_nonce(&ZERO_PREFIX, index, flag);
                if cipher
                    .decrypt_inout_detached(
                        (&nonce).into(),
                        &associated_data,
                        (&mut *message).into(),
                        &tag,
                    )
                    .is_ok()
                {
                    last = Some(flag);
                    break;
                }
            }
            let Some(last) = last else {
                return Err(bad(format!(
                    "chunk {index} does not authenticate (wrong key, wrong field, altered, or \
                     out of place)"
                )));
            };
            if !last && message.len() != STREAM_CHUNK_BYTES {
                return Err(bad(format!(
                    "chunk {index} holds {} bytes but is not the final chunk",
                    message.len()
                )));
            }
            writer.write_all(message).map_err(write_failed)?;
            report.chunks += 1;
            report.plaintext_bytes += message.len() as u64;
            if last {
                let mut more = [0u8; 1];
                if read_full(&mut reader, &mut more).map_err(read_failed)? != 0 {
                    return Err(bad(format!("data after the final chunk ({index})")));
                }
                writer.flush().map_err(write_failed)?;
                report.complete = true;
                return Ok(report);
            }
        }
    }
}

/// The id of the key that sealed the stream in `reader`, reading only its header.
pub fn stream_key_id<R: Read>(mut reader: R) -> Result<String, CryptoError> {
    Ok(read_header(&mut reader)?.key_id)
}

impl<W: Write> SealedWriter<W> {
    /// The id of the key this stream is sealed with.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The plaintext taken so far.
    pub fn plaintext_bytes(&self) -> u64 {
        self.plaintext_bytes
    }

    /// The writer underneath (what was written to it so far: the header and the whole chunks).
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Seals and writes the final chunk (what is buffered, possibly nothing), flushes, and
    /// returns the writer underneath.
    pub fn finish(mut self) -> Result<W, CryptoError> {
        self.seal_chunk(true).map_err(into_crypto_error)?;
        self.inner
            .flush()
            .map_err(|e| CryptoError::Io(format!("flushing a {} stream: {e}", self.field)))?;
        Ok(self.inner)
    }

    fn buffered(&self) -> usize {
        self.buffer.len() - LENGTH_PREFIX_LEN
    }

    /// Seals the buffered plaintext as chunk `next_chunk` and writes it out. A refusal for
    /// length comes as an `io::Error` wrapping [`CryptoError::StreamTooLong`].
    fn seal_chunk(&mut self, last: bool) -> io::Result<()> {
        if self.poisoned {
            return Err(io::Error::other(CryptoError::Io(format!(
                "an earlier write of this {} stream failed; it cannot go on",
                self.field
            ))));
        }
        let index = self.next_chunk;
        // A chunk that is not the final one needs a number left for the final one after it.
        let room = if last {
            index < self.max_chunks
        } else {
            index
                .checked_add(1)
                .is_some_and(|next| next < self.max_chunks)
        };
        if !room {
            return Err(io::Error::other(CryptoError::StreamTooLong {
                field: self.field.clone(),
                max_chunks: self.max_chunks,
            }));
        }
        let nonce = chunk_nonce(&ZERO_PREFIX, index, last);
        let tag = self
            .cipher
            .encrypt_inout_detached(
                (&nonce).into(),
                &self.associated_data,
                (&mut self.buffer[LENGTH_PREFIX_LEN..]).into(),
            )
            .map_err(|_| {
                self.poisoned = true;
                io::Error::other(CryptoError::Unsealable {
                    field: self.field.clone(),
                    reason: "encryption failed",
                })
            })?;
        self.buffer.extend_from_slice(&tag);
        let ciphertext_len = (self.buffer.len() - LENGTH_PREFIX_LEN) as u32;
        self.buffer[..LENGTH_PREFIX_LEN].copy_from_slice(&ciphertext_len.to_be_bytes());
        if let Err(error) = self.inner.write_all(&self.buffer) {
            self.poisoned = true;
            return Err(error);
        }
        self.buffer.truncate(LENGTH_PREFIX_LEN);
        self.next_chunk = index + 1;
        Ok(())
    }
}

impl<W: Write> Write for SealedWriter<W> {
    /// Buffers plaintext, sealing and writing out a chunk each time a full one is followed by
    /// more. Takes at most the room left in the current chunk.
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.poisoned {
            return Err(io::Error::other(CryptoError::Io(format!(
                "an earlier write of this {} stream failed; it cannot go on",
                self.field
            ))));
        }
        if data.is_empty() {
            return Ok(0);
        }
        if self.buffered() == STREAM_CHUNK_BYTES {
            self.seal_chunk(false)?;
        }
        let taken = (STREAM_CHUNK_BYTES - self.buffered()).min(data.len());
        self.buffer.extend_from_slice(&data[..taken]);
        self.plaintext_bytes += taken as u64;
        Ok(taken)
    }

    /// Flushes the writer underneath, and only that: a partial chunk stays buffered, so that
    /// chunk boundaries do not depend on when flushes happen.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A stream's header, read.
struct Header {
    key_id: String,
    salt: [u8; STREAM_SALT_LEN],
}

fn header_len(key_id: &str) -> usize {
    STREAM_MAGIC.len() + 2 + key_id.len() + STREAM_SALT_LEN
}

fn key_id_len(key_id: &str) -> Result<u8, CryptoError> {
    u8::try_from(key_id.len())
        .ok()
        .filter(|&len| len as usize <= MAX_KEY_ID_LEN)
        .ok_or_else(|| CryptoError::Keys(format!("key id {key_id:?} is too long")))
}

/// Reads exactly the header: nothing of the first chunk.
fn read_header<R: Read>(reader: &mut R) -> Result<Header, CryptoError> {
    let not_a_stream = |reason: String| CryptoError::NotAStream(reason);
    let mut read = |buf: &mut [u8], what: &str| -> Result<(), CryptoError> {
        let got = read_full(reader, buf)
            .map_err(|e| CryptoError::Io(format!("reading a stream: {e}")))?;
        if got < buf.len() {
            return Err(not_a_stream(format!("cut off inside the {what}")));
        }
        Ok(())
    };
    let mut start = [0u8; STREAM_MAGIC.len() + 2];
    read(&mut start, "header")?;
    if &start[..STREAM_MAGIC.len()] != STREAM_MAGIC {
        return Err(not_a_stream("it does not start with \"HLSTREAM\"".into()));
    }
    let version = start[STREAM_MAGIC.len()];
    if version != STREAM_VERSION {
        return Err(not_a_stream(format!(
            "version {version}, where only {STREAM_VERSION} is known"
        )));
    }
    let key_id_len = start[STREAM_MAGIC.len() + 1] as usize;
    if key_id_len == 0 || key_id_len > MAX_KEY_ID_LEN {
        return Err(not_a_stream(format!(
            "a key id of {key_id_len} bytes (1 to {MAX_KEY_ID_LEN})"
        )));
    }
    let mut key_id = [0u8; MAX_KEY_ID_LEN];
    read(&mut key_id[..key_id_len], "key id")?;
    let key_id = std::str::from_utf8(&key_id[..key_id_len])
        .map_err(|_| not_a_stream("the key id is not UTF-8".into()))?
        .to_string();
    let mut salt = [0u8; STREAM_SALT_LEN];
    read(&mut salt, "salt")?;
    Ok(Header { key_id, salt })
}

/// What every chunk of a stream authenticates besides its ciphertext: the header's fixed part
/// (the key id length-prefixed) and then the field, so the encoding is unambiguous.
fn associated_data(field: &str, key_id: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(STREAM_MAGIC.len() + 2 + key_id.len() + field.len());
    data.extend_from_slice(STREAM_MAGIC);
    data.push(STREAM_VERSION);
    // Key ids are at most MAX_KEY_ID_LEN bytes (checked where they come in).
    data.push(key_id.len().min(u8::MAX as usize) as u8);
    data.extend_from_slice(key_id.as_bytes());
    data.extend_from_slice(field.as_bytes());
    data
}

/// The STREAM nonce of chunk `index`: prefix (zeros), big-endian index, final flag.
fn chunk_nonce(prefix: &[u8; STREAM_NONCE_PREFIX_LEN], index: u32, last: bool) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..STREAM_NONCE_PREFIX_LEN].copy_from_slice(prefix);
    nonce[STREAM_NONCE_PREFIX_LEN..NONCE_LEN - 1].copy_from_slice(&index.to_be_bytes());
    nonce[NONCE_LEN - 1] = u8::from(last);
    nonce
}

/// Reads until `buf` is full or the reader ends; returns how much was read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// The [`CryptoError`] an `io::Error` from [`SealedWriter::seal_chunk`] stands for.
fn into_crypto_error(error: io::Error) -> CryptoError {
    let message = error.to_string();
    match error
        .into_inner()
        .map(|inner| inner.downcast::<CryptoError>())
    {
        Some(Ok(crypto)) => *crypto,
        _ => CryptoError::Io(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELD: &str = "interaction.recording";
    const MARKER: &[u8; 16] = b"caller-said-1234";

    /// Deterministic plaintext that repeats only every 251 bytes, with [`MARKER`] in it.
    fn pattern(len: usize) -> Vec<u8> {
        let mut data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        if len >= 3 * MARKER.len() {
            let at = len / 2;
            data[at..at + MARKER.len()].copy_from_slice(MARKER);
        }
        data
    }

    /// Seals `plaintext`, written in pieces of the given sizes in turn.
    fn seal_in_pieces(
        keyring: &Keyring,
        field: &str,
        plaintext: &[u8],
        pieces: &[usize],
    ) -> Vec<u8> {
        let mut writer = keyring.seal_stream(field, Vec::new()).unwrap();
        let mut rest = plaintext;
        for &piece in pieces.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at(piece.min(rest.len()));
            writer.write_all(now).unwrap();
            rest = later;
        }
        assert_eq!(writer.plaintext_bytes(), plaintext.len() as u64);
        writer.finish().unwrap()
    }

    fn seal(keyring: &Keyring, plaintext: &[u8]) -> Vec<u8> {
        seal_in_pieces(
            keyring,
            FIELD,
            plaintext,
            &[1, 7, 4093, STREAM_CHUNK_BYTES + 3, 13],
        )
    }

    fn open(
        keyring: &Keyring,
        field: &str,
        sealed: &[u8],
    ) -> Result<(Vec<u8>, StreamReport), CryptoError> {
        let mut out = Vec::new();
        let report = keyring.open_stream(field, sealed, &mut out)?;
        assert_eq!(report.plaintext_bytes, out.len() as u64);
        Ok((out, report))
    }

    fn header_len_k1() -> usize {
        header_len("k1")
    }

    /// The byte range of chunk `index` in a stream of full chunks sealed under `k1`.
    fn full_chunk_range(index: usize) -> std::ops::Range<usize> {
        let size = LENGTH_PREFIX_LEN + MAX_STREAM_CHUNK_CIPHERTEXT;
        let start = header_len_k1() + index * size;
        start..start + size
    }

    fn is_bad_stream(result: Result<(Vec<u8>, StreamReport), CryptoError>, words: &str) -> bool {
        match result {
            Err(error @ CryptoError::BadStream { .. }) => error.to_string().contains(words),
            _ => false,
        }
    }

    #[test]
    fn streams_of_every_size_round_trip_in_odd_pieces() {
        let keyring = Keyring::generate().unwrap();
        let sizes = [
            0,
            1,
            STREAM_CHUNK_BYTES - 1,
            STREAM_CHUNK_BYTES,
            STREAM_CHUNK_BYTES + 1,
            3 * STREAM_CHUNK_BYTES,
            3 * STREAM_CHUNK_BYTES + 12_345,
        ];
        for size in sizes {
            let plaintext = pattern(size);
            let sealed = seal(&keyring, &plaintext);
            let chunks = size.div_ceil(STREAM_CHUNK_BYTES).max(1);
            assert_eq!(
                sealed.len(),
                header_len_k1() + chunks * (LENGTH_PREFIX_LEN + TAG_LEN) + size,
                "size {size}"
            );
            let (out, report) = open(&keyring, FIELD, &sealed).unwrap();
            assert!(out == plaintext, "size {size}");
            assert_eq!(
                report,
                StreamReport {
                    plaintext_bytes: size as u64,
                    chunks: chunks as u32,
                    complete: true
                }
            );
            // One byte at a time through a reader that hands out little.
            let mut out = Vec::new();
            let slow = SlowReader {
                data: &sealed,
                step: 1000,
            };
            assert_eq!(keyring.open_stream(FIELD, slow, &mut out).unwrap(), report);
            assert!(out == plaintext);
        }
    }

    struct SlowReader<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for SlowReader<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn flush_does_not_cut_a_chunk_and_chunk_boundaries_stay_fixed() {
        let keyring = Keyring::generate().unwrap();
        let mut writer = keyring.seal_stream(FIELD, Vec::new()).unwrap();
        writer.write_all(b"0123456789").unwrap();
        writer.flush().unwrap();
        assert_eq!(writer.get_ref().len(), header_len_k1());
        let plaintext = pattern(2 * STREAM_CHUNK_BYTES + 10);
        writer.write_all(&plaintext[10..]).unwrap();
        writer.flush().unwrap();
        // The two full chunks are out; the 10 bytes of the third stay buffered.
        assert_eq!(writer.get_ref().len(), full_chunk_range(1).end);
        let sealed = writer.finish().unwrap();
        assert_eq!(
            sealed.len(),
            full_chunk_range(1).end + LENGTH_PREFIX_LEN + 10 + TAG_LEN
        );
        let mut expected = b"0123456789".to_vec();
        expected.extend_from_slice(&plaintext[10..]);
        let (out, report) = open(&keyring, FIELD, &sealed).unwrap();
        assert!(out == expected);
        assert_eq!(report.chunks, 3);
    }

    #[test]
    fn a_stream_cut_at_a_chunk_boundary_opens_as_incomplete() {
        let keyring = Keyring::generate().unwrap();
        let plaintext = pattern(3 * STREAM_CHUNK_BYTES + 100);
        let sealed = seal(&keyring, &plaintext);
        // The final chunk dropped, then one more.
        for whole in [3, 2, 1, 0] {
            let cut = &sealed[..full_chunk_range(whole).start];
            let (out, report) = open(&keyring, FIELD, cut).unwrap();
            assert!(out == plaintext[..whole * STREAM_CHUNK_BYTES]);
            assert_eq!(
                report,
                StreamReport {
                    plaintext_bytes: (whole * STREAM_CHUNK_BYTES) as u64,
                    chunks: whole as u32,
                    complete: false
                }
            );
        }
        // A writer dropped without finish() (a crash) leaves the same.
        let mut writer = keyring.seal_stream(FIELD, Vec::new()).unwrap();
        writer.write_all(&plaintext).unwrap();
        let unfinished = writer.get_ref().clone();
        drop(writer);
        let (out, report) = open(&keyring, FIELD, &unfinished).unwrap();
        assert!(out == plaintext[..3 * STREAM_CHUNK_BYTES]);
        assert!(!report.complete);
    }

    #[test]
    fn a_stream_cut_inside_a_chunk_or_its_header_is_an_error() {
        let keyring = Keyring::generate().unwrap();
        let sealed = seal(&keyring, &pattern(2 * STREAM_CHUNK_BYTES + 100));
        let one_short = &sealed[..sealed.len() - 1];
        assert!(is_bad_stream(
            open(&keyring, FIELD, one_short),
            "cut off inside chunk 2"
        ));
        let middle = &sealed[..full_chunk_range(1).start + 1000];
        assert!(is_bad_stream(
            open(&keyring, FIELD, middle),
            "cut off inside chunk 1"
        ));
        let in_length = &sealed[..full_chunk_range(1).start + 2];
        assert!(is_bad_stream(
            open(&keyring, FIELD, in_length),
            "length of chunk 1"
        ));
        for len in [0, 5, header_len_k1() - 1] {
            assert!(matches!(
                open(&keyring, FIELD, &sealed[..len]),
                Err(CryptoError::NotAStream(_))
            ));
        }
    }

    #[test]
    fn tampered_swapped_or_misfiled_chunks_do_not_open() {
        let keyring = Keyring::generate().unwrap();
        let plaintext = pattern(3 * STREAM_CHUNK_BYTES + 100);
        let sealed = seal(&keyring, &plaintext);

        let mut tampered = sealed.clone();
        tampered[full_chunk_range(1).start + 500] ^= 0x20;
        assert!(is_bad_stream(
            open(&keyring, FIELD, &tampered),
            "chunk 1 does not authenticate"
        ));

        let mut swapped = sealed.clone();
        let second = sealed[full_chunk_range(1)].to_vec();
        swapped.copy_within(full_chunk_range(0), full_chunk_range(1).start);
        swapped[full_chunk_range(0)].copy_from_slice(&second);
        assert!(is_bad_stream(
            open(&keyring, FIELD, &swapped),
            "chunk 0 does not authenticate"
        ));

        // A chunk dropped from the middle.
        let mut dropped = sealed[..full_chunk_range(1).start].to_vec();
        dropped.extend_from_slice(&sealed[full_chunk_range(2).start..]);
        assert!(is_bad_stream(
            open(&keyring, FIELD, &dropped),
            "chunk 1 does not authenticate"
        ));

        // A chunk from another stream of the same key, in the same place.
        let other = seal(&keyring, &plaintext);
        let mut spliced = sealed.clone();
        spliced[full_chunk_range(1)].copy_from_slice(&other[full_chunk_range(1)]);
        assert!(is_bad_stream(
            open(&keyring, FIELD, &spliced),
            "chunk 1 does not authenticate"
        ));

        assert!(is_bad_stream(
            open(&keyring, "customer.note", &sealed),
            "chunk 0 does not authenticate"
        ));
        assert!(matches!(
            open(&keyring, "customer.note", &sealed),
            Err(CryptoError::BadStream { field, .. }) if field == "customer.note"
        ));

        let mut trailing = sealed.clone();
        trailing.push(0);
        assert!(is_bad_stream(
            open(&keyring, FIELD, &trailing),
            "after the final chunk"
        ));
        let mut appended = sealed.clone();
        appended.extend_from_slice(&sealed[full_chunk_range(0)]);
        assert!(is_bad_stream(
            open(&keyring, FIELD, &appended),
            "after the final chunk"
        ));
    }

    #[test]
    fn malformed_headers_and_lengths_say_what_is_wrong() {
        let keyring = Keyring::generate().unwrap();
        let sealed = seal(&keyring, &pattern(STREAM_CHUNK_BYTES + 1));
        let not_a_stream = |bytes: &[u8], words: &str| match open(&keyring, FIELD, bytes) {
            Err(error @ CryptoError::NotAStream(_)) => error.to_string().contains(words),
            _ => false,
        };
        let mut magic = sealed.clone();
        magic[0] = b'X';
        assert!(not_a_stream(&magic, "HLSTREAM"));
        let mut version = sealed.clone();
        version[STREAM_MAGIC.len()] = 9;
        assert!(not_a_stream(&version, "version 9"));
        let mut id_len = sealed.clone();
        id_len[STREAM_MAGIC.len() + 1] = 200;
        assert!(not_a_stream(&id_len, "key id of 200 bytes"));

        let length_at = header_len_k1();
        let mut too_long = sealed.clone();
        too_long[length_at..length_at + 4]
            .copy_from_slice(&(MAX_STREAM_CHUNK_CIPHERTEXT as u32 + 1).to_be_bytes());
        assert!(is_bad_stream(
            open(&keyring, FIELD, &too_long),
            "more than the"
        ));
        let mut too_short = sealed.clone();
        too_short[length_at..length_at + 4].copy_from_slice(&3u32.to_be_bytes());
        assert!(is_bad_stream(
            open(&keyring, FIELD, &too_short),
            "less than its"
        ));

        // Only the header: a stream cut before its first chunk.
        let (out, report) = open(&keyring, FIELD, &sealed[..header_len_k1()]).unwrap();
        assert!(out.is_empty());
        assert_eq!(report, StreamReport::default());
    }

    #[test]
    fn a_keyring_without_the_key_cannot_open_and_another_keyring_fails_to_authenticate() {
        let mut keyring = Keyring::generate().unwrap();
        let sealed = seal(&keyring, &pattern(1000));
        keyring.rotate().unwrap();
        let without_k1 = keyring
            .to_text()
            .lines()
            .filter(|line| !line.starts_with("k1 "))
            .collect::<Vec<_>>()
            .join("\n");
        let without_k1 = Keyring::parse(&without_k1).unwrap();
        assert!(matches!(
            open(&without_k1, FIELD, &sealed),
            Err(CryptoError::UnknownKey(id)) if id == "k1"
        ));
        let stranger = Keyring::generate().unwrap();
        assert!(is_bad_stream(
            open(&stranger, FIELD, &sealed),
            "does not authenticate"
        ));
    }

    #[test]
    fn after_rotation_old_streams_open_and_new_ones_use_the_new_key() {
        let mut keyring = Keyring::generate().unwrap();
        let plaintext = pattern(STREAM_CHUNK_BYTES + 77);
        let old = seal(&keyring, &plaintext);
        assert_eq!(stream_key_id(old.as_slice()).unwrap(), "k1");
        let id = keyring.rotate().unwrap();
        let writer = keyring.seal_stream(FIELD, Vec::new()).unwrap();
        assert_eq!(writer.key_id(), id);
        let new = writer.finish().unwrap();
        assert_eq!(stream_key_id(new.as_slice()).unwrap(), id);
        let (out, report) = open(&keyring, FIELD, &old).unwrap();
        assert!(out == plaintext);
        assert!(report.complete);
        let (out, report) = open(&keyring, FIELD, &new).unwrap();
        assert!(out.is_empty());
        assert_eq!(report.chunks, 1);
        assert!(report.complete);
        // stream_key_id reads the header and no further.
        let mut reader = old.as_slice();
        stream_key_id(&mut reader).unwrap();
        assert_eq!(reader.len(), old.len() - header_len_k1());
        assert!(matches!(
            stream_key_id(&b"HLSTR"[..]),
            Err(CryptoError::NotAStream(_))
        ));
    }

    #[test]
    fn no_plaintext_shows_in_the_sealed_bytes_and_two_seals_differ() {
        let keyring = Keyring::generate().unwrap();
        let plaintext = pattern(2 * STREAM_CHUNK_BYTES + 500);
        assert!(plaintext.windows(MARKER.len()).any(|w| w == MARKER));
        let a = seal(&keyring, &plaintext);
        let b = seal(&keyring, &plaintext);
        assert!(!a.windows(MARKER.len()).any(|w| w == MARKER));
        assert!(!a.windows(16).any(|w| w == &plaintext[..16]));
        assert_ne!(a[header_len_k1()..], b[header_len_k1()..]);
    }

    #[test]
    fn the_chunk_limit_is_kept_when_writing_and_reading() {
        let keyring = Keyring::generate().unwrap();
        let plaintext = pattern(3 * STREAM_CHUNK_BYTES + 1);
        let mut writer = keyring.seal_stream(FIELD, Vec::new()).unwrap();
        writer.max_chunks = 3;
        let error = writer.write_all(&plaintext).unwrap_err();
        assert!(error.to_string().contains("at most 3 chunks"), "{error}");
        // What was taken still ends as a whole stream of three chunks.
        let sealed = writer.finish().unwrap();
        let (out, report) = open(&keyring, FIELD, &sealed).unwrap();
        assert!(out == plaintext[..3 * STREAM_CHUNK_BYTES]);
        assert_eq!(report.chunks, 3);
        assert!(report.complete);
        assert!(matches!(
            keyring.open_stream_limited(FIELD, sealed.as_slice(), Vec::new(), 2),
            Err(CryptoError::BadStream { reason, .. }) if reason.contains("more than the 2")
        ));
    }

    #[test]
    fn a_failed_inner_write_stops_the_stream() {
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, data: &[u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
                }
                let n = self.0.min(data.len());
                self.0 -= n;
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let keyring = Keyring::generate().unwrap();
        let mut writer = keyring
            .seal_stream(FIELD, Full(header_len_k1() + 100))
            .unwrap();
        let plaintext = pattern(2 * STREAM_CHUNK_BYTES);
        assert!(writer.write_all(&plaintext).is_err());
        assert!(writer.write_all(b"more").is_err());
        assert!(matches!(writer.finish(), Err(CryptoError::Io(_))));
        assert!(matches!(
            keyring.seal_stream(FIELD, Full(3)),
            Err(CryptoError::Io(_))
        ));
    }
}
