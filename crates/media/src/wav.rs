//! WAV (RIFF/WAVE) for prompts and recordings: [`read_wav`] takes the bytes of a file the IO
//! side has read and gives 16-bit samples; [`WavWriter`] builds a PCM16 file in memory;
//! [`header`] gives the 44-byte header for a data length, so a recorder that streams to disk
//! can write [`streaming_header`] first and seek back to patch it ([`RIFF_SIZE_OFFSET`],
//! [`DATA_SIZE_OFFSET`]) when the call ends. If the process dies first, the placeholder's
//! "unknown length" sizes make [`read_wav`] read everything that reached the disk.
//!
//! Only what telephony plays is read: 8 kHz, mono or stereo, PCM16 (format 1), A-law (6) or
//! µ-law (7), also under WAVE_FORMAT_EXTENSIBLE. Anything else is refused with a
//! [`WavError`] that names it, so a prompt recorded at 44.1 kHz is caught when it is loaded
//! and not played as noise.

use std::fmt;

use crate::g711::{alaw_decode, ulaw_decode};

/// The only sample rate read and written.
pub const SAMPLE_RATE: u32 = 8000;
/// The size of the header [`header`] writes.
pub const HEADER_BYTES: usize = 44;
/// Where the RIFF chunk size sits in that header (little-endian u32): file length − 8.
pub const RIFF_SIZE_OFFSET: usize = 4;
/// Where the data chunk size sits in that header (little-endian u32).
pub const DATA_SIZE_OFFSET: usize = 40;
/// The size a streaming header states before the length is known: the largest there is, the
/// convention (ffmpeg, sox) for "until the end of the file".
pub const UNKNOWN_SIZE: u32 = u32::MAX;
/// The most chunks examined before giving up on finding `fmt ` and `data`.
pub const MAX_CHUNKS: usize = 64;
/// The largest data chunk a 44-byte header can describe.
pub const MAX_DATA_BYTES: u32 = u32::MAX - 36;

const FORMAT_PCM: u16 = 1;
const FORMAT_ALAW: u16 = 6;
const FORMAT_ULAW: u16 = 7;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Why bytes are not a WAV file we can play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WavError {
    /// Not a RIFF/WAVE file, or cut before its first chunk.
    NotWave,
    /// No `fmt ` chunk before the data, or one too short.
    MissingFormat,
    /// No `data` chunk.
    MissingData,
    /// More than [`MAX_CHUNKS`] chunks before the data.
    TooManyChunks,
    /// A format other than PCM (1), A-law (6) and µ-law (7).
    UnsupportedFormat(u16),
    /// A sample rate other than 8000 Hz.
    UnsupportedRate(u32),
    /// Neither mono nor stereo.
    UnsupportedChannels(u16),
    /// A sample size that does not go with the format (PCM must be 16-bit, G.711 8-bit).
    UnsupportedBits(u16),
    /// Writing: more data than a WAV header can describe.
    TooLarge,
}

impl fmt::Display for WavError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WavError::NotWave => write!(f, "not a RIFF/WAVE file"),
            WavError::MissingFormat => write!(f, "no usable fmt chunk"),
            WavError::MissingData => write!(f, "no data chunk"),
            WavError::TooManyChunks => write!(f, "too many chunks before the data"),
            WavError::UnsupportedFormat(x) => {
                write!(f, "format {x} unsupported (need PCM 1, A-law 6 or µ-law 7)")
            }
            WavError::UnsupportedRate(x) => write!(f, "sample rate {x} Hz unsupported (need 8000)"),
            WavError::UnsupportedChannels(x) => write!(f, "{x} channels unsupported (need 1 or 2)"),
            WavError::UnsupportedBits(x) => write!(f, "{x} bits per sample unsupported"),
            WavError::TooLarge => write!(f, "data too large for a WAV header"),
        }
    }
}

impl std::error::Error for WavError {}

/// How the samples were stored in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WavFormat {
    /// Linear 16-bit.
    Pcm16,
    /// G.711 A-law.
    Alaw,
    /// G.711 µ-law.
    Ulaw,
}

/// A file read into memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wav {
    /// 1 or 2.
    pub channels: u16,
    /// How the file stored them.
    pub format: WavFormat,
    /// The samples, interleaved when stereo.
    pub samples: Vec<i16>,
}

impl Wav {
    /// The samples of one channel (0 = left).
    pub fn channel(&self, index: usize) -> Vec<i16> {
        self.samples
            .iter()
            .skip(index)
            .step_by(self.channels.max(1) as usize)
            .copied()
            .collect()
    }

