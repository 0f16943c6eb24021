//! Call recordings at rest: where they go, sealed with the records' keyring, and how they are
//! read back (the API's download, `hotline recording open`) and removed by retention.
//!
//! A recording is the conversation as a WAV file (8 kHz 16-bit PCM, mono or stereo), written
//! while the call goes on. With a keyring (every `hotline serve`) it is sealed as it is
//! written ([`hotline_store::crypto_stream`]: AES-256-GCM in 64 KiB chunks under a key of its
//! own) to `<dir>/<contact>.wav.sealed`, so no audio is ever on disk in the clear; without one
//! (tests, the bare runtime) it is a plain `<dir>/<contact>.wav`.
//!
//! The sealed WAV keeps the streaming header it was started with (data size "to the end"),
//! since a sealed stream cannot be rewritten in place: players and [`hotline_media::wav`] read
//! it to its end. A recording cut off by a crash opens as far as it was written
//! ([`hotline_store::StreamReport::complete`] is then `false`).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hotline_routing::ContactId;
use hotline_store::{CryptoError, Keyring, SealedWriter, StreamReport};

/// The field name every recording is sealed for (bound into its ciphertext).
pub const RECORDING_FIELD: &str = "call.recording";
/// The extension of a sealed recording, after `.wav`.
pub const SEALED_EXTENSION: &str = "sealed";

/// Where conversations are recorded, and the keys that seal them.
#[derive(Clone, Debug)]
pub struct Recordings {
    /// The directory.
    pub dir: PathBuf,
    /// Seal with these keys; `None`: plain WAV files.
    pub keys: Option<Arc<Keyring>>,
}

impl Recordings {
    /// The file a contact's recording is written to.
    pub fn path(&self, contact: ContactId) -> PathBuf {
        match self.keys {
            Some(_) => self
                .dir
                .join(format!("{}.wav.{SEALED_EXTENSION}", contact.0)),
            None => self.dir.join(format!("{}.wav", contact.0)),
        }
    }

    /// Starts a contact's recording file: a sealed stream, or a plain file.
    pub(crate) fn create(&self, contact: ContactId) -> io::Result<RecordingFile> {
        std::fs::create_dir_all(&self.dir)?;
        let file = io::BufWriter::new(std::fs::File::create(self.path(contact))?);
        Ok(match &self.keys {
            Some(keys) => RecordingFile::Sealed(Box::new(
                keys.seal_stream(RECORDING_FIELD, file)
                    .map_err(io::Error::other)?,
            )),
            None => RecordingFile::Plain(file),
        })
    }
}

/// A recording being written.
pub(crate) enum RecordingFile {
    /// A plain WAV file; its header is rewritten with the sizes at the end.
    Plain(io::BufWriter<std::fs::File>),
    /// A sealed stream (boxed: it holds its cipher's expanded key).
    Sealed(Box<SealedWriter<io::BufWriter<std::fs::File>>>),
}

impl Write for RecordingFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            RecordingFile::Plain(file) => file.write(data),
            RecordingFile::Sealed(stream) => stream.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            RecordingFile::Plain(file) => file.flush(),
            RecordingFile::Sealed(stream) => stream.flush(),
        }
    }
}

/// The recording of `contact` in `dir`, sealed or plain, if there is one.
pub fn find(dir: &Path, contact: i64) -> Option<PathBuf> {
    if contact <= 0 {
        return None;
    }
    [
        dir.join(format!("{contact}.wav.{SEALED_EXTENSION}")),
        dir.join(format!("{contact}.wav")),
    ]
    .into_iter()
    .find(|path| path.is_file())
}

/// Whether a recording file is sealed (by its name).
pub fn is_sealed(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == SEALED_EXTENSION)
}

/// Writes the WAV of the recording at `path` to `out`: opened with `keys` when sealed, copied
/// when plain (reported complete).
pub fn open_to(path: &Path, keys: &Keyring, out: impl Write) -> Result<StreamReport, CryptoError> {
    let file = std::fs::File::open(path)
        .map_err(|e| CryptoError::Io(format!("opening {}: {e}", path.display())))?;
    let reader = io::BufReader::new(file);
    if is_sealed(path) {
        keys.open_stream(RECORDING_FIELD, reader, out)
    } else {
        let mut out = out;
        let mut reader = reader;
        let bytes = io::copy(&mut reader, &mut out)
            .map_err(|e| CryptoError::Io(format!("copying {}: {e}", path.display())))?;
        Ok(StreamReport {
            plaintext_bytes: bytes,
            chunks: 0,
            complete: true,
        })
    }
}

/// Removes the recordings in `dir` last written before `before` (retention); answers how
/// many. A directory that does not exist holds none.
pub fn remove_older_than(dir: &Path, before: std::time::SystemTime) -> io::Result<u64> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let recording =
            name.ends_with(".wav") || name.ends_with(&format!(".wav.{SEALED_EXTENSION}"));
        if !recording || !entry.file_type()?.is_file() {
            continue;
        }
        if entry.metadata()?.modified()? < before {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn recordings_are_found_sealed_or_plain_and_retention_removes_only_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = Recordings {
            dir: dir.path().to_path_buf(),
            keys: Some(Arc::new(Keyring::generate().unwrap())),
        };
        let plain = Recordings {
            dir: dir.path().to_path_buf(),
            keys: None,
        };
        for (recordings, contact) in [(&sealed, 1), (&plain, 2), (&sealed, 3)] {
            let mut file = recordings.create(ContactId(contact)).unwrap();
            file.write_all(b"RIFF....").unwrap();
            match file {
                RecordingFile::Sealed(stream) => {
                    stream.finish().unwrap();
                }
                RecordingFile::Plain(mut file) => file.flush().unwrap(),
            }
        }
        std::fs::write(dir.path().join("notes.txt"), "not a recording").unwrap();
        assert!(is_sealed(&find(dir.path(), 1).unwrap()));
        assert!(!is_sealed(&find(dir.path(), 2).unwrap()));
        assert_eq!(find(dir.path(), 4), None);
        assert_eq!(find(dir.path(), -1), None);
        // Contact 1's and 2's recordings are a year old.
        let year_ago = SystemTime::now() - Duration::from_secs(365 * 86_400);
        for contact in [1, 2] {
            let file = std::fs::File::options()
                .write(true)
                .open(find(dir.path(), contact).unwrap())
                .unwrap();
            file.set_modified(year_ago).unwrap();
        }
        let cutoff = SystemTime::now() - Duration::from_secs(30 * 86_400);
        assert_eq!(remove_older_than(dir.path(), cutoff).unwrap(), 2);
        assert_eq!(find(dir.path(), 1), None);
        assert_eq!(find(dir.path(), 2), None);
        assert!(find(dir.path(), 3).is_some());
        assert!(dir.path().join("notes.txt").exists(), "only recordings go");
        assert_eq!(
            remove_older_than(&dir.path().join("none"), cutoff).unwrap(),
            0
        );
    }
}