    /// One channel for playing: the mono samples, or the average of the two channels.
    pub fn to_mono(&self) -> Vec<i16> {
        if self.channels == 1 {
            return self.samples.clone();
        }
        self.samples
            .chunks_exact(2)
            .map(|pair| ((pair[0] as i32 + pair[1] as i32) / 2) as i16)
            .collect()
    }
}

fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ])
}

/// Reads a WAV file. Unknown chunks (`LIST`, `fact`, `cue `…) are skipped. A data chunk that
/// claims more bytes than there are (a recording cut off by a crash, or a streaming writer
/// that never patched its header) is read as far as it goes, whole frames only.
pub fn read_wav(bytes: &[u8]) -> Result<Wav, WavError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWave);
    }
    let mut offset = 12;
    let mut format: Option<(WavFormat, u16)> = None;
    for _ in 0..MAX_CHUNKS {
        if offset + 8 > bytes.len() {
            return Err(if format.is_none() {
                WavError::MissingFormat
            } else {
                WavError::MissingData
            });
        }
        let id = &bytes[offset..offset + 4];
        let size = u32_at(bytes, offset + 4) as usize;
        let body_start = offset + 8;
        let body_end = body_start.saturating_add(size).min(bytes.len());
        let body = &bytes[body_start..body_end];
        match id {
            b"fmt " => format = Some(read_format(body)?),
            b"data" => {
                let Some((format, channels)) = format else {
                    return Err(WavError::MissingFormat);
                };
                let samples = match format {
                    WavFormat::Pcm16 => {
                        let frame = 2 * channels as usize;
                        let usable = body.len() / frame * frame;
                        body[..usable]
                            .chunks_exact(2)
                            .map(|b| i16::from_le_bytes([b[0], b[1]]))
                            .collect()
                    }
                    WavFormat::Alaw | WavFormat::Ulaw => {
                        let frame = channels as usize;
                        let usable = body.len() / frame * frame;
                        let decode = if format == WavFormat::Alaw {
                            alaw_decode
                        } else {
                            ulaw_decode
                        };
                        body[..usable].iter().map(|&c| decode(c)).collect()
                    }
                };
                return Ok(Wav {
                    channels,
                    format,
                    samples,
                });
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        offset = body_start.saturating_add(size).saturating_add(size & 1);
    }
    Err(WavError::TooManyChunks)
}

fn read_format(body: &[u8]) -> Result<(WavFormat, u16), WavError> {
    if body.len() < 16 {
        return Err(WavError::MissingFormat);
    }
    let mut tag = u16_at(body, 0);
    let channels = u16_at(body, 2);
    let rate = u32_at(body, 4);
    let bits = u16_at(body, 14);
    if tag == FORMAT_EXTENSIBLE {
        // The real format is the first two bytes of the sub-format GUID.
        if body.len() < 26 {
            return Err(WavError::MissingFormat);
        }
        tag = u16_at(body, 24);
    }
    let format = match tag {
        FORMAT_PCM => WavFormat::Pcm16,
        FORMAT_ALAW => WavFormat::Alaw,
        FORMAT_ULAW => WavFormat::Ulaw,
        other => return Err(WavError::UnsupportedFormat(other)),
    };
    if rate != SAMPLE_RATE {
        return Err(WavError::UnsupportedRate(rate));
    }
    if !(1..=2).contains(&channels) {
        return Err(WavError::UnsupportedChannels(channels));
    }
    let expected_bits = if format == WavFormat::Pcm16 { 16 } else { 8 };
    if bits != expected_bits {
        return Err(WavError::UnsupportedBits(bits));
    }
    Ok((format, channels))
}

/// The 44-byte header of an 8 kHz PCM16 file with `channels` channels and `data_bytes` of
/// samples. A streaming recorder writes `header(channels, 0)` first and this again, for the
/// final length, over it at the end (or patches the two sizes at [`RIFF_SIZE_OFFSET`] and
/// [`DATA_SIZE_OFFSET`]).
pub fn header(channels: u16, data_bytes: u32) -> Result<[u8; HEADER_BYTES], WavError> {
    if !(1..=2).contains(&channels) {
        return Err(WavError::UnsupportedChannels(channels));
    }
    if data_bytes > MAX_DATA_BYTES {
        return Err(WavError::TooLarge);
    }
    let block_align = 2 * channels;
    let mut h = [0u8; HEADER_BYTES];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data_bytes).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&FORMAT_PCM.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&SAMPLE_RATE.to_le_bytes());
    h[28..32].copy_from_slice(&(SAMPLE_RATE * block_align as u32).to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_bytes.to_le_bytes());
    Ok(h)
}

/// The header a streaming recorder writes first: both sizes [`UNKNOWN_SIZE`], so a file cut
/// off before [`header`] is written over it still reads to its end.
pub fn streaming_header(channels: u16) -> Result<[u8; HEADER_BYTES], WavError> {
    let mut h = header(channels, 0)?;
    h[RIFF_SIZE_OFFSET..RIFF_SIZE_OFFSET + 4].copy_from_slice(&UNKNOWN_SIZE.to_le_bytes());
    h[DATA_SIZE_OFFSET..DATA_SIZE_OFFSET + 4].copy_from_slice(&UNKNOWN_SIZE.to_le_bytes());
    Ok(h)
}

/// Appends samples as little-endian PCM16 (the data chunk's body), for a streaming writer.
pub fn encode_pcm16(samples: &[i16], out: &mut Vec<u8>) {
    out.reserve(samples.len() * 2);
    for sample in samples {
        out.extend_from_slice(&sample.to_le_bytes());
    }
}

/// Interleaves two legs of a call into stereo PCM16 bytes, left = `left`, right = `right`;
/// the shorter leg is padded with silence. A recording with one channel per leg lets quality
/// review hear each side alone.
pub fn encode_stereo_pcm16(left: &[i16], right: &[i16], out: &mut Vec<u8>) {
    let frames = left.len().max(right.len());
    out.reserve(frames * 4);
    for i in 0..frames {
        out.extend_from_slice(&left.get(i).copied().unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&right.get(i).copied().unwrap_or(0).to_le_bytes());
    }
}

/// Builds an 8 kHz PCM16 WAV file in memory.
#[derive(Clone, Debug)]
pub struct WavWriter {
    channels: u16,
    data: Vec<u8>,
}

impl WavWriter {
    /// A mono file.
    pub fn mono() -> WavWriter {
        WavWriter {
            channels: 1,
            data: Vec::new(),
        }
    }

    /// A stereo file, one channel per call leg.
    pub fn stereo() -> WavWriter {
        WavWriter {
            channels: 2,
            data: Vec::new(),
        }
    }

    /// Appends mono samples. Appending to a stereo writer puts them on both channels.
    pub fn push_mono(&mut self, samples: &[i16]) {
        if self.channels == 1 {
            encode_pcm16(samples, &mut self.data);
        } else {
            encode_stereo_pcm16(samples, samples, &mut self.data);
        }
    }

    /// Appends one stretch of both legs (the shorter padded with silence). Appending to a
    /// mono writer mixes them.
    pub fn push_stereo(&mut self, left: &[i16], right: &[i16]) {
        if self.channels == 2 {
            encode_stereo_pcm16(left, right, &mut self.data);
        } else {
            encode_pcm16(&crate::playout::mix(left, right), &mut self.data);
        }
    }

    /// The whole file: header and data.
    pub fn finish(self) -> Result<Vec<u8>, WavError> {
        let len = u32::try_from(self.data.len()).map_err(|_| WavError::TooLarge)?;
        let mut out = Vec::with_capacity(HEADER_BYTES + self.data.len());
        out.extend_from_slice(&header(self.channels, len)?);
        out.extend_from_slice(&self.data);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-built file: a given format chunk, an unknown chunk, then data.
    fn file(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
        out.extend_from_slice(b"fmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&(rate * channels as u32 * bits as u32 / 8).to_le_bytes());
        out.extend_from_slice(&(channels * bits / 8).to_le_bytes());
        out.extend_from_slice(&bits.to_le_bytes());
        out.extend_from_slice(b"LIST");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(b"abc\0"); // odd size, one pad byte
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        let riff = (out.len() - 8) as u32;
        out[4..8].copy_from_slice(&riff.to_le_bytes());
        out
    }

    #[test]
    fn writes_and_reads_back_mono_and_stereo() {
        let samples: Vec<i16> = vec![0, 1, -1, i16::MAX, i16::MIN, 1234];
        let mut writer = WavWriter::mono();
        writer.push_mono(&samples);
        let bytes = writer.finish().unwrap();
        assert_eq!(bytes.len(), HEADER_BYTES + 12);
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(u32_at(&bytes, RIFF_SIZE_OFFSET) as usize, bytes.len() - 8);
        assert_eq!(u32_at(&bytes, DATA_SIZE_OFFSET), 12);
        let wav = read_wav(&bytes).unwrap();
        assert_eq!((wav.channels, wav.format), (1, WavFormat::Pcm16));
        assert_eq!(wav.samples, samples);

        let mut writer = WavWriter::stereo();
        writer.push_stereo(&[1, 2, 3], &[-1, -2]);
        let wav = read_wav(&writer.finish().unwrap()).unwrap();
        assert_eq!(wav.channels, 2);
        assert_eq!(wav.samples, [1, -1, 2, -2, 3, 0]);
        assert_eq!(wav.channel(0), [1, 2, 3]);
        assert_eq!(wav.channel(1), [-1, -2, 0]);
        assert_eq!(wav.to_mono(), [0, 0, 1]);
    }

    #[test]
    fn streaming_header_matches_the_whole_file() {
        let samples: Vec<i16> = (0..800).map(|i| (i * 37) as i16).collect();
        let mut streamed = streaming_header(1).unwrap().to_vec();
        for chunk in samples.chunks(160) {
            encode_pcm16(chunk, &mut streamed);
        }
        // Cut off before the patch (a crash): everything written still reads.
        assert_eq!(read_wav(&streamed).unwrap().samples, samples);
        let data_len = (streamed.len() - HEADER_BYTES) as u32;
        streamed[..HEADER_BYTES].copy_from_slice(&header(1, data_len).unwrap());
        let mut writer = WavWriter::mono();
        writer.push_mono(&samples);
        assert_eq!(streamed, writer.finish().unwrap());
        assert_eq!(header(3, 0), Err(WavError::UnsupportedChannels(3)));
        assert_eq!(header(1, u32::MAX), Err(WavError::TooLarge));
    }

    #[test]
    fn reads_g711_and_skips_unknown_chunks() {
        let wav = read_wav(&file(6, 1, 8000, 8, &[0xD5, 0xAA, 0x2A])).unwrap();
        assert_eq!(wav.format, WavFormat::Alaw);
        assert_eq!(wav.samples, [8, 32256, -32256]);
        let wav = read_wav(&file(7, 2, 8000, 8, &[0xFF, 0x80, 0x00])).unwrap();
        assert_eq!(wav.format, WavFormat::Ulaw);
        // The odd trailing byte is half a frame and is dropped.
        assert_eq!(wav.samples, [0, 32124]);
    }

    #[test]
    fn reads_a_truncated_recording() {
        let mut bytes = file(1, 1, 8000, 16, &[1, 0, 2, 0, 3]);
        let len = bytes.len();
        // Claim far more data than there is, as an unpatched streaming header would.
        bytes[len - 9..len - 5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(read_wav(&bytes).unwrap().samples, [1, 2]);
    }

    #[test]
    fn refuses_what_it_cannot_play() {
        assert_eq!(read_wav(b"RIFX\0\0\0\0WAVE"), Err(WavError::NotWave));
        assert_eq!(read_wav(b"RIFF"), Err(WavError::NotWave));
        assert_eq!(
            read_wav(&file(1, 1, 44100, 16, &[])),
            Err(WavError::UnsupportedRate(44100))
        );
        assert_eq!(
            read_wav(&file(3, 1, 8000, 32, &[])),
            Err(WavError::UnsupportedFormat(3))
        );
        assert_eq!(
            read_wav(&file(1, 6, 8000, 16, &[])),
            Err(WavError::UnsupportedChannels(6))
        );
        assert_eq!(
            read_wav(&file(1, 1, 8000, 8, &[])),
            Err(WavError::UnsupportedBits(8))
        );
        // A header with no data chunk.
        let bytes = file(1, 1, 8000, 16, &[]);
        assert_eq!(
            read_wav(&bytes[..bytes.len() - 8]),
            Err(WavError::MissingData)
        );
        // Data before fmt.
        let mut bytes = b"RIFF\0\0\0\0WAVEdata\x02\0\0\0\x01\x00".to_vec();
        bytes.extend_from_slice(&file(1, 1, 8000, 16, &[])[12..]);
        assert_eq!(read_wav(&bytes), Err(WavError::MissingFormat));
        let many: Vec<u8> = b"RIFF\0\0\0\0WAVE"
            .iter()
            .copied()
            .chain((0..MAX_CHUNKS).flat_map(|_| *b"junk\0\0\0\0"))
            .collect();
        assert_eq!(read_wav(&many), Err(WavError::TooManyChunks));
    }

    #[test]
    fn reads_wave_format_extensible() {
        let mut bytes = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        bytes.extend_from_slice(&40u32.to_le_bytes());
        bytes.extend_from_slice(&0xFFFEu16.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&8000u32.to_le_bytes());
        bytes.extend_from_slice(&16000u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&16u16.to_le_bytes());
        bytes.extend_from_slice(&22u16.to_le_bytes()); // cbSize
        bytes.extend_from_slice(&16u16.to_le_bytes()); // valid bits
        bytes.extend_from_slice(&4u32.to_le_bytes()); // channel mask
        bytes.extend_from_slice(&1u16.to_le_bytes()); // sub-format: PCM
        bytes.extend_from_slice(&[0; 14]);
        bytes.extend_from_slice(b"data\x02\0\0\0\x07\x00");
        assert_eq!(read_wav(&bytes).unwrap().samples, [7]);
    }
}
